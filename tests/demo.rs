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
