//! Properties of the attestation: sign then verify accepts exactly the
//! request that was signed, the bytes match an implementation written from
//! the docs, and no other deployment's key or tampered request passes.

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
use proptest::prelude::*;
use sha2::Sha256;
use vendo_isolation::attestation::AttestationVerifier;
use vendo_isolation::headers::{Identity, strip_request};
use vendo_isolation::testing::{deployment_id, email, tenant_id, user_id};
use vendo_isolation::time::MAX_UNIX_SECONDS;
use vendo_isolation::{AttestationSecret, Timestamp};

const SESSION: &str = "__Host-vendo_session";

fn identity() -> impl Strategy<Value = Identity> {
    (tenant_id(), deployment_id(), user_id(), email()).prop_map(|(t, d, u, e)| Identity::for_tests(t, d, u, e))
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![Just("GET".to_owned()), Just("POST".to_owned()), Just("DELETE".to_owned()), "[A-Z]{1,8}"]
}

/// Origin-form targets: path segments and an optional query.
fn target() -> impl Strategy<Value = String> {
    let seg = "[a-zA-Z0-9._~!$&'()*+,;=:@%-]{0,8}";
    (prop::collection::vec(seg, 1..4), prop::option::of("[a-zA-Z0-9=&/?._~-]{0,12}")).prop_map(|(segs, q)| {
        let path = format!("/{}", segs.join("/"));
        match q {
            Some(q) => format!("{path}?{q}"),
            None => path,
        }
    })
}

fn host() -> impl Strategy<Value = String> {
    ("[a-z0-9]{1,10}", prop::option::of(1u16..)).prop_map(|(l, port)| match port {
        Some(p) => format!("{l}.vendo.run:{p}"),
        None => format!("{l}.vendo.run"),
    })
}

fn secret_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 32..80)
}

fn request(method: &str, target: &str, host: &str) -> Parts {
    Request::builder().method(method).uri(target).header("host", host).body(()).unwrap().into_parts().0
}

fn sign(secret: &AttestationSecret, id: &Identity, parts: &mut Parts, at: u64) {
    let now = Timestamp::from_unix_seconds(at).unwrap();
    strip_request(parts, SESSION).inject(id.clone(), Some(&secret.signer(now))).unwrap();
}

