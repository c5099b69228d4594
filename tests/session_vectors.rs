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

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use vendo_isolation::{
    DeploymentId, KeyRing, SessionClaims, SessionKey, TenantId, Timestamp, VerifyOptions, mint_session, verify_session,
};

const NOW: u64 = 1_700_000_000;
const IAT: u64 = 1_699_990_000;
const EXP: u64 = 1_700_030_000;
const MAX_LIFE: u64 = 86_400;
const MAX_TS: u64 = 253_402_300_799;

fn key(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn k1() -> Vec<u8> {
    key(1, 32)
}

fn k2() -> Vec<u8> {
    key(2, 64)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SPEC §4 MAC, computed independently of the crate. `domain: false`
/// drops the `"vendo-session-v1" %x00` tag, as a key shared with another
/// HMAC use would sign.
fn mac_raw(secret: &[u8], kid: &str, payload: &str, domain: bool) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    if domain {
        m.update(b"vendo-session-v1\x00");
    }
    m.update(format!("v1.{kid}.{payload}").as_bytes());
    m.finalize().into_bytes().into()
}

fn sign_payload(secret: &[u8], kid: &str, payload: &str) -> String {
    format!("v1.{kid}.{payload}.{}", b64(&mac_raw(secret, kid, payload, true)))
}

fn sign(secret: &[u8], kid: &str, claims: &[u8]) -> String {
    sign_payload(secret, kid, &b64(claims))
}

fn claims(t: &str, d: &str, u: &str, e: &str, iat: u64, exp: u64) -> String {
    format!("{t}\n{d}\n{u}\n{e}\n{iat}\n{exp}")
}

fn base_claims() -> String {
    claims("t_1", "d_1", "u_1", "a@b.io", IAT, EXP)
}

fn good() -> String {
    sign(&k1(), "k1", base_claims().as_bytes())
}

fn ok(t: &str, d: &str, u: &str, e: &str, iat: u64, exp: u64) -> Value {
    json!({"ok": {"tenant_id": t, "deployment_id": d, "user_id": u, "email": e, "iat": iat, "exp": exp}})
}

fn ok_base() -> Value {
    ok("t_1", "d_1", "u_1", "a@b.io", IAT, EXP)
}

fn err(code: &str) -> Value {
    json!({ "error": code })
}

/// Replaces the `mac` part of a token.
fn with_mac(token: &str, mac: &str) -> String {
    let cut = token.rfind('.').unwrap();
    format!("{}.{mac}", &token[..cut])
}

fn mac_of(token: &str) -> &str {
    &token[token.rfind('.').unwrap() + 1..]
}

/// Sets the lowest unused bit of a canonical unpadded base64url string
/// whose length is not a multiple of 4, keeping its alphabet.
fn set_trailing_bit(s: &str) -> String {
    assert_ne!(s.len() % 4, 0);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = s.as_bytes()[s.len() - 1];
    let v = alphabet.iter().position(|&c| c == last).unwrap();
    format!("{}{}", &s[..s.len() - 1], alphabet[v | 1] as char)
}

struct Vectors {
    lines: Vec<Value>,
}

impl Vectors {
    /// One request: the base request (keys k1 and k2, SPEC §5's example
    /// times and audience) with `over`'s fields replaced, `null` removing.
    fn add(&mut self, id: &str, why: &str, token: &str, over: Value, expect: Value) {
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

fn generate() -> Vec<Value> {
    let mut v = Vectors { lines: Vec::new() };
    let none = json!({});
    let g = good();

    // ---- valid ----
    v.add("ok-basic", "SPEC §5 example shape", &g, none.clone(), ok_base());
    v.add(
        "ok-defaults",
        "leeway_s and max_lifetime_s omitted: 60 and 604800",
        &g,
        json!({"leeway_s": null, "max_lifetime_s": null}),
        ok_base(),
    );
    let c = claims("t_1", "d_1", "u_1", "a@b.io", NOW - 600_000, NOW + 4_800);
    v.add(
        "ok-default-max-lifetime-exact",
        "exp - iat = 604800, the default maximum",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"max_lifetime_s": null}),
        ok("t_1", "d_1", "u_1", "a@b.io", NOW - 600_000, NOW + 4_800),
    );
    v.add(
        "ok-second-key",
        "a 64-byte key under kid k2 in a two-key ring",
        &sign(&k2(), "k2", base_claims().as_bytes()),
        none.clone(),
        ok_base(),
    );
    let kid32 = "abcdefghijklmnopqrstuvwxyzABCDEF";
    v.add(
        "ok-kid-32",
        "kid of exactly 32 bytes",
        &sign(&k1(), kid32, base_claims().as_bytes()),
        json!({"keys": {kid32: hex(&k1())}}),
        ok_base(),
    );
    v.add(
        "ok-kid-symbols",
        "kid using _ and -",
        &sign(&k2(), "_-Az09", base_claims().as_bytes()),
        json!({"keys": {"_-Az09": hex(&k2())}}),
        ok_base(),
    );
    v.add("ok-nbf-edge", "now = iat - leeway exactly", &g, json!({"now": IAT - 60}), ok_base());
    v.add("ok-exp-edge", "now = exp + leeway - 1", &g, json!({"now": EXP + 59}), ok_base());
    v.add("ok-leeway0-at-iat", "leeway 0, now = iat", &g, json!({"now": IAT, "leeway_s": 0}), ok_base());
    v.add("ok-leeway0-before-exp", "leeway 0, now = exp - 1", &g, json!({"now": EXP - 1, "leeway_s": 0}), ok_base());
    let c = claims("t_1", "d_1", "u_1", "a@b.io", IAT, IAT + MAX_LIFE);
    v.add(
        "ok-max-lifetime-exact",
        "exp - iat = max_lifetime_s exactly",
        &sign(&k1(), "k1", c.as_bytes()),
        none.clone(),
        ok("t_1", "d_1", "u_1", "a@b.io", IAT, IAT + MAX_LIFE),
    );
    let (t64, d64, u64_) = ("T".repeat(64), "D".repeat(64), "U".repeat(64));
    let e254 = format!("{}@{}", "e".repeat(126), "x".repeat(127));
    let c = claims(&t64, &d64, &u64_, &e254, MAX_TS - 1, MAX_TS);
    assert_eq!(c.len(), 64 * 3 + 254 + 24 + 5, "the largest valid claims");
    v.add(
        "ok-max-size-claims",
        "64-byte ids, 254-byte email, 12-digit times ending at 9999-12-31T23:59:59Z",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"now": MAX_TS, "tenant_id": t64, "deployment_id": d64}),
        ok(&t64, &d64, &u64_, &e254, MAX_TS - 1, MAX_TS),
    );
    let c = claims("t_1", "d_1", "u_1", "a@b.io", 0, 1);
    v.add(
        "ok-iat-zero",
        "iat 0 is the one integer allowed a leading zero",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"now": 0, "leeway_s": 0}),
        ok("t_1", "d_1", "u_1", "a@b.io", 0, 1),
    );
    for (id, email) in
        [("ok-email-min", "a@b"), ("ok-email-two-at", "a@b@c"), ("ok-email-symbols", "!#$%&'*+/=?^_`{|}~-@x.y")]
    {
        let c = claims("t_1", "d_1", "u_1", email, IAT, EXP);
        v.add(
            id,
            "SPEC §4 email edge",
            &sign(&k1(), "k1", c.as_bytes()),
            none.clone(),
            ok("t_1", "d_1", "u_1", email, IAT, EXP),
        );
    }
    for user in ["u", "u2", "u23"] {
        let c = claims("t_1", "d_1", user, "a@b.io", IAT, EXP);
        let why = format!("claims of {} bytes: payload length {} mod 4", c.len(), b64(c.as_bytes()).len() % 4);
        v.add(
            &format!("ok-payload-len-{}", c.len() % 3),
            &why,
            &sign(&k1(), "k1", c.as_bytes()),
            none.clone(),
            ok("t_1", "d_1", user, "a@b.io", IAT, EXP),
        );
    }
    let c = claims("t_1", "d_1", "u_1", "a@b.io", MAX_TS - 1000, MAX_TS);
    v.add(
        "ok-huge-leeway",
        "now + leeway saturates instead of wrapping (branca#21)",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"now": 0, "leeway_s": u64::MAX}),
        ok("t_1", "d_1", "u_1", "a@b.io", MAX_TS - 1000, MAX_TS),
    );
    let c = claims("t_1", "d_1", "u_1", "a@b.io", 0, MAX_TS);
    v.add(
        "ok-huge-max-lifetime",
        "max_lifetime_s = u64::MAX admits the whole range",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"now": MAX_TS - 1, "max_lifetime_s": u64::MAX}),
        ok("t_1", "d_1", "u_1", "a@b.io", 0, MAX_TS),
    );

    // ---- 1. malformed ----
    let sig = mac_of(&g).to_owned();
    let payload = b64(base_claims().as_bytes());
    let long_token = |n: usize| sign_payload(&k1(), "k1", &"A".repeat(n));
    assert_eq!(long_token(4046).len(), 4096);
    v.add(
        "bad-4097-bytes",
        "longer than 4096 bytes: malformed before any decoding",
        &long_token(4047),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-4096-bytes",
        "exactly 4096 bytes passes the size check; its 3034 zero bytes are not claims",
        &long_token(4046),
        none.clone(),
        err("bad_claims"),
    );
    v.add("bad-empty", "empty token", "", none.clone(), err("malformed"));
    v.add("bad-version-v2", "unknown version", &g.replacen("v1.", "v2.", 1), none.clone(), err("malformed"));
    v.add(
        "bad-version-upper",
        "version is case-sensitive",
        &g.replacen("v1.", "V1.", 1),
        none.clone(),
        err("malformed"),
    );
    v.add("bad-version-missing", "no version", &g[3..], none.clone(), err("malformed"));
    v.add(
        "bad-alg-none-header",
        "a JWT-style header naming alg none (CVE-2015-9235)",
        &format!("eyJhbGciOiJub25lIn0.{payload}."),
        none.clone(),
        err("malformed"),
    );
    v.add("bad-empty-kid", "empty kid", &format!("v1..{payload}.{sig}"), none.clone(), err("malformed"));
    let kid33 = "a".repeat(33);
    v.add(
        "bad-kid-33",
        "kid of 33 bytes",
        &sign(&k1(), &kid33, base_claims().as_bytes()),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-kid-char",
        "kid with a byte outside [A-Za-z0-9_-]",
        &sign(&k1(), "k!1", base_claims().as_bytes()),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-kid-non-ascii",
        "kid with a non-ASCII letter",
        &sign(&k1(), "kä", base_claims().as_bytes()),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-missing-mac",
        "two parts after the version",
        &format!("v1.k1.{payload}"),
        none.clone(),
        err("malformed"),
    );
    v.add("bad-missing-payload", "one part after the version", "v1.k1", none.clone(), err("malformed"));
    v.add(
        "bad-empty-payload",
        "empty payload, signed: claims always have six fields",
        &sign_payload(&k1(), "k1", ""),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-signature-stripped",
        "empty mac: the unsigned value must not pass (expressjs/cookie-parser#70)",
        &format!("v1.k1.{payload}."),
        none.clone(),
        err("malformed"),
    );
    v.add("bad-extra-dot-end", "a fourth dot after the mac", &format!("{g}.x"), none.clone(), err("malformed"));
    v.add(
        "bad-extra-dot-payload",
        "a dot inside the payload",
        &sign_payload(&k1(), "k1", &format!("{}.{}", &payload[..8], &payload[8..])),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-mac-42",
        "mac of 42 characters: a truncated mac (GHSA-63x4-8g8c-vhww)",
        &g[..g.len() - 1],
        none.clone(),
        err("malformed"),
    );
    v.add("bad-mac-44", "mac of 44 characters", &format!("{g}A"), none.clone(), err("malformed"));
    v.add("bad-mac-padded", "mac with = padding", &format!("{g}="), none.clone(), err("malformed"));
    v.add(
        "bad-mac-trailing-bits",
        "mac with non-zero unused bits: a second spelling of the same tag (pallets/itsdangerous#28)",
        &with_mac(&g, &set_trailing_bit(&sig)),
        none.clone(),
        err("malformed"),
    );
    let std_mac = (0u32..)
        .map(|i| sign(&k1(), "k1", claims("t_1", "d_1", &format!("u{i}"), "a@b.io", IAT, EXP).as_bytes()))
        .find(|t| mac_of(t).contains(['-', '_']))
        .unwrap();
    let std_sig = STANDARD.encode(URL_SAFE_NO_PAD.decode(mac_of(&std_mac)).unwrap());
    v.add(
        "bad-mac-std-alphabet",
        "the right mac in the standard alphabet (+ and /)",
        &with_mac(&std_mac, std_sig.trim_end_matches('=')),
        none.clone(),
        err("malformed"),
    );
    let odd = claims("t_1", "d_1", "u", "a@b.io", IAT, EXP);
    assert_ne!(odd.len() % 3, 0);
    v.add(
        "bad-payload-trailing-bits",
        "payload with non-zero unused bits, signed as sent (pallets/itsdangerous#28)",
        &sign_payload(&k1(), "k1", &set_trailing_bit(&b64(odd.as_bytes()))),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-payload-padded",
        "payload with = padding, signed as sent",
        &sign_payload(&k1(), "k1", &STANDARD.encode(odd.as_bytes()).replace('+', "-").replace('/', "_")),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-payload-plus",
        "payload with +, signed as sent",
        &sign_payload(&k1(), "k1", &format!("+{}", &payload[1..])),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-payload-slash",
        "payload with /, signed as sent",
        &sign_payload(&k1(), "k1", &format!("/{}", &payload[1..])),
        none.clone(),
        err("malformed"),
    );
    let three = claims("t_1", "d_1", "u2", "a@b.io", IAT, EXP);
    assert_eq!(b64(three.as_bytes()).len() % 4, 0);
    v.add(
        "bad-payload-length",
        "payload of 4n+1 characters cannot be base64",
        &sign_payload(&k1(), "k1", &format!("{}A", b64(three.as_bytes()))),
        none.clone(),
        err("malformed"),
    );
    v.add(
        "bad-payload-non-ascii",
        "payload with a non-ASCII character, signed as sent",
        &sign_payload(&k1(), "k1", &format!("é{}", &payload[2..])),
        none.clone(),
        err("malformed"),
    );
    v.add("bad-leading-space", "whitespace around the token", &format!(" {g}"), none.clone(), err("malformed"));
    v.add(
        "bad-malformed-before-unknown-key",
        "order: shape is checked before the kid is looked up",
        &format!("v1.k9.{payload}.{}", &sig[1..]),
        none.clone(),
        err("malformed"),
    );

    // ---- 2. unknown_key ----
    v.add(
        "bad-unknown-kid",
        "kid not in the ring",
        &sign(&key(9, 32), "k9", base_claims().as_bytes()),
        none.clone(),
        err("unknown_key"),
    );
    v.add(
        "bad-unknown-kid-case",
        "kids are case-sensitive",
        &sign(&k1(), "K1", base_claims().as_bytes()),
        none.clone(),
        err("unknown_key"),
    );

    // ---- 3. bad_signature ----
    v.add(
        "bad-wrong-key",
        "signed with a key the ring does not hold under that kid",
        &sign(&key(7, 32), "k1", base_claims().as_bytes()),
        none.clone(),
        err("bad_signature"),
    );
    v.add(
        "bad-kid-swap",
        "signed with k2's secret but labelled k1 (key confusion, CVE-2022-23540)",
        &sign(&k2(), "k1", base_claims().as_bytes()),
        none.clone(),
        err("bad_signature"),
    );
    v.add(
        "bad-no-domain-tag",
        "HMAC over the token text without the vendo-session-v1 domain tag",
        &format!("v1.k1.{payload}.{}", b64(&mac_raw(&k1(), "k1", &payload, false))),
        none.clone(),
        err("bad_signature"),
    );
    let mut flipped = URL_SAFE_NO_PAD.decode(&sig).unwrap();
    flipped[0] ^= 1;
    v.add("bad-mac-bit-flip", "one mac bit flipped", &with_mac(&g, &b64(&flipped)), none.clone(), err("bad_signature"));
    v.add(
        "bad-mac-zero",
        "all-zero mac: an empty signature (alg=none, CVE-2015-9235)",
        &with_mac(&g, &b64(&[0; 32])),
        none.clone(),
        err("bad_signature"),
    );
    let other = sign(&k1(), "k1", claims("t_2", "d_1", "u_1", "a@b.io", IAT, EXP).as_bytes());
    v.add(
        "bad-payload-swap",
        "another tenant's claims under this token's mac",
        &format!("v1.k1.{}.{sig}", b64(claims("t_2", "d_1", "u_1", "a@b.io", IAT, EXP).as_bytes())),
        none.clone(),
        err("bad_signature"),
    );
    assert_ne!(mac_of(&other), sig);
    v.add(
        "bad-signature-before-bad-claims",
        "order: claims are never read before the mac verifies",
        &sign(&key(7, 32), "k1", b"t_1\nd_1\nu_1\na@b.io\n1"),
        none.clone(),
        err("bad_signature"),
    );
    v.add(
        "bad-signature-before-expired",
        "order: an expired session under a wrong key is a bad signature",
        &sign(&key(7, 32), "k1", base_claims().as_bytes()),
        json!({"now": EXP + 100_000}),
        err("bad_signature"),
    );

    // ---- 4. bad_claims ----
    let bad_claims: &[(&str, &str, &[u8])] = &[
        (
            "bad-claims-5-fields",
            "no exp: a session that never expires (Fernet ttl=None)",
            b"t_1\nd_1\nu_1\na@b.io\n1699990000",
        ),
        ("bad-claims-7-fields", "an extra field", b"t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000\nadmin"),
        (
            "bad-claims-trailing-lf",
            "a trailing LF is a seventh, empty field",
            b"t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000\n",
        ),
        ("bad-claims-crlf", "CRLF separators", b"t_1\r\nd_1\r\nu_1\r\na@b.io\r\n1699990000\r\n1700030000"),
        (
            "bad-claims-leading-zero",
            "iat with a leading zero: a second spelling",
            b"t_1\nd_1\nu_1\na@b.io\n01699990000\n1700030000",
        ),
        ("bad-claims-plus-sign", "iat with a + sign", b"t_1\nd_1\nu_1\na@b.io\n+1699990000\n1700030000"),
        ("bad-claims-minus-sign", "negative iat", b"t_1\nd_1\nu_1\na@b.io\n-1\n1700030000"),
        (
            "bad-claims-iat-overflow",
            "iat past 253402300799 (branca#21)",
            b"t_1\nd_1\nu_1\na@b.io\n253402300800\n253402300801",
        ),
        (
            "bad-claims-exp-u64-wrap",
            "exp that wraps u64 to a small value",
            b"t_1\nd_1\nu_1\na@b.io\n1699990000\n18446744073709551617",
        ),
        ("bad-claims-exp-float", "exp with a fraction", b"t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000.0"),
        ("bad-claims-exp-empty", "empty exp", b"t_1\nd_1\nu_1\na@b.io\n1699990000\n"),
        ("bad-claims-iat-eq-exp", "iat = exp", b"t_1\nd_1\nu_1\na@b.io\n1700000000\n1700000000"),
        ("bad-claims-iat-gt-exp", "iat > exp", b"t_1\nd_1\nu_1\na@b.io\n1700030000\n1699990000"),
        ("bad-claims-email-no-at", "email without @", b"t_1\nd_1\nu_1\nab.io\n1699990000\n1700030000"),
        ("bad-claims-email-leading-at", "email starting with @", b"t_1\nd_1\nu_1\n@b.io\n1699990000\n1700030000"),
        ("bad-claims-email-trailing-at", "email ending with @", b"t_1\nd_1\nu_1\na@\n1699990000\n1700030000"),
        ("bad-claims-email-space", "email with a space", b"t_1\nd_1\nu_1\na b@c.io\n1699990000\n1700030000"),
        ("bad-claims-email-short", "email of 2 bytes", b"t_1\nd_1\nu_1\n@a\n1699990000\n1700030000"),
        (
            "bad-claims-email-non-ascii",
            "internationalized email is out of scope for v1",
            "t_1\nd_1\nu_1\né@b.io\n1699990000\n1700030000".as_bytes(),
        ),
        ("bad-claims-email-del", "email with DEL (0x7f)", b"t_1\nd_1\nu_1\na\x7f@b.io\n1699990000\n1700030000"),
        ("bad-claims-tenant-empty", "empty tenant id", b"\nd_1\nu_1\na@b.io\n1699990000\n1700030000"),
        ("bad-claims-user-slash", "user id with /", b"t_1\nd_1\nu/1\na@b.io\n1699990000\n1700030000"),
        ("bad-claims-non-utf8", "claims that are not UTF-8", b"t_1\nd_1\n\xff\xfe\na@b.io\n1699990000\n1700030000"),
        ("bad-claims-nul", "NUL inside a field", b"t_1\x00\nd_1\nu_1\na@b.io\n1699990000\n1700030000"),
    ];
    for (id, why, c) in bad_claims {
        v.add(id, why, &sign(&k1(), "k1", c), none.clone(), err("bad_claims"));
    }
    let c = claims(&"t".repeat(65), "d_1", "u_1", "a@b.io", IAT, EXP);
    v.add(
        "bad-claims-tenant-65",
        "tenant id of 65 bytes",
        &sign(&k1(), "k1", c.as_bytes()),
        none.clone(),
        err("bad_claims"),
    );
    let c = claims("t_1", "d_1", "u_1", &format!("{}@{}", "e".repeat(126), "x".repeat(128)), IAT, EXP);
    v.add(
        "bad-claims-email-255",
        "email of 255 bytes",
        &sign(&k1(), "k1", c.as_bytes()),
        none.clone(),
        err("bad_claims"),
    );

    // ---- 5. lifetime_too_long ----
    let c = claims("t_1", "d_1", "u_1", "a@b.io", IAT, IAT + MAX_LIFE + 1);
    v.add(
        "bad-lifetime-plus-one",
        "exp - iat = max_lifetime_s + 1",
        &sign(&k1(), "k1", c.as_bytes()),
        none.clone(),
        err("lifetime_too_long"),
    );
    let c = claims("t_1", "d_1", "u_1", "a@b.io", NOW - 600_000, NOW + 4_801);
    v.add(
        "bad-lifetime-default",
        "exp - iat = 604801 with the default maximum",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"max_lifetime_s": null}),
        err("lifetime_too_long"),
    );
    let c = claims("t_9", "d_1", "u_1", "a@b.io", 0, MAX_TS);
    v.add(
        "bad-lifetime-before-expired",
        "order: a near-eternal session for another tenant, long expired, is first too long",
        &sign(&k1(), "k1", c.as_bytes()),
        json!({"now": MAX_TS}),
        err("lifetime_too_long"),
    );

    // ---- 6. not_yet_valid ----
    v.add("bad-nbf-edge", "now = iat - leeway - 1", &g, json!({"now": IAT - 61}), err("not_yet_valid"));
    v.add(
        "bad-nbf-leeway0",
        "leeway 0, now = iat - 1",
        &g,
        json!({"now": IAT - 1, "leeway_s": 0}),
        err("not_yet_valid"),
    );
    v.add(
        "bad-nbf-before-tenant",
        "order: not yet valid beats wrong tenant",
        &g,
        json!({"now": IAT - 61, "tenant_id": "t_2"}),
        err("not_yet_valid"),
    );

    // ---- 7. expired ----
    v.add("bad-exp-edge", "now = exp + leeway", &g, json!({"now": EXP + 60}), err("expired"));
    v.add("bad-exp-leeway0", "leeway 0, now = exp", &g, json!({"now": EXP, "leeway_s": 0}), err("expired"));
    v.add(
        "bad-exp-before-tenant",
        "order: expired beats wrong tenant",
        &g,
        json!({"now": EXP + 60, "tenant_id": "t_2"}),
        err("expired"),
    );

    // ---- 8. wrong_tenant ----
    v.add("bad-tenant", "another tenant's session", &g, json!({"tenant_id": "t_2"}), err("wrong_tenant"));
    v.add(
        "bad-tenant-case",
        "ids compare byte for byte, case-sensitive",
        &g,
        json!({"tenant_id": "T_1"}),
        err("wrong_tenant"),
    );
    v.add(
        "bad-tenant-prefix",
        "a tenant id that extends the session's",
        &g,
        json!({"tenant_id": "t_10"}),
        err("wrong_tenant"),
    );
    v.add(
        "bad-tenant-before-deployment",
        "order: wrong tenant beats wrong deployment",
        &g,
        json!({"tenant_id": "t_2", "deployment_id": "d_2"}),
        err("wrong_tenant"),
    );

    // ---- 9. wrong_deployment ----
    v.add(
        "bad-deployment",
        "a session replayed to another deployment of the same tenant (CVE-2025-62610)",
        &g,
        json!({"deployment_id": "d_2"}),
        err("wrong_deployment"),
    );

    // ---- bad_request ----
    v.add(
        "req-key-31",
        "a key shorter than 32 bytes",
        &g,
        json!({"keys": {"k1": hex(&key(1, 31))}}),
        err("bad_request"),
    );
    v.add(
        "req-key-odd-hex",
        "key hex of odd length",
        &g,
        json!({"keys": {"k1": format!("{}0", hex(&k1()))}}),
        err("bad_request"),
    );
    v.add("req-key-not-hex", "key that is not hex", &g, json!({"keys": {"k1": "zz".repeat(32)}}), err("bad_request"));
    v.add("req-no-keys", "an empty key map", &g, json!({"keys": {}}), err("bad_request"));
    v.add(
        "req-bad-kid",
        "a key id outside the kid syntax",
        &g,
        json!({"keys": {"k.1": hex(&k1())}}),
        err("bad_request"),
    );
    v.add("req-now-range", "now past 253402300799", &g, json!({"now": MAX_TS + 1}), err("bad_request"));
    v.add("req-negative-leeway", "negative leeway", &g, json!({"leeway_s": -1}), err("bad_request"));
    v.add(
        "req-bad-tenant",
        "expected tenant id that is not an id",
        &g,
        json!({"tenant_id": "t 1"}),
        err("bad_request"),
    );
    v.add("req-no-token", "token missing", &g, json!({"token": null}), err("bad_request"));

    v.lines
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sessions.jsonl")
}

fn render(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn vectors_file_matches_generator() {
    let text = render(&generate());
    if std::env::var_os("REGENERATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(path(), &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(path()).unwrap();
    assert!(on_disk == text, "tests/vectors/sessions.jsonl is stale: rerun with REGENERATE_VECTORS=1");
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
    let text = std::fs::read_to_string(path()).unwrap();
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
