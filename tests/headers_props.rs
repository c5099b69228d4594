//! Properties of strip and inject (SPEC §3) over arbitrary header lists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/reference.rs"]
mod reference;

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use reference::is_managed_name;
use vendo_isolation::headers::{cookie_pairs, strip, strip_request};
use vendo_isolation::testing::identity;
use vendo_isolation::{AttestationSecret, Timestamp};

const SESSION: &str = "__Host-vendo_session";

/// A namespace name in any spelling: case, `_`, `.` and `-` mixed.
fn managed_name() -> impl Strategy<Value = String> {
    ("[xX]", "[-_.]", "[vV][eE][nN][dD][oO]", "[-_.]", "[a-zA-Z0-9_.-]{0,10}")
        .prop_map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}"))
}

fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => managed_name(),
        3 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}",
        1 => Just("cookie".to_owned()),
        1 => Just("connection".to_owned()),
        // Near misses that must survive.
        1 => prop_oneof![Just("x-vendor-id".to_owned()), Just("x-vendo".to_owned()), Just("xvendo-a".to_owned())],
    ]
}

fn cookie_value() -> impl Strategy<Value = String> {
    let name = prop_oneof![Just(SESSION.to_owned()), Just("__host-vendo_session".to_owned()), "[a-z]{1,6}"];
    let pair = (name, "[ \t]{0,2}", "[ \t]{0,2}", "[a-zA-Z0-9=._]{0,8}", any::<bool>())
        .prop_map(|(n, s1, s2, v, eq)| if eq { format!("{s1}{n}{s2}={s2}{v}{s1}") } else { format!("{s1}{n}") });
    prop::collection::vec(pair, 0..5).prop_map(|p| p.join(";"))
}

fn connection_value() -> impl Strategy<Value = String> {
    let token = prop_oneof![managed_name(), "[a-zA-Z-]{0,10}", Just("keep-alive".to_owned())];
    prop::collection::vec((token, "[ \t]{0,2}"), 0..5)
        .prop_map(|t| t.into_iter().map(|(t, s)| format!("{s}{t}{s}")).collect::<Vec<_>>().join(","))
}

fn header() -> impl Strategy<Value = (String, String)> {
    any_name().prop_flat_map(|name| {
        let value = match name.as_str() {
            "cookie" => cookie_value().boxed(),
            "connection" => connection_value().boxed(),
            _ => "[!-~][ -~]{0,20}|".boxed(),
        };
        (Just(name), value)
    })
}

fn build(list: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in list {
        h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

fn tokens(h: &HeaderMap) -> Vec<Vec<u8>> {
    h.get_all("connection")
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b',').map(|t| t.trim_ascii().to_vec()).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect()
}

fn cookies(h: &HeaderMap) -> Vec<Vec<u8>> {
    h.get_all("cookie")
        .iter()
        .flat_map(|v| cookie_pairs(v.as_bytes()).map(|p| p.raw.to_vec()).collect::<Vec<_>>())
        .collect()
}

/// Values of every header but the namespace, `Cookie` and `Connection`.
fn others(h: &HeaderMap) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut out: Vec<_> = h
        .keys()
        .filter(|n| !is_managed_name(n.as_str().as_bytes()) && *n != "cookie" && *n != "connection")
        .map(|n| (n.as_str().to_owned(), h.get_all(n).iter().map(|v| v.as_bytes().to_vec()).collect()))
        .collect();
    out.sort();
    out
}

