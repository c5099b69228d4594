//! Token shape: `"v1." kid "." payload "." mac`, checked and decoded
//! without allocating (SPEC §4, check 1 `malformed`).

use super::{MAC_B64_LEN, MAC_LEN, MAX_KID_LEN, MAX_TOKEN_LEN, VERSION_PREFIX, is_valid_kid};

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

/// Checks everything SPEC §4 files under `malformed` except the payload's
/// base64, which [`decode_canonical`] checks.
///
/// The length is checked first, before any byte is looked at. The `mac`
/// is the last [`MAC_B64_LEN`] bytes and must follow a dot; the payload is
/// what lies between the kid's dot and that one. This is the split on the
/// first two dots whenever either is valid: a dot inside the payload or
/// the `mac` fails its alphabet check, so both splits call such a token
/// malformed, and the payload is not scanned twice.
pub(super) fn split(token: &[u8]) -> Option<Parts<'_>> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let rest = token.strip_prefix(VERSION_PREFIX)?;
    // A kid is at most MAX_KID_LEN bytes, so its dot is within the first
    // MAX_KID_LEN + 1; the kid's syntax is checked below.
    let dot = rest.iter().take(MAX_KID_LEN.saturating_add(1)).position(|&b| b == b'.')?;
    let (kid, rest) = rest.split_at_checked(dot)?;
    let rest = rest.get(1..)?;
    let mac_at = rest.len().checked_sub(MAC_B64_LEN)?;
    let (signed, mac_b64) = rest.split_at_checked(mac_at)?;
    // Claims always have six fields, so an empty payload is a missing part.
    let payload = match signed.split_last() {
        Some((b'.', payload)) if !payload.is_empty() => payload,
        _ => return None,
    };
    if !is_valid_kid(kid) {
        return None;
    }
    let mut mac = [0u8; MAC_LEN];
    // Exactly 43 canonical characters decode to exactly 32 bytes; anything
    // shorter or longer is a truncated or padded MAC (GHSA-63x4-8g8c-vhww).
    decode_canonical(mac_b64, &mut mac)?;
    Some(Parts { kid, payload, mac })
}

/// The RFC 4648 §5 value of each url-safe alphabet byte, or `0xff`.
// Evaluated at compile time: an out-of-range index fails the build, it
// cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const B64U_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < alphabet.len() {
        // INVARIANT: i < 64, so both the index and the value are in range.
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decoded length of `len` base64url characters, or `None` for a length
/// no encoder produces (`len % 4 == 1`).
const fn decoded_len(len: usize) -> Option<usize> {
    let tail = match len % 4 {
        0 => 0,
        2 => 1,
        3 => 2,
        _ => return None,
    };
    match (len / 4).checked_mul(3) {
        Some(n) => n.checked_add(tail),
        None => None,
    }
}

/// The decoded length of `input` if its length is one an encoder
/// produces; the characters are not looked at.
pub(super) const fn canonical_len(input: &[u8]) -> Option<usize> {
    decoded_len(input.len())
}

/// The value of a url-safe alphabet byte, `0xff` for any other byte.
fn value(b: u8) -> u8 {
    B64U_VALUE.get(usize::from(b)).copied().unwrap_or(0xff)
}

/// Whether `input` is canonical unpadded base64url (SPEC §4): only the
/// url-safe alphabet, a length an encoder produces, and zero unused
/// trailing bits. Returns the decoded length.
pub(super) fn canonical(input: &[u8]) -> Option<usize> {
    let n = decoded_len(input.len())?;
    // Branch-free over the body: any 0xff sets the high bit of `bad`.
    let bad = input.iter().fold(0u8, |acc, &b| acc | value(b));
    if bad & 0x80 != 0 || !trailing_bits_zero(input) {
        return None;
    }
    Some(n)
}

/// Unused low bits of the last character: 4 when two characters remain
/// (one byte), 2 when three remain (two bytes); they must be zero, or two
/// encodings would carry one value (pallets/itsdangerous#28).
fn trailing_bits_zero(input: &[u8]) -> bool {
    let last = input.last().map_or(0, |&b| value(b));
    match input.len() % 4 {
        2 => last & 0x0f == 0,
        3 => last & 0x03 == 0,
        _ => true,
    }
}

