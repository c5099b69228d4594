//! The provider proxy's decision, end to end (SPEC §6, §7, §9): from the
//! request's headers and what the caller's stores returned to the
//! forwarded request or a denial.
//!
//! The expected outcome is computed here from the case's description (who
//! owns the binding, the connection and the sealed value, which kid sealed
//! it, whether it was tampered with), not from the crate. An admitted call
//! is the key's tenant's own, through its own binding and connection,
//! priced by the SPEC's formula, and forwarded with nothing of the
//! namespace and no inbound credential; a denied one leaves the headers as
//! they came.

use std::sync::OnceLock;

use http::header::{AUTHORIZATION, CONNECTION, COOKIE};
use http::{HeaderMap, HeaderName};
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord, ApiKeyVerifier};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion};
use vendo_isolation::provider::{Adapter, Loaded, ProviderCall, ProviderGate};
use vendo_isolation::tenancy::{Binding, Connection, KeyScope};

use super::reference::{self, Field};
use super::strip_props::build_map;

/// The randomness the one known key was minted from.
pub const KEY_RANDOM: [u8; 42] = [0x5a; 42];
/// The provider credential every sealed value holds.
pub const CREDENTIAL: &str = "sk-provider-credential-0123456789";

/// The ids a case picks from by index (wrapping).
pub const TENANTS: [&str; 3] = ["t_acme", "t_globex", "t_evil"];
/// Deployment ids.
pub const DEPLOYMENTS: [&str; 3] = ["d_crm", "d_wiki", "d_x"];
/// Connection ids.
pub const CONNECTIONS: [&str; 3] = ["c_1", "c_2", "c_3"];
/// Providers: the five adapters' and one no adapter speaks for.
pub const PROVIDERS: [&str; 6] = ["openai", "openrouter", "notion", "anthropic", "telegram", "slack"];
/// Master kids: the ring holds the first two; the third is unknown to it.
pub const KIDS: [&str; 3] = ["m1", "m2", "m9"];
/// Models: some priced for some providers, one priced for none.
pub const MODELS: [&str; 5] = ["gpt-4o-mini", "claude-haiku", "bot", "notion-api", "gpt-unpriced"];

fn pick<'a>(xs: &[&'a str], i: u8) -> &'a str {
    xs[usize::from(i) % xs.len()]
}

/// The record the store returns under the key's id.
#[derive(Debug, Clone)]
pub struct RecordSpec {
    /// Index into [`TENANTS`].
    pub tenant: u8,
    /// Index into [`DEPLOYMENTS`]; `None` for a tenant-wide key.
    pub deployment: Option<u8>,
    /// Whether the stored verifier is the key's (else another key's).
    pub right_verifier: bool,
    /// Unix seconds.
    pub revoked_at: Option<u64>,
    /// Unix seconds.
    pub expires_at: Option<u64>,
}

/// The connection's stored credential.
#[derive(Debug, Clone)]
pub enum SealSpec {
    /// Sealed under `kid` for (tenant, connection, provider), each an index,
    /// then optionally one byte xored.
    For {
        /// Index into [`TENANTS`].
        tenant: u8,
        /// Index into [`CONNECTIONS`].
        connection: u8,
        /// Index into [`PROVIDERS`].
        provider: u8,
        /// Index into [`KIDS`].
        kid: u8,
        /// The nonce.
        nonce: [u8; 12],
        /// Where to flip and with what (a zero xor changes nothing).
        flip: Option<(u16, u8)>,
    },
    /// Any text at all.
    Raw(String),
}

/// One call to the provider proxy.
#[derive(Debug, Clone)]
pub struct ProviderCase {
    /// The request's header fields, in order.
    pub fields: Vec<Field>,
    /// What the store holds under the known key's id.
    pub record: Option<RecordSpec>,
    /// Unix seconds.
    pub now: u64,
    /// Index into [`Adapter::ALL`].
    pub adapter: u8,
    /// The binding found: (tenant, deployment, connection) indices.
    pub binding: Option<(u8, u8, u8)>,
    /// The connection found: (id, tenant, provider) indices.
    pub connection: Option<(u8, u8, u8)>,
    /// The connection's stored credential.
    pub sealed: SealSpec,
    /// Index into [`MODELS`].
    pub model: u8,
    /// The request body's length.
    pub body_bytes: u64,
    /// The request's `max_tokens`.
    pub max_tokens: Option<u64>,
    /// The request's path and query.
    pub target: String,
}

