//! Allocation budgets on the provider proxy's path, counted by a global
//! allocator (never timed). Exact counts, so a new allocation shows up
//! here before anyone notices it in a profile.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::count;
use http::{HeaderMap, HeaderName, HeaderValue};
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion};
use vendo_isolation::provider::{Adapter, Loaded, ProviderCall, ProviderGate};
use vendo_isolation::tenancy::{Binding, Connection};

const NOW: u64 = 1_700_000_000;

fn gate() -> ProviderGate {
    let mut rates = RateTable::builder(RateTableVersion::new(1));
    let price = ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000));
    rates.insert("openai".parse().unwrap(), "gpt-4o-mini".parse().unwrap(), price.with_max_output(16_384)).unwrap();
    let masters = MasterKeyRing::new(MasterKey::new("m1", &[3; 32]).unwrap());
    ProviderGate::new(ApiKeyPepper::new(&[5; 32]).unwrap(), masters, rates.build())
}

/// What an OpenAI SDK sends, plus one forged identity header.
fn request(key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in [
        ("host", "openai-proxy.vendo.run"),
        ("user-agent", "OpenAI/Python 1.54.4"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate"),
        ("content-type", "application/json"),
        ("content-length", "1234"),
        ("x-stainless-lang", "python"),
        ("x-stainless-package-version", "1.54.4"),
        ("x-stainless-os", "Linux"),
        ("x-stainless-arch", "x64"),
        ("x-stainless-runtime", "CPython"),
        ("x-stainless-runtime-version", "3.12.7"),
        ("connection", "keep-alive"),
    ] {
        h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    h.append(HeaderName::from_static("authorization"), HeaderValue::from_str(&format!("Bearer {key}")).unwrap());
    h
}

#[test]
fn each_provider_step_stays_within_its_allocation_budget() {
    let gate = gate();
    let pepper = ApiKeyPepper::new(&[5; 32]).unwrap();
    let minted = ApiKey::mint(&[1; 42]);
    let record = ApiKeyRecord::new("t_acme".parse().unwrap(), Some("d_crm".parse().unwrap()), pepper.verifier(&minted));
    let connection = Connection::new("c_1".parse().unwrap(), "t_acme".parse().unwrap(), "openai".parse().unwrap());
    let binding = Binding::from_stored(
        "b_1".parse().unwrap(),
        "t_acme".parse().unwrap(),
        "d_crm".parse().unwrap(),
        "c_1".parse().unwrap(),
    );
    let sealed = MasterKeyRing::new(MasterKey::new("m1", &[3; 32]).unwrap()).seal(
        &connection,
        &[9; 12],
        &Credential::new("sk-live-0123456789abcdef0123456789abcdef").unwrap(),
    );
    let call = ProviderCall { model: "gpt-4o-mini".parse().unwrap(), body_bytes: 1234, max_tokens: Some(500) };
    let now = Timestamp::from_unix_seconds(NOW).unwrap();

    for spoof in [false, true] {
        let mut headers = request(&minted.expose());
        if spoof {
            headers.append(HeaderName::from_static("x-vendo-tenant-id"), HeaderValue::from_static("t_victim"));
        }
        let (key, n_key) = count(|| gate.key(&headers).unwrap());
        let (scope, n_scope) = count(|| gate.scope(&key, Some(&record), now).unwrap());
        let loaded = Loaded { binding: &binding, connection: &connection, sealed: &sealed };
        let (forward, n_forward) =
            count(|| gate.forward(Adapter::OpenAi, &scope, Some(loaded), &call, "/v1/chat/completions", &mut headers));
        let forward = forward.unwrap();
        // Finding and parsing the key: none. The scope owns its tenant and
        // deployment ids: 2. Forwarding: the credential's opening (decoded
        // seal, associated data, plaintext: 3), the adapter's provider (1)
        // and the priced request's own provider and model (2), the `Bearer`
        // value and its header value (2), the target (1), the names to
        // remove (1) and the forward's own tenant and deployment ids (2); a
        // forged identity header adds the report of what was removed (1).
        assert_eq!((n_key, n_scope, n_forward), (0, 2, if spoof { 13 } else { 12 }), "spoof={spoof}");
        assert_eq!(forward.reserve(), MicroCredits::from_micros(486));
        assert!(headers.get("x-vendo-tenant-id").is_none());
    }
}