fn reference(secret: &[u8], kid: &str, at: u64, parts: &Parts, id: &Identity) -> String {
    let mut k = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    k.update(b"vendo-attestation-key-v1\x00");
    k.update(id.deployment_id().as_str().as_bytes());
    let key = k.finalize().into_bytes();
    let ts = at.to_string();
    let fields = [
        kid,
        &ts,
        parts.method.as_str(),
        parts.headers["host"].to_str().unwrap(),
        parts.uri.path_and_query().unwrap().as_str(),
        id.tenant_id().as_str(),
        id.deployment_id().as_str(),
        id.user_id().as_str(),
        id.email().as_str(),
    ];
    let mut m = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    m.update(b"vendo-attestation-v1\x00");
    for f in fields {
        m.update(&(f.len() as u32).to_be_bytes());
        m.update(f.as_bytes());
    }
    format!("v1.{kid}.{ts}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

proptest! {
    // A fixed seed keeps every run identical; change it to explore.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xa77e_57ed),
        ..ProptestConfig::default()
    })]

    /// Sign then verify: accepted, and the attested identity is the one
    /// signed; the bytes are those of the documented format.
    #[test]
    fn round_trip_and_reference(
        s in secret_bytes(), kid in "[A-Za-z0-9_-]{1,32}", id in identity(),
        m in method(), t in target(), h in host(), at in 0..=MAX_UNIX_SECONDS,
    ) {
        let secret = AttestationSecret::new(&kid, &s).unwrap();
        let mut parts = request(&m, &t, &h);
        sign(&secret, &id, &mut parts, at);
        prop_assert_eq!(parts.headers["x-vendo-attestation"].to_str().unwrap(), reference(&s, &kid, at, &parts, &id));
        let v = AttestationVerifier::new(secret.deployment_key(id.deployment_id()));
        let who = v.verify(&parts, Timestamp::from_unix_seconds(at).unwrap()).unwrap();
        prop_assert_eq!(who.tenant_id(), id.tenant_id().as_str());
        prop_assert_eq!(who.deployment_id(), id.deployment_id().as_str());
        prop_assert_eq!(who.user_id(), id.user_id().as_str());
        prop_assert_eq!(who.email(), id.email().as_str());
    }

    /// A key derived for any other deployment verifies nothing.
    #[test]
    fn other_deployment_key_never_verifies(s in secret_bytes(), id in identity(), other in deployment_id()) {
        prop_assume!(&other != id.deployment_id());
        let secret = AttestationSecret::new("k", &s).unwrap();
        let mut parts = request("GET", "/", "a.vendo.run");
        sign(&secret, &id, &mut parts, 1_700_000_000);
        let v = AttestationVerifier::new(secret.deployment_key(&other));
        prop_assert!(v.verify(&parts, Timestamp::from_unix_seconds(1_700_000_000).unwrap()).is_err());
    }

    /// Changing any covered identity value to any other valid value is
    /// refused.
    #[test]
    fn swapped_identity_value_is_refused(id in identity(), other in identity(), which in 0usize..4) {
        let secret = AttestationSecret::new("k", &[3; 32]).unwrap();
        let mut parts = request("GET", "/p", "a.vendo.run");
        sign(&secret, &id, &mut parts, 1_700_000_000);
        let (name, old, new) = match which {
            0 => ("x-vendo-tenant-id", id.tenant_id().as_str(), other.tenant_id().as_str()),
            1 => ("x-vendo-deployment-id", id.deployment_id().as_str(), other.deployment_id().as_str()),
            2 => ("x-vendo-user-id", id.user_id().as_str(), other.user_id().as_str()),
            _ => ("x-vendo-user-email", id.email().as_str(), other.email().as_str()),
        };
        prop_assume!(old != new);
        parts.headers.insert(name, HeaderValue::from_str(new).unwrap());
        let v = AttestationVerifier::new(secret.deployment_key(id.deployment_id()));
        prop_assert!(v.verify(&parts, Timestamp::from_unix_seconds(1_700_000_000).unwrap()).is_err());
    }

    /// Moving bytes between the path and the query, or changing the
    /// target at all, is refused (the length prefixes and `?` keep fields
    /// apart).
    #[test]
    fn other_target_is_refused(t in target(), u in target()) {
        prop_assume!(t != u);
        let secret = AttestationSecret::new("k", &[3; 32]).unwrap();
        let id = Identity::for_tests("t".parse().unwrap(), "d".parse().unwrap(), "u".parse().unwrap(), "a@b".parse().unwrap());
        let mut parts = request("GET", &t, "a.vendo.run");
        sign(&secret, &id, &mut parts, 1_700_000_000);
        parts.uri = u.parse().unwrap();
        let v = AttestationVerifier::new(secret.deployment_key(id.deployment_id()));
        prop_assert!(v.verify(&parts, Timestamp::from_unix_seconds(1_700_000_000).unwrap()).is_err());
    }

    /// Arbitrary attestation values never verify and never panic.
    #[test]
    fn arbitrary_attestation_is_refused(value in "[ -~]{0,120}|v1\\.[a-z0-9]{1,4}\\.[0-9]{1,12}\\.[A-Za-z0-9_-]{43}") {
        let secret = AttestationSecret::new("k", &[3; 32]).unwrap();
        let id = Identity::for_tests("t".parse().unwrap(), "d".parse().unwrap(), "u".parse().unwrap(), "a@b".parse().unwrap());
        let mut parts = request("GET", "/", "a.vendo.run");
        sign(&secret, &id, &mut parts, 1_700_000_000);
        parts.headers.insert("x-vendo-attestation", HeaderValue::from_str(&value).unwrap());
        let v = AttestationVerifier::new(secret.deployment_key(id.deployment_id()));
        prop_assert!(v.verify(&parts, Timestamp::from_unix_seconds(1_700_000_000).unwrap()).is_err());
    }
}
