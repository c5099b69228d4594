//! SPEC §6 (API keys), §8 (sealed credentials), §7 and §9 (the provider
//! decision and its quote), and the SPEC §10 conformance ops over JSON,
//! written from the SPEC's text independently of the crate: the public
//! provider vectors take their expected answers from here, never from the
//! library, so a bug in the library cannot vouch for itself.
//!
//! Include with `#[path = "support/provider_reference.rs"] mod provider_reference;`.
//!
//! The encodings (lowercase base32, canonical base64url, `field`) are
//! written out here; the primitives are the ones the SPEC names: CRC-32
//! (`crc32fast`), HMAC-SHA256 (`hmac`, `sha2`) and AES-256-GCM (`aes-gcm`).
//! Where the SPEC is silent the choice is marked `SPEC silent`.

// Each including test uses a part of it.
#![allow(dead_code)]

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// An op's answer without its id: `Ok` is `{"ok": …}`, `Err` the code.
pub type Answer = Result<Value, String>;

pub const BAD_REQUEST: &str = "bad_request";

fn bad<E>(_: E) -> String {
    BAD_REQUEST.to_owned()
}

// ---------------------------------------------------------------------------
// Encodings

/// RFC 4648 base32 in SPEC §6's lowercase alphabet.
const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Base32 without padding, lowercase.
pub fn b32_encode(bytes: &[u8]) -> String {
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(B32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Canonical lowercase base32: only `a`–`z` and `2`–`7`, no padding, and
/// the bits left over after the last whole byte are zero. A decoder that
/// ignored them would read two spellings of one key.
pub fn b32_decode(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        let v = B32.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // A whole character left over encodes nothing: not a length an encoder
    // writes.
    (bits < 5 && acc == 0).then_some(out)
}

/// RFC 4648 §5, the url-safe alphabet.
const B64U: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (SPEC §4 `b64u`).
pub fn b64u_encode(bytes: &[u8]) -> String {
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(B64U[((acc >> bits) & 63) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(B64U[((acc << (6 - bits)) & 63) as usize]));
    }
    out
}

/// Canonical base64url (SPEC §4): no padding, nothing outside the url-safe
/// alphabet, zero trailing bits.
pub fn b64u_decode(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        let v = B64U.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    (bits < 6 && acc == 0).then_some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// SPEC §3.1 `field(x)`: the length as 4 bytes big-endian, then the bytes.
pub fn field(out: &mut Vec<u8>, x: &[u8]) {
    out.extend_from_slice(&u32::try_from(x.len()).unwrap().to_be_bytes());
    out.extend_from_slice(x);
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// SPEC §1: 1–64 bytes of `[A-Za-z0-9_-]`.
pub fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// SPEC §4 `kid`: 1–32 of `ALPHA / DIGIT / "_" / "-"`.
pub fn is_kid(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Spaces and tabs only.
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

// ---------------------------------------------------------------------------
// SPEC §6: API keys

pub const PREFIX: &str = "vk1_";
const KEY_ID_BYTES: usize = 10;
const SECRET_BYTES: usize = 32;
const BODY_CHARS: usize = 74;
const VERIFIER_TAG: &[u8] = b"vendo-api-key-v1\x00";

/// `vk1_ b32(key_id || secret || check)` for 42 bytes of randomness.
pub fn mint(random: &[u8; 42]) -> String {
    let mut raw = random.to_vec();
    raw.extend_from_slice(&crc32fast::hash(random).to_be_bytes());
    format!("{PREFIX}{}", b32_encode(&raw))
}

/// `HMAC-SHA256(pepper, "vendo-api-key-v1" %x00 key_id || secret)`.
pub fn verifier(pepper: &[u8], key_id_and_secret: &[u8]) -> [u8; 32] {
    hmac_sha256(pepper, &[VERIFIER_TAG, key_id_and_secret])
}

/// A key that parsed: its key id (16 characters) and the 42 bytes the
/// verifier covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub key_id: String,
    pub payload: Vec<u8>,
}

/// SPEC §6 `malformed_api_key`: prefix, length, alphabet, canonical bits,
/// checksum.
pub fn parse_key(text: &str) -> Result<Presented, &'static str> {
    const MALFORMED: &str = "malformed_api_key";
    let body = text.strip_prefix(PREFIX).ok_or(MALFORMED)?;
    if body.len() != BODY_CHARS {
        return Err(MALFORMED);
    }
    let raw = b32_decode(body).ok_or(MALFORMED)?;
    assert_eq!(raw.len(), KEY_ID_BYTES + SECRET_BYTES + 4);
    let (payload, check) = raw.split_at(KEY_ID_BYTES + SECRET_BYTES);
    if crc32fast::hash(payload).to_be_bytes() != check {
        return Err(MALFORMED);
    }
    Ok(Presented { key_id: body[..16].to_owned(), payload: payload.to_vec() })
}

/// SPEC §6 steps 1–3. Every `Authorization` and every `x-api-key` value
/// (names compared case-insensitively, as HTTP does) is one presentation.
pub fn present(headers: &[(String, String)]) -> Result<Presented, &'static str> {
    let presentations: Vec<(bool, &str)> = headers
        .iter()
        .filter_map(|(n, v)| {
            if n.eq_ignore_ascii_case("authorization") {
                Some((true, v.as_str()))
            } else if n.eq_ignore_ascii_case("x-api-key") {
                Some((false, v.as_str()))
            } else {
                None
            }
        })
        .collect();
    let (authorization, value) = match presentations.as_slice() {
        [] => return Err("no_api_key"),
        [one] => *one,
        _ => return Err("duplicate_api_key"),
    };
    let text = if authorization {
        // `Bearer` in any case, then exactly a space (not a tab).
        match value.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => &value[7..],
            _ => return Err("malformed_api_key"),
        }
    } else {
        value
    };
    parse_key(trim_ows(text))
}

/// What the store keeps under a key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key_id: String,
    pub tenant_id: String,
    pub deployment_id: Option<String>,
    pub verifier: [u8; 32],
    pub expires_at: Option<u64>,
    pub revoked_at: Option<u64>,
}

