//! Session cookie extraction agrees with a reference implementation of
//! SPEC §3 step 3 written here from the text, independently of the crate.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue, header::COOKIE};
use libfuzzer_sys::fuzz_target;
use vendo_isolation::session::{SessionCookieError, find_session_cookie};

#[derive(Debug, Arbitrary)]
struct Input {
    name: Vec<u8>,
    headers: Vec<Vec<u8>>,
}

/// SPEC §3: split on `;`, trim spaces and tabs, split at the first `=`,
/// trim name and value, compare the name exactly.
fn reference(headers: &[&[u8]], name: &[u8]) -> Result<Vec<u8>, &'static str> {
    fn trim(s: &[u8]) -> &[u8] {
        let start = s.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(s.len());
        let end = s.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
        &s[start..end.max(start)]
    }
    let mut found = Vec::new();
    for h in headers {
        for pair in h.split(|b| *b == b';') {
            let pair = trim(pair);
            if pair.is_empty() {
                continue;
            }
            let (n, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (trim(&pair[..i]), trim(&pair[i + 1..])),
                None => (pair, &b""[..]),
            };
            if n == name {
                found.push(v.to_vec());
            }
        }
    }
    match found.len() {
        0 => Err("no_session"),
        1 => Ok(found.remove(0)),
        _ => Err("duplicate_session"),
    }
}

fuzz_target!(|input: Input| {
    let Ok(name) = std::str::from_utf8(&input.name) else { return };
    let mut map = HeaderMap::new();
    let mut kept = Vec::new();
    for h in &input.headers {
        if let Ok(v) = HeaderValue::from_bytes(h) {
            map.append(COOKIE, v);
            kept.push(h.as_slice());
        }
    }
    let ours = find_session_cookie(&map, name).map(<[u8]>::to_vec).map_err(|e: SessionCookieError| e.code());
    assert_eq!(ours, reference(&kept, name.as_bytes()), "headers {kept:?} name {name:?}");
});