proptest! {
    // A fixed seed keeps every run identical; change it to explore.
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x4ead_e125),
        ..ProptestConfig::default()
    })]

    /// After stripping, nothing in the namespace is left, by name or by
    /// `Connection` token.
    #[test]
    fn nothing_managed_survives(list in prop::collection::vec(header(), 0..16)) {
        let mut h = build(&list);
        strip(&mut h, SESSION).into_report();
        for name in h.keys() {
            prop_assert!(!is_managed_name(name.as_str().as_bytes()), "{name}");
        }
        for t in tokens(&h) {
            prop_assert!(!is_managed_name(&t), "{t:?}");
        }
        for v in h.get_all("connection").iter().chain(h.get_all("cookie")) {
            prop_assert!(!v.is_empty() || list.iter().any(|(_, lv)| lv.is_empty()));
        }
        prop_assert!(h.get_all("cookie").iter().all(|v| cookie_pairs(v.as_bytes()).all(|p| !reference::names_session(p.name, p.value, SESSION.as_bytes()))));
    }

    /// Every other header survives exactly; Cookie and Connection lose only
    /// what SPEC §3 names, in order.
    #[test]
    fn everything_else_survives_exactly(list in prop::collection::vec(header(), 0..16)) {
        let before = build(&list);
        let mut h = before.clone();
        let report = strip(&mut h, SESSION).into_report();
        prop_assert_eq!(others(&h), others(&before));
        let kept_tokens: Vec<_> = tokens(&before).into_iter().filter(|t| !is_managed_name(t)).collect();
        prop_assert_eq!(tokens(&h), kept_tokens);
        let kept_cookies: Vec<_> = before
            .get_all("cookie")
            .iter()
            .flat_map(|v| cookie_pairs(v.as_bytes()).filter(|p| !reference::names_session(p.name, p.value, SESSION.as_bytes())).map(|p| p.raw.to_vec()).collect::<Vec<_>>())
            .collect();
        prop_assert_eq!(cookies(&h), kept_cookies);
        let managed = before.iter().filter(|(n, _)| is_managed_name(n.as_str().as_bytes())).count();
        prop_assert_eq!(report.removed_header_fields(), managed);
        prop_assert_eq!(report.removed_connection_tokens().len(), tokens(&before).iter().filter(|t| is_managed_name(t)).count());
    }

    /// Strip is idempotent: a second pass changes nothing and reports
    /// nothing.
    #[test]
    fn strip_twice_is_strip_once(list in prop::collection::vec(header(), 0..16)) {
        let mut once = build(&list);
        strip(&mut once, SESSION).into_report();
        let mut twice = once.clone();
        let second = strip(&mut twice, SESSION).into_report();
        prop_assert_eq!(&twice, &once);
        prop_assert_eq!(second, Default::default());
    }

    /// After injection the four identity headers hold exactly the
    /// identity's values, once each, and nothing else is in the namespace
    /// except the attestation.
    #[test]
    fn injection_is_exact(list in prop::collection::vec(header(), 0..16), id in identity(), attest in any::<bool>()) {
        let mut req = http::Request::get("/p?q=1").header("host", "a-b.vendo.run").body(()).unwrap();
        for (n, v) in build(&list) {
            if let Some(n) = n { if n != "host" { req.headers_mut().append(n, v); } }
        }
        let (mut parts, ()) = req.into_parts();
        let secret = AttestationSecret::new("k", &[9; 32]).unwrap();
        let signer = secret.signer(Timestamp::from_unix_seconds(1_700_000_000).unwrap());
        strip_request(&mut parts, SESSION).inject(id.clone(), attest.then_some(&signer)).unwrap();
        let h = &parts.headers;
        let one = |name: &str| -> Vec<&[u8]> { h.get_all(name).iter().map(HeaderValue::as_bytes).collect() };
        prop_assert_eq!(one("x-vendo-tenant-id"), [id.tenant_id().as_str().as_bytes()]);
        prop_assert_eq!(one("x-vendo-deployment-id"), [id.deployment_id().as_str().as_bytes()]);
        prop_assert_eq!(one("x-vendo-user-id"), [id.user_id().as_str().as_bytes()]);
        prop_assert_eq!(one("x-vendo-user-email"), [id.email().as_str().as_bytes()]);
        prop_assert_eq!(one("x-vendo-attestation").len(), usize::from(attest));
        let managed = h.iter().filter(|(n, _)| is_managed_name(n.as_str().as_bytes())).count();
        prop_assert_eq!(managed, 4 + usize::from(attest));
        prop_assert!(h.iter().filter(|(n, _)| is_managed_name(n.as_str().as_bytes())).all(|(_, v)| v.is_sensitive()));
    }
}

/// Shrunk by the properties from a collision key that forgot `.`: the
/// smallest name whose key is exactly the prefix, in mixed case.
#[test]
fn regression_bare_prefix_name_with_dot_and_mixed_case() {
    let mut h = build(&[("x-venDo.".to_owned(), "A".to_owned())]);
    let report = strip(&mut h, SESSION).into_report();
    assert!(h.is_empty());
    assert_eq!(report.removed_headers(), ["x-vendo."]);
}

/// The same, as a `Connection` nomination.
#[test]
fn regression_bare_prefix_connection_token() {
    let mut h = build(&[("connection".to_owned(), "x-VeNdo.".to_owned())]);
    let report = strip(&mut h, SESSION).into_report();
    assert!(h.is_empty());
    assert_eq!(report.removed_connection_tokens(), ["x-VeNdo."]);
}