impl Record {
    pub fn to_json(&self) -> Value {
        json!({
            "key_id": self.key_id, "tenant_id": self.tenant_id, "deployment_id": self.deployment_id,
            "verifier": hex(&self.verifier), "expires_at": self.expires_at, "revoked_at": self.revoked_at,
        })
    }
}

/// The tenant, and the deployment for a deployment key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: String,
    pub deployment_id: Option<String>,
}

/// SPEC §6 steps 4–7 (and §10: a record stored under another key id is
/// no record for this key).
pub fn verify(pepper: &[u8], key: &Presented, record: Option<&Record>, now: u64) -> Result<Scope, &'static str> {
    let mine = verifier(pepper, &key.payload);
    let record = record.filter(|r| r.key_id == key.key_id).ok_or("unknown_api_key")?;
    let mut diff = 0u8;
    for (a, b) in mine.iter().zip(&record.verifier) {
        diff |= a ^ b;
    }
    if diff != 0 {
        return Err("bad_api_key");
    }
    if record.revoked_at.is_some_and(|at| at <= now) {
        return Err("revoked_api_key");
    }
    if record.expires_at.is_some_and(|at| at <= now) {
        return Err("expired_api_key");
    }
    Ok(Scope { tenant_id: record.tenant_id.clone(), deployment_id: record.deployment_id.clone() })
}

// ---------------------------------------------------------------------------
// SPEC §8: sealed credentials

const CONN_KEY_TAG: &[u8] = b"vendo-credential-key-v1\x00";
const AAD_TAG: &[u8] = b"vendo-credential-v1\x00";

/// SPEC §8: 1–4096 bytes of visible ASCII.
pub fn is_credential(c: &[u8]) -> bool {
    (1..=4096).contains(&c.len()) && c.iter().all(|b| (0x21..=0x7e).contains(b))
}

fn conn_key(master: &[u8], tenant: &str, connection: &str) -> [u8; 32] {
    let mut msg = CONN_KEY_TAG.to_vec();
    field(&mut msg, tenant.as_bytes());
    field(&mut msg, connection.as_bytes());
    hmac_sha256(master, &[&msg])
}

