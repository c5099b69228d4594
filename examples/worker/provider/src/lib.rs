//! vendo-isolation's provider proxy path (SPEC §6–§9) as a WebAssembly
//! module for Cloudflare Workers: the proxy in front of `openai-proxy.{apex}`
//! and the like, which a tool calls with its deployment's `vk1_` API key.
//!
//! JavaScript never calls this directly: `vendo.mjs` (see `vendo.d.ts`)
//! wraps it in `ProviderGate`. It speaks the app proxy module's ABI (one
//! NUL-separated text in, one out: `../src/abi.rs`, compiled into both) and
//! is a module of its own so that neither outgrows its size budget.
//!
//! The lookups stay the Worker's: [`vendo_api_key_id`] names the key id
//! to look the record up by, [`vendo_api_key`] checks the key against that
//! record and names the tenant every further lookup is keyed on, and
//! [`vendo_provider_forward`] takes the binding and connection found under
//! that tenant. Nothing here panics: every field is parsed into the
//! crate's validating types, and the policy is entirely the crate's.

#![deny(missing_docs)]

#[path = "../../src/abi.rs"]
mod abi;

use std::cell::RefCell;
use std::fmt::Write as _;

use http::{HeaderMap, HeaderName, HeaderValue};
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord, ApiKeyVerifier};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion};
use vendo_isolation::provider::{Adapter, Loaded, ProviderCall, ProviderDenial, ProviderGate};
use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};

use crate::abi::{Fields, Out, Refusal, hex};

/// What `vendo_configure_provider` sets up: the gate, and the pepper and
/// ring again for minting and sealing (the gate lends neither).
struct ProviderProxy {
    gate: ProviderGate,
    pepper: ApiKeyPepper,
    masters: MasterKeyRing,
}

thread_local! {
    static STATE: RefCell<Option<ProviderProxy>> = const { RefCell::new(None) };
}

/// Runs one operation of the configured path on the first `len` input bytes.
fn run(len: u32, op: impl FnOnce(&ProviderProxy, &[u8], &mut Out<'_>) -> Result<(), Refusal>) -> i32 {
    abi::run(len, |text, out| STATE.with_borrow(|s| op(s.as_ref().ok_or("not configured")?, text, &mut Out(out))))
}

/// The rate table's version: no answer carries it, since the reservation
/// is the caller's to make and record.
const RATES_VERSION: RateTableVersion = RateTableVersion::new(1);

impl Fields<'_> {
    /// An optional decimal integer: empty for none.
    fn opt_u64(&mut self) -> Result<Option<u64>, Refusal> {
        let text = self.str()?;
        if text.is_empty() { Ok(None) } else { text.parse().map(Some).map_err(|_| "not a decimal integer") }
    }

    fn time(&mut self) -> Result<Timestamp, Refusal> {
        Timestamp::from_unix_seconds(self.u64()?).map_err(|_| "time out of range")
    }

    fn opt_time(&mut self) -> Result<Option<Timestamp>, Refusal> {
        self.opt_u64()?.map(|s| Timestamp::from_unix_seconds(s).map_err(|_| "time out of range")).transpose()
    }

    /// The remaining fields as `name, value` pairs: every one, since the
    /// provider path removes names in every spelling of their collision key.
    fn all_headers(self) -> Result<HeaderMap, Refusal> {
        let mut map = HeaderMap::new();
        for (name, value) in self.pairs() {
            let value = value.ok_or("header name without a value")?;
            let name = HeaderName::from_bytes(name).map_err(|_| "invalid header name")?;
            let value = HeaderValue::from_bytes(value).map_err(|_| "invalid header value")?;
            map.try_append(name, value).map_err(|_| "too many headers")?;
        }
        Ok(map)
    }
}