struct World {
    gate: ProviderGate,
    key: ApiKey,
    verifier: ApiKeyVerifier,
    other_verifier: ApiKeyVerifier,
    sealers: [MasterKeyRing; 3],
}

fn price(input: u64, output: u64) -> ModelPrice {
    ModelPrice::per_million_tokens(MicroCredits::from_micros(input), MicroCredits::from_micros(output))
}

/// (provider, model, input, output, model maximum): the gate's rate table.
const RATES: [(&str, &str, u64, u64, Option<u64>); 5] = [
    ("openai", "gpt-4o-mini", 150_000, 600_000, Some(16_384)),
    ("openrouter", "gpt-4o-mini", 160_000, 640_000, Some(16_384)),
    ("anthropic", "claude-haiku", 800_000, 4_000_000, None),
    ("telegram", "bot", 0, 0, Some(0)),
    ("notion", "notion-api", 1, u64::MAX, Some(1)),
];

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let master = |kid: &str, byte: u8| MasterKey::new(kid, &[byte; 32]).unwrap();
        let mut ring = MasterKeyRing::new(master("m2", 2));
        ring.add_open_only(master("m1", 1)).unwrap();
        let mut rates = RateTable::builder(RateTableVersion::new(1));
        for (p, m, i, o, max) in RATES {
            let mut row = price(i, o);
            if let Some(max) = max {
                row = row.with_max_output(max);
            }
            rates.insert(p.parse().unwrap(), m.parse().unwrap(), row).unwrap();
        }
        let pepper = ApiKeyPepper::new(&[0x33; 32]).unwrap();
        let key = ApiKey::mint(&KEY_RANDOM);
        let verifier = pepper.verifier(&key);
        let other_verifier = pepper.verifier(&ApiKey::mint(&[0x5b; 42]));
        World {
            gate: ProviderGate::new(pepper, ring, rates.build()),
            key,
            verifier,
            other_verifier,
            // The third sealer's kid is one the gate's ring does not hold.
            sealers: [
                MasterKeyRing::new(master("m1", 1)),
                MasterKeyRing::new(master("m2", 2)),
                MasterKeyRing::new(master("m9", 9)),
            ],
        }
    })
}

/// The known key's text, for front ends that present it.
pub fn key_text() -> String {
    world().key.expose().to_string()
}

fn ts(secs: u64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

/// The SPEC §6 steps 1–2 count and the one presented text, trimmed, with
/// the `Bearer ` scheme cut off an `Authorization` value (`None` when the
/// scheme is wrong).
fn presented(map: &HeaderMap) -> Result<Option<Vec<u8>>, &'static str> {
    let values: Vec<(bool, &[u8])> = map
        .get_all(AUTHORIZATION)
        .iter()
        .map(|v| (true, v.as_bytes()))
        .chain(map.get_all("x-api-key").iter().map(|v| (false, v.as_bytes())))
        .collect();
    match values.as_slice() {
        [] => Err("no_api_key"),
        [(true, v)] => {
            Ok((v.len() >= 7 && v[..7].eq_ignore_ascii_case(b"bearer ")).then(|| reference::trim(&v[7..]).to_vec()))
        }
        [(false, v)] => Ok(Some(reference::trim(v).to_vec())),
        _ => Err("duplicate_api_key"),
    }
}

fn forbidden(name: &[u8]) -> bool {
    let key = reference::collision_key(name);
    reference::is_managed(name)
        || [&b"authorization"[..], b"proxy-authorization", b"x-api-key", b"api-key", b"cookie"]
            .contains(&key.as_slice())
}

/// `ceil(tokens × price / 1e6)`, in u128.
fn part(tokens: u64, per_million: u64) -> u128 {
    (u128::from(tokens) * u128::from(per_million)).div_ceil(1_000_000)
}

