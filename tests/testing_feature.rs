//! The `testing` feature's fixture and strategies hold what their docs
//! promise, against the crate itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use http::header::{CONNECTION, COOKIE};
use proptest::prelude::*;
use vendo_isolation::headers::{cookie_pairs, is_managed_name, strip};
use vendo_isolation::hosts::HostForm;
use vendo_isolation::session::{SESSION_COOKIE_NAME, SessionClaims, VerifyOptions, mint_session, verify_session};
use vendo_isolation::testing::{
    TEST_ATTESTATION_KID, TEST_SESSION_KID, TEST_SESSION_SECRET, fixture, hostile_header_map, hostile_hostname,
    identity, route_entry, routed_hostname, valid_hostname,
};
use vendo_isolation::{HostPolicy, KeyRing, RouteEntry, SessionKey};

/// Every `Connection` token of `h`, trimmed.
fn connection_tokens(h: &http::HeaderMap) -> Vec<Vec<u8>> {
    h.get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b',').map(|t| t.trim_ascii().to_vec()).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect()
}

#[test]
fn the_fixture_is_admitted_and_attested() {
    let mut f = fixture().unwrap();
    let admitted = f.gate.admit(&mut f.request, Some(&f.entry), f.now).unwrap();
    assert_eq!(admitted.session().kid(), TEST_SESSION_KID);
    assert_eq!(admitted.reissue(), None);
    assert!(!admitted.report().is_spoofing());
    assert!(admitted.report().session_cookie_removed());
    let h = &f.request.headers;
    assert_eq!(h["x-vendo-tenant-id"], "t_acme");
    assert_eq!(h["x-vendo-deployment-id"], "d_acme_crm");
    assert_eq!(h["x-vendo-user-id"], "u_alice");
    assert_eq!(h["x-vendo-user-email"], "alice@acme.example");
    assert_eq!(h["cookie"], "theme=dark");
    let who = f.attestation_verifier().verify(&f.request, f.now).unwrap();
    assert_eq!((who.kid(), who.user_id()), (TEST_ATTESTATION_KID, "u_alice"));
}

#[test]
fn the_fixture_is_what_its_docs_say() {
    let f = fixture().unwrap();
    let e = &f.entry;
    assert_eq!(
        (e.tenant_id.as_str(), e.deployment_id.as_str(), e.tenant_slug.as_str(), e.deployment_slug.as_str()),
        ("t_acme", "d_acme_crm", "acme", "crm")
    );
    assert_eq!(f.now.unix_seconds(), 1_700_000_000);
    assert_eq!(f.gate.route_key(&f.request).unwrap().as_str(), "acme-crm");
    assert_eq!(f.request.method, http::Method::GET);
    assert_eq!(f.request.uri, "/inbox?page=1");
    let h = &f.request.headers;
    assert_eq!(h["sec-fetch-site"], "same-origin");
    assert_eq!(h["sec-fetch-mode"], "navigate");
    assert_eq!(h["sec-fetch-dest"], "document");
    assert!(h.contains_key("accept") && h.contains_key("user-agent"));
    let cookie = h[COOKIE].as_bytes();
    let pairs: Vec<_> = cookie_pairs(cookie).map(|p| (p.name.to_vec(), p.value.map(<[u8]>::to_vec))).collect();
    assert_eq!(
        pairs,
        [
            (SESSION_COOKIE_NAME.as_bytes().to_vec(), Some(f.token.as_bytes().to_vec())),
            (b"theme".to_vec(), Some(b"dark".to_vec()))
        ]
    );
    assert_eq!(f.deployment_key().deployment_id(), &f.entry.deployment_id);
}

/// The fixture is a baseline for denials: one change, one refusal.
#[test]
fn the_fixture_refuses_another_tenants_route() {
    let mut f = fixture().unwrap();
    let other = RouteEntry { tenant_id: "t_globex".parse().unwrap(), ..f.entry.clone() };
    let denial = f.gate.admit(&mut f.request, Some(&other), f.now).unwrap_err();
    assert_eq!((denial.code(), denial.status().as_u16()), ("wrong_tenant", 403));
    assert_eq!(f.request.headers["cookie"], "theme=dark");
    assert!(!f.request.headers.keys().any(|n| is_managed_name(n.as_str().as_bytes())));
}

