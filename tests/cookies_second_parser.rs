//! What a tool's framework reads from the `Cookie` values the proxy
//! forwards: a differential test against a second cookie parser that
//! splits differently from SPEC §3 step 3.
//!
//! The proxy splits `Cookie` on `;` only (RFC 6265) and verifies the
//! session under its exact name. Python's `http.cookies` and RFC 2109
//! parsers also end a pair at `,` or whitespace, take `$`-prefixed
//! attributes, and unquote `"…"` values; some frameworks fold the name's
//! case. Fed `__Host-vendo_session=REAL; a=1 __Host-vendo_session=FAKE`,
//! such a parser finds FAKE under the session's name: a value the proxy
//! never verified. After `strip`, the second parser below must never find
//! a cookie whose name is the session's in any case, while every pair
//! that does not mention the name is kept as it was.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use vendo_isolation::headers::strip;
use vendo_isolation::session::SESSION_COOKIE_NAME;

/// A permissive RFC 2109-style parser: pairs end at `;`, `,`, a space or a
/// tab (outside a quoted value); the name runs to the first `=`; a quoted
/// value may hold separators. Names are returned lowercased, as a
/// case-folding framework compares them.
fn second_parser(value: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let is_sep = |b: u8| matches!(b, b';' | b',' | b' ' | b'\t');
    let mut out = Vec::new();
    let mut i = 0;
    while i < value.len() {
        while i < value.len() && is_sep(value[i]) {
            i += 1;
        }
        let start = i;
        while i < value.len() && value[i] != b'=' && !is_sep(value[i]) {
            i += 1;
        }
        let name = value[start..i].to_ascii_lowercase();
        let mut val = Vec::new();
        if i < value.len() && value[i] == b'=' {
            i += 1;
            if i < value.len() && value[i] == b'"' {
                i += 1;
                while i < value.len() && value[i] != b'"' {
                    if value[i] == b'\\' && i + 1 < value.len() {
                        i += 1;
                    }
                    val.push(value[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < value.len() && !is_sep(value[i]) {
                    val.push(value[i]);
                    i += 1;
                }
            }
        }
        if !name.is_empty() {
            // `$Version`, `$Path`: RFC 2109 attributes, not cookies.
            out.push((name.strip_prefix(b"$").map(<[u8]>::to_vec).unwrap_or(name), val));
        }
    }
    out
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Pieces a hostile `Cookie` header is built from: the session's name in
/// several cases and positions, every separator the second parser splits
/// on, quotes, and ordinary cookies.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(format!("{SESSION_COOKIE_NAME}=REAL")),
        Just(format!("{SESSION_COOKIE_NAME}=FAKE")),
        Just(SESSION_COOKIE_NAME.to_ascii_lowercase()),
        Just(SESSION_COOKIE_NAME.to_ascii_uppercase()),
        Just(format!("${SESSION_COOKIE_NAME}")),
        Just(format!("\"{SESSION_COOKIE_NAME}=x\"")),
        Just(format!("{SESSION_COOKIE_NAME}2")),
        Just("__Host-vendo".to_owned()),
        Just("_session".to_owned()),
        Just("=".to_owned()),
        Just(";".to_owned()),
        Just("; ".to_owned()),
        Just(",".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("$Version=1".to_owned()),
        Just("theme=dark".to_owned()),
        Just("a=1".to_owned()),
        "[a-z_=]{1,6}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..14).prop_map(|p| p.concat())
}

/// SPEC §3 step 3's pairs that do not mention the name, as they should
/// survive.
fn kept_pairs(value: &[u8]) -> Vec<Vec<u8>> {
    let trim = |s: &[u8]| {
        let start = s.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(s.len());
        let end = s.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
        s[start..end].to_vec()
    };
    value
        .split(|b| *b == b';')
        .map(trim)
        .filter(|p| !p.is_empty() && !contains_ci(p, SESSION_COOKIE_NAME.as_bytes()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn no_parser_finds_the_session_name_in_what_is_forwarded(values in prop::collection::vec(header_value(), 1..4)) {
        let session = SESSION_COOKIE_NAME.to_ascii_lowercase();
        let mut map = HeaderMap::new();
        for v in &values {
            if let Ok(v) = HeaderValue::from_str(v) {
                map.append(COOKIE, v);
            }
        }
        let before: Vec<Vec<u8>> = map.get_all(COOKIE).iter().map(|v| v.as_bytes().to_vec()).collect();
        let _ = strip(&mut map, SESSION_COOKIE_NAME);
        let after: Vec<&[u8]> = map.get_all(COOKIE).iter().map(HeaderValue::as_bytes).collect();
        for value in &after {
            // The name is gone in any case, so no way of splitting finds it.
            prop_assert!(!contains_ci(value, session.as_bytes()), "{:?}", String::from_utf8_lossy(value));
            for (name, _) in second_parser(value) {
                prop_assert_ne!(&name, session.as_bytes(), "{:?}", String::from_utf8_lossy(value));
            }
        }
        // Nothing else was lost: every pair that does not mention the name
        // is forwarded, in order.
        let want: Vec<Vec<u8>> = before.iter().flat_map(|v| kept_pairs(v)).collect();
        let got: Vec<Vec<u8>> = after.iter().flat_map(|v| kept_pairs(v)).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn the_second_parser_reads_the_shadowing_attack() {
    // Without the SPEC's removal of near-names, this is what a Python
    // tool would read from a header the proxy admitted on REAL.
    let attack = format!("{SESSION_COOKIE_NAME}=REAL; a=1 {SESSION_COOKIE_NAME}=FAKE");
    let read = second_parser(attack.as_bytes());
    let session = SESSION_COOKIE_NAME.to_ascii_lowercase().into_bytes();
    let found: Vec<&[u8]> = read.iter().filter(|(n, _)| *n == session).map(|(_, v)| v.as_slice()).collect();
    assert_eq!(found, [&b"REAL"[..], b"FAKE"]);
    let mut map = HeaderMap::new();
    map.append(COOKIE, HeaderValue::from_str(&attack).unwrap());
    map.append(COOKIE, HeaderValue::from_static("b=2, __HOST-VENDO_SESSION=w; keep=1"));
    let _ = strip(&mut map, SESSION_COOKIE_NAME);
    let after: Vec<&[u8]> = map.get_all(COOKIE).iter().map(HeaderValue::as_bytes).collect();
    assert_eq!(after, [&b"keep=1"[..]]);
}
