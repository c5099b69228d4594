//! The provider proxy's decision (SPEC §7, §9): each adapter's forwarding,
//! the check order as a hostile table naming the attack each row stops,
//! the worst-case quote, settlement, and the isolation properties.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion, SettlementKind, TenantBalance};
use vendo_isolation::headers::collision_key;
use vendo_isolation::provider::{Adapter, CallOutcome, Loaded, ProviderCall, ProviderGate, settle};
use vendo_isolation::tenancy::{Binding, Connection, KeyScope};

const NOW: u64 = 1_700_000_000;
const SECRET: &str = "sk-live-acme-0123456789";

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(NOW).unwrap()
}

fn masters() -> MasterKeyRing {
    MasterKeyRing::new(MasterKey::new("m1", &[3; 32]).unwrap())
}

fn rates() -> RateTable {
    let mut b = RateTable::builder(RateTableVersion::new(1));
    let price = |i, o| ModelPrice::per_million_tokens(MicroCredits::from_micros(i), MicroCredits::from_micros(o));
    b.insert(
        "openai".parse().unwrap(),
        "gpt-4o-mini".parse().unwrap(),
        price(150_000, 600_000).with_max_output(16_384),
    )
    .unwrap();
    b.insert("anthropic".parse().unwrap(), "claude-haiku".parse().unwrap(), price(800_000, 4_000_000)).unwrap();
    b.insert("telegram".parse().unwrap(), "bot".parse().unwrap(), price(0, 0).with_max_output(0)).unwrap();
    b.build()
}

fn gate() -> ProviderGate {
    ProviderGate::new(ApiKeyPepper::new(&[5; 32]).unwrap(), masters(), rates())
}

fn conn(tenant: &str, id: &str, provider: &str) -> Connection {
    Connection::new(id.parse().unwrap(), tenant.parse().unwrap(), provider.parse().unwrap())
}

fn binding(tenant: &str, deployment: &str, connection: &str) -> Binding {
    Binding::from_stored(
        "b_1".parse().unwrap(),
        tenant.parse().unwrap(),
        deployment.parse().unwrap(),
        connection.parse().unwrap(),
    )
}

fn sealed(c: &Connection) -> String {
    masters().seal(c, &[9; 12], &Credential::new(SECRET).unwrap())
}

fn call(model: &str, body: u64, max: Option<u64>) -> ProviderCall {
    ProviderCall { model: model.parse().unwrap(), body_bytes: body, max_tokens: max }
}

fn scope() -> KeyScope {
    KeyScope::deployment("t_acme".parse().unwrap(), "d_crm".parse().unwrap())
}

/// A tool's request as it arrives at the provider proxy, with everything a
/// careless or hostile tool might send.
fn inbound(key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in [
        ("authorization", format!("Bearer {key}")),
        ("content-type", "application/json".to_owned()),
        ("x-vendo-user-id", "u_admin".to_owned()),
        ("X_Vendo_Tenant_Id", "t_victim".to_owned()),
        ("connection", "keep-alive, X-Vendo-User-Id".to_owned()),
        ("cookie", "__Host-vendo_session=v1.k.p.m".to_owned()),
        ("proxy-authorization", "Basic Zm9vOmJhcg==".to_owned()),
        ("api_key", "azure-style".to_owned()),
        ("x.api.key", "dotted".to_owned()),
        ("accept", "text/event-stream".to_owned()),
    ] {
        h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(&v).unwrap());
    }
    h
}

fn forbidden(name: &str) -> bool {
    let key: Vec<u8> = collision_key(name.as_bytes()).collect();
    key.starts_with(b"x-vendo-")
        || [&b"authorization"[..], b"proxy-authorization", b"x-api-key", b"api-key", b"cookie"]
            .contains(&key.as_slice())
}

