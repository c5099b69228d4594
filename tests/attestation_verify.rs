//! The tool-side verifier against a hostile table, and the documented
//! format against an independent implementation written from the module
//! docs (the one a TypeScript or Python tool would write).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use http::{HeaderValue, Request};
use sha2::Sha256;
use vendo_isolation::attestation::{AttestationError, AttestationVerifier, DeploymentKey};
use vendo_isolation::headers::{Identity, strip_request};
use vendo_isolation::{AttestationSecret, Timestamp};

const NOW: u64 = 1_700_000_000;
const SESSION: &str = "__Host-vendo_session";

fn ts(secs: u64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

fn secret() -> AttestationSecret {
    AttestationSecret::new("k2024", &(0u8..32).collect::<Vec<_>>()).unwrap()
}

fn identity(deployment: &str) -> Identity {
    Identity::for_tests(
        "t_1".parse().unwrap(),
        deployment.parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
    )
}

fn request(method: &str, target: &str, host: &str) -> Parts {
    Request::builder().method(method).uri(target).header("host", host).body(()).unwrap().into_parts().0
}

/// A request as the proxy forwards it: stripped, injected, attested.
fn attested(at: u64) -> Parts {
    let mut parts = request("GET", "/api/items?page=2", "acme-crm.vendo.run");
    strip_request(&mut parts, SESSION).inject(identity("d_1"), Some(&secret().signer(ts(at)))).unwrap();
    parts
}

fn verifier() -> AttestationVerifier {
    AttestationVerifier::new(secret().deployment_key(&"d_1".parse().unwrap()))
}

/// The format, from the module docs alone.
fn reference_key(secret: &[u8], deployment: &str) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    m.update(b"vendo-attestation-key-v1\x00");
    m.update(deployment.as_bytes());
    m.finalize().into_bytes().into()
}