/// The property. Returns `forwarded` or the denial's code.
pub fn check(case: &ProviderCase) -> String {
    let w = world();
    let (mut map, kept) = build_map(&case.fields);
    let before = map.clone();
    let now = ts(case.now);

    // Step 1: the one key, before any lookup.
    let expected_presentation = presented(&map);
    let key = match w.gate.key(&map) {
        Ok(key) => key,
        Err(denial) => {
            assert_eq!(denial.status().as_u16(), 401);
            match expected_presentation {
                Err(code) => assert_eq!(denial.code(), code),
                Ok(text) => {
                    assert_eq!(denial.code(), "malformed_api_key");
                    assert_ne!(text.as_deref(), Some(key_text().as_bytes()), "the known key was refused");
                }
            }
            return denial.code().to_owned();
        }
    };
    let text = expected_presentation.unwrap_or_else(|c| panic!("parsed a key where {c} was expected"));
    assert_eq!(text.as_deref(), Some(key.expose().as_bytes()), "the key parsed is the one presented");

    // Step 2: the store answers by key id only.
    let stored = (key.id() == w.key.id()).then_some(case.record.as_ref()).flatten().map(|r| {
        let mut record = ApiKeyRecord::new(
            pick(&TENANTS, r.tenant).parse().unwrap(),
            r.deployment.map(|d| pick(&DEPLOYMENTS, d).parse().unwrap()),
            if r.right_verifier { w.verifier } else { w.other_verifier },
        );
        record.revoked_at = r.revoked_at.map(ts);
        record.expires_at = r.expires_at.map(ts);
        record
    });
    let expected_scope = match (&case.record, stored.is_some()) {
        (_, false) | (None, _) => Err("unknown_api_key"),
        (Some(r), true) if !r.right_verifier || key.expose().as_str() != key_text() => Err("bad_api_key"),
        (Some(r), true) if r.revoked_at.is_some_and(|at| at <= case.now) => Err("revoked_api_key"),
        (Some(r), true) if r.expires_at.is_some_and(|at| at <= case.now) => Err("expired_api_key"),
        (Some(r), true) => Ok((pick(&TENANTS, r.tenant), r.deployment.map(|d| pick(&DEPLOYMENTS, d)))),
    };
    let scope = match (w.gate.scope(&key, stored.as_ref(), now), expected_scope) {
        (Ok(scope), Ok((tenant, deployment))) => {
            assert_eq!(scope.tenant_id().as_str(), tenant);
            assert_eq!(scope.deployment_id().map(|d| d.as_str()), deployment);
            scope
        }
        (Err(denial), Err(code)) => {
            assert_eq!((denial.code(), denial.status().as_u16()), (code, 401));
            return code.to_owned();
        }
        (got, want) => panic!("scope: got {got:?}, want {want:?}"),
    };

    // Step 3: what the caller loaded under the scope's tenant.
    let adapter = Adapter::ALL[usize::from(case.adapter) % Adapter::ALL.len()];
    let binding = case.binding.map(|(t, d, c)| {
        Binding::from_stored(
            "b_1".parse().unwrap(),
            pick(&TENANTS, t).parse().unwrap(),
            pick(&DEPLOYMENTS, d).parse().unwrap(),
            pick(&CONNECTIONS, c).parse().unwrap(),
        )
    });
    let connection = case.connection.map(|(id, t, p)| {
        Connection::new(
            pick(&CONNECTIONS, id).parse().unwrap(),
            pick(&TENANTS, t).parse().unwrap(),
            pick(&PROVIDERS, p).parse().unwrap(),
        )
    });
    let (sealed, sealed_for) = match &case.sealed {
        SealSpec::For { tenant, connection, provider, kid, nonce, flip } => {
            let owner = Connection::new(
                pick(&CONNECTIONS, *connection).parse().unwrap(),
                pick(&TENANTS, *tenant).parse().unwrap(),
                pick(&PROVIDERS, *provider).parse().unwrap(),
            );
            let sealer = &w.sealers[usize::from(*kid) % w.sealers.len()];
            let mut text = sealer.seal(&owner, nonce, &Credential::new(CREDENTIAL).unwrap()).into_bytes();
            let mut intact = true;
            if let Some((at, xor)) = flip {
                let at = usize::from(*at) % text.len();
                text[at] ^= xor;
                intact = *xor == 0;
            }
            let readable_by_ring = sealer.primary().kid() != "m9";
            let text = String::from_utf8_lossy(&text).into_owned();
            (text, (intact && readable_by_ring).then_some(owner))
        }
        SealSpec::Raw(text) => (text.clone(), None),
    };
    let loaded = match (&binding, &connection) {
        (Some(binding), Some(connection)) => Some(Loaded { binding, connection, sealed: &sealed }),
        _ => None,
    };
    let model = pick(&MODELS, case.model);
    let call = ProviderCall { model: model.parse().unwrap(), body_bytes: case.body_bytes, max_tokens: case.max_tokens };
    let expected = expected_forward(&scope, adapter, binding.as_ref(), connection.as_ref(), sealed_for.as_ref(), case);
    let got = w.gate.forward(adapter, &scope, loaded, &call, &case.target, &mut map);
    let forward = match (got, expected) {
        (Ok(f), Ok(reserve)) => {
            assert_eq!(u128::from(f.reserve().micros()), reserve, "the worst case is the SPEC §9 formula");
            f
        }
        (Err(denial), Err(code)) => {
            assert_eq!(denial.code(), code);
            assert_eq!(map, before, "a denial changes nothing");
            return code.to_owned();
        }
        (got, want) => panic!("forward: got {got:?}, want {want:?}"),
    };

    // An admitted call is the key's tenant's, through its own binding.
    let (binding, connection) = (binding.unwrap(), connection.unwrap());
    assert_eq!(forward.tenant_id(), scope.tenant_id());
    assert_eq!(binding.tenant_id(), scope.tenant_id());
    assert_eq!(connection.tenant_id(), scope.tenant_id());
    assert_eq!(forward.deployment_id(), binding.deployment_id());
    assert_eq!(connection.provider().as_str(), adapter.name());

    // Forwarded: nothing inbound that names or carries a credential, the
    // injected credential once, every other field as it came.
    let injected: Option<(HeaderName, String)> = match adapter {
        Adapter::Anthropic => Some((HeaderName::from_static("x-api-key"), CREDENTIAL.to_owned())),
        Adapter::Telegram => None,
        _ => Some((AUTHORIZATION, format!("Bearer {CREDENTIAL}"))),
    };
    let mut rest = Vec::new();
    for (name, value) in &map {
        if injected.as_ref().is_some_and(|(n, _)| n == name) {
            assert_eq!(value.as_bytes(), injected.as_ref().unwrap().1.as_bytes());
            assert!(value.is_sensitive());
            continue;
        }
        assert!(!forbidden(name.as_str().as_bytes()), "{name} survived forwarding");
        if name == CONNECTION {
            for t in reference::connection_tokens(value.as_bytes()) {
                assert!(!reference::is_managed(t), "Connection nominates {:?}", String::from_utf8_lossy(t));
            }
            continue;
        }
        rest.push((name.as_str().as_bytes().to_vec(), value.as_bytes().to_vec()));
    }
    if let Some((name, _)) = &injected {
        assert_eq!(map.get_all(name).iter().count(), 1, "the credential is injected once");
    }
    let mut want: Vec<Field> =
        kept.into_iter().filter(|(n, _)| !forbidden(n) && n.as_slice() != CONNECTION.as_str().as_bytes()).collect();
    want.sort();
    rest.sort();
    assert_eq!(rest, want, "ordinary headers pass untouched");
    assert!(map.get(COOKIE).is_none());
    let target = match adapter {
        Adapter::Telegram => format!("/bot{CREDENTIAL}{}", case.target),
        _ => case.target.clone(),
    };
    assert_eq!(forward.target(), target);
    "forwarded".to_owned()
}