fn hexed(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        // Writing into a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `vendo_configure_provider`: hex pepper, master key count and `kid, hex
/// key` pairs (the first seals, all open), rate count and `provider,
/// model, input price, output price, max output` quintuples (prices in
/// micro-credits per million tokens, max output empty for none).
fn configure(text: &[u8]) -> Result<ProviderProxy, Refusal> {
    let mut f = Fields::new(text);
    let pepper = ApiKeyPepper::new(&hex(f.str()?)?).map_err(|_| "an API key pepper needs at least 32 bytes")?;
    let n = f.number()?;
    let mut masters: Option<MasterKeyRing> = None;
    for _ in 0..n {
        let kid = f.str()?;
        let key = MasterKey::new(kid, &hex(f.str()?)?).map_err(|_| "invalid master key")?;
        match masters.as_mut() {
            None => masters = Some(MasterKeyRing::new(key)),
            Some(ring) => ring.add_open_only(key).map_err(|_| "too many or repeated master keys")?,
        }
    }
    let masters = masters.ok_or("no master key")?;
    let n = f.number()?;
    let mut rates = RateTable::builder(RATES_VERSION);
    for _ in 0..n {
        let provider = f.str()?.parse().map_err(|_| "invalid rate provider")?;
        let model = f.str()?.parse().map_err(|_| "invalid rate model")?;
        let input = MicroCredits::from_micros(f.u64()?);
        let output = MicroCredits::from_micros(f.u64()?);
        let mut price = ModelPrice::per_million_tokens(input, output);
        if let Some(max) = f.opt_u64()? {
            price = price.with_max_output(max);
        }
        rates.insert(provider, model, price).map_err(|_| "a model priced twice")?;
    }
    let gate = ProviderGate::new(pepper.clone(), masters.clone(), rates.build());
    Ok(ProviderProxy { gate, pepper, masters })
}

/// A key record: `1`, key id, tenant id, deployment id (empty for a
/// tenant-wide key), hex verifier, expires at and revoked at (empty for
/// never); or `0` and six empty fields.
fn record<'a>(f: &mut Fields<'a>) -> Result<Option<(&'a str, ApiKeyRecord)>, Refusal> {
    let has = f.str()?;
    let (key_id, tenant, deployment, verifier) = (f.str()?, f.str()?, f.str()?, f.str()?);
    let (expires_at, revoked_at) = (f.opt_time()?, f.opt_time()?);
    if has != "1" {
        return Ok(None);
    }
    let verifier: [u8; 32] = hex(verifier)?.try_into().map_err(|_| "a verifier is 32 bytes")?;
    let deployment_id = if deployment.is_empty() {
        None
    } else {
        Some(deployment.parse().map_err(|_| "invalid record deployment_id")?)
    };
    let record = ApiKeyRecord {
        tenant_id: tenant.parse().map_err(|_| "invalid record tenant_id")?,
        deployment_id,
        verifier: ApiKeyVerifier::from_bytes(verifier),
        expires_at,
        revoked_at,
    };
    Ok(Some((key_id, record)))
}

/// SPEC §6: the one key the headers present, checked against the record
/// the caller found under its id.
fn checked_key(
    proxy: &ProviderProxy,
    headers: &HeaderMap,
    record: Option<(&str, ApiKeyRecord)>,
    now: Timestamp,
) -> Result<(ApiKey, KeyScope), ProviderDenial> {
    let key = proxy.gate.key(headers)?;
    // A record stored under another id is not this key's: the caller's
    // lookup went wrong, and the key is unknown.
    let record = record.filter(|(id, _)| key.id() == *id).map(|(_, r)| r);
    let scope = proxy.gate.scope(&key, record.as_ref(), now)?;
    Ok((key, scope))
}

fn denied(out: &mut Out<'_>, denial: ProviderDenial) {
    out.put("1").num(denial.status().as_u16().into()).put(denial.code());
}

/// `vendo_api_key_id`: an empty field, then `name, value` pairs. Answers
/// `0, key id` (the id to look the record up by) or `1, status, code`.
fn api_key_id(proxy: &ProviderProxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    f.bytes()?;
    match proxy.gate.key(&f.all_headers()?) {
        Ok(key) => {
            out.put("0").put(key.id().as_str());
        }
        Err(denial) => denied(out, denial),
    }
    Ok(())
}

/// `vendo_api_key`: now, the record (see [`record`]), then `name, value`
/// pairs. Answers `0, key id, tenant id, deployment id` (empty for a
/// tenant-wide key) or `1, status, code`.
fn api_key(proxy: &ProviderProxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let now = f.time()?;
    let record = record(&mut f)?;
    let headers = f.all_headers()?;
    match checked_key(proxy, &headers, record, now) {
        Ok((key, scope)) => {
            let deployment = scope.deployment_id().map_or("", |d| d.as_str());
            out.put("0").put(key.id().as_str()).put(scope.tenant_id().as_str()).put(deployment);
        }
        Err(denial) => denied(out, denial),
    }
    Ok(())
}

