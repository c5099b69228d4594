//! `strip`: no `x-vendo-` collision key survives, as a name or as a
//! `Connection` token; the session cookie is gone; every other field
//! survives exactly; the report says what went; stripping is idempotent;
//! injecting afterwards leaves exactly the identity in the namespace.

use http::header::{CONNECTION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};
use vendo_isolation::headers::{IDENTITY_HEADERS, Identity, StripReport, collision_key, is_managed_name, strip};

use super::reference::{self, Field, Grouped, cookie_pairs, group};

/// Builds a map from fields in order, skipping those `http` cannot hold,
/// and returns the fields it kept, names as the map spells them.
pub fn build_map(fields: &[Field]) -> (HeaderMap, Vec<Field>) {
    let mut map = HeaderMap::new();
    let mut kept = Vec::new();
    for (n, v) in fields {
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(n), HeaderValue::from_bytes(v)) else { continue };
        kept.push((name.as_str().as_bytes().to_vec(), v.clone()));
        map.append(name, value);
    }
    (map, kept)
}

/// The map as grouped fields.
pub fn grouped(map: &HeaderMap) -> Grouped {
    let fields: Vec<_> = map.iter().map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
    group(&fields)
}

/// What must hold of any map the proxy forwards, before injection: no
/// name or `Connection` token in the namespace, no session cookie.
pub fn assert_clean(map: &HeaderMap, cookie_name: &[u8], allowed: &[HeaderName]) {
    for (name, value) in map {
        let n = name.as_str().as_bytes();
        assert_eq!(reference::is_managed(n), is_managed_name(n), "managed-name test differs on {name}");
        assert!(collision_key(n).eq(reference::collision_key(n)), "collision key differs on {name}");
        assert!(!reference::is_managed(n) || allowed.contains(name), "namespace header survived: {name}");
        if name == CONNECTION {
            for t in reference::connection_tokens(value.as_bytes()) {
                assert!(!reference::is_managed(t), "Connection nominates {:?}", String::from_utf8_lossy(t));
            }
        }
        if name == COOKIE {
            assert!(
                cookie_pairs(value.as_bytes()).iter().all(|p| p.name != cookie_name),
                "session cookie survived in {value:?}"
            );
        }
    }
}

fn report_matches(r: &StripReport, want: &reference::StripOutcome) {
    assert_eq!(r.removed_header_fields(), want.removed_fields);
    let mut names: Vec<&[u8]> = r.removed_headers().iter().map(|n| n.as_str().as_bytes()).collect();
    let mut want_names: Vec<&[u8]> = want.removed_names.iter().map(Vec::as_slice).collect();
    names.sort_unstable();
    want_names.sort_unstable();
    assert_eq!(names, want_names, "removed names differ");
    let tokens: Vec<String> = want.connection_tokens.iter().map(|t| String::from_utf8_lossy(t).into_owned()).collect();
    assert_eq!(r.removed_connection_tokens(), tokens.as_slice(), "removed Connection tokens differ");
    assert_eq!(r.session_cookies_removed(), want.session_cookies);
    assert_eq!(r.is_spoofing(), want.removed_fields > 0 || !want.connection_tokens.is_empty());
}

/// The property, for one list of fields and one session cookie name.
pub fn check(fields: &[Field], cookie_name: &str) {
    let (mut map, kept) = build_map(fields);
    let want = reference::strip(&kept, cookie_name.as_bytes());

    let report = strip(&mut map, cookie_name).into_report();
    assert_clean(&map, cookie_name.as_bytes(), &[]);
    assert_eq!(grouped(&map), group(&want.fields), "stripped map differs from SPEC §3 for {kept:?}");
    report_matches(&report, &want);

    // Idempotent: a second pass finds nothing and changes nothing.
    let before = grouped(&map);
    let again = strip(&mut map, cookie_name).into_report();
    assert_eq!(again, StripReport::default(), "second strip removed something");
    assert_eq!(grouped(&map), before);

    // Injecting adds exactly the four identity headers, sensitive, once
    // each, and touches nothing else.
    let identity = Identity::for_tests(
        "t_1".parse().unwrap(),
        "d_1".parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
    );
    strip(&mut map, cookie_name).inject(identity, None).unwrap();
    let values = ["t_1", "d_1", "u_1", "a@b.io"];
    let mut expected = before;
    for (name, value) in IDENTITY_HEADERS.iter().zip(values) {
        let all: Vec<_> = map.get_all(name).iter().collect();
        assert_eq!(all.len(), 1, "{name} not exactly once");
        assert!(all[0].is_sensitive(), "{name} not sensitive");
        expected.insert(name.as_str().as_bytes().to_vec(), vec![value.as_bytes().to_vec()]);
    }
    assert_eq!(grouped(&map), expected, "inject touched other fields");
    assert_clean(&map, cookie_name.as_bytes(), &IDENTITY_HEADERS);
}
