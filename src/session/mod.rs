//! Session tokens, version 1 (SPEC §4).
//!
//! ```text
//! token   = "v1." kid "." payload "." mac
//! kid     = 1*32 ( ALPHA / DIGIT / "_" / "-" )
//! payload = b64u( tenant_id LF deployment_id LF user_id LF email LF iat LF exp )
//! mac     = b64u( HMAC-SHA256( key[kid], "vendo-session-v1" %x00 "v1." kid "." payload ) )
//! ```
//!
//! [`verify_session`] checks in SPEC order and reports the first failure:
//! `malformed`, `unknown_key`, `bad_signature`, `bad_claims`,
//! `lifetime_too_long`, `not_yet_valid`, `expired`, then the crate's
//! extension `revoked` ([`VerifyOptions::with_min_issued_at`]), then
//! `wrong_tenant` and `wrong_deployment`. It allocates nothing on any path.
//!
//! [`mint_session`] signs with the ring's primary key and nothing else
//! (CVE-2025-47278: a fallback key must never sign).

mod claims;
mod cookie;
mod keys;
mod mint;
mod token;
mod verify;

pub use cookie::{
    SessionCookieError, SessionCookieName, SessionRequestError, SetCookieError, find_session_cookie,
    session_clear_cookie, session_set_cookie, verify_session_cookie,
};
pub use keys::{KeyError, KeyRing, KeyRingError, SessionKey};
pub use mint::{ClaimsError, SessionClaims, mint_session};
pub use verify::{ReissueReason, VerifiedSession, VerifyError, VerifyOptions, verify_session};

/// The session cookie's default name (SPEC §4). The `__Host-` prefix makes
/// browsers refuse it unless it is `Secure`, has `Path=/` and no `Domain`,
/// so a sibling subdomain cannot plant one (cookie tossing).
pub const SESSION_COOKIE_NAME: &str = "__Host-vendo_session";

/// Longest token accepted, in bytes; longer is `malformed` before any
/// decoding (SPEC §4).
pub const MAX_TOKEN_LEN: usize = 4096;

/// Shortest session key accepted, in bytes (SPEC §4): the HMAC-SHA256
/// output size, so the key is never the weaker half.
pub const MIN_KEY_LEN: usize = 32;

/// Longest key id, in bytes (SPEC §4).
pub const MAX_KID_LEN: usize = crate::wire::MAX_KID_LEN;

/// Most keys one [`KeyRing`] holds.
pub const MAX_RING_KEYS: usize = 8;

/// Longest claims a valid token can carry, in bytes: three ids of 64, an
/// email of 254, two 12-digit integers and five `LF` (SPEC §1, §4).
pub const MAX_CLAIMS_LEN: usize = 3 * crate::ids::MAX_ID_LEN + crate::ids::MAX_EMAIL_LEN + 2 * MAX_INT_DIGITS + 5;

/// Default leeway for clock skew, in seconds (SPEC §5).
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Default maximum lifetime `exp - iat`, in seconds: 7 days (SPEC §5).
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 604_800;

use crate::wire::{B64U, MAX_INT_DIGITS, is_kid as is_valid_kid};

/// Domain tag that starts every MAC input (SPEC §4): a key shared with
/// another HMAC use can never yield a valid session MAC.
const MAC_DOMAIN: &[u8] = b"vendo-session-v1\x00";

/// The version prefix of a v1 token.
const VERSION_PREFIX: &[u8] = b"v1.";

/// HMAC-SHA256 output size.
const MAC_LEN: usize = 32;

/// `b64u(mac)` is always exactly this long (SPEC §4).
const MAC_B64_LEN: usize = 43;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_bound_matches_spec_arithmetic() {
        assert_eq!(MAX_CLAIMS_LEN, 64 * 3 + 254 + 2 * 12 + 5);
        assert_eq!(crate::time::MAX_UNIX_SECONDS.to_string().len(), MAX_INT_DIGITS);
    }
}