/// `vendo_mint_api_key`: the caller's 42 random bytes in hex. Answers `0,
/// api key, key id, hex verifier`.
fn mint(proxy: &ProviderProxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let random: [u8; 42] = hex(Fields::new(text).str()?)?.try_into().map_err(|_| "minting takes 42 random bytes")?;
    let key = ApiKey::mint(&random);
    out.put("0").put(key.expose().as_str()).put(key.id().as_str());
    out.put(hexed(proxy.pepper.verifier(&key).as_bytes()));
    Ok(())
}

/// A connection: id, tenant id, provider.
fn connection(f: &mut Fields<'_>) -> Result<Connection, Refusal> {
    let (id, tenant, provider) = (f.str()?, f.str()?, f.str()?);
    stored_connection(id, tenant, provider)
}

fn stored_connection(id: &str, tenant: &str, provider: &str) -> Result<Connection, Refusal> {
    Ok(Connection::new(
        id.parse().map_err(|_| "invalid connection id")?,
        tenant.parse().map_err(|_| "invalid connection tenant_id")?,
        provider.parse().map_err(|_| "invalid connection provider")?,
    ))
}

/// `vendo_seal`: the caller's 12 random nonce bytes in hex, connection id,
/// tenant id, provider, credential. Answers `0, sealed`.
fn seal(proxy: &ProviderProxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let nonce: [u8; 12] = hex(f.str()?)?.try_into().map_err(|_| "a nonce is 12 bytes")?;
    let connection = connection(&mut f)?;
    let credential = Credential::new(f.str()?).map_err(|_| "a credential is 1-4096 bytes of visible ASCII")?;
    out.put("0").put(proxy.masters.seal(&connection, &nonce, &credential));
    Ok(())
}

/// `vendo_unseal`: connection id, tenant id, provider, sealed. Answers `0,
/// credential` or `1, status, code`.
///
/// The crate opens a credential only for a connection its §7 checks
/// granted; outside a provider call (re-sealing under a new master key, a
/// connection's own settings page) the grant is the one those checks give
/// a key of the connection's own tenant reaching it through a binding of
/// its own, which is what this builds.
fn unseal(proxy: &ProviderProxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let connection = connection(&mut f)?;
    let sealed = f.str()?;
    let tenant = connection.tenant_id().clone();
    let deployment = Deployment::new("d_unseal".parse().map_err(|_| "unseal deployment id")?, tenant.clone());
    let binding = Binding::new("b_unseal".parse().map_err(|_| "unseal binding id")?, &deployment, &connection)
        .map_err(|_| "unseal binding")?;
    let scope = KeyScope::tenant(tenant);
    let granted =
        check_connection_use(&scope, &binding, &connection, connection.provider()).map_err(|_| "unseal grant")?;
    match proxy.masters.open(&granted, sealed) {
        Ok(credential) => {
            out.put("0").put(credential.expose());
        }
        Err(_) => denied(out, ProviderDenial::CredentialUnreadable),
    }
    Ok(())
}

/// `vendo_provider_forward`: now, adapter, target (path and query), the
/// record (see [`record`]), the binding (`1`, id, tenant id, deployment
/// id, connection id; or `0` and four empty fields), the connection (`1`,
/// id, tenant id, provider, sealed; or `0` and four empty fields), the
/// call (model, body bytes, max tokens, empty for none), then `name,
/// value` pairs. Answers `0, tenant id, deployment id, reserve, target`,
/// then the names to delete and the pairs to set (as `vendo_admit`'s
/// changes, without the spoofed spellings); or `1, status, code`, and
/// nothing is forwarded.
fn forward(proxy: &ProviderProxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let now = f.time()?;
    let adapter = Adapter::for_name(f.str()?).ok_or("unknown adapter")?;
    let target = f.str()?;
    let record = record(&mut f)?;
    let has_binding = f.str()?;
    let (id, tenant, deployment, connection_id) = (f.str()?, f.str()?, f.str()?, f.str()?);
    let binding = if has_binding == "1" {
        Some(Binding::from_stored(
            id.parse().map_err(|_| "invalid binding id")?,
            tenant.parse().map_err(|_| "invalid binding tenant_id")?,
            deployment.parse().map_err(|_| "invalid binding deployment_id")?,
            connection_id.parse().map_err(|_| "invalid binding connection_id")?,
        ))
    } else {
        None
    };
    let has_connection = f.str()?;
    let (id, tenant, provider, sealed) = (f.str()?, f.str()?, f.str()?, f.str()?);
    let connection = if has_connection == "1" { Some(stored_connection(id, tenant, provider)?) } else { None };
    let call = ProviderCall {
        model: f.str()?.parse().map_err(|_| "invalid model")?,
        body_bytes: f.u64()?,
        max_tokens: f.opt_u64()?,
    };
    let before = f.all_headers()?;
    let mut headers = before.clone();
    let decision = checked_key(proxy, &headers, record, now).and_then(|(_, scope)| {
        let loaded = match (&binding, &connection) {
            (Some(binding), Some(connection)) => Some(Loaded { binding, connection, sealed }),
            _ => None,
        };
        proxy.gate.forward(adapter, &scope, loaded, &call, target, &mut headers)
    });
    match decision {
        Ok(forward) => {
            out.put("0").put(forward.tenant_id().as_str()).put(forward.deployment_id().as_str());
            out.num(forward.reserve().micros()).put(forward.target());
            let deletes: Vec<&HeaderName> = before.keys().filter(|n| !headers.contains_key(*n)).collect();
            let sets: Vec<&HeaderName> =
                headers.keys().filter(|n| !before.get_all(*n).iter().eq(headers.get_all(*n).iter())).collect();
            write_edits(&deletes, &sets, &headers, out);
        }
        Err(denial) => denied(out, denial),
    }
    Ok(())
}

