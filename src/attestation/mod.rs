//! Attestation: a tool can prove a request came through the proxy.
//!
//! Identity headers are only as trustworthy as the path the request took: a
//! request sent straight to a tool's backend can carry any
//! `x-vendo-user-id`. So the proxy adds one more header in its namespace,
//! `x-vendo-attestation`, an HMAC over the request and the four identity
//! values under a key that only the proxy and that one deployment hold.
//! Being in the namespace, an inbound `x-vendo-attestation` is always
//! stripped ([`crate::headers::strip`]); it cannot be smuggled through the proxy.
//!
#![doc = include_str!("format.md")]

mod keys;
mod sign;
mod verify;

pub use keys::*;
pub(crate) use sign::MAX_ATTESTATION_LEN;
pub use sign::{AttestationSigner, RequestTarget, TargetError};
pub use verify::*;
