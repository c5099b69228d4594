//! SPEC §5 `forward` vectors: generated here from fixed keys and sessions,
//! checked in at `tests/vectors/forward.jsonl`, and replayed through the
//! runner by `tests/conformance.rs`.
//!
//! ```text
//! REGENERATE_VECTORS=1 cargo test --all-features --test forward_vectors
//! ```
//!
//! rewrites the file; without the variable, a test fails if the file and
//! the generator disagree. Every expected answer below is written out by
//! hand from the SPEC, not computed by the crate; tokens are signed by an
//! HMAC written here from SPEC §4.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "support/vectors.rs"]
mod vectors;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const NOW: u64 = 1_700_000_000;
const IAT: u64 = 1_699_990_000;
const EXP: u64 = 1_700_030_000;
const COOKIE: &str = "__Host-vendo_session";

fn k1() -> Vec<u8> {
    (0u8..32).map(|i| i.wrapping_mul(7).wrapping_add(1)).collect()
}
fn k2() -> Vec<u8> {
    (0u8..48).map(|i| i.wrapping_mul(13).wrapping_add(5)).collect()
}
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SPEC §4, independently of the crate.
fn token(secret: &[u8], kid: &str, t: &str, d: &str, iat: u64, exp: u64) -> String {
    let claims = format!("{t}\n{d}\nu_1\na@b.io\n{iat}\n{exp}");
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    m.update(format!("vendo-session-v1\x00v1.{kid}.{payload}").as_bytes());
    format!("v1.{kid}.{payload}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

fn good() -> String {
    token(&k1(), "k1", "t_1", "d_1", IAT, EXP)
}

fn route() -> Value {
    json!({"tenant_id": "t_1", "deployment_id": "d_1", "tenant_slug": "acme", "deployment_slug": "crm"})
}

fn identity() -> Vec<Value> {
    vec![
        json!(["x-vendo-tenant-id", "t_1"]),
        json!(["x-vendo-deployment-id", "d_1"]),
        json!(["x-vendo-user-id", "u_1"]),
        json!(["x-vendo-user-email", "a@b.io"]),
    ]
}

fn ok(mut kept: Vec<Value>) -> Value {
    kept.extend(identity());
    json!({"ok": {"headers": kept}})
}

fn err(code: &str) -> Value {
    json!({ "error": code })
}

struct Gen(Vec<Value>);

impl Gen {
    /// A request with the defaults (`acme-crm.vendo.run`, the route above,
    /// key k1, `now`), overridden by `over`.
    fn add(&mut self, why: &str, headers: Value, over: Value, expect: Value) {
        let mut req = json!({
            "id": format!("f{}", self.0.len() + 1),
            "op": "forward",
            "host": "acme-crm.vendo.run",
            "apex": "vendo.run",
            "route": route(),
            "headers": headers,
            "keys": {"k1": hex(&k1())},
            "now": NOW,
            "leeway_s": 60,
            "max_lifetime_s": 86_400,
            "session_cookie": COOKIE,
        });
        for (k, v) in over.as_object().unwrap() {
            req[k] = v.clone();
        }
        req["expect"] = expect;
        req["why"] = json!(why);
        self.0.push(req);
    }
}

fn session(tok: &str) -> Value {
    json!(["cookie", format!("{COOKIE}={tok}")])
}

fn generate() -> Vec<Value> {
    let g = good();
    let mut v = Gen(Vec::new());
    let none = json!({});

    v.add(
        "SPEC example: forged user id dropped, other cookie kept",
        json!([["cookie", format!("{COOKIE}={g}; theme=dark")], ["x-vendo-user-id", "evil"]]),
        none.clone(),
        ok(vec![json!(["cookie", "theme=dark"])]),
    );
    v.add("only the session cookie: Cookie header dropped", json!([session(&g)]), none.clone(), ok(vec![]));
    v.add(
        "legacy host",
        json!([session(&g), ["accept", "*/*"]]),
        json!({"host": "crm.acme.vendo.run"}),
        ok(vec![json!(["accept", "*/*"])]),
    );
    v.add(
        "upper-case host with port and FQDN dot",
        json!([session(&g)]),
        json!({"host": "ACME-CRM.vendo.run.:443"}),
        ok(vec![]),
    );
    v.add(
        "underscore and dot spellings (CVE-2025-64484, GHSA-rf44-j88r-hh8c)",
        json!([
            session(&g),
            ["X_Vendo_User_Id", "evil"],
            ["x.vendo.tenant.id", "t_2"],
            ["X-VENDO-USER-EMAIL", "boss@x.io"]
        ]),
        none.clone(),
        ok(vec![]),
    );
    v.add(
        "unknown x-vendo name is in the namespace too",
        json!([session(&g), ["x-vendo-role", "admin"], ["x-vendor", "kept"]]),
        none.clone(),
        ok(vec![json!(["x-vendor", "kept"])]),
    );
    v.add(
        "Connection nomination mixed with keep-alive (GHSA-q7p4-7xjv-j3wf)",
        json!([session(&g), ["connection", "keep-alive, X_Vendo_User_Id"]]),
        none.clone(),
        ok(vec![json!(["connection", "keep-alive"])]),
    );
    v.add(
        "Connection nominating only the namespace is dropped (GHSA-fq95-v8xc-jm3v)",
        json!([session(&g), ["connection", "x-vendo-tenant-id"], ["connection", "close"]]),
        none.clone(),
        ok(vec![json!(["connection", "close"])]),
    );
    v.add(
        "session cookie in the second Cookie header, spaces around =",
        json!([["cookie", "a=1"], ["cookie", format!(" {COOKIE} = {g} ;b=2")]]),
        none.clone(),
        ok(vec![json!(["cookie", "a=1"]), json!(["cookie", "b=2"])]),
    );
    v.add(
        "rotation: a token from the second key verifies",
        json!([session(&token(&k2(), "k2", "t_1", "d_1", IAT, EXP))]),
        json!({"keys": {"k1": hex(&k1()), "k2": hex(&k2())}}),
        ok(vec![]),
    );
    v.add(
        "custom session cookie name",
        json!([["cookie", format!("sid={g}; {COOKIE}=other")]]),
        json!({"session_cookie": "sid"}),
        ok(vec![json!(["cookie", format!("{COOKIE}=other")])]),
    );
    v.add("leeway: one second before exp + L", json!([session(&g)]), json!({"now": EXP + 59}), ok(vec![]));
    v.add(
        "custom apex",
        json!([session(&g)]),
        json!({"host": "acme-crm.staging.vendo.dev", "apex": "staging.vendo.dev"}),
        ok(vec![]),
    );
    // Refusals, in SPEC §5 order.
    v.add("IP literal", json!([session(&g)]), json!({"host": "10.0.0.1"}), err("invalid_host"));
    v.add("apex look-alike", json!([session(&g)]), json!({"host": "acme-crmvendo.run"}), err("not_under_apex"));
    v.add("the apex", json!([session(&g)]), json!({"host": "vendo.run"}), err("apex"));
    v.add("three labels", json!([session(&g)]), json!({"host": "x.crm.acme.vendo.run"}), err("too_deep"));
    v.add("punycode label", json!([session(&g)]), json!({"host": "xn--crm.vendo.run"}), err("invalid_label"));
    v.add(
        "reserved host, even with a route",
        json!([session(&g)]),
        json!({"host": "admin.vendo.run"}),
        err("reserved"),
    );
    v.add("host errors come before the route", json!([]), json!({"host": "vendo.run", "route": null}), err("apex"));
    v.add("no route", json!([session(&g), ["x-vendo-user-id", "evil"]]), json!({"route": null}), err("not_found"));
    v.add(
        "route of another deployment under this key",
        json!([session(&g)]),
        json!({"route": {"tenant_id": "t_1", "deployment_id": "d_1", "tenant_slug": "acme", "deployment_slug": "sales"}}),
        err("route_mismatch"),
    );
    v.add(
        "split ambiguity: acme-c + rm does not rebuild acme-crm's slugs",
        json!([session(&g)]),
        json!({"route": {"tenant_id": "t_1", "deployment_id": "d_1", "tenant_slug": "acme-c", "deployment_slug": "r-m"}}),
        err("route_mismatch"),
    );
    v.add(
        "split ambiguity: a-b-c resolves through the entry, which rebuilds it",
        json!([session(&g)]),
        json!({"host": "acme-c-rm.vendo.run", "route": {"tenant_id": "t_1", "deployment_id": "d_1", "tenant_slug": "acme-c", "deployment_slug": "rm"}}),
        ok(vec![]),
    );
    v.add(
        "no session cookie",
        json!([["cookie", "theme=dark"], ["x-vendo-user-id", "evil"]]),
        none.clone(),
        err("no_session"),
    );
    v.add(
        "cookie name is case-sensitive",
        json!([["cookie", format!("__host-vendo_session={g}")]]),
        none.clone(),
        err("no_session"),
    );
    v.add(
        "cookie tossing: two session cookies",
        json!([session(&g), ["cookie", format!("{COOKIE}={g}")]]),
        none.clone(),
        err("duplicate_session"),
    );
    v.add("malformed token", json!([session("v1.k1.abc")]), none.clone(), err("malformed"));
    v.add(
        "unknown key id",
        json!([session(&token(&k1(), "k9", "t_1", "d_1", IAT, EXP))]),
        none.clone(),
        err("unknown_key"),
    );
    v.add(
        "forged signature",
        json!([session(&token(&k2(), "k1", "t_1", "d_1", IAT, EXP))]),
        none.clone(),
        err("bad_signature"),
    );
    v.add(
        "lifetime over the maximum",
        json!([session(&token(&k1(), "k1", "t_1", "d_1", IAT, IAT + 86_401))]),
        none.clone(),
        err("lifetime_too_long"),
    );
    v.add("not yet valid", json!([session(&g)]), json!({"now": IAT - 61}), err("not_yet_valid"));
    v.add("expired at exp + L", json!([session(&g)]), json!({"now": EXP + 60}), err("expired"));
    v.add(
        "another tenant's session (CVE-2025-62610)",
        json!([session(&token(&k1(), "k1", "t_2", "d_1", IAT, EXP))]),
        none.clone(),
        err("wrong_tenant"),
    );
    v.add(
        "another deployment's session of the same tenant",
        json!([session(&token(&k1(), "k1", "t_1", "d_2", IAT, EXP))]),
        none.clone(),
        err("wrong_deployment"),
    );
    v.add("a header http cannot hold", json!([["bad name", "x"]]), none.clone(), err("bad_request"));
    v.add("a short key", json!([session(&g)]), json!({"keys": {"k1": "00"}}), err("bad_request"));
    v.0
}

#[test]
fn vectors_file_matches_generator() {
    vectors::check_or_regenerate("forward.jsonl", &generate());
}

#[test]
fn vectors_cover_every_forward_code() {
    let lines = generate();
    assert!(lines.len() >= 25);
    let codes: std::collections::BTreeSet<&str> = lines.iter().filter_map(|l| l["expect"]["error"].as_str()).collect();
    for code in [
        "invalid_host",
        "not_under_apex",
        "apex",
        "too_deep",
        "invalid_label",
        "reserved",
        "not_found",
        "route_mismatch",
        "no_session",
        "duplicate_session",
        "malformed",
        "unknown_key",
        "bad_signature",
        "lifetime_too_long",
        "not_yet_valid",
        "expired",
        "wrong_tenant",
        "wrong_deployment",
    ] {
        assert!(codes.contains(code), "no vector for {code}");
    }
}
