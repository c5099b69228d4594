//! A tool checking that requests came through the proxy.
//!
//! ```text
//! cargo run --example tool_side
//! ```
//!
//! The proxy half builds its identity with `Identity::for_tests` (a real
//! proxy gets it from a verified session); the tool half is what a tool
//! written in Rust runs on every request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use http::request::Parts;
use http::{HeaderValue, Request};
use vendo_isolation::attestation::{AttestationVerifier, DeploymentKey};
use vendo_isolation::headers::{Identity, strip_request};
use vendo_isolation::{AttestationSecret, Timestamp};

/// The proxy: strip what the client sent, inject the verified identity and
/// the attestation.
fn proxy(secret: &AttestationSecret, client: Request<()>, now: Timestamp) -> Parts {
    let identity = Identity::for_tests(
        "t_acme".parse().unwrap(),
        "d_crm".parse().unwrap(),
        "u_alice".parse().unwrap(),
        "alice@acme.example".parse().unwrap(),
    );
    let (mut parts, ()) = client.into_parts();
    let stripped = strip_request(&mut parts, "__Host-vendo_session");
    if stripped.report().is_spoofing() {
        println!("proxy: client sent {:?}; stripped", stripped.report().removed_headers());
    }
    stripped.inject(identity, Some(&secret.signer(now))).unwrap();
    parts
}

/// The tool: accept only attested requests.
fn tool(verifier: &AttestationVerifier, what: &str, parts: &Parts, now: Timestamp) {
    match verifier.verify(parts, now) {
        Ok(who) => println!("accept  {what}: user {} of tenant {}", who.user_id(), who.tenant_id()),
        Err(e) => println!("reject  {what}: {} ({e})", e.code()),
    }
}

fn client_request(path: &str) -> Request<()> {
    Request::get(path)
        .header("host", "acme-crm.vendo.run")
        .header("x_vendo_user_id", "u_mallory")
        .header("cookie", "__Host-vendo_session=v1.k1.payload.mac; theme=dark")
        .body(())
        .unwrap()
}

fn main() {
    let now = Timestamp::from_unix_seconds(1_700_000_000).unwrap();
    let platform = AttestationSecret::new("k2024", &[0x42; 32]).unwrap();

    // Provisioning: the tool receives its key id, deployment id and 32 key
    // bytes (for example as configuration), never the platform secret.
    let provisioned = platform.deployment_key(&"d_crm".parse().unwrap());
    let key = DeploymentKey::new("k2024", "d_crm".parse().unwrap(), provisioned.expose_secret()).unwrap();
    let verifier = AttestationVerifier::new(key);

    let good = proxy(&platform, client_request("/api/items?page=2"), now);
    tool(&verifier, "request through the proxy", &good, now);

    let direct = Request::get("/api/items")
        .header("host", "acme-crm.vendo.run")
        .header("x-vendo-tenant-id", "t_acme")
        .header("x-vendo-deployment-id", "d_crm")
        .header("x-vendo-user-id", "u_mallory")
        .header("x-vendo-user-email", "mallory@acme.example")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    tool(&verifier, "request straight to the backend", &direct, now);

    let mut replayed = good.clone();
    replayed.uri = "/api/admin/delete-all".parse().unwrap();
    tool(&verifier, "attestation replayed on another path", &replayed, now);

    let mut aliased = good.clone();
    aliased.headers.insert("x_vendo_user_id", HeaderValue::from_static("u_mallory"));
    tool(&verifier, "alias header added after the proxy", &aliased, now);

    tool(&verifier, "same request two minutes later", &good, now.saturating_add_secs(120));

    let other = AttestationVerifier::new(platform.deployment_key(&"d_other".parse().unwrap()));
    tool(&other, "another deployment's tool", &good, now);
}
