//! SPEC §5 `verify_session` vectors: generated here from fixed keys and
//! claims by a reference signer that does not use the crate, checked in at
//! `tests/vectors/sessions.jsonl`, and replayed through the library.
//!
//! ```text
//! REGENERATE_VECTORS=1 cargo test --all-features --test session_vectors
//! ```
//!
//! rewrites the file; without the variable, a test fails if the file and
//! the generator disagree. (`tests/conformance.rs` replays the same file
//! through the runner binary.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/vectors.rs"]
mod vectors;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use vendo_isolation::session::{SessionClaims, VerifyOptions, mint_session, verify_session};
use vendo_isolation::{DeploymentId, KeyRing, SessionKey, TenantId, Timestamp};

#[path = "session_vectors/invalid.rs"]
mod invalid;
#[path = "session_vectors/reference.rs"]
mod reference;
#[path = "session_vectors/valid.rs"]
mod valid;

use reference::{Vectors, err, ok};

fn generate() -> Vec<Value> {
    let mut v = Vectors { lines: Vec::new() };
    valid::add(&mut v);
    invalid::add(&mut v);
    v.lines
}

#[test]
fn vectors_file_matches_generator() {
    vectors::check_or_regenerate("sessions.jsonl", &generate());
}

/// The request as the library sees it, or `bad_request`.
fn answer(req: &Value) -> Value {
    let bad = || err("bad_request");
    let Some(keys) = req["keys"].as_object() else { return bad() };
    let mut sorted: Vec<_> = keys.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut ring: Option<KeyRing> = None;
    for (kid, secret) in sorted {
        let Some(secret) = secret.as_str() else { return bad() };
        if secret.len() % 2 != 0 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad();
        }
        let bytes: Vec<u8> =
            (0..secret.len()).step_by(2).map(|i| u8::from_str_radix(&secret[i..i + 2], 16).unwrap()).collect();
        let Ok(key) = SessionKey::new(kid, &bytes) else { return bad() };
        match ring.as_mut() {
            None => ring = Some(KeyRing::new(key)),
            Some(r) => {
                if r.add_verify_only(key, None).is_err() {
                    return bad();
                }
            }
        }
    }
    let Some(ring) = ring else { return bad() };
    let field = |name: &str, default: u64| match req.get(name) {
        None | Some(Value::Null) => Some(default),
        Some(v) => v.as_u64(),
    };
    let (Some(leeway), Some(max)) = (field("leeway_s", 60), field("max_lifetime_s", 604_800)) else { return bad() };
    let Some(Ok(now)) = req["now"].as_u64().map(Timestamp::from_unix_seconds) else { return bad() };
    let Some(token) = req["token"].as_str() else { return bad() };
    let Some(Ok(tenant)) = req["tenant_id"].as_str().map(str::parse::<TenantId>) else { return bad() };
    let Some(Ok(deployment)) = req["deployment_id"].as_str().map(str::parse::<DeploymentId>) else { return bad() };
    let options = VerifyOptions::new().with_leeway_secs(leeway).with_max_lifetime_secs(max);
    match verify_session(token, &ring, now, &tenant, &deployment, &options) {
        Ok(s) => ok(
            s.tenant_id(),
            s.deployment_id(),
            s.user_id(),
            s.email(),
            s.issued_at().unix_seconds(),
            s.expires_at().unix_seconds(),
        ),
        Err(e) => err(e.code()),
    }
}

#[test]
fn checked_in_vectors_replay_through_the_library() {
    let text = std::fs::read_to_string(vectors::path("sessions.jsonl")).unwrap();
    let mut failures = Vec::new();
    for line in text.lines() {
        let req: Value = serde_json::from_str(line).unwrap();
        let got = answer(&req);
        if got != req["expect"] {
            failures.push(format!("{} ({}): got {got}, want {}", req["id"], req["why"], req["expect"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vectors_cover_every_code_and_enough_cases() {
    let lines = generate();
    let valid = lines.iter().filter(|l| l["expect"].get("ok").is_some()).count();
    let codes: BTreeMap<&str, usize> =
        lines.iter().filter_map(|l| l["expect"]["error"].as_str()).fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c).or_default() += 1;
            m
        });
    let invalid: usize = codes.values().sum();
    assert!(valid >= 15, "{valid} valid vectors");
    assert!(invalid >= 40, "{invalid} invalid vectors");
    let want: BTreeSet<&str> = [
        "malformed",
        "unknown_key",
        "bad_signature",
        "bad_claims",
        "lifetime_too_long",
        "not_yet_valid",
        "expired",
        "wrong_tenant",
        "wrong_deployment",
        "bad_request",
    ]
    .into();
    assert_eq!(codes.keys().copied().collect::<BTreeSet<_>>(), want);
    // The crate's minting and the reference signer agree byte for byte.
    for l in lines.iter().filter(|l| l["expect"].get("ok").is_some()) {
        let tok = l["token"].as_str().unwrap();
        let kid = tok.split('.').nth(1).unwrap();
        let secret = l["keys"][kid].as_str().unwrap();
        let secret: Vec<u8> =
            (0..secret.len()).step_by(2).map(|i| u8::from_str_radix(&secret[i..i + 2], 16).unwrap()).collect();
        let ring = KeyRing::new(SessionKey::new(kid, &secret).unwrap());
        let o = &l["expect"]["ok"];
        let ts = |k: &str| Timestamp::from_unix_seconds(o[k].as_u64().unwrap()).unwrap();
        let claims = SessionClaims::new(
            o["tenant_id"].as_str().unwrap().parse().unwrap(),
            o["deployment_id"].as_str().unwrap().parse().unwrap(),
            o["user_id"].as_str().unwrap().parse().unwrap(),
            o["email"].as_str().unwrap().parse().unwrap(),
            ts("iat"),
            ts("exp"),
        )
        .unwrap();
        assert_eq!(mint_session(&claims, &ring), tok, "{}", l["id"]);
        assert!(tok.len() <= 714, "valid tokens are at most 714 bytes");
    }
}
