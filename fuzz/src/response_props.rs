//! `filter_response` and `response_header_verdict` (SPEC §3.3): no
//! `Set-Cookie` with a `Domain` attribute or naming the session cookie,
//! no `Set-Cookie2` and nothing in the namespace is left; every other
//! field is left exactly, in order; the map equals the reference's list
//! grouped by name; the per-field verdict and the report agree with the
//! reference; a second pass changes nothing.

use std::collections::BTreeSet;

use http::HeaderName;
use http::header::SET_COOKIE;
use vendo_isolation::headers::{
    CookieRemoval, ResponseVerdict, SET_COOKIE2, filter_response, is_managed_name, response_header_verdict,
};

use super::reference::site::{self, Removal};
use super::reference::{Field, contains_ci, group};
use super::strip_props::{build_map, grouped};

fn verdict_of(r: Option<Removal>) -> ResponseVerdict {
    match r {
        None => ResponseVerdict::Keep,
        Some(Removal::SessionName) => ResponseVerdict::DropCookie(CookieRemoval::SessionName),
        Some(Removal::Domain) => ResponseVerdict::DropCookie(CookieRemoval::Domain),
        Some(Removal::Header) => ResponseVerdict::DropHeader,
    }
}

/// The property, for a response's fields in order and a session cookie
/// name. Returns how many fields were removed.
pub fn check(fields: &[Field], session: &str) -> usize {
    let s = session.as_bytes();
    // The per-field form decides on any bytes, even a field `http` cannot
    // hold.
    for (n, v) in fields {
        let want = verdict_of(site::response_verdict(n, v, s));
        assert_eq!(
            response_header_verdict(n, v, session),
            want,
            "verdict differs on {:?}: {:?}",
            String::from_utf8_lossy(n),
            String::from_utf8_lossy(v)
        );
    }

    let (mut map, kept) = build_map(fields);
    let report = filter_response(&mut map, session);

    for (name, value) in &map {
        assert!(!is_managed_name(name.as_str().as_bytes()), "namespace header relayed: {name}");
        assert!(name != SET_COOKIE2, "Set-Cookie2 relayed");
        if name == SET_COOKIE {
            let v = value.as_bytes();
            assert!(!site::has_domain(v), "Domain cookie relayed: {value:?}");
            assert!(!contains_ci(site::set_cookie_name_text(v), s), "session-named cookie relayed: {value:?}");
        }
    }
    let want = site::filter_response(&kept, s);
    assert_eq!(grouped(&map), group(&want), "relayed fields differ from SPEC §3.3 for {kept:?}");

    // The report: removed cookies in order with their reason, removed
    // header fields and names, tampering.
    let mut cookies = Vec::new();
    let mut names = BTreeSet::new();
    let mut header_fields = 0;
    for (n, v) in &kept {
        match site::response_verdict(n, v, s) {
            Some(r @ (Removal::SessionName | Removal::Domain)) => {
                let reason = if r == Removal::SessionName { CookieRemoval::SessionName } else { CookieRemoval::Domain };
                cookies.push((String::from_utf8_lossy(site::set_cookie_name(v)).into_owned(), reason));
            }
            Some(Removal::Header) => {
                header_fields += 1;
                names.insert(n.clone());
            }
            None => {}
        }
    }
    let got: Vec<_> = report.removed_cookies().iter().map(|c| (c.name().to_owned(), c.reason())).collect();
    assert_eq!(got, cookies, "reported cookies differ");
    assert_eq!(report.removed_header_fields(), header_fields);
    let got_names: BTreeSet<Vec<u8>> =
        report.removed_headers().iter().map(|h: &HeaderName| h.as_str().as_bytes().to_vec()).collect();
    assert_eq!(got_names, names, "reported header names differ");
    let tampering = names.iter().any(|n| n.as_slice() != b"set-cookie2")
        || cookies.iter().any(|(_, r)| *r == CookieRemoval::SessionName);
    assert_eq!(report.is_tampering(), tampering);
    assert_eq!(report.is_empty(), want.len() == kept.len());

    // Idempotent.
    let before = map.clone();
    let again = filter_response(&mut map, session);
    assert!(again.is_empty(), "second filter removed {again:?}");
    assert_eq!(map, before);
    kept.len() - want.len()
}
