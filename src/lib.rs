#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod assign;
mod attestation;
mod authority;
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

pub use assign::{AssignError, LabelHolder, RouteChange, RouteOp};
pub use attestation::*;
pub use authority::{AuthorityError, authority_of, request_authority};
pub use cookies::{CookiePair, SessionCookieError, cookie_pairs, find_session_cookie};
pub use credits::*;
pub use headers::*;
pub use hosts::{
    DEFAULT_APEX, DEFAULT_RESERVED, HostError, HostForm, HostFormatError, HostPolicy, HostPolicyError, MAX_LABEL_LEN,
    MAX_NAME_LEN, RouteEntry, RouteKey, RouteMismatch,
};
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