/// SPEC §7 steps 2–4 from the case's description: the reserve, or the
/// first refusal.
fn expected_forward(
    scope: &KeyScope,
    adapter: Adapter,
    binding: Option<&Binding>,
    connection: Option<&Connection>,
    sealed_for: Option<&Connection>,
    case: &ProviderCase,
) -> Result<u128, &'static str> {
    let (Some(binding), Some(connection)) = (binding, connection) else { return Err("no_binding") };
    if binding.tenant_id() != scope.tenant_id() {
        return Err("binding_tenant_mismatch");
    }
    if scope.deployment_id().is_some_and(|d| d != binding.deployment_id()) {
        return Err("binding_deployment_mismatch");
    }
    if binding.connection_id() != connection.id() {
        return Err("binding_connection_mismatch");
    }
    if connection.tenant_id() != scope.tenant_id() {
        return Err("connection_tenant_mismatch");
    }
    if connection.provider().as_str() != adapter.name() {
        return Err("provider_mismatch");
    }
    let opens = sealed_for.is_some_and(|owner| {
        owner.tenant_id() == connection.tenant_id()
            && owner.id() == connection.id()
            && owner.provider() == connection.provider()
    });
    if !opens {
        return Err("credential_unreadable");
    }
    let model = pick(&MODELS, case.model);
    let (_, _, input, output, max) =
        RATES.iter().find(|(p, m, ..)| *p == adapter.name() && *m == model).ok_or("unknown_model")?;
    let max_output = case.max_tokens.or(*max).ok_or("unknown_model")?;
    let total = part(case.body_bytes, *input) + part(max_output, *output);
    if part(case.body_bytes, *input) > u128::from(u64::MAX)
        || part(max_output, *output) > u128::from(u64::MAX)
        || total > u128::from(u64::MAX)
    {
        return Err("overflow");
    }
    Ok(total)
}
