//! The demo's scenario, with assertions: a real reverse proxy on loopback
//! in front of three tenants' tools, driven over HTTP/1.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::arithmetic_side_effects, missing_docs)]

#[path = "../examples/demo/platform.rs"]
mod platform;
#[path = "../examples/demo/scenario.rs"]
mod scenario;

fn saw(row: &scenario::Row) -> Vec<(&str, &str)> {
    row.upstream_saw.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

const ACME_IDENTITY: [(&str, &str); 5] = [
    ("x-vendo-tenant-id", "t_acme"),
    ("x-vendo-deployment-id", "d_acme_crm"),
    ("x-vendo-user-id", "u_ada"),
    ("x-vendo-user-email", "ada@acme.example"),
    ("x-vendo-attestation", "(signed)"),
];

#[tokio::test(flavor = "current_thread")]
async fn the_demo_scenario_holds() {
    let rows = scenario::run().await;
    let by = |name: &str| rows.iter().find(|r| r.scenario == name).unwrap_or_else(|| panic!("no row {name}"));

    let valid = by("valid session");
    assert_eq!((valid.status, valid.decision.as_str()), (200, "attested"));
    let mut want = vec![("cookie", "theme=dark")];
    want.extend(ACME_IDENTITY);
    assert_eq!(saw(valid), want, "the session cookie is removed, other cookies kept");

    for name in [
        "forged identity in every spelling",
        "Connection nominates x-vendo-user-id",
        "new host after rename",
        "form POST from its own page",
        // SPEC §3.2: a top-level GET navigation passes whatever page it came from.
        "link from another tenant's page (top-level GET)",
    ] {
        let row = by(name);
        assert_eq!((row.status, row.decision.as_str()), (200, "attested"), "{name}");
        assert_eq!(saw(row), ACME_IDENTITY.to_vec(), "{name}: only the verified identity reaches the tool");
    }

    let legacy = by("legacy host, its own tenant's session");
    assert_eq!(legacy.status, 200);
    assert!(saw(legacy).contains(&("x-vendo-tenant-id", "t_globex")));

    for (name, status, code) in [
        ("another tenant's session", 403, "wrong_tenant"),
        ("expired session", 401, "expired"),
        ("no session, forged header", 401, "no_session"),
        ("reserved host", 404, "reserved"),
        ("credits exhausted for that tenant only", 402, "insufficient_credits"),
        ("old host after rename", 404, "not_found"),
        // SPEC §3.2: the same-site POST that SameSite=Lax lets through.
        ("form POST from another tenant's page", 403, "cross_site_request"),
        ("form POST from another tenant's page, no Sec-Fetch-*", 403, "cross_site_request"),
    ] {
        let row = by(name);
        assert_eq!((row.status, row.decision.as_str()), (status, code), "{name}");
        assert!(row.upstream_saw.is_empty(), "{name}: a denied request never reaches the tool");
    }

    for name in ["form POST from another tenant's page", "form POST from another tenant's page, no Sec-Fetch-*"] {
        let row = by(name);
        assert_eq!(row.method, http::Method::POST, "{name}");
        assert!(row.context.contains(&("origin".to_owned(), "https://evil-x.vendo.run".to_owned())), "{name}");
    }
    let link = by("link from another tenant's page (top-level GET)");
    assert_eq!(link.method, http::Method::GET);
    assert!(link.context.contains(&("sec-fetch-site".to_owned(), "same-site".to_owned())));

    // SPEC §3.3: cookie tossing onto every host under the apex, and a
    // session cookie set by a tool; the host-only cookie passes.
    let planted = by("another tenant's tool sets cookies for every host");
    assert_eq!((planted.status, planted.decision.as_str()), (200, "attested"));
    assert!(saw(planted).contains(&("x-vendo-tenant-id", "t_evil")));
    assert_eq!(planted.set_cookies, ["pref=1; Path=/"]);
    assert_eq!(
        planted.filtered,
        ["Set-Cookie planted (a Domain attribute)", "Set-Cookie __Host-vendo_session (the session cookie's name)"]
    );
    assert!(rows.iter().filter(|r| r.scenario != planted.scenario).all(|r| r.filtered.is_empty()));

    let direct = by("straight to the tool, no attestation");
    assert_eq!((direct.status, direct.decision.as_str()), (401, "refused: missing"));
    assert_eq!(rows.len(), 17);
    assert!(rows.iter().all(|r| !r.host.is_empty()));
    assert_eq!(direct.via, "upstream");
    assert!(rows.iter().filter(|r| r.via == "proxy").count() == 16);
}

#[path = "../examples/demo/provider.rs"]
mod provider;

#[tokio::test(flavor = "current_thread")]
async fn the_provider_scenario_holds() {
    use vendo_isolation::credits::MicroCredits;

    let rows = provider::run().await;
    let by = |name: &str| rows.iter().find(|r| r.scenario == name).unwrap_or_else(|| panic!("no row {name}"));
    assert_eq!(rows.len(), 9);

    // Each row's decision, in SPEC §6–§9 terms.
    for (name, status, decision, lookups) in [
        ("valid JSON call", 200, "forwarded", 1),
        ("valid streamed call", 200, "forwarded", 1),
        // Looked up under t_acme, t_globex's binding id finds nothing.
        ("another tenant's binding id forged", 403, "no_binding", 1),
        ("provider mismatch (notion behind openai)", 403, "provider_mismatch", 1),
        ("revoked key", 401, "revoked_api_key", 1),
        // The checksum refuses a typo offline: the store is never asked.
        ("key with a bad checksum", 401, "malformed_api_key", 0),
        ("insufficient credits", 402, "insufficient_credits", 1),
        ("stream cut before usage", 200, "forwarded", 1),
        ("provider 500", 500, "forwarded", 1),
    ] {
        let row = by(name);
        assert_eq!((row.status, row.decision.as_str(), row.key_lookups), (status, decision, lookups), "{name}");
        let forwarded = decision == "forwarded";
        assert_eq!(row.provider_saw.is_some(), forwarded, "{name}: only an admitted call reaches the provider");
        assert_eq!(row.held.is_some(), forwarded, "{name}: a hold exactly when forwarded");
        assert_eq!(row.settled.is_some(), forwarded, "{name}: every hold settled once");
        assert_eq!(row.cut, name == "stream cut before usage", "{name}");
    }

    // What the provider saw: the connection's credential, opened by the
    // proxy, and nothing of the tool's key, namespace or cookies.
    for row in rows.iter().filter(|r| r.provider_saw.is_some()) {
        let want = format!("Bearer {}", provider::ACME_OPENAI_TOKEN);
        assert_eq!(row.provider_header("authorization"), Some(want.as_str()), "{}", row.scenario);
        assert_eq!(row.leaks(), Vec::<String>::new(), "{}", row.scenario);
        let visit = row.provider_saw.as_ref().unwrap();
        assert_eq!(visit.target, "/v1/chat/completions");
        assert!(visit.headers.iter().all(|(n, _)| n != "x-api-key"), "{}", row.scenario);
        let globex = visit.headers.iter().any(|(_, v)| v.contains(provider::GLOBEX_OPENAI_TOKEN));
        assert!(!globex, "{}: never another tenant's credential", row.scenario);
    }
    let valid = by("valid JSON call");
    assert!(valid.sent.iter().any(|(n, _)| n == "cookie") && valid.sent.iter().any(|(n, _)| n == "x_vendo_user_id"));
    assert!(valid.sent.iter().any(|(n, v)| n == "authorization" && v.starts_with("Bearer vk1_")));
    assert!(by("valid streamed call").sent.iter().any(|(n, v)| n == "x-api-key" && v.starts_with("vk1_")));

    // Settlement (SPEC §9), each equal to provider::settle's.
    let settled = |name: &str| {
        let row = by(name);
        let s = row.settled.as_ref().unwrap();
        assert!(s.matches_settle, "{name}");
        (row.held.unwrap().micros(), s.kind, s.debit.micros())
    };
    // Body bytes at 0.15 per token, rounded up, plus max_tokens 500 at 0.6.
    assert_eq!(settled("valid JSON call"), (315, "posted", 2 + 51), "usage 12 + 85");
    assert_eq!(settled("valid streamed call"), (324, "posted", 2 + 24), "usage 12 + 40 from the last event");
    assert_eq!(settled("stream cut before usage"), (324, "posted", 324), "no usage: the hold posted whole");
    assert_eq!(settled("provider 500"), (315, "voided", 0));

    // Balances after each row: t_acme pays only for its own calls, and
    // t_globex's never moves.
    let acme = [999_947, 999_921, 999_921, 999_921, 999_921, 999_921, 999_921, 999_597, 999_597];
    for (row, acme) in rows.iter().zip(acme) {
        assert_eq!(row.balance(provider::ACME), MicroCredits::from_micros(acme), "{}", row.scenario);
        assert_eq!(row.balance(provider::GLOBEX), MicroCredits::from_micros(2_000_000), "{}", row.scenario);
    }
    let debits: u64 = rows.iter().filter_map(|r| r.settled.as_ref()).map(|s| s.debit.micros()).sum();
    assert_eq!(rows.last().unwrap().balance(provider::ACME).micros(), 1_000_000 - debits);
}