#[test]
fn the_whole_path_for_openai_from_key_to_settlement() {
    let pepper = ApiKeyPepper::new(&[5; 32]).unwrap();
    let key = ApiKey::mint(&[1; 42]);
    let record = ApiKeyRecord::new("t_acme".parse().unwrap(), Some("d_crm".parse().unwrap()), pepper.verifier(&key));
    let g = gate();
    let mut h = inbound(&key.expose());
    let presented = g.key(&h).unwrap();
    assert_eq!(presented.id(), key.id());
    let scope = g.scope(&presented, Some(&record), now()).unwrap();
    let c = conn("t_acme", "c_openai", "openai");
    let b = binding("t_acme", "d_crm", "c_openai");
    let s = sealed(&c);
    let loaded = Loaded { binding: &b, connection: &c, sealed: &s };
    let f = g
        .forward(
            Adapter::OpenAi,
            &scope,
            Some(loaded),
            &call("gpt-4o-mini", 1234, Some(500)),
            "/v1/chat/completions",
            &mut h,
        )
        .unwrap();
    // SPEC §10's example: ceil(1234 * 0.15) + ceil(500 * 0.6) = 186 + 300.
    assert_eq!(f.reserve(), MicroCredits::from_micros(486));
    assert_eq!(
        (f.tenant_id().as_str(), f.deployment_id().as_str(), f.target()),
        ("t_acme", "d_crm", "/v1/chat/completions")
    );
    assert_eq!(h["authorization"], format!("Bearer {SECRET}").as_str());
    assert!(h["authorization"].is_sensitive());
    assert_eq!(h["connection"], "keep-alive");
    let names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for (n, v) in &h {
        assert!(!v.to_str().unwrap().contains("vk1_"), "{n}");
        assert!(n == "authorization" || !forbidden(n.as_str()), "{n}");
    }

    // Hold, then settle against the same tenant.
    let mut balance = TenantBalance::new("t_acme".parse().unwrap());
    balance.top_up(MicroCredits::from_micros(1_000)).unwrap();
    let hold = balance.reserve("r_1".parse().unwrap(), &rates(), f.reserve_request(), now(), 60).unwrap();
    assert_eq!(hold.amount(), f.reserve());
    let done = settle(hold, f.price(), CallOutcome::Usage { input_tokens: 300, output_tokens: 100 }, now());
    assert_eq!((done.kind(), done.debit()), (SettlementKind::Posted, MicroCredits::from_micros(45 + 60)));
    balance.apply(&done).unwrap();
    assert_eq!(balance.available(), MicroCredits::from_micros(1_000 - 105));
}

#[test]
fn each_adapter_takes_the_credential_its_way() {
    let g = gate();
    let tenant_scope = KeyScope::tenant("t_acme".parse().unwrap());
    for (adapter, model, target, header, expected_target) in [
        (
            Adapter::Anthropic,
            "claude-haiku",
            "/v1/messages",
            Some(("x-api-key", SECRET.to_owned())),
            "/v1/messages".to_owned(),
        ),
        (Adapter::Telegram, "bot", "/sendMessage?chat_id=1", None, format!("/bot{SECRET}/sendMessage?chat_id=1")),
    ] {
        let c = conn("t_acme", "c_x", adapter.name());
        let b = binding("t_acme", "d_any", "c_x");
        let s = sealed(&c);
        let mut h = inbound("vk1_whatever");
        let f = g
            .forward(
                adapter,
                &tenant_scope,
                Some(Loaded { binding: &b, connection: &c, sealed: &s }),
                &call(model, 10, Some(10)),
                target,
                &mut h,
            )
            .unwrap();
        assert_eq!(f.target(), expected_target);
        match header {
            Some((name, value)) => assert_eq!(h[name], value.as_str()),
            None => assert!(h.keys().all(|n| !forbidden(n.as_str())), "{h:?}"),
        }
        assert!(h.get("authorization").is_none() || adapter != Adapter::Anthropic);
        assert_eq!(f.deployment_id().as_str(), "d_any", "a tenant-wide key takes the binding's deployment");
    }
    // The name is the connection's provider (SPEC §7 step 4) and is what
    // logs print: parsing, naming and displaying agree for every adapter.
    for a in Adapter::ALL {
        assert_eq!(Adapter::for_name(a.name()), Some(a));
        assert_eq!(a.to_string(), a.name());
    }
    assert_eq!(Adapter::for_name("OpenAI"), None);
}

