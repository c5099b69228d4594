//! Token shape: `"v1." kid "." payload "." mac`, checked and decoded
//! without allocating (SPEC §4, check 1 `malformed`).

use base64::Engine;

use super::{B64U, MAC_B64_LEN, MAC_LEN, MAX_TOKEN_LEN, VERSION_PREFIX, is_valid_kid};

/// Largest payload a token within [`MAX_TOKEN_LEN`] can decode to.
pub(super) const MAX_DECODED_LEN: usize = MAX_TOKEN_LEN / 4 * 3;

/// A token whose shape is valid, nothing about it authenticated yet.
#[derive(Debug)]
pub(super) struct Parts<'t> {
    /// Key id, syntax checked.
    pub(super) kid: &'t [u8],
    /// The base64url payload as sent: the MAC covers these bytes, not the
    /// decoded ones.
    pub(super) payload: &'t [u8],
    /// The decoded MAC.
    pub(super) mac: [u8; MAC_LEN],
}

fn split_dot(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let dot = s.iter().position(|&b| b == b'.')?;
    let (head, tail) = s.split_at_checked(dot)?;
    Some((head, tail.get(1..)?))
}

/// Checks everything SPEC §4 files under `malformed` except the payload's
/// base64, which [`decode_payload`] checks.
///
/// The length is checked first, before any byte is looked at. The `mac`
/// part is the rest after the second dot, so an extra dot lands in it and
/// fails its alphabet check.
pub(super) fn split(token: &[u8]) -> Option<Parts<'_>> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let rest = token.strip_prefix(VERSION_PREFIX)?;
    let (kid, rest) = split_dot(rest)?;
    let (payload, mac_b64) = split_dot(rest)?;
    // Claims always have six fields, so an empty payload is a missing part.
    if !is_valid_kid(kid) || payload.is_empty() || mac_b64.len() != MAC_B64_LEN {
        return None;
    }
    let mut mac = [0u8; MAC_LEN];
    // Exactly 43 canonical characters decode to exactly 32 bytes; anything
    // shorter or longer is a truncated or padded MAC (GHSA-63x4-8g8c-vhww).
    match B64U.decode_slice(mac_b64, &mut mac) {
        Ok(MAC_LEN) => Some(Parts { kid, payload, mac }),
        _ => None,
    }
}

/// Decodes the payload canonically into `out`, returning the decoded
/// length, or `None` for padding, a byte outside the url-safe alphabet,
/// an impossible length or non-zero trailing bits.
pub(super) fn decode_payload(payload: &[u8], out: &mut [u8; MAX_DECODED_LEN]) -> Option<usize> {
    B64U.decode_slice(payload, out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn tok(kid: &str, payload: &str, mac: &str) -> Vec<u8> {
        format!("v1.{kid}.{payload}.{mac}").into_bytes()
    }

    #[test]
    fn splits_a_well_formed_token() {
        let t = tok("k1", "YQ", MAC);
        let p = split(&t).unwrap();
        assert_eq!(p.kid, b"k1");
        assert_eq!(p.payload, b"YQ");
        assert_eq!(p.mac, [0; 32]);
    }

    #[test]
    fn rejects_shapes() {
        let long_payload = "A".repeat(MAX_TOKEN_LEN);
        let cases: &[&[u8]] = &[
            b"",
            b"v1",
            b"v1.",
            b"v1.k1",
            b"v1.k1.YQ",
            &tok("k1", "", MAC),
            &tok("", "YQ", MAC),
            &tok("k!", "YQ", MAC),
            &tok(&"k".repeat(33), "YQ", MAC),
            &tok("k1", "YQ", &MAC[1..]),
            &tok("k1", "YQ", &format!("{MAC}A")),
            &tok("k1", "YQ", &format!("{}B", &MAC[1..])),
            &tok("k1", "YQ", &format!("{}=", &MAC[1..])),
            &tok("k1", "YQ", &format!("{}+", &MAC[1..])),
            &tok("k1", "YQ", &format!("{}.A", &MAC[2..])),
            &tok("k1", &long_payload, MAC),
        ];
        for (i, case) in cases.iter().enumerate() {
            assert!(split(case).is_none(), "case {i}");
        }
        assert!(split(b"v2.k1.YQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_none());
        assert!(split(b"V1.k1.YQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_none());
    }

    #[test]
    fn payload_decoding_is_canonical() {
        let mut out = [0u8; MAX_DECODED_LEN];
        assert_eq!(decode_payload(b"YWJj", &mut out), Some(3));
        assert_eq!(decode_payload(b"YQ", &mut out), Some(1));
        assert_eq!(decode_payload(b"YR", &mut out), None);
        assert_eq!(decode_payload(b"YQ==", &mut out), None);
        assert_eq!(decode_payload(b"Y", &mut out), None);
        assert_eq!(decode_payload(b"+/+/", &mut out), None);
        let max = "A".repeat(MAX_TOKEN_LEN);
        assert_eq!(decode_payload(max.as_bytes(), &mut out), Some(MAX_DECODED_LEN));
    }
}