fn aad(kid: &str, tenant: &str, connection: &str, provider: &str) -> Vec<u8> {
    let mut aad = AAD_TAG.to_vec();
    for part in [kid, tenant, connection, provider] {
        field(&mut aad, part.as_bytes());
    }
    aad
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    <Aes256Gcm as aes_gcm::KeyInit>::new_from_slice(key).unwrap()
}

/// Seals any bytes, valid credential or not, so the vectors can hold
/// authenticated plaintexts the SPEC forbids.
pub fn seal_bytes(
    kid: &str,
    master: &[u8],
    nonce: &[u8; 12],
    tenant: &str,
    connection: &str,
    provider: &str,
    plaintext: &[u8],
) -> String {
    let key = conn_key(master, tenant, connection);
    let aad = aad(kid, tenant, connection, provider);
    let sealed = cipher(&key).encrypt(&Nonce::from(*nonce), Payload { msg: plaintext, aad: &aad }).unwrap();
    let mut body = nonce.to_vec();
    body.extend_from_slice(&sealed);
    format!("v1.{kid}.{}", b64u_encode(&body))
}

/// SPEC §8 opening. Every failure is the one code.
pub fn unseal(
    masters: &[(String, Vec<u8>)],
    sealed: &str,
    tenant: &str,
    connection: &str,
    provider: &str,
) -> Result<String, &'static str> {
    const UNREADABLE: &str = "credential_unreadable";
    let rest = sealed.strip_prefix("v1.").ok_or(UNREADABLE)?;
    let (kid, body) = rest.split_once('.').ok_or(UNREADABLE)?;
    if !is_kid(kid) {
        return Err(UNREADABLE);
    }
    let raw = b64u_decode(body).ok_or(UNREADABLE)?;
    if raw.len() < 12 + 16 {
        return Err(UNREADABLE);
    }
    let (nonce, sealed) = raw.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().unwrap();
    let master = masters.iter().find(|(k, _)| k == kid).map(|(_, m)| m).ok_or(UNREADABLE)?;
    let key = conn_key(master, tenant, connection);
    let aad = aad(kid, tenant, connection, provider);
    let clear =
        cipher(&key).decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad }).map_err(|_| UNREADABLE)?;
    // An authenticated plaintext outside the credential syntax (empty, a
    // space, CR LF) would reach a header or a path: it is not a credential.
    if !is_credential(&clear) {
        return Err(UNREADABLE);
    }
    Ok(String::from_utf8(clear).unwrap())
}

// ---------------------------------------------------------------------------
// SPEC §9: the worst-case quote

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub provider: String,
    pub model: String,
    /// Micro-credits per million input tokens.
    pub input: u64,
    /// Micro-credits per million output tokens.
    pub output: u64,
    pub max_output: Option<u64>,
}

impl Rate {
    pub fn to_json(&self) -> Value {
        let mut row = json!({
            "provider": self.provider, "model": self.model,
            "input": self.input.to_string(), "output": self.output.to_string(),
        });
        if let Some(max) = self.max_output {
            row["max_output"] = json!(max);
        }
        row
    }
}

fn ceil_per_million(tokens: u64, price: u64) -> u128 {
    (u128::from(tokens) * u128::from(price)).div_ceil(1_000_000)
}

/// `ceil(input_bound × input / 10^6) + ceil(max_output × output / 10^6)`,
/// each part rounded up on its own.
pub fn quote(
    rates: &[Rate],
    provider: &str,
    model: &str,
    body_bytes: u64,
    max_tokens: Option<u64>,
) -> Result<u64, &'static str> {
    let rate = rates.iter().find(|r| r.provider == provider && r.model == model).ok_or("unknown_model")?;
    // SPEC silent on a model with neither `max_tokens` nor a table maximum:
    // the vectors hold no such call.
    let max_output = max_tokens.or(rate.max_output).expect("the vectors bound every call's output");
    let total = ceil_per_million(body_bytes, rate.input) + ceil_per_million(max_output, rate.output);
    Ok(u64::try_from(total).expect("the vectors' quotes fit in u64"))
}

