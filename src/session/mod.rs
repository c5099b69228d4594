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

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

mod claims;
mod cookie;
mod keys;
mod mint;
mod token;
mod verify;

pub use cookie::{
    SessionRequestError, SetCookieError, session_clear_cookie, session_set_cookie, verify_session_cookie,
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
pub const MAX_KID_LEN: usize = 32;

/// Most keys one [`KeyRing`] holds.
pub const MAX_RING_KEYS: usize = 8;

/// Longest claims a valid token can carry, in bytes: three ids of 64, an
/// email of 254, two 12-digit integers and five `LF` (SPEC §1, §4).
pub const MAX_CLAIMS_LEN: usize = 3 * crate::MAX_ID_LEN + crate::MAX_EMAIL_LEN + 2 * MAX_INT_DIGITS + 5;

/// Default leeway for clock skew, in seconds (SPEC §5).
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Default maximum lifetime `exp - iat`, in seconds: 7 days (SPEC §5).
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 604_800;

/// Digits in [`crate::MAX_UNIX_SECONDS`], the longest canonical integer.
const MAX_INT_DIGITS: usize = 12;

/// Domain tag that starts every MAC input (SPEC §4): a key shared with
/// another HMAC use can never yield a valid session MAC.
const MAC_DOMAIN: &[u8] = b"vendo-session-v1\x00";

/// The version prefix of a v1 token.
const VERSION_PREFIX: &[u8] = b"v1.";

/// HMAC-SHA256 output size.
const MAC_LEN: usize = 32;

/// `b64u(mac)` is always exactly this long (SPEC §4).
const MAC_B64_LEN: usize = 43;

/// Canonical base64url (RFC 4648 §5): no padding on encode; on decode,
/// padding, bytes outside the url-safe alphabet and non-zero trailing bits
/// are all refused (pallets/itsdangerous#28: one token, one encoding).
const B64U: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// SPEC §4 key id syntax: 1–32 bytes of `[A-Za-z0-9_-]`.
const fn is_valid_kid(kid: &[u8]) -> bool {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return false;
    }
    let mut rest = kid;
    while let [b, tail @ ..] = rest {
        if !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-') {
            return false;
        }
        rest = tail;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn claims_bound_matches_spec_arithmetic() {
        assert_eq!(MAX_CLAIMS_LEN, 64 * 3 + 254 + 2 * 12 + 5);
        assert_eq!(crate::MAX_UNIX_SECONDS.to_string().len(), MAX_INT_DIGITS);
    }

    #[test]
    fn kid_syntax() {
        assert!(is_valid_kid(b"k"));
        assert!(is_valid_kid(b"A-z_09"));
        assert!(is_valid_kid(&[b'a'; 32]));
        assert!(!is_valid_kid(&[b'a'; 33]));
        assert!(!is_valid_kid(b""));
        assert!(!is_valid_kid(b"k.1"));
        assert!(!is_valid_kid(b"k=1"));
        assert!(!is_valid_kid("ké".as_bytes()));
    }

    #[test]
    fn engine_is_canonical() {
        let mut out = [0u8; 8];
        assert_eq!(B64U.decode_slice("AQ", &mut out), Ok(1));
        // Padding (RFC 4648 §3.2 allows it; SPEC §4 does not).
        assert!(B64U.decode_slice("AQ==", &mut out).is_err());
        // Non-zero unused trailing bits: "AR" and "AQ" both decode to 0x01
        // in a lenient decoder (pallets/itsdangerous#28).
        assert!(B64U.decode_slice("AR", &mut out).is_err());
        // Standard alphabet.
        assert!(B64U.decode_slice("+w", &mut out).is_err());
        assert!(B64U.decode_slice("_w", &mut out).is_ok());
        assert!(B64U.decode_slice("/w", &mut out).is_err());
        // Impossible length.
        assert!(B64U.decode_slice("AQID_", &mut out).is_err());
        assert_eq!(B64U.encode([0xfb, 0xff]), "-_8");
    }
}