/// Decodes canonical unpadded base64url into `out` (which must be exactly
/// the decoded length) in one pass, or `None` for anything [`canonical`]
/// refuses.
///
/// The strict `base64` engine is the reference: a test checks the two
/// agree on every short input, and the session properties on long ones.
pub(super) fn decode_canonical(input: &[u8], out: &mut [u8]) -> Option<()> {
    if decoded_len(input.len())? != out.len() || !trailing_bits_zero(input) {
        return None;
    }
    let mut bad = 0u8;
    let mut quads = input.chunks_exact(4);
    let mut dst = out.chunks_exact_mut(3);
    for (q, d) in (&mut quads).zip(&mut dst) {
        let [a, b, c, e] = [q.first(), q.get(1), q.get(2), q.get(3)].map(|x| x.map_or(0xff, |&x| value(x)));
        bad |= a | b | c | e;
        let w = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(e);
        d.copy_from_slice(&w.to_be_bytes()[1..]);
    }
    let rest = quads.remainder();
    let d = dst.into_remainder();
    let vals: [u8; 3] = [rest.first(), rest.get(1), rest.get(2)].map(|x| x.map_or(0, |&x| value(x)));
    for v in vals.iter().take(rest.len()) {
        bad |= v;
    }
    let w = u32::from(vals[0]) << 18 | u32::from(vals[1]) << 12 | u32::from(vals[2]) << 6;
    for (slot, byte) in d.iter_mut().zip(w.to_be_bytes().into_iter().skip(1)) {
        *slot = byte;
    }
    if bad & 0x80 != 0 { None } else { Some(()) }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::super::B64U;
    use super::*;

    const MAC: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    /// SPEC §4's split as written: on the first two dots after `v1.`,
    /// each part checked, the payload's base64 included.
    fn reference(token: &[u8]) -> Option<(Vec<u8>, Vec<u8>, [u8; 32])> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let rest = token.strip_prefix(b"v1.")?;
        let mut parts = rest.splitn(3, |&b| b == b'.');
        let (kid, payload, mac_b64) = (parts.next()?, parts.next()?, parts.next()?);
        if !is_valid_kid(kid) || payload.is_empty() || canonical(payload).is_none() {
            return None;
        }
        let mut mac = [0u8; 32];
        (B64U.decode_slice(mac_b64, &mut mac).ok()? == 32).then(|| (kid.to_vec(), payload.to_vec(), mac))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_096))]

        /// Splitting from the end (the mac's fixed length) accepts exactly
        /// the tokens the split on the first two dots accepts, into the
        /// same parts: extra dots, short or long parts and stray bytes.
        #[test]
        fn split_from_the_end_agrees_with_the_first_two_dots(
            pieces in proptest::collection::vec("[A-Za-z0-9_-]{0,45}|[.=+/ ]|\\.[A-Za-z0-9_-]{43}", 0..7),
            prefix in proptest::prop_oneof!["v1\\.", "v1", "v2\\.", ""],
        ) {
            let token = format!("{prefix}{}", pieces.concat());
            let ours = split(token.as_bytes())
                .filter(|p| canonical(p.payload).is_some())
                .map(|p| (p.kid.to_vec(), p.payload.to_vec(), p.mac));
            proptest::prop_assert_eq!(ours, reference(token.as_bytes()), "{}", token);
        }
    }

    fn tok(kid: &str, payload: &str, mac: &str) -> Vec<u8> {
        format!("v1.{kid}.{payload}.{mac}").into_bytes()
    }

    #[test]
    fn split_from_the_end_agrees_on_every_placement_of_a_dot() {
        // Kids, payloads and macs, valid and not, with dots anywhere: every
        // combination splits as the first-two-dots rule does.
        let kids = ["k1", "", "k.1", &"k".repeat(32), &"k".repeat(33), "k!"];
        let payloads = ["YQ", "", "Y.Q", "YWJj", "YR", ".", "YQ.", ".YQ", &"A".repeat(40)];
        let macs = [
            MAC,
            &MAC[1..],
            &format!("{MAC}A"),
            &format!("A.{}", &MAC[2..]),
            &format!("{}.", &MAC[1..]),
            &format!("{}B", &MAC[1..]),
        ];
        let mut accepted = 0;
        for kid in kids {
            for payload in payloads {
                for mac in macs {
                    let t = tok(kid, payload, mac);
                    let ours = split(&t)
                        .filter(|p| canonical(p.payload).is_some())
                        .map(|p| (p.kid.to_vec(), p.payload.to_vec(), p.mac));
                    let expected = reference(&t);
                    accepted += usize::from(expected.is_some());
                    assert_eq!(ours, expected, "{}", String::from_utf8_lossy(&t));
                }
            }
        }
        assert_eq!(accepted, 2 * 3, "two kids and three payloads are valid, with the one valid mac");
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
    fn payload_check_is_canonical() {
        assert_eq!(canonical(b"YWJj"), Some(3));
        assert_eq!(canonical(b"YQ"), Some(1));
        assert_eq!(canonical(b"YWI"), Some(2));
        // Non-zero trailing bits (pallets/itsdangerous#28).
        assert_eq!(canonical(b"YR"), None);
        assert_eq!(canonical(b"YWJ"), None);
        assert_eq!(canonical(b"YQ=="), None);
        assert_eq!(canonical(b"Y"), None);
        assert_eq!(canonical(b"+/+/"), None);
        assert_eq!(canonical(b"YW\x00j"), None);
        let max = "A".repeat(MAX_TOKEN_LEN);
        assert_eq!(canonical(max.as_bytes()), Some(MAX_TOKEN_LEN / 4 * 3));
    }

    #[test]
    fn two_bad_bytes_in_one_quad_are_refused_anywhere() {
        // Bad bytes are flagged by OR-ing their 0xff marks: two of them in
        // one quad, before the last quad, must not cancel out.
        for bad in [&b"AA++AAAA"[..], b"A++AAAAA", b"++AAAAAA", b"A+A+AAAA", b"AAAA..AAAAAA", b"AA\xff\xffAAAA"] {
            let mut out = [0u8; 9];
            let n = decoded_len(bad.len()).unwrap();
            assert_eq!(decode_canonical(bad, &mut out[..n]), None, "{:?}", String::from_utf8_lossy(bad));
            assert_eq!(canonical(bad), None);
        }
    }

    proptest::proptest! {
        /// Long inputs, many quads and every tail: at every length
        /// and with any byte anywhere, decoding accepts exactly what the
        /// strict engine accepts, and yields the same bytes.
        #[test]
        fn decoding_agrees_with_the_strict_engine_at_every_length(
            mut text in proptest::collection::vec(
                proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
                0..200,
            ),
            flaw in proptest::option::of((proptest::num::usize::ANY, proptest::num::u8::ANY)),
        ) {
            if let Some((at, byte)) = flaw {
                if let Some(slot) = at.checked_rem(text.len()).and_then(|i| text.get_mut(i)) {
                    *slot = byte;
                }
            }
            let mut engine = vec![0u8; text.len()];
            let engine = B64U.decode_slice(&text, &mut engine).ok().map(|n| engine[..n].to_vec());
            let ours = decoded_len(text.len()).and_then(|n| {
                let mut out = vec![0u8; n];
                decode_canonical(&text, &mut out).map(|()| out)
            });
            proptest::prop_assert_eq!(&ours, &engine);
            proptest::prop_assert_eq!(canonical(&text), engine.map(|e| e.len()));
        }
    }

    #[test]
    fn payload_check_agrees_with_the_strict_engine() {
        // Every 1-4 character string over a sample of the alphabet and
        // its neighbours: the fast check and the base64 engine agree.
        let sample = b"AQRgw_-+/=.Zaz09";
        let mut out = [0u8; 8];
        let mut s = Vec::new();
        for len in 1..=4u32 {
            for mut n in 0..sample.len().pow(len) {
                s.clear();
                for _ in 0..len {
                    s.push(sample[n % sample.len()]);
                    n /= sample.len();
                }
                let engine = B64U.decode_slice(&s, &mut out).ok();
                assert_eq!(canonical(&s), engine, "{:?}", String::from_utf8_lossy(&s));
                if let Some(n) = engine {
                    let mut ours = [0u8; 8];
                    assert_eq!(decode_canonical(&s, &mut ours[..n]), Some(()));
                    assert_eq!(ours[..n], out[..n]);
                } else if let Some(n) = decoded_len(s.len()) {
                    let mut ours = [0u8; 8];
                    assert_eq!(decode_canonical(&s, &mut ours[..n]), None, "{:?}", String::from_utf8_lossy(&s));
                }
            }
        }
    }
}