/// Configures the provider path (see [`configure`]); replaces any
/// earlier one.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_configure_provider(len: u32) -> i32 {
    abi::run(len, |text, _| {
        let proxy = configure(text)?;
        STATE.with_borrow_mut(|s| *s = Some(proxy));
        Ok(())
    })
}

/// SPEC §6 steps 1–3: the presented key's id, to look its record up by.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_api_key_id(len: u32) -> i32 {
    run(len, api_key_id)
}

/// SPEC §6: the presented key checked against its record.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_api_key(len: u32) -> i32 {
    run(len, api_key)
}

/// SPEC §6: a new key from the caller's randomness, and its verifier.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_mint_api_key(len: u32) -> i32 {
    run(len, mint)
}

/// SPEC §8: a credential sealed to its connection.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_seal(len: u32) -> i32 {
    run(len, seal)
}

/// SPEC §8: a sealed credential opened for its connection.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_unseal(len: u32) -> i32 {
    run(len, unseal)
}

/// SPEC §7: the whole provider proxy decision for one call.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_provider_forward(len: u32) -> i32 {
    run(len, forward)
}

/// Writes the names to delete, then the `name, value` pairs to set from
/// `headers` (delete the name, then append each), as counts followed by
/// fields.
pub(crate) fn write_edits(deletes: &[&HeaderName], sets: &[&HeaderName], headers: &HeaderMap, out: &mut Out<'_>) {
    out.num(deletes.len() as u64);
    for name in deletes {
        out.put(name.as_str());
    }
    // One lookup per name, read twice: counted, then written.
    let values: Vec<_> = sets.iter().map(|n| (n.as_str(), headers.get_all(*n))).collect();
    let set_fields = values.iter().map(|(_, all)| all.iter().count()).fold(0, usize::saturating_add);
    out.num(set_fields as u64);
    for (name, all) in &values {
        for value in all {
            out.put(name).put(value.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use vendo_isolation::testing::hostile_header_map;

    use super::*;
    use crate::abi::{BAD_INPUT, OK, call};

    /// `n` bytes counting up from `start`, as SPEC §6 and §8's worked examples use.
    fn counting(start: u8, n: u8) -> String {
        hexed(&(0..n).map(|i| start.wrapping_add(i)).collect::<Vec<u8>>())
    }

    const API_KEY: &str = "vk1_aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijcemsckjrhfau7ce25v4";
    const VERIFIER: &str = "8c3996b174c21d007338d24434bd2ab5d9d5791c1567d4f65c7d48a2429bf706";
    const SEALED: &str = "v1.m1.AAAAAAAAAAAAAAAAxnIdISdINLwSPesCSUi6aoqVymdRKvzWsqIj";
    const RECORD: [&str; 7] = ["1", "aaaqeayeaudaocaj", "t_1", "d_1", VERIFIER, "", ""];
    const BINDING: [&str; 5] = ["1", "b_1", "t_1", "d_1", "c_1"];
    const CONNECTION: [&str; 5] = ["1", "c_1", "t_1", "openai", SEALED];
    const CALL: [&str; 3] = ["gpt-4o-mini", "1234", "500"];

    fn configure_fixture() {
        let (pepper, master) = (counting(100, 32), counting(0, 32));
        let rates = ["1", "openai", "gpt-4o-mini", "150000", "600000", "16384"];
        let fields = [&[pepper.as_str(), "1", "m1", &master][..], &rates[..]].concat();
        assert_eq!(call(vendo_configure_provider, &fields).0, OK);
    }

    fn forward_fields<'a>(headers: &[&'a str]) -> Vec<&'a str> {
        let head = ["1700000000", "openai", "/v1/chat/completions"];
        [&head[..], &RECORD, &BINDING, &CONNECTION, &CALL, headers].concat()
    }

    #[test]
    fn the_abi_round_trips() {
        configure_fixture();
        let (_, out) = call(vendo_mint_api_key, &[&counting(0, 42)]);
        assert_eq!(out, ["0", API_KEY, "aaaqeayeaudaocaj", VERIFIER]);
        assert_eq!(
            call(vendo_seal, &["00".repeat(12).as_str(), "c_1", "t_1", "openai", "sk-test-123"]).1,
            ["0", SEALED]
        );
        assert_eq!(call(vendo_unseal, &["c_1", "t_1", "openai", SEALED]).1, ["0", "sk-test-123"]);
        assert_eq!(call(vendo_unseal, &["c_1", "t_2", "openai", SEALED]).1, ["1", "500", "credential_unreadable"]);

        let bearer = format!("Bearer {API_KEY}");
        assert_eq!(call(vendo_api_key_id, &["", "Authorization", &bearer]).1, ["0", "aaaqeayeaudaocaj"]);
        assert_eq!(call(vendo_api_key_id, &["", "accept", "*/*"]).1, ["1", "401", "no_api_key"]);
        let check =
            |record: &[&str]| call(vendo_api_key, &[&["1700000000"][..], record, &["x-api-key", API_KEY]].concat()).1;
        assert_eq!(check(&RECORD), ["0", "aaaqeayeaudaocaj", "t_1", "d_1"]);
        assert_eq!(
            check(&["1", "aaaqeayeaudaocaj", "t_1", "", VERIFIER, "", ""]),
            ["0", "aaaqeayeaudaocaj", "t_1", ""]
        );
        assert_eq!(check(&["1", "aaaqeayeaudaocaj", "t_1", "d_1", VERIFIER, "", "1700000000"])[2], "revoked_api_key");
        // A record stored under another key id is not this key's.
        assert_eq!(check(&["1", "bbbbbbbbbbbbbbbb", "t_1", "d_1", VERIFIER, "", ""])[2], "unknown_api_key");
        assert_eq!(check(&["0", "", "", "", "", "", ""])[2], "unknown_api_key");

        let headers = [&bearer, "x_vendo_user_id", "u_2", "cookie", "a=1", "accept", "*/*"];
        let (status, out) = call(vendo_provider_forward, &forward_fields(&[&["authorization"][..], &headers].concat()));
        assert_eq!(status, OK);
        assert_eq!(out[..5], ["0", "t_1", "d_1", "486", "/v1/chat/completions"]);
        // Deleted: the key and the forged spelling; set: the credential.
        assert_eq!(out[5..], ["2", "x_vendo_user_id", "cookie", "1", "authorization", "Bearer sk-test-123"]);
        let mut none = forward_fields(&["x-api-key", API_KEY]);
        none.splice(10..15, ["0", "", "", "", ""]);
        assert_eq!(call(vendo_provider_forward, &none).1, ["1", "403", "no_binding"]);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason_never_a_panic() {
        configure_fixture();
        let short = "00".repeat(31);
        let key = "00".repeat(32);
        for (op, fields) in [
            (vendo_configure_provider as extern "C" fn(u32) -> i32, &[short.as_str(), "1", "m1", &key, "0"][..]),
            (vendo_configure_provider, &[&key, "0", "0"]),
            (vendo_configure_provider, &[&key, "1", "m.1", &key, "0"]),
            (vendo_configure_provider, &[&key, "2", "m1", &key, "m1", &key, "0"]),
            (
                vendo_configure_provider,
                &[&key, "1", "m1", &key, "2", "openai", "m", "1", "1", "", "openai", "m", "2", "2", ""],
            ),
            (vendo_configure_provider, &[&key, "1", "m1", &key, "1", "OpenAI", "m", "1", "1", ""]),
            (vendo_configure_provider, &[&key, "1", "m1", &key, "1", "openai", "m", "-1", "1", ""]),
            (vendo_mint_api_key, &["00".repeat(41).as_str()]),
            (vendo_mint_api_key, &["zz"]),
            (vendo_seal, &["00".repeat(11).as_str(), "c_1", "t_1", "openai", "sk"]),
            (vendo_seal, &["00".repeat(12).as_str(), "c_1", "t_1", "openai", "sk with space"]),
            (vendo_seal, &["00".repeat(12).as_str(), "c 1", "t_1", "openai", "sk"]),
            (vendo_unseal, &["c_1", "t_1", "Open AI", SEALED]),
            (vendo_api_key_id, &["", "bad name", "v"]),
            (vendo_api_key_id, &["", "x-api-key"]),
            (vendo_api_key, &["1700000000", "1", "aaaqeayeaudaocaj", "t_1", "d_1", "abcd", "", ""]),
            (vendo_api_key, &["1700000000", "1", "aaaqeayeaudaocaj", "t 1", "d_1", VERIFIER, "", ""]),
            (vendo_api_key, &["1700000000", "1", "aaaqeayeaudaocaj", "t_1", "d_1", VERIFIER, "soon", ""]),
            (vendo_api_key, &["99999999999999999999", "0", "", "", "", "", "", ""]),
            (vendo_provider_forward, &["1700000000", "azure"]),
            (vendo_provider_forward, &forward_fields(&["a", "\r\n"])),
            (vendo_provider_forward, &forward_fields(&["name-only"])),
        ] {
            let (status, out) = call(op, fields);
            assert_eq!(status, BAD_INPUT, "{fields:?}");
            assert!(!out.concat().is_empty(), "a reason for {fields:?}");
        }
        // A refused configuration keeps the previous one.
        assert_eq!(call(vendo_mint_api_key, &[&counting(0, 42)]).1[1], API_KEY);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Applying the answer's edits to the request's headers gives
        /// exactly the map the crate forwards, whatever the tool sent.
        #[test]
        fn edits_rebuild_the_forwarded_map(hostile in hostile_header_map(), header in prop::sample::select(vec!["authorization", "x-api-key"])) {
            configure_fixture();
            let key = if header == "authorization" { format!("Bearer {API_KEY}") } else { API_KEY.to_owned() };
            let mut input: Vec<(String, String)> = vec![(header.to_owned(), key)];
            input.extend(hostile.iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8(v.as_bytes().to_vec()).unwrap())));
            let fields: Vec<&str> = input.iter().flat_map(|(n, v)| [n.as_str(), v.as_str()]).collect();
            let (status, out) = call(vendo_provider_forward, &forward_fields(&fields));
            prop_assert_eq!(status, OK);
            prop_assert_eq!(&out[..5], &["0", "t_1", "d_1", "486", "/v1/chat/completions"].map(str::to_owned)[..]);

            let mut it = out[5..].iter();
            let deletes: usize = it.next().unwrap().parse().unwrap();
            let deleted: Vec<String> = it.by_ref().take(deletes).cloned().collect();
            let sets: usize = it.next().unwrap().parse().unwrap();
            let set: Vec<(String, String)> = (0..sets).map(|_| (it.next().unwrap().clone(), it.next().unwrap().clone())).collect();
            prop_assert!(it.next().is_none(), "trailing fields");
            let touched = |n: &str| deleted.iter().chain(set.iter().map(|(n, _)| n)).any(|d| d.eq_ignore_ascii_case(n));
            let mut applied: Vec<(String, String)> =
                input.iter().filter(|(n, _)| !touched(n)).map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
            applied.extend(set);

            let mut expected = HeaderMap::new();
            for (n, v) in &input {
                expected.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
            }
            let proxy = STATE.with_borrow_mut(|s| s.take()).unwrap();
            let scope = KeyScope::deployment("t_1".parse().unwrap(), "d_1".parse().unwrap());
            let connection = Connection::new("c_1".parse().unwrap(), "t_1".parse().unwrap(), "openai".parse().unwrap());
            let binding = Binding::from_stored("b_1".parse().unwrap(), "t_1".parse().unwrap(), "d_1".parse().unwrap(), "c_1".parse().unwrap());
            let loaded = Loaded { binding: &binding, connection: &connection, sealed: SEALED };
            let call = ProviderCall { model: "gpt-4o-mini".parse().unwrap(), body_bytes: 1234, max_tokens: Some(500) };
            proxy.gate.forward(Adapter::OpenAi, &scope, Some(loaded), &call, "/v1/chat/completions", &mut expected).unwrap();
            let mut want: Vec<(String, String)> =
                expected.iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8(v.as_bytes().to_vec()).unwrap())).collect();
            // Stable: keeps each name's value order.
            applied.sort_by(|a, b| a.0.cmp(&b.0));
            want.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(applied, want);
        }
    }
}