// ---------------------------------------------------------------------------
// SPEC §7: the provider decision

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub id: String,
    pub tenant_id: String,
    pub deployment_id: String,
    pub connection_id: String,
}

impl Binding {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "tenant_id": self.tenant_id, "deployment_id": self.deployment_id, "connection_id": self.connection_id})
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub tenant_id: String,
    pub provider: String,
    pub sealed: String,
}

impl Connection {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "tenant_id": self.tenant_id, "provider": self.provider, "sealed": self.sealed})
    }
}

pub const ADAPTERS: [&str; 5] = ["openai", "openrouter", "notion", "anthropic", "telegram"];

/// The admitted call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub tenant_id: String,
    pub deployment_id: String,
    pub reserve: u64,
    pub target: String,
    /// Lowercase names, sorted by name; values of one name in their order.
    pub headers: Vec<(String, String)>,
}

/// SPEC §3's collision key.
pub fn collision_key(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'_' | b'.' => '-',
            _ => char::from(b.to_ascii_lowercase()),
        })
        .collect()
}

fn in_namespace(name: &str) -> bool {
    collision_key(name).starts_with("x-vendo-")
}

/// §7 step 5 before injection: §3 steps 1–2, then every inbound
/// credential header and `cookie` in every spelling of its collision key.
pub fn provider_strip(headers: &[(String, String)]) -> Vec<(String, String)> {
    const INBOUND: [&str; 5] = ["authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"];
    let mut out = Vec::new();
    for (name, value) in headers {
        let key = collision_key(name);
        if key.starts_with("x-vendo-") || INBOUND.contains(&key.as_str()) {
            continue;
        }
        let name = name.to_ascii_lowercase();
        if name == "connection" {
            let tokens: Vec<&str> = value.split(',').map(trim_ows).collect();
            if !tokens.iter().any(|t| in_namespace(t)) {
                out.push((name, value.clone()));
                continue;
            }
            let kept: Vec<&str> = tokens.into_iter().filter(|t| !t.is_empty() && !in_namespace(t)).collect();
            if !kept.is_empty() {
                out.push((name, kept.join(", ")));
            }
            continue;
        }
        out.push((name, value.clone()));
    }
    out
}

/// Everything the caller passes for one call.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub adapter: &'a str,
    pub target: &'a str,
    pub headers: &'a [(String, String)],
    pub pepper: &'a [u8],
    pub now: u64,
    pub record: Option<&'a Record>,
    pub binding: Option<&'a Binding>,
    pub connection: Option<&'a Connection>,
    pub masters: &'a [(String, Vec<u8>)],
    pub model: &'a str,
    pub body_bytes: u64,
    pub max_tokens: Option<u64>,
    pub rates: &'a [Rate],
}

/// SPEC §7 steps 1–5, first failure reported.
pub fn provider_forward(call: &Call<'_>) -> Result<Forwarded, &'static str> {
    // 1
    let key = present(call.headers)?;
    let scope = verify(call.pepper, &key, call.record, call.now)?;
    // 2
    let (Some(binding), Some(connection)) = (call.binding, call.connection) else {
        return Err("no_binding");
    };
    if binding.tenant_id != scope.tenant_id {
        return Err("binding_tenant_mismatch");
    }
    if scope.deployment_id.as_ref().is_some_and(|d| *d != binding.deployment_id) {
        return Err("binding_deployment_mismatch");
    }
    if connection.id != binding.connection_id {
        return Err("binding_connection_mismatch");
    }
    if connection.tenant_id != scope.tenant_id {
        return Err("connection_tenant_mismatch");
    }
    if connection.provider != call.adapter {
        return Err("provider_mismatch");
    }
    // 3: opened with the checked tenant, connection and provider.
    let credential = unseal(call.masters, &connection.sealed, &scope.tenant_id, &connection.id, call.adapter)?;
    // 4
    let reserve = quote(call.rates, call.adapter, call.model, call.body_bytes, call.max_tokens)?;
    // 5
    let mut headers = provider_strip(call.headers);
    let mut target = call.target.to_owned();
    match call.adapter {
        "openai" | "openrouter" | "notion" => headers.push(("authorization".into(), format!("Bearer {credential}"))),
        "anthropic" => headers.push(("x-api-key".into(), credential)),
        "telegram" => target = format!("/bot{credential}{}", call.target),
        other => panic!("no adapter {other}"),
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Forwarded { tenant_id: scope.tenant_id, deployment_id: binding.deployment_id.clone(), reserve, target, headers })
}

// ---------------------------------------------------------------------------
// SPEC §10 over JSON: the answer a runner must give, without its id

fn str_field<'a>(req: &'a Value, name: &str) -> Result<&'a str, String> {
    req.get(name).and_then(Value::as_str).ok_or_else(|| bad(()))
}

