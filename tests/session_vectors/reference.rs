//! The reference signer and the request builder the vector generator
//! uses. Nothing here calls the crate: the MAC is computed from SPEC §4
//! with `hmac` and `sha2` directly.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

pub const NOW: u64 = 1_700_000_000;
pub const IAT: u64 = 1_699_990_000;
pub const EXP: u64 = 1_700_030_000;
pub const MAX_LIFE: u64 = 86_400;
pub const MAX_TS: u64 = 253_402_300_799;

pub fn key(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn k1() -> Vec<u8> {
    key(1, 32)
}

pub fn k2() -> Vec<u8> {
    key(2, 64)
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SPEC §4 MAC, computed independently of the crate. `domain: false`
/// drops the `"vendo-session-v1" %x00` tag, as a key shared with another
/// HMAC use would sign.
pub fn mac_raw(secret: &[u8], kid: &str, payload: &str, domain: bool) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    if domain {
        m.update(b"vendo-session-v1\x00");
    }
    m.update(format!("v1.{kid}.{payload}").as_bytes());
    m.finalize().into_bytes().into()
}

pub fn sign_payload(secret: &[u8], kid: &str, payload: &str) -> String {
    format!("v1.{kid}.{payload}.{}", b64(&mac_raw(secret, kid, payload, true)))
}

pub fn sign(secret: &[u8], kid: &str, claims: &[u8]) -> String {
    sign_payload(secret, kid, &b64(claims))
}

pub fn claims(t: &str, d: &str, u: &str, e: &str, iat: u64, exp: u64) -> String {
    format!("{t}\n{d}\n{u}\n{e}\n{iat}\n{exp}")
}

pub fn base_claims() -> String {
    claims("t_1", "d_1", "u_1", "a@b.io", IAT, EXP)
}

pub fn good() -> String {
    sign(&k1(), "k1", base_claims().as_bytes())
}

pub fn ok(t: &str, d: &str, u: &str, e: &str, iat: u64, exp: u64) -> Value {
    json!({"ok": {"tenant_id": t, "deployment_id": d, "user_id": u, "email": e, "iat": iat, "exp": exp}})
}

pub fn ok_base() -> Value {
    ok("t_1", "d_1", "u_1", "a@b.io", IAT, EXP)
}

pub fn err(code: &str) -> Value {
    json!({ "error": code })
}

/// Replaces the `mac` part of a token.
pub fn with_mac(token: &str, mac: &str) -> String {
    let cut = token.rfind('.').unwrap();
    format!("{}.{mac}", &token[..cut])
}

pub fn mac_of(token: &str) -> &str {
    &token[token.rfind('.').unwrap() + 1..]
}

/// Sets the lowest unused bit of a canonical unpadded base64url string
/// whose length is not a multiple of 4, keeping its alphabet.
pub fn set_trailing_bit(s: &str) -> String {
    assert_ne!(s.len() % 4, 0);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = s.as_bytes()[s.len() - 1];
    let v = alphabet.iter().position(|&c| c == last).unwrap();
    format!("{}{}", &s[..s.len() - 1], alphabet[v | 1] as char)
}

pub struct Vectors {
    pub lines: Vec<Value>,
}

impl Vectors {
    /// One request: the base request (keys k1 and k2, SPEC §5's example
    /// times and audience) with `over`'s fields replaced, `null` removing.
    pub fn add(&mut self, id: &str, why: &str, token: &str, over: Value, expect: Value) {
        let mut req = Map::new();
        req.insert("id".into(), json!(id));
        req.insert("op".into(), json!("verify_session"));
        req.insert("token".into(), json!(token));
        req.insert("keys".into(), json!({"k1": hex(&k1()), "k2": hex(&k2())}));
        req.insert("now".into(), json!(NOW));
        req.insert("leeway_s".into(), json!(60));
        req.insert("max_lifetime_s".into(), json!(MAX_LIFE));
        req.insert("tenant_id".into(), json!("t_1"));
        req.insert("deployment_id".into(), json!("d_1"));
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                req.remove(k);
            } else {
                req.insert(k.clone(), v.clone());
            }
        }
        req.insert("why".into(), json!(why));
        req.insert("expect".into(), expect);
        assert!(!self.lines.iter().any(|l| l["id"] == json!(id)), "duplicate id {id}");
        self.lines.push(Value::Object(req));
    }
}