proptest! {
    // A fixed seed keeps every run identical; change it to explore.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x7e57_f17e),
        ..ProptestConfig::default()
    })]

    /// Every valid hostname parses, under the policy and through a gate.
    #[test]
    fn valid_hostname_always_parses(host in valid_hostname()) {
        let key = HostPolicy::default().parse(&host);
        prop_assert!(key.is_ok(), "{host:?}: {key:?}");
        prop_assert!(fixture().unwrap().gate.route_key_for_host(&host).is_ok());
    }

    /// However it is spelled, a routed hostname parses back to a key whose
    /// entry check passes.
    #[test]
    fn routed_hostname_rebuilds_its_entry((entry, host) in routed_hostname()) {
        let key = HostPolicy::default().parse(&host).unwrap();
        prop_assert!(key.check_entry(&entry).is_ok(), "{host:?} {entry:?}");
    }

    /// A route entry's hosts, in both forms where they build, parse to keys
    /// that rebuild exactly that entry; the legacy form always builds.
    #[test]
    fn route_entry_hosts_rebuild_the_entry(entry in route_entry()) {
        let policy = HostPolicy::default();
        let single = policy.single_level_key(&entry.tenant_slug, &entry.deployment_slug).ok();
        let legacy = policy.legacy_key(&entry.tenant_slug, &entry.deployment_slug);
        prop_assert!(legacy.is_ok());
        for (key, form) in [(single, HostForm::SingleLevel), (legacy.ok(), HostForm::Legacy)] {
            let Some(key) = key else { continue };
            let host = policy.hostname(&key);
            let parsed = policy.parse(&host).unwrap();
            prop_assert_eq!(parsed.form(), form);
            prop_assert!(parsed.check_entry(&entry).is_ok(), "{host:?}");
        }
    }

    /// No hostile hostname parses.
    #[test]
    fn hostile_hostname_never_parses(host in hostile_hostname()) {
        let key = HostPolicy::default().parse(&host);
        prop_assert!(key.is_err(), "{host:?} parsed as {key:?}");
    }

    /// After strip, nothing in the namespace is left by name or by
    /// `Connection` token, no session cookie is left, and every other
    /// header is untouched.
    #[test]
    fn strip_empties_the_namespace_of_a_hostile_map(before in hostile_header_map()) {
        prop_assert!(before.keys().any(|n| is_managed_name(n.as_str().as_bytes())));
        prop_assert!(connection_tokens(&before).iter().any(|t| is_managed_name(t)));
        let mut h = before.clone();
        let report = strip(&mut h, SESSION_COOKIE_NAME).into_report();
        prop_assert!(report.is_spoofing());
        for name in h.keys() {
            prop_assert!(!is_managed_name(name.as_str().as_bytes()), "{name}");
        }
        for t in connection_tokens(&h) {
            prop_assert!(!is_managed_name(&t), "{t:?}");
        }
        for v in h.get_all(COOKIE) {
            prop_assert!(cookie_pairs(v.as_bytes()).all(|p| p.name != SESSION_COOKIE_NAME.as_bytes()));
        }
        let others = |m: &http::HeaderMap| -> Vec<(String, Vec<Vec<u8>>)> {
            let mut out: Vec<_> = m
                .keys()
                .filter(|n| !is_managed_name(n.as_str().as_bytes()) && *n != CONNECTION && *n != COOKIE)
                .map(|n| (n.to_string(), m.get_all(n).iter().map(|v| v.as_bytes().to_vec()).collect()))
                .collect();
            out.sort();
            out
        };
        prop_assert_eq!(others(&h), others(&before));
    }

    /// The fixture's request is admitted whatever forged namespace headers
    /// ride along, and the tool's verifier, which refuses any namespace
    /// header it does not cover, accepts what the gate forwards.
    #[test]
    fn the_fixture_is_admitted_through_a_hostile_map(hostile in hostile_header_map()) {
        let mut f = fixture().unwrap();
        for (name, value) in &hostile {
            // A second session cookie would be refused as ambiguous.
            if name != COOKIE {
                f.request.headers.append(name, value.clone());
            }
        }
        let admitted = f.gate.admit(&mut f.request, Some(&f.entry), f.now).unwrap();
        prop_assert!(admitted.report().is_spoofing());
        prop_assert_eq!(&f.request.headers["x-vendo-user-id"], "u_alice");
        let who = f.attestation_verifier().verify(&f.request, f.now);
        prop_assert!(who.is_ok(), "{who:?}");
    }

    /// An identity round-trips through a session: minted by the fixture's
    /// ring, it verifies to itself.
    #[test]
    fn identity_round_trips_through_a_session(id in identity()) {
        let f = fixture().unwrap();
        let claims = SessionClaims::from_identity(&id, f.now, f.now.checked_add_secs(60).unwrap()).unwrap();
        let ring = KeyRing::new(SessionKey::new(TEST_SESSION_KID, TEST_SESSION_SECRET).unwrap());
        let token = mint_session(&claims, &ring);
        let verified =
            verify_session(&token, &ring, f.now, id.tenant_id(), id.deployment_id(), &VerifyOptions::default()).unwrap();
        prop_assert_eq!(verified.identity(), id);
    }
}