fn hex_field(req: &Value, name: &str) -> Result<Vec<u8>, String> {
    unhex(str_field(req, name)?).ok_or_else(|| bad(()))
}

fn id_field<'a>(req: &'a Value, name: &str) -> Result<&'a str, String> {
    Some(str_field(req, name)?).filter(|s| is_id(s)).ok_or_else(|| bad(()))
}

fn pepper_field(req: &Value) -> Result<Vec<u8>, String> {
    Some(hex_field(req, "pepper")?).filter(|p| p.len() >= 32).ok_or_else(|| bad(()))
}

fn headers_field(req: &Value) -> Result<Vec<(String, String)>, String> {
    let list = req.get("headers").and_then(Value::as_array).ok_or_else(|| bad(()))?;
    list.iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(n), Value::String(v)]) => Ok((n.clone(), v.clone())),
            _ => Err(bad(())),
        })
        .collect()
}

fn opt_u64(v: Option<&Value>) -> Result<Option<u64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| bad(())),
    }
}

fn record_field(req: &Value) -> Result<Option<Record>, String> {
    match req.get("record") {
        None => Err(bad(())),
        Some(Value::Null) => Ok(None),
        Some(r) => Ok(Some(Record {
            key_id: str_field(r, "key_id")?.to_owned(),
            tenant_id: id_field(r, "tenant_id")?.to_owned(),
            deployment_id: match r.get("deployment_id") {
                None | Some(Value::Null) => None,
                Some(_) => Some(id_field(r, "deployment_id")?.to_owned()),
            },
            verifier: hex_field(r, "verifier")?.try_into().map_err(bad)?,
            expires_at: opt_u64(r.get("expires_at"))?,
            revoked_at: opt_u64(r.get("revoked_at"))?,
        })),
    }
}

fn masters_field(req: &Value) -> Result<Vec<(String, Vec<u8>)>, String> {
    let map: &Map<String, Value> = req.get("masters").and_then(Value::as_object).ok_or_else(|| bad(()))?;
    if map.is_empty() {
        return Err(bad(()));
    }
    map.iter()
        .map(|(kid, key)| {
            let key = unhex(key.as_str().ok_or_else(|| bad(()))?).ok_or_else(|| bad(()))?;
            if !is_kid(kid) || key.len() < 32 {
                return Err(bad(()));
            }
            Ok((kid.clone(), key))
        })
        .collect()
}

fn op_api_key(req: &Value) -> Answer {
    let headers = headers_field(req)?;
    let pepper = pepper_field(req)?;
    let now = req.get("now").and_then(Value::as_u64).ok_or_else(|| bad(()))?;
    let record = record_field(req)?;
    let key = present(&headers).map_err(str::to_owned)?;
    let scope = verify(&pepper, &key, record.as_ref(), now).map_err(str::to_owned)?;
    Ok(json!({"key_id": key.key_id, "tenant_id": scope.tenant_id, "deployment_id": scope.deployment_id}))
}

fn op_mint_api_key(req: &Value) -> Answer {
    let random: [u8; 42] = hex_field(req, "random")?.try_into().map_err(bad)?;
    let pepper = pepper_field(req)?;
    let key = mint(&random);
    Ok(json!({"api_key": key, "key_id": &key[4..20], "verifier": hex(&verifier(&pepper, &random))}))
}