#[test]
fn refusals_in_spec_order_and_the_attack_each_stops() {
    let g = gate();
    let mine = conn("t_acme", "c_openai", "openai");
    let theirs = conn("t_globex", "c_openai", "openai");
    let notion = conn("t_acme", "c_openai", "notion");
    let ok_binding = binding("t_acme", "d_crm", "c_openai");
    let sealed_mine = sealed(&mine);
    let sealed_other_conn = sealed(&conn("t_acme", "c_other", "openai"));
    type Row<'a> = (&'a str, Option<Loaded<'a>>, ProviderCall, &'a str, u16);
    let forged_binding = binding("t_globex", "d_crm", "c_openai");
    let other_deployment = binding("t_acme", "d_wiki", "c_openai");
    let other_connection = binding("t_acme", "d_crm", "c_elsewhere");
    let good = || call("gpt-4o-mini", 100, Some(100));
    let rows: Vec<Row<'_>> = vec![
        ("nothing bound for this deployment and provider", None, good(), "no_binding", 403),
        (
            "a binding id of another tenant forged into the lookup",
            Some(Loaded { binding: &forged_binding, connection: &mine, sealed: &sealed_mine }),
            good(),
            "binding_tenant_mismatch",
            403,
        ),
        (
            "a deployment key reaching a sibling deployment's binding",
            Some(Loaded { binding: &other_deployment, connection: &mine, sealed: &sealed_mine }),
            good(),
            "binding_deployment_mismatch",
            403,
        ),
        (
            "a lookup that returned another connection than the binding names",
            Some(Loaded { binding: &other_connection, connection: &mine, sealed: &sealed_mine }),
            good(),
            "binding_connection_mismatch",
            403,
        ),
        (
            "another tenant's connection under the same id",
            Some(Loaded { binding: &ok_binding, connection: &theirs, sealed: &sealed_mine }),
            good(),
            "connection_tenant_mismatch",
            403,
        ),
        (
            "a notion connection behind the openai adapter",
            Some(Loaded { binding: &ok_binding, connection: &notion, sealed: &sealed_mine }),
            good(),
            "provider_mismatch",
            403,
        ),
        (
            "a sealed value copied from another connection's row",
            Some(Loaded { binding: &ok_binding, connection: &mine, sealed: &sealed_other_conn }),
            good(),
            "credential_unreadable",
            500,
        ),
        (
            "a model the rate table does not price",
            Some(Loaded { binding: &ok_binding, connection: &mine, sealed: &sealed_mine }),
            call("gpt-5-unpriced", 1, Some(1)),
            "unknown_model",
            400,
        ),
    ];
    for (attack, loaded, c, code, status) in rows {
        let mut h = inbound("vk1_x");
        let before = h.clone();
        let denial = g.forward(Adapter::OpenAi, &scope(), loaded, &c, "/v1/chat/completions", &mut h).unwrap_err();
        assert_eq!((denial.code(), denial.status().as_u16()), (code, status), "{attack}");
        assert_eq!(h, before, "{attack}: a denial forwards nothing and changes nothing");
    }
}

#[test]
fn the_worst_case_takes_the_model_maximum_when_the_call_names_none() {
    let g = gate();
    let tenant_scope = KeyScope::tenant("t_acme".parse().unwrap());
    let forward = |adapter: Adapter, provider: &str, model: &str, max: Option<u64>| {
        let c = conn("t_acme", "c_1", provider);
        let b = binding("t_acme", "d_1", "c_1");
        let s = sealed(&c);
        g.forward(
            adapter,
            &tenant_scope,
            Some(Loaded { binding: &b, connection: &c, sealed: &s }),
            &call(model, 7, max),
            "/",
            &mut HeaderMap::new(),
        )
    };
    // ceil(7 * 0.15) + ceil(16384 * 0.6) = 2 + 9831.
    assert_eq!(
        forward(Adapter::OpenAi, "openai", "gpt-4o-mini", None).unwrap().reserve(),
        MicroCredits::from_micros(9_833)
    );
    // Each part rounds up on its own: 1 byte at 0.15 is 1, not 0.
    assert_eq!(
        forward(Adapter::OpenAi, "openai", "gpt-4o-mini", Some(0)).unwrap().reserve(),
        MicroCredits::from_micros(2)
    );
    // No maximum known and none asked: priced as unknown, fail closed.
    assert_eq!(forward(Adapter::Anthropic, "anthropic", "claude-haiku", None).unwrap_err().code(), "unknown_model");
}