fn reference_sign(key: &[u8; 32], kid: &str, ts: &str, fields: [&str; 7]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(b"vendo-attestation-v1\x00");
    for f in [kid, ts].into_iter().chain(fields) {
        m.update(&u32::try_from(f.len()).unwrap().to_be_bytes());
        m.update(f.as_bytes());
    }
    format!("v1.{kid}.{ts}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

const WORKED: &str = "v1.k2024.1700000000.UKVcKgRcZRtrc3J3nJSHgnQ_hjuSN7f2niV9AP_EcrM";

#[test]
fn worked_example_matches_the_docs() {
    let key = reference_key(&(0u8..32).collect::<Vec<_>>(), "d_1");
    assert_eq!(key, *secret().deployment_key(&"d_1".parse().unwrap()).expose_secret(), "key derivation as documented");
    let fields = ["GET", "acme-crm.vendo.run", "/api/items?page=2", "t_1", "d_1", "u_1", "a@b.io"];
    assert_eq!(reference_sign(&key, "k2024", "1700000000", fields), WORKED);
    let parts = attested(NOW);
    assert_eq!(parts.headers["x-vendo-attestation"], WORKED);
    assert!(parts.headers["x-vendo-attestation"].is_sensitive());
    let who = verifier().verify(&parts, ts(NOW)).unwrap();
    assert_eq!((who.tenant_id(), who.deployment_id(), who.user_id(), who.email()), ("t_1", "d_1", "u_1", "a@b.io"));
    assert_eq!((who.kid(), who.signed_at()), ("k2024", ts(NOW)));
}

/// Replaces one header's values with `value`.
fn set(parts: &mut Parts, name: &'static str, value: &str) {
    parts.headers.insert(name, HeaderValue::from_str(value).unwrap());
}

#[test]
fn hostile_requests_are_rejected() {
    use AttestationError as E;
    type Tamper = fn(&mut Parts);
    let table: &[(&str, Tamper, E)] = &[
        // Seed: a direct request to the backend carries identity headers
        // but cannot carry an attestation.
        ("direct to backend", |p| drop(p.headers.remove("x-vendo-attestation")), E::Missing),
        ("identity header removed by a hop", |p| drop(p.headers.remove("x-vendo-user-email")), E::MissingIdentity),
        // GHSA-vjrc-mh2v-45x6: the tool's framework folds `_` into `-` and
        // may read the alias instead of the attested value.
        ("underscore alias added", |p| set(p, "x_vendo_user_id", "u_2"), E::UnexpectedHeader),
        // GHSA-rf44-j88r-hh8c: the same with `.`.
        ("dot alias added", |p| set(p, "x.vendo.user.id", "u_2"), E::UnexpectedHeader),
        ("unknown namespace header", |p| set(p, "x-vendo-role", "admin"), E::UnexpectedHeader),
        // GHSA-q7p4-7xjv-j3wf: a nomination lets a hop drop a covered header.
        ("connection nomination", |p| set(p, "connection", "close, X-Vendo-User-Id"), E::UnexpectedHeader),
        // First-value vs last-value readers disagree on duplicates.
        (
            "duplicate identity value",
            |p| {
                let _ = p.headers.append("x-vendo-user-id", HeaderValue::from_static("u_2"));
            },
            E::DuplicateHeader,
        ),
        (
            "duplicate attestation",
            |p| {
                let _ = p.headers.append("x-vendo-attestation", HeaderValue::from_static("v1.k.1.x"));
            },
            E::DuplicateHeader,
        ),
        ("version 2", |p| set(p, "x-vendo-attestation", &WORKED.replacen("v1", "v2", 1)), E::Malformed),
        ("leading zero in ts", |p| set(p, "x-vendo-attestation", &WORKED.replace(".17", ".017")), E::Malformed),
        ("padded mac", |p| set(p, "x-vendo-attestation", &format!("{WORKED}=")), E::Malformed),
        // A kid outside the SPEC §4 syntax is malformed, whatever the rest.
        ("kid with a bad byte", |p| set(p, "x-vendo-attestation", &WORKED.replacen("k2024", "k!024", 1)), E::Malformed),
        ("empty kid", |p| set(p, "x-vendo-attestation", &WORKED.replacen("k2024", "", 1)), E::Malformed),
        ("no host", |p| drop(p.headers.remove("host")), E::MissingAuthority),
        // Two Host headers: proxy and tool may each read a different one.
        (
            "two hosts",
            |p| {
                let _ = p.headers.append("host", HeaderValue::from_static("evil.vendo.run"));
            },
            E::MissingAuthority,
        ),
        ("unknown kid", |p| set(p, "x-vendo-attestation", &WORKED.replace("k2024", "k2025")), E::UnknownKey),
        ("flipped mac", |p| set(p, "x-vendo-attestation", &WORKED.replace("UKV", "UKW")), E::BadSignature),
        // Impersonation: a valid-looking id of another user.
        ("user swapped", |p| set(p, "x-vendo-user-id", "u_2"), E::BadSignature),
        ("tenant swapped", |p| set(p, "x-vendo-tenant-id", "t_2"), E::BadSignature),
        ("email swapped", |p| set(p, "x-vendo-user-email", "b@b.io"), E::BadSignature),
        // Replay of a captured attestation on another route or method.
        ("path changed", |p| p.uri = "/api/admin?page=2".parse().unwrap(), E::BadSignature),
        ("query changed", |p| p.uri = "/api/items?page=3".parse().unwrap(), E::BadSignature),
        ("method changed", |p| p.method = http::Method::DELETE, E::BadSignature),
        ("host changed", |p| set(p, "host", "other-crm.vendo.run"), E::BadSignature),
        (
            "ts moved",
            |p| set(p, "x-vendo-attestation", &WORKED.replace(".1700000000.", ".1700000001.")),
            E::BadSignature,
        ),
    ];
    let v = verifier();
    for (why, tamper, want) in table {
        let mut parts = attested(NOW);
        tamper(&mut parts);
        assert_eq!(v.verify(&parts, ts(NOW)), Err(*want), "{why}");
    }
}

#[test]
fn age_and_skew_bounds() {
    let v = verifier();
    let p = attested(NOW);
    // Defaults: 60 s of age, 5 s of skew either way.
    assert!(v.verify(&p, ts(NOW + 65)).is_ok());
    assert_eq!(v.verify(&p, ts(NOW + 66)), Err(AttestationError::Expired));
    assert!(v.verify(&p, ts(NOW - 5)).is_ok());
    assert_eq!(v.verify(&p, ts(NOW - 6)), Err(AttestationError::NotYetValid));
    let strict = verifier().max_age_secs(10).skew_secs(0);
    assert!(strict.verify(&p, ts(NOW + 10)).is_ok());
    assert_eq!(strict.verify(&p, ts(NOW + 11)).unwrap_err().code(), "expired");
    assert_eq!(strict.verify(&p, ts(NOW - 1)).unwrap_err().code(), "not_yet_valid");
    // Saturating bounds: the largest settings at the end of time do not wrap.
    let lax = verifier().max_age_secs(u32::MAX).skew_secs(u32::MAX);
    assert!(lax.verify(&p, Timestamp::MAX).is_err());
    assert!(lax.verify(&p, Timestamp::EPOCH).is_ok());
}

#[test]
fn another_deployments_tool_cannot_forge() {
    // The tool of deployment d_2 holds only its own key and signs an
    // attestation for a d_1 identity: d_1's tool refuses it.
    let d2_key = secret().deployment_key(&"d_2".parse().unwrap());
    let mut p = attested(NOW);
    let fields = ["GET", "acme-crm.vendo.run", "/api/items?page=2", "t_1", "d_1", "u_9", "a@b.io"];
    set(&mut p, "x-vendo-user-id", "u_9");
    set(&mut p, "x-vendo-attestation", &reference_sign(d2_key.expose_secret(), "k2024", "1700000000", fields));
    assert_eq!(verifier().verify(&p, ts(NOW)), Err(AttestationError::BadSignature));

    // Nor by naming its own deployment: the MAC is under d_1's key.
    let fields = ["GET", "acme-crm.vendo.run", "/api/items?page=2", "t_1", "d_2", "u_9", "a@b.io"];
    set(&mut p, "x-vendo-deployment-id", "d_2");
    set(&mut p, "x-vendo-attestation", &reference_sign(d2_key.expose_secret(), "k2024", "1700000000", fields));
    assert_eq!(verifier().verify(&p, ts(NOW)), Err(AttestationError::BadSignature));
}

#[test]
fn identity_of_another_deployment_under_this_key_is_refused() {
    // Only a proxy bug could sign a d_2 identity with d_1's key; the tool
    // still refuses it.
    let d1_key = secret().deployment_key(&"d_1".parse().unwrap());
    let mut p = attested(NOW);
    let fields = ["GET", "acme-crm.vendo.run", "/api/items?page=2", "t_1", "d_2", "u_1", "a@b.io"];
    set(&mut p, "x-vendo-deployment-id", "d_2");
    set(&mut p, "x-vendo-attestation", &reference_sign(d1_key.expose_secret(), "k2024", "1700000000", fields));
    assert_eq!(verifier().verify(&p, ts(NOW)), Err(AttestationError::WrongDeployment));
}

#[test]
fn invalid_identity_syntax_is_refused_after_the_mac() {
    let key = secret().deployment_key(&"d_1".parse().unwrap());
    let mut p = attested(NOW);
    let fields = ["GET", "acme-crm.vendo.run", "/api/items?page=2", "t_1", "d_1", "u_1", "no-at-sign"];
    set(&mut p, "x-vendo-user-email", "no-at-sign");
    set(&mut p, "x-vendo-attestation", &reference_sign(key.expose_secret(), "k2024", "1700000000", fields));
    assert_eq!(verifier().verify(&p, ts(NOW)), Err(AttestationError::BadIdentity));
}

#[test]
fn rotation_accepts_both_keys() {
    let old = AttestationSecret::new("old", &[1; 32]).unwrap();
    let new = AttestationSecret::new("new", &[2; 40]).unwrap();
    let d1 = "d_1".parse().unwrap();
    let v = AttestationVerifier::new(old.deployment_key(&d1)).with_key(new.deployment_key(&d1)).unwrap();
    for s in [&old, &new] {
        let mut p = request("POST", "/x", "acme-crm.vendo.run");
        strip_request(&mut p, SESSION).inject(identity("d_1"), Some(&s.signer(ts(NOW)))).unwrap();
        assert_eq!(v.verify(&p, ts(NOW)).unwrap().kid(), s.kid());
    }
    // A provisioned copy of the key verifies like the original.
    let k = new.deployment_key(&d1);
    let copy = DeploymentKey::new("new", "d_1".parse().unwrap(), k.expose_secret()).unwrap();
    let mut p = request("GET", "/", "acme-crm.vendo.run");
    strip_request(&mut p, SESSION).inject(identity("d_1"), Some(&new.signer(ts(NOW)))).unwrap();
    assert!(AttestationVerifier::new(copy).verify(&p, ts(NOW)).is_ok());
}

#[test]
fn key_construction_errors() {
    assert_eq!(AttestationSecret::new("k", &[0; 31]).unwrap_err().code(), "short_secret");
    assert_eq!(AttestationSecret::new("k.1", &[0; 32]).unwrap_err().code(), "invalid_key_id");
    assert_eq!(AttestationSecret::new(&"k".repeat(33), &[0; 32]).unwrap_err().code(), "invalid_key_id");
    assert_eq!(DeploymentKey::new("k", "d".parse().unwrap(), &[0; 33]).unwrap_err().code(), "bad_key_length");
}

#[test]
fn absolute_form_uses_the_uri_authority() {
    // HTTP/2 `:authority` and absolute-form arrive in the URI; the
    // attestation binds that, not a `Host` header.
    let mut p = Request::get("https://acme-crm.vendo.run/a").body(()).unwrap().into_parts().0;
    strip_request(&mut p, SESSION).inject(identity("d_1"), Some(&secret().signer(ts(NOW)))).unwrap();
    assert!(verifier().verify(&p, ts(NOW)).is_ok());
    p.uri = "https://evil.vendo.run/a".parse().unwrap();
    assert_eq!(verifier().verify(&p, ts(NOW)), Err(AttestationError::BadSignature));
}

#[test]
fn a_verifier_holds_a_bounded_set_of_its_own_deployment_keys() {
    let d1 = "d_1".parse().unwrap();
    let key = |i: u8| AttestationSecret::new(&format!("a{i}"), &[i; 32]).unwrap().deployment_key(&d1);
    let mut v = AttestationVerifier::new(key(0));
    for i in 1..8 {
        v = v.with_key(key(i)).unwrap();
    }
    // Re-adding a held id replaces it and does not count twice.
    v = v.with_key(key(3)).unwrap();
    assert_eq!(v.with_key(key(8)).unwrap_err().code(), "too_many_keys");
    // A key for another deployment would let that deployment's traffic in.
    let other = AttestationSecret::new("a9", &[9; 32]).unwrap().deployment_key(&"d_2".parse().unwrap());
    assert_eq!(AttestationVerifier::new(key(0)).with_key(other).unwrap_err().code(), "other_deployment");
}

/// Secrets print their key id and never their bytes: a log line or a
/// panic message that formats one must not leak it.
#[test]
fn secrets_debug_as_their_kid_only() {
    let s = secret();
    let shown = format!("{s:?}");
    assert!(shown.starts_with("AttestationSecret") && shown.contains("k2024"), "{shown}");
    let key = s.deployment_key(&"d_1".parse().unwrap());
    let shown = format!("{key:?}");
    assert!(shown.starts_with("DeploymentKey") && shown.contains("k2024") && shown.contains("d_1"), "{shown}");
    let hex: String = key.expose_secret().iter().map(|b| format!("{b:02x}")).collect();
    let decimal = format!("{:?}", key.expose_secret());
    assert!(!shown.contains(&hex) && !shown.contains(&decimal[1..20]), "{shown}");
}

/// What the attestation covers, read back part by part.
#[test]
fn a_target_reads_back_every_covered_part() {
    let parts = request("PATCH", "/api/items?page=2&x", "acme-crm.vendo.run:8443");
    let t = vendo_isolation::attestation::RequestTarget::new(&parts.method, &parts.uri, &parts.headers).unwrap();
    assert_eq!(
        (t.method(), t.authority(), t.path(), t.query()),
        ("PATCH", "acme-crm.vendo.run:8443", "/api/items", Some("page=2&x"))
    );
}

/// The longest attestation, a 32-character kid at the last timestamp,
/// is signed whole and verifies: the signing buffer is sized exactly for
/// it, and a value cut short would fail closed for every such request.
#[test]
fn the_longest_attestation_is_signed_whole() {
    let kid = "k".repeat(vendo_isolation::attestation::MAX_ATTESTATION_KID_LEN);
    let secret = AttestationSecret::new(&kid, &[9; 32]).unwrap();
    let mut parts = request("GET", "/a", "acme-crm.vendo.run");
    strip_request(&mut parts, SESSION).inject(identity("d_1"), Some(&secret.signer(Timestamp::MAX))).unwrap();
    let value = parts.headers["x-vendo-attestation"].to_str().unwrap().to_owned();
    assert_eq!(value.len(), 2 + 1 + kid.len() + 1 + 12 + 1 + 43, "{value}");
    let verifier = AttestationVerifier::new(secret.deployment_key(&"d_1".parse().unwrap()));
    assert_eq!(verifier.verify(&parts, Timestamp::MAX).unwrap().kid(), kid);
}
