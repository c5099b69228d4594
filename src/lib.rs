#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

// One module per boundary (see "The crate's modules" in the README).
pub mod api_keys; // vk1_ deployment API keys for the provider proxies
pub mod attestation; // the proxy's signature over a forwarded request, and its check
pub mod credentials; // sealed connection credentials
pub mod credits; // money, rates, reservations
pub mod headers; // the x-vendo-* namespace, the Cookie parser, the site rule, the response filter
pub mod hosts; // route keys, hostnames, assignment, the request authority
pub mod ids; // typed ids, their errors and limits
pub mod model; // in-memory reference stores for harnesses and demos
pub mod provider; // the provider proxy's decision and settlement
pub mod proxy; // the Gate
pub mod session; // v1 tokens, the key ring, the session cookie
pub mod tenancy; // records, access checks, the DDL, resource plans
pub mod time; // Timestamp
mod wire; // the wire rules several boundaries share, defined once

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use attestation::AttestationSecret;
pub use hosts::{HostPolicy, RouteEntry, RouteKey};
pub use ids::{BindingId, ConnectionId, DeploymentId, DeploymentSlug, Email, TenantId, TenantSlug, UserId};
pub use proxy::{Admitted, Denial, DenyReason, Gate};
pub use session::{KeyRing, SessionKey};
pub use time::Timestamp;