#[test]
fn settlement_posts_capped_voids_or_posts_whole() {
    let mut balance = TenantBalance::new("t_1".parse().unwrap());
    balance.top_up(MicroCredits::from_micros(10_000)).unwrap();
    let request = vendo_isolation::credits::ReserveRequest::new(
        "openai".parse().unwrap(),
        "gpt-4o-mini".parse().unwrap(),
        1_000,
        1_000,
    );
    let price = rates().price(&"openai".parse().unwrap(), &"gpt-4o-mini".parse().unwrap()).unwrap();
    let mut hold = |id: &str| balance.reserve(id.parse().unwrap(), &rates(), &request, now(), 60).unwrap();
    let reserved = MicroCredits::from_micros(150 + 600);
    let cases = [
        (CallOutcome::Usage { input_tokens: 10, output_tokens: 10 }, SettlementKind::Posted, 2 + 6, None),
        (
            CallOutcome::Usage { input_tokens: 1_000_000, output_tokens: 0 },
            SettlementKind::Posted,
            750,
            Some(150_000 - 750),
        ),
        (
            CallOutcome::Usage { input_tokens: u64::MAX, output_tokens: u64::MAX },
            SettlementKind::Posted,
            750,
            Some(price.cost(u64::MAX, u64::MAX).unwrap().micros() - 750),
        ),
        (CallOutcome::ProviderError, SettlementKind::Voided, 0, None),
        (CallOutcome::UsageMissing, SettlementKind::Posted, 750, None),
    ];
    for (i, (outcome, kind, debit, overrun)) in cases.into_iter().enumerate() {
        let h = hold(&format!("r_{i}"));
        assert_eq!(h.amount(), reserved);
        let s = settle(h, price, outcome, now());
        assert_eq!(
            (s.kind(), s.debit().micros(), s.overrun().map(MicroCredits::micros)),
            (kind, debit, overrun),
            "{outcome:?}"
        );
    }
    let late =
        settle(hold("r_late"), price, CallOutcome::UsageMissing, Timestamp::from_unix_seconds(NOW + 60).unwrap());
    assert_eq!((late.kind(), late.debit().micros()), (SettlementKind::Expired, 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A key scoped to tenant A never reaches any binding or connection of
    /// tenant B, whatever ids the lookups returned.
    #[test]
    fn a_key_of_one_tenant_never_forwards_through_another(
        binding_tenant in proptest::sample::select(vec!["t_a", "t_b"]),
        connection_tenant in proptest::sample::select(vec!["t_a", "t_b"]),
        sealed_tenant in proptest::sample::select(vec!["t_a", "t_b"]),
        deployment_key in any::<bool>(),
    ) {
        prop_assume!(binding_tenant == "t_b" || connection_tenant == "t_b" || sealed_tenant == "t_b");
        let scope = if deployment_key {
            KeyScope::deployment("t_a".parse().unwrap(), "d_1".parse().unwrap())
        } else {
            KeyScope::tenant("t_a".parse().unwrap())
        };
        let c = conn(connection_tenant, "c_1", "openai");
        let b = binding(binding_tenant, "d_1", "c_1");
        let s = sealed(&conn(sealed_tenant, "c_1", "openai"));
        let result = gate().forward(Adapter::OpenAi, &scope, Some(Loaded { binding: &b, connection: &c, sealed: &s }), &call("gpt-4o-mini", 1, Some(1)), "/", &mut HeaderMap::new());
        prop_assert!(result.is_err(), "{binding_tenant} {connection_tenant} {sealed_tenant}");
    }

    /// No inbound credential or namespace header survives forwarding, in
    /// any spelling; the only credential is the one injected.
    #[test]
    fn nothing_inbound_that_carries_a_credential_survives(
        hostile in vendo_isolation::testing::hostile_header_map(),
        extra in proptest::collection::vec(proptest::sample::select(vec!["Authorization", "X_API_KEY", "api.key", "Api-Key", "COOKIE", "proxy_authorization", "x-api-key"]), 0..5),
        adapter in proptest::sample::select(vec![Adapter::OpenAi, Adapter::Anthropic, Adapter::Telegram]),
    ) {
        let mut h = hostile;
        for name in &extra {
            h.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("vk1_stolen"));
        }
        let (provider, model) = match adapter {
            Adapter::Anthropic => ("anthropic", "claude-haiku"),
            Adapter::Telegram => ("telegram", "bot"),
            _ => ("openai", "gpt-4o-mini"),
        };
        let c = conn("t_acme", "c_1", provider);
        let b = binding("t_acme", "d_crm", "c_1");
        let s = sealed(&c);
        gate().forward(adapter, &scope(), Some(Loaded { binding: &b, connection: &c, sealed: &s }), &call(model, 1, Some(1)), "/", &mut h).unwrap();
        let injected = match adapter { Adapter::Anthropic => Some("x-api-key"), Adapter::Telegram => None, _ => Some("authorization") };
        for (n, v) in &h {
            if Some(n.as_str()) == injected {
                prop_assert!(v.to_str().unwrap().ends_with(SECRET));
            } else {
                prop_assert!(!forbidden(n.as_str()), "{n} survived");
            }
            prop_assert!(!v.to_str().unwrap_or_default().contains("vk1_"), "{n}");
        }
        // No Connection token may nominate a namespace header (SPEC §3 step 1).
        for v in h.get_all("connection") {
            for token in v.to_str().unwrap().split(',') {
                prop_assert!(!vendo_isolation::headers::is_managed_name(token.trim().as_bytes()), "{token}");
            }
        }
    }
}
