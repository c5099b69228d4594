//! Identity headers: strip every `X-Vendo-*` spelling, then inject the
//! verified identity (SPEC §3); refuse requests that another deployment's
//! page started (§3.2, [`check_request_site`]); filter what a tool's
//! response may set in the browser (§3.3, [`filter_response`]).
//!
//! The proxy owns the header namespace `X-Vendo-*`. A header belongs to it
//! when its *collision key* — the name lowercased, with every `_` and `.`
//! mapped to `-` — starts with `x-vendo-`. Frameworks behind the proxy fold
//! spellings together (CGI and Rack turn `-` into `_`, some servers map `.`),
//! so a proxy that strips only the exact names lets `X_Vendo_User_Id` through
//! as `X-Vendo-User-Id` (oauth2-proxy GHSA-vjrc-mh2v-45x6, Traefik
//! GHSA-rf44-j88r-hh8c and GHSA-qr99-7898-vr7c).
//!
//! [`strip()`] applies SPEC §3 steps 1–3 in this order and returns a
//! [`Stripped`] that holds the header map:
//!
//! 1. every `Connection` token whose collision key starts with `x-vendo-` is
//!    removed, and a `Connection` header left empty is dropped: a hop that
//!    honours `Connection` would otherwise delete the headers the proxy
//!    injects (Fabio GHSA-q7p4-7xjv-j3wf, GHSA-fq95-v8xc-jm3v);
//! 2. every header in the namespace is removed, whatever its spelling;
//! 3. the session cookie is removed from every `Cookie` header, so the tool
//!    never sees the user's session token.
//!
//! Only [`Stripped::inject`] writes identity headers, so nothing can be
//! injected into a map that was not stripped first, and a request that is
//! denied after stripping (the [`Stripped`] is dropped) carries no
//! `x-vendo-*` header at all.
//!
//! ```
//! use http::{HeaderMap, HeaderValue};
//! use vendo_isolation::headers::{Identity, strip};
//! # let identity = Identity::for_tests("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?);
//! let mut headers = HeaderMap::new();
//! headers.append("x_vendo_user_id", HeaderValue::from_static("victim"));
//! headers.append("cookie", HeaderValue::from_static("__Host-vendo_session=v1.k.p.m; theme=dark"));
//!
//! let stripped = strip(&mut headers, "__Host-vendo_session");
//! assert!(stripped.report().is_spoofing());
//! // `identity` comes from a verified session (here: a test identity).
//! stripped.inject(identity, None)?;
//!
//! assert_eq!(headers["x-vendo-user-id"], "u_1");
//! assert!(headers["x-vendo-user-id"].is_sensitive());
//! assert_eq!(headers["cookie"], "theme=dark");
//! assert!(headers.get("x_vendo_user_id").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a tool can trust
//!
//! Behind the proxy, `x-vendo-tenant-id`, `x-vendo-deployment-id`,
//! `x-vendo-user-id` and `x-vendo-user-email` hold exactly the values of a
//! verified session, once each, and no other `x-vendo-*` header exists
//! except `x-vendo-attestation`. A request that did not come through the
//! proxy can carry anything; a tool proves the origin with
//! [`crate::attestation::AttestationVerifier`].

pub(crate) mod cookies;
mod identity;
mod inject;
mod response;
mod site;
mod strip;

use http::HeaderName;

pub use cookies::{CookiePair, cookie_pairs};
pub use identity::Identity;
pub use inject::*;
pub use response::*;
pub use site::*;
pub use strip::*;

/// The collision-key prefix of the namespace the proxy owns (SPEC §3).
pub const MANAGED_PREFIX: &str = "x-vendo-";

/// The verified session's tenant id (SPEC §3 step 4).
pub const TENANT_ID_HEADER: HeaderName = HeaderName::from_static("x-vendo-tenant-id");
/// The verified session's deployment id (SPEC §3 step 4).
pub const DEPLOYMENT_ID_HEADER: HeaderName = HeaderName::from_static("x-vendo-deployment-id");
/// The verified session's user id (SPEC §3 step 4).
pub const USER_ID_HEADER: HeaderName = HeaderName::from_static("x-vendo-user-id");
/// The verified session's email (SPEC §3 step 4).
pub const USER_EMAIL_HEADER: HeaderName = HeaderName::from_static("x-vendo-user-email");
/// The proxy's signature over the request and the identity headers; see
/// [`crate::attestation::AttestationVerifier`] for the format.
pub const ATTESTATION_HEADER: HeaderName = HeaderName::from_static("x-vendo-attestation");

/// The identity headers in the order the attestation covers them.
pub const IDENTITY_HEADERS: [HeaderName; 4] =
    [TENANT_ID_HEADER, DEPLOYMENT_ID_HEADER, USER_ID_HEADER, USER_EMAIL_HEADER];

/// One byte of a collision key: ASCII lowercase, `_` and `.` become `-`.
const fn key_byte(b: u8) -> u8 {
    match b {
        b'_' | b'.' => b'-',
        _ => b.to_ascii_lowercase(),
    }
}

/// The collision key of a header name or `Connection` token (SPEC §3), byte
/// by byte, without allocating.
///
/// ```
/// use vendo_isolation::headers::collision_key;
/// let key: Vec<u8> = collision_key(b"X_Vendo.User-ID").collect();
/// assert_eq!(key, b"x-vendo-user-id");
/// ```
pub fn collision_key(name: &[u8]) -> impl Iterator<Item = u8> + '_ {
    name.iter().map(|&b| key_byte(b))
}

/// Whether a header name or `Connection` token belongs to the proxy's
/// namespace: its collision key starts with `x-vendo-`.
///
/// ```
/// use vendo_isolation::headers::is_managed_name;
/// assert!(is_managed_name(b"X_VENDO_USER_ID"));
/// assert!(is_managed_name(b"x.vendo.anything"));
/// assert!(!is_managed_name(b"x-vendor-id"));
/// assert!(!is_managed_name(b"x-vendo"));
/// ```
pub fn is_managed_name(name: &[u8]) -> bool {
    name.len() >= MANAGED_PREFIX.len() && collision_key(name).zip(MANAGED_PREFIX.bytes()).all(|(k, p)| k == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collision_key_maps_only_underscore_and_dot() {
        assert!(collision_key(b"A_b.C-d~!").eq(b"a-b-c-d~!".iter().copied()));
        assert!(collision_key(b"X_Vendo_User_Id").eq(collision_key(b"x-vendo-user-id")));
    }

    #[test]
    fn managed_prefix_boundary() {
        // Every spelling that folds to the prefix is managed.
        for name in [&b"x-vendo-"[..], b"X_VENDO_", b"x.vendo.a", b"X-Vendo_.x"] {
            assert!(is_managed_name(name), "{name:?}");
        }
        // Near misses are not: the key must start with the whole prefix.
        for name in [&b"x-vendo"[..], b"x-vendor-id", b"xx-vendo-a", b"x-vend-o", b"", b"x vendo-a"] {
            assert!(!is_managed_name(name), "{name:?}");
        }
    }

    #[test]
    fn identity_header_names_are_managed() {
        for name in IDENTITY_HEADERS.iter().chain([&ATTESTATION_HEADER]) {
            assert!(is_managed_name(name.as_str().as_bytes()));
        }
    }
}
