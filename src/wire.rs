//! The wire rules that more than one format uses, each written once: key
//! ids, canonical integers, canonical base64url, the length-prefixed
//! `field` of a MAC message, and `Connection` tokens.
//!
//! A rule defined twice drifts: one copy learns a limit the other does not,
//! and a token one parser accepts is refused (or worse, read differently) by
//! the other. The request's one authority, which both the proxy's routing
//! and the attestation read, lives in [`crate::hosts::authority_of`].

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::Mac;

use crate::headers::cookies::trim_ows;
use crate::time::Timestamp;

/// Longest key id, in bytes (SPEC §4 `kid`, reused by §3.1 and §8).
pub(crate) const MAX_KID_LEN: usize = 32;

/// SPEC §4 key id syntax: `1*32 ( ALPHA / DIGIT / "_" / "-" )`.
pub(crate) const fn is_kid(kid: &[u8]) -> bool {
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

/// Digits in [`crate::time::MAX_UNIX_SECONDS`], the longest canonical integer.
pub(crate) const MAX_INT_DIGITS: usize = 12;

/// Parses a SPEC §4 integer as unix seconds: decimal digits, no sign, no
/// leading zero except `"0"`, at most [`crate::time::MAX_UNIX_SECONDS`]. The
/// digit count is bounded before any arithmetic, so nothing can wrap
/// (branca#21).
pub(crate) fn parse_canonical_secs(s: &[u8]) -> Option<Timestamp> {
    match s {
        [] => return None,
        [b'0'] => return Some(Timestamp::EPOCH),
        [b'0', ..] => return None,
        _ if s.len() > MAX_INT_DIGITS => return None,
        _ => {}
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b.wrapping_sub(b'0')))?;
    }
    Timestamp::from_unix_seconds(v).ok()
}

/// The canonical decimal of `n` (no sign, no leading zero), written into
/// `buf` without allocating: what [`parse_canonical_secs`] reads back.
pub(crate) fn write_decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        let digit = u8::try_from(n.checked_rem(10).unwrap_or(0)).unwrap_or(0);
        *slot = b'0'.saturating_add(digit);
        n = n.checked_div(10).unwrap_or(0);
        start = start.saturating_sub(1);
        if n == 0 {
            break;
        }
    }
    buf.get(start..).and_then(|d| core::str::from_utf8(d).ok()).unwrap_or("0")
}

/// Canonical base64url (RFC 4648 §5, SPEC §4 `b64u`): no padding on
/// encode; on decode, padding, bytes outside the url-safe alphabet and
/// non-zero trailing bits are all refused (pallets/itsdangerous#28: one
/// token, one encoding).
pub(crate) const B64U: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// `field(x) = u32be(len(x)) x` (SPEC §3.1), with `x` given in pieces that
/// are concatenated.
pub(crate) fn field(mac: &mut impl Mac, parts: &[&[u8]]) {
    field_with(parts, |bytes| mac.update(bytes));
}

/// [`field`] into any sink: a MAC, or the associated data of a sealed
/// credential (SPEC §8).
pub(crate) fn field_with(parts: &[&[u8]], mut put: impl FnMut(&[u8])) {
    let len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
    // INVARIANT: every field is a header value, URI part or id, far below
    // 4 GiB (`http` caps a URI at 64 KiB); saturating keeps a longer one
    // unequal to any honest encoding rather than wrapping.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    put(&len.to_be_bytes());
    for p in parts {
        put(p);
    }
}

/// Splits a `Connection` value into trimmed tokens; empty elements (the
/// `#rule` allows `a,,b`) are skipped (RFC 9110 §5.6.1).
pub(crate) fn connection_tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn kid_rules() {
        assert!(is_kid(b"k"));
        assert!(is_kid(b"A-z_09"));
        assert!(is_kid(&[b'a'; MAX_KID_LEN]));
        assert!(!is_kid(&[b'a'; MAX_KID_LEN + 1]));
        assert!(!is_kid(b""));
        assert!(!is_kid(b"k.1"));
        assert!(!is_kid(b"k=1"));
        assert!(!is_kid("ké".as_bytes()));
    }

    #[test]
    fn canonical_integers_round_trip() {
        assert_eq!(crate::time::MAX_UNIX_SECONDS.to_string().len(), MAX_INT_DIGITS);
        let mut buf = [0u8; 20];
        for n in [0, 1, 9, 10, 1_700_000_000, crate::time::MAX_UNIX_SECONDS] {
            let text = write_decimal(n, &mut buf).to_owned();
            assert_eq!(text, n.to_string());
            assert_eq!(parse_canonical_secs(text.as_bytes()).map(Timestamp::unix_seconds), Some(n));
        }
        assert_eq!(write_decimal(u64::MAX, &mut buf), u64::MAX.to_string());
        for bad in [&b""[..], b"01", b"00", b"+1", b"-1", b" 1", b"1 ", b"1e3", b"253402300800", b"9999999999999"] {
            assert_eq!(parse_canonical_secs(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn b64u_is_canonical() {
        let mut out = [0u8; 8];
        assert_eq!(B64U.decode_slice("AQ", &mut out), Ok(1));
        assert!(B64U.decode_slice("AQ==", &mut out).is_err());
        assert!(B64U.decode_slice("AR", &mut out).is_err());
        assert!(B64U.decode_slice("+w", &mut out).is_err());
        assert!(B64U.decode_slice("/w", &mut out).is_err());
        assert!(B64U.decode_slice("_w", &mut out).is_ok());
        assert_eq!(B64U.encode([0xfb, 0xff]), "-_8");
    }

    #[test]
    fn connection_tokens_trim_and_skip_empties() {
        let t: Vec<&[u8]> = connection_tokens(b" close ,, x_vendo_a ,\tUpgrade\t,").collect();
        assert_eq!(t, [&b"close"[..], b"x_vendo_a", b"Upgrade"]);
    }
}