fn op_seal(req: &Value) -> Answer {
    let kid = str_field(req, "kid")?;
    let master = hex_field(req, "master")?;
    let nonce: [u8; 12] = hex_field(req, "nonce")?.try_into().map_err(bad)?;
    let credential = str_field(req, "credential")?;
    let (tenant, connection, provider) =
        (id_field(req, "tenant_id")?, id_field(req, "connection_id")?, str_field(req, "provider")?);
    if !is_kid(kid) || master.len() < 32 || !is_credential(credential.as_bytes()) {
        return Err(bad(()));
    }
    Ok(json!({"sealed": seal_bytes(kid, &master, &nonce, tenant, connection, provider, credential.as_bytes())}))
}

fn op_unseal(req: &Value) -> Answer {
    let masters = masters_field(req)?;
    let sealed = str_field(req, "sealed")?;
    let (tenant, connection, provider) =
        (id_field(req, "tenant_id")?, id_field(req, "connection_id")?, str_field(req, "provider")?);
    let credential = unseal(&masters, sealed, tenant, connection, provider).map_err(str::to_owned)?;
    Ok(json!({ "credential": credential }))
}

fn op_provider_forward(req: &Value) -> Answer {
    let adapter = str_field(req, "adapter")?;
    if !ADAPTERS.contains(&adapter) {
        return Err(bad(()));
    }
    let headers = headers_field(req)?;
    let pepper = pepper_field(req)?;
    let now = req.get("now").and_then(Value::as_u64).ok_or_else(|| bad(()))?;
    let record = record_field(req)?;
    let masters = masters_field(req)?;
    let binding = match req.get("binding").ok_or_else(|| bad(()))? {
        Value::Null => None,
        b => Some(Binding {
            id: id_field(b, "id")?.to_owned(),
            tenant_id: id_field(b, "tenant_id")?.to_owned(),
            deployment_id: id_field(b, "deployment_id")?.to_owned(),
            connection_id: id_field(b, "connection_id")?.to_owned(),
        }),
    };
    let connection = match req.get("connection").ok_or_else(|| bad(()))? {
        Value::Null => None,
        c => Some(Connection {
            id: id_field(c, "id")?.to_owned(),
            tenant_id: id_field(c, "tenant_id")?.to_owned(),
            provider: str_field(c, "provider")?.to_owned(),
            sealed: str_field(c, "sealed")?.to_owned(),
        }),
    };
    let c = req.get("call").ok_or_else(|| bad(()))?;
    let rates = req
        .get("rates")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(()))?
        .iter()
        .map(|r| {
            let micros = |name: &str| -> Result<u64, String> { str_field(r, name)?.parse().map_err(bad) };
            Ok(Rate {
                provider: str_field(r, "provider")?.to_owned(),
                model: str_field(r, "model")?.to_owned(),
                input: micros("input")?,
                output: micros("output")?,
                max_output: opt_u64(r.get("max_output"))?,
            })
        })
        .collect::<Result<Vec<Rate>, String>>()?;
    let call = Call {
        adapter,
        target: str_field(req, "target")?,
        headers: &headers,
        pepper: &pepper,
        now,
        record: record.as_ref(),
        binding: binding.as_ref(),
        connection: connection.as_ref(),
        masters: &masters,
        model: str_field(c, "model")?,
        body_bytes: c.get("body_bytes").and_then(Value::as_u64).ok_or_else(|| bad(()))?,
        max_tokens: opt_u64(c.get("max_tokens"))?,
        rates: &rates,
    };
    let f = provider_forward(&call).map_err(str::to_owned)?;
    Ok(json!({
        "tenant_id": f.tenant_id, "deployment_id": f.deployment_id, "reserve": f.reserve.to_string(),
        "target": f.target, "headers": f.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
    }))
}

/// The SPEC §10 answer to `req`, without its id: `{"ok": …}` or
/// `{"error": code}`.
pub fn answer(req: &Value) -> Value {
    let result = match req.get("op").and_then(Value::as_str) {
        Some("api_key") => op_api_key(req),
        Some("mint_api_key") => op_mint_api_key(req),
        Some("seal") => op_seal(req),
        Some("unseal") => op_unseal(req),
        Some("provider_forward") => op_provider_forward(req),
        _ => Err(bad(())),
    };
    match result {
        Ok(ok) => json!({ "ok": ok }),
        Err(code) => json!({ "error": code }),
    }
}
