#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attestation;
mod cookies;
mod credits;
mod headers;
mod hosts;
mod identity;
mod ids;
mod ledger;
mod proxy;
mod resources;
mod routing;
mod schema;
mod session;
mod tenancy;
mod timestamp;

#[cfg(feature = "testing")]
pub mod testing;

pub use attestation::*;
pub use cookies::{CookiePair, SessionCookieError, cookie_pairs, find_session_cookie};
pub use credits::*;
pub use headers::*;
pub use hosts::*;
pub use identity::Identity;
pub use ids::{
    BindingId, ConnectionId, DeploymentId, DeploymentSlug, Email, IdError, MAX_EMAIL_LEN, MAX_ID_LEN, MAX_SLUG_LEN,
    MIN_EMAIL_LEN, TenantId, TenantSlug, UserId,
};
pub use ledger::*;
pub use proxy::*;
pub use resources::*;
pub use routing::*;
pub use schema::*;
pub use session::*;
pub use tenancy::*;
pub use timestamp::{MAX_UNIX_SECONDS, Timestamp, TimestampError};
