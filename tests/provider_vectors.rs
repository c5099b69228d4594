//! SPEC §10 provider vectors: `api_key` and `mint_api_key` (SPEC §6),
//! `seal` and `unseal` (§8), `provider_forward` (§7, §9), generated here
//! and checked in at `tests/vectors/api_key.jsonl`,
//! `tests/vectors/sealing.jsonl` and `tests/vectors/provider_forward.jsonl`;
//! `tests/conformance.rs` replays them through the runner.
//!
//! ```text
//! REGENERATE_VECTORS=1 cargo test --test provider_vectors
//! ```
//!
//! rewrites the files; without the variable, a test fails if a file and
//! the generator disagree. The expected answers come from the SPEC
//! reference in `tests/support/provider_reference.rs`, never from the
//! crate. Each row also names, by hand, the outcome it is meant to reach,
//! and the generator fails if the reference reaches another: a row whose
//! `why` says "revoked" cannot quietly pin `bad_api_key`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "support/provider_reference.rs"]
mod provider_reference;
#[path = "support/vectors.rs"]
mod vectors;

use provider_reference as r;
use serde_json::{Value, json};

const NOW: u64 = 1_700_000_000;

/// The SPEC §6 worked example's strings, written out from the SPEC.
const SPEC_KEY: &str = "vk1_aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijcemsckjrhfau7ce25v4";
const SPEC_KEY_ID: &str = "aaaqeayeaudaocaj";
const SPEC_VERIFIER: &str = "8c3996b174c21d007338d24434bd2ab5d9d5791c1567d4f65c7d48a2429bf706";
/// The SPEC §8 worked example.
const SPEC_SEALED: &str = "v1.m1.AAAAAAAAAAAAAAAAxnIdISdINLwSPesCSUi6aoqVymdRKvzWsqIj";

fn seq(start: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| start.wrapping_add(i as u8)).collect()
}

/// SPEC §6's pepper: the bytes 100..131.
fn pepper() -> Vec<u8> {
    seq(100, 32)
}

/// SPEC §6's randomness: the bytes 0..41.
fn r0() -> [u8; 42] {
    seq(0, 42).try_into().unwrap()
}

/// A second key, minted for a whole tenant.
fn r1() -> [u8; 42] {
    (0u8..42).map(|i| i.wrapping_mul(7).wrapping_add(3)).collect::<Vec<_>>().try_into().unwrap()
}

/// The SPEC key's id with another secret: a well-formed guess.
fn r_guess() -> [u8; 42] {
    let mut r = r0();
    r[10..].fill(0xaa);
    r
}

/// SPEC §8's master key: the bytes 0..31.
fn master() -> Vec<u8> {
    seq(0, 32)
}

fn other_master() -> Vec<u8> {
    vec![0x5a; 32]
}

fn record(random: &[u8; 42], tenant: &str, deployment: Option<&str>) -> r::Record {
    let key = r::mint(random);
    r::Record {
        key_id: key[4..20].to_owned(),
        tenant_id: tenant.to_owned(),
        deployment_id: deployment.map(str::to_owned),
        verifier: r::verifier(&pepper(), random),
        expires_at: None,
        revoked_at: None,
    }
}

/// `text` with the character at `i` replaced by another of the base32
/// alphabet.
fn flip_char(text: &str, i: usize) -> String {
    let c = text.as_bytes()[i];
    let to = if c == b'a' { 'b' } else { 'a' };
    format!("{}{to}{}", &text[..i], &text[i + 1..])
}

fn replace_char(text: &str, i: usize, to: char) -> String {
    format!("{}{to}{}", &text[..i], &text[i + 1..])
}

/// One vector file's rows.
struct Gen {
    prefix: &'static str,
    lines: Vec<Value>,
}

impl Gen {
    const fn new(prefix: &'static str) -> Self {
        Self { prefix, lines: Vec::new() }
    }

    /// A row: `req` answered by the reference, which must reach `want`
    /// (`"ok"` or an error code).
    fn add(&mut self, why: &str, mut req: Value, want: &str) -> Value {
        let expect = r::answer(&req);
        match want {
            "ok" => assert!(expect.get("ok").is_some(), "{why}: reference says {expect}"),
            code => assert_eq!(expect["error"], code, "{why}: reference says {expect}"),
        }
        req["id"] = json!(format!("{}{}", self.prefix, self.lines.len() + 1));
        req["expect"] = expect.clone();
        req["why"] = json!(why);
        self.lines.push(req);
        expect
    }
}

fn over(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

// ---------------------------------------------------------------------------
// api_key.jsonl

fn api(headers: Value, record: Option<&r::Record>) -> Value {
    json!({
        "op": "api_key", "headers": headers, "pepper": r::hex(&pepper()), "now": NOW,
        "record": record.map_or(Value::Null, r::Record::to_json),
    })
}

fn bearer(key: &str) -> Value {
    json!([["authorization", format!("Bearer {key}")]])
}

fn x_api_key(key: &str) -> Value {
    json!([["x-api-key", key]])
}

fn api_key_lines() -> Vec<Value> {
    let mut v = Gen::new("k");
    let k0 = r::mint(&r0());
    assert_eq!(k0, SPEC_KEY);
    let k1 = r::mint(&r1());
    let guess = r::mint(&r_guess());
    assert_eq!(guess[4..20], k0[4..20]);
    let rec0 = record(&r0(), "t_1", Some("d_1"));
    assert_eq!(r::hex(&rec0.verifier), SPEC_VERIFIER);
    let rec1 = record(&r1(), "t_1", None);
    let mint = |random: &[u8], pepper: &[u8]| json!({"op": "mint_api_key", "random": r::hex(random), "pepper": r::hex(pepper)});

    // Minting.
    let e = v.add("SPEC §6 worked example", mint(&r0(), &pepper()), "ok");
    assert_eq!(e["ok"], json!({"api_key": SPEC_KEY, "key_id": SPEC_KEY_ID, "verifier": SPEC_VERIFIER}));
    v.add("all-zero randomness: the checksum still makes the key non-trivial", mint(&[0; 42], &pepper()), "ok");
    v.add("all-ones randomness: every base32 bit set before the check", mint(&[0xff; 42], &pepper()), "ok");
    v.add("a tenant-wide key's randomness", mint(&r1(), &pepper()), "ok");
    v.add(
        "the same key under another pepper gets another verifier: the table alone verifies nothing",
        mint(&r0(), &[0x42; 32]),
        "ok",
    );
    v.add("a pepper longer than the HMAC block (hashed first, RFC 2104)", mint(&r0(), &seq(1, 100)), "ok");
    v.add("41 bytes of randomness", mint(&seq(0, 41), &pepper()), "bad_request");
    v.add("43 bytes of randomness", mint(&seq(0, 43), &pepper()), "bad_request");
    v.add("a 31-byte pepper is too short", mint(&r0(), &seq(100, 31)), "bad_request");

    // Presentations that verify.
    let e = v.add("SPEC §10 example: Authorization: Bearer", api(bearer(&k0), Some(&rec0)), "ok");
    assert_eq!(e["ok"], json!({"key_id": SPEC_KEY_ID, "tenant_id": "t_1", "deployment_id": "d_1"}));
    v.add("x-api-key (Anthropic-style SDKs)", api(x_api_key(&k0), Some(&rec0)), "ok");
    v.add("`bearer` in lower case", api(json!([["authorization", format!("bearer {k0}")]]), Some(&rec0)), "ok");
    v.add("`BEARER` in upper case", api(json!([["authorization", format!("BEARER {k0}")]]), Some(&rec0)), "ok");
    v.add("`BeArEr` in mixed case", api(json!([["authorization", format!("BeArEr {k0}")]]), Some(&rec0)), "ok");
    v.add("header names in any case", api(json!([["AUTHORIZATION", format!("Bearer {k0}")]]), Some(&rec0)), "ok");
    v.add("X-API-Key spelled with capitals", api(json!([["X-API-Key", k0]]), Some(&rec0)), "ok");
    v.add(
        "spaces and tabs around the key are trimmed",
        api(json!([["authorization", format!("Bearer  \t{k0} \t")]]), Some(&rec0)),
        "ok",
    );
    v.add(
        "spaces and tabs around an x-api-key value are trimmed",
        api(json!([["x-api-key", format!("\t {k0}  ")]]), Some(&rec0)),
        "ok",
    );
    let e = v.add("a tenant-wide key: no deployment", api(bearer(&k1), Some(&rec1)), "ok");
    assert_eq!(e["ok"]["deployment_id"], Value::Null);
    let rec9 = record(&r0(), "t_9", Some("d_9"));
    let e = v.add(
        "the scope is the record's, whatever else the request claims",
        api(json!([["authorization", format!("Bearer {k0}")], ["x-vendo-tenant-id", "t_1"]]), Some(&rec9)),
        "ok",
    );
    assert_eq!(e["ok"]["tenant_id"], "t_9");

    // 1. no_api_key
    v.add("no headers", api(json!([]), None), "no_api_key");
    v.add(
        "a key in a cookie is not a presentation",
        api(json!([["cookie", format!("key={k0}")], ["accept", "*/*"]]), Some(&rec0)),
        "no_api_key",
    );
    v.add(
        "the Azure-style api-key header is not a presentation",
        api(json!([["api-key", k0]]), Some(&rec0)),
        "no_api_key",
    );
    v.add(
        "Proxy-Authorization is not a presentation",
        api(json!([["proxy-authorization", format!("Bearer {k0}")]]), Some(&rec0)),
        "no_api_key",
    );
    v.add(
        "x_api_key is another header name, not x-api-key",
        api(json!([["x_api_key", k0]]), Some(&rec0)),
        "no_api_key",
    );
    // 2. duplicate_api_key
    v.add(
        "both headers, the same key",
        api(json!([["authorization", format!("Bearer {k0}")], ["x-api-key", k0]]), Some(&rec0)),
        "duplicate_api_key",
    );
    v.add(
        "two Authorization headers: which one a server reads differs",
        api(json!([["authorization", format!("Bearer {k0}")], ["authorization", format!("Bearer {k1}")]]), Some(&rec0)),
        "duplicate_api_key",
    );
    v.add(
        "two x-api-key headers",
        api(json!([["x-api-key", k1], ["x-api-key", k0]]), Some(&rec0)),
        "duplicate_api_key",
    );
    v.add(
        "an Authorization in another scheme still counts as a presentation",
        api(json!([["authorization", "Basic dXNlcjpwYXNz"], ["x-api-key", k0]]), Some(&rec0)),
        "duplicate_api_key",
    );
    v.add(
        "duplicate comes before malformed",
        api(json!([["x-api-key", "garbage"], ["x-api-key", "garbage"]]), None),
        "duplicate_api_key",
    );
    // 3. malformed_api_key: the scheme
    v.add("Basic scheme", api(json!([["authorization", "Basic dXNlcjpwYXNz"]]), Some(&rec0)), "malformed_api_key");
    v.add(
        "an empty Authorization has no scheme",
        api(json!([["authorization", ""]]), Some(&rec0)),
        "malformed_api_key",
    );
    v.add("Bearer with no key", api(json!([["authorization", "Bearer"]]), Some(&rec0)), "malformed_api_key");
    v.add(
        "Bearer not followed by a space",
        api(json!([["authorization", format!("Bearer{k0}")]]), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "Bearer followed by a tab, not a space",
        api(json!([["authorization", format!("Bearer\t{k0}")]]), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "the key with no scheme in Authorization",
        api(json!([["authorization", k0]]), Some(&rec0)),
        "malformed_api_key",
    );
    // 3. malformed_api_key: the key
    v.add("the whole key in upper case", api(bearer(&k0.to_uppercase()), Some(&rec0)), "malformed_api_key");
    v.add("upper-case prefix VK1_", api(bearer(&format!("VK1_{}", &k0[4..])), Some(&rec0)), "malformed_api_key");
    v.add(
        "one upper-case character in the body",
        api(bearer(&replace_char(&k0, 30, k0[30..31].to_uppercase().chars().next().unwrap())), Some(&rec0)),
        "malformed_api_key",
    );
    v.add("77 characters: last one dropped", api(bearer(&k0[..77]), Some(&rec0)), "malformed_api_key");
    v.add("79 characters: one appended", api(bearer(&format!("{k0}a")), Some(&rec0)), "malformed_api_key");
    v.add("RFC 4648 padding appended", api(bearer(&format!("{k0}======")), Some(&rec0)), "malformed_api_key");
    v.add(
        "padding in place of the last character",
        api(bearer(&replace_char(&k0, 77, '=')), Some(&rec0)),
        "malformed_api_key",
    );
    v.add("digit 1, outside the alphabet", api(bearer(&replace_char(&k0, 40, '1')), Some(&rec0)), "malformed_api_key");
    v.add("digit 0, outside the alphabet", api(bearer(&replace_char(&k0, 40, '0')), Some(&rec0)), "malformed_api_key");
    v.add("digit 8, outside the alphabet", api(bearer(&replace_char(&k0, 40, '8')), Some(&rec0)), "malformed_api_key");
    // The last character carries 3 bits of the check and 2 unused bits.
    let last = k0.as_bytes()[77];
    let last_value = b"abcdefghijklmnopqrstuvwxyz234567".iter().position(|&c| c == last).unwrap();
    assert_eq!(last_value & 3, 0);
    let loose = replace_char(&k0, 77, char::from(b"abcdefghijklmnopqrstuvwxyz234567"[last_value | 1]));
    v.add(
        "non-zero unused trailing bits: a lax decoder reads the same bytes",
        api(bearer(&loose), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "checksum: one character of the secret changed",
        api(bearer(&flip_char(&k0, 40)), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "checksum: one character of the key id changed",
        api(bearer(&flip_char(&k0, 6)), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "checksum: one character of the check changed",
        api(bearer(&flip_char(&k0, 74)), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "two characters swapped (a typo)",
        api(bearer(&format!("{}{}{}{}", &k0[..50], &k0[51..52], &k0[50..51], &k0[52..])), Some(&rec0)),
        "malformed_api_key",
    );
    v.add("prefix vk2_: another version", api(bearer(&format!("vk2_{}", &k0[4..])), Some(&rec0)), "malformed_api_key");
    v.add("prefix vk1- instead of vk1_", api(bearer(&format!("vk1-{}", &k0[4..])), Some(&rec0)), "malformed_api_key");
    v.add("no prefix: the bare body", api(bearer(&k0[4..]), Some(&rec0)), "malformed_api_key");
    v.add(
        "a provider's own key sent to the platform",
        api(bearer("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"), Some(&rec0)),
        "malformed_api_key",
    );
    v.add(
        "two keys in one x-api-key value",
        api(json!([["x-api-key", format!("{k0}, {k1}")]]), Some(&rec0)),
        "malformed_api_key",
    );
    v.add("the key in quotes", api(json!([["x-api-key", format!("\"{k0}\"")]]), Some(&rec0)), "malformed_api_key");
    v.add("malformed comes before the lookup", api(bearer(&flip_char(&k0, 40)), None), "malformed_api_key");
    // 4. unknown_api_key
    v.add("SPEC §10: no record under the key id", api(x_api_key(&k0), None), "unknown_api_key");
    let other_tenant = record(&r1(), "t_2", Some("d_1"));
    v.add(
        "a record of another tenant under another key id: the lookup went wrong",
        api(bearer(&k0), Some(&other_tenant)),
        "unknown_api_key",
    );
    let mut moved = rec0.clone();
    moved.key_id = "baaqeayeaudaocaj".to_owned();
    v.add("the right verifier stored under another key id", api(bearer(&k0), Some(&moved)), "unknown_api_key");
    // 5. bad_api_key
    v.add(
        "a well-formed guess: the known key id, another secret, a valid checksum",
        api(bearer(&guess), Some(&rec0)),
        "bad_api_key",
    );
    let mut other_pepper = rec0.clone();
    other_pepper.verifier = r::verifier(&[0x42; 32], &r0());
    v.add("a verifier made under another pepper", api(bearer(&k0), Some(&other_pepper)), "bad_api_key");
    let mut zero = rec0.clone();
    zero.verifier = [0; 32];
    v.add("an all-zero verifier is not a wildcard", api(bearer(&k0), Some(&zero)), "bad_api_key");
    let mut bad_revoked = rec0.clone();
    bad_revoked.verifier = [0; 32];
    bad_revoked.revoked_at = Some(NOW - 10);
    v.add(
        "bad_api_key comes before revoked: a wrong secret learns nothing about the record",
        api(bearer(&guess), Some(&bad_revoked)),
        "bad_api_key",
    );
    // 6. revoked_api_key, 7. expired_api_key
    let with = |revoked: Option<u64>, expires: Option<u64>| {
        let mut rec = rec0.clone();
        rec.revoked_at = revoked;
        rec.expires_at = expires;
        rec
    };
    v.add("revoked at now", api(bearer(&k0), Some(&with(Some(NOW), None))), "revoked_api_key");
    v.add("revoked a second ago", api(bearer(&k0), Some(&with(Some(NOW - 1), None))), "revoked_api_key");
    v.add("revocation scheduled a second ahead", api(bearer(&k0), Some(&with(Some(NOW + 1), None))), "ok");
    v.add("expires at now", api(bearer(&k0), Some(&with(None, Some(NOW)))), "expired_api_key");
    v.add("expired a second ago", api(bearer(&k0), Some(&with(None, Some(NOW - 1)))), "expired_api_key");
    v.add("expires a second ahead", api(bearer(&k0), Some(&with(None, Some(NOW + 1)))), "ok");
    v.add(
        "revoked and expired: revoked comes first",
        api(bearer(&k0), Some(&with(Some(NOW - 5), Some(NOW - 5)))),
        "revoked_api_key",
    );
    v.add(
        "revocation ahead, expiry past",
        api(bearer(&k0), Some(&with(Some(NOW + 5), Some(NOW - 5)))),
        "expired_api_key",
    );
    // Bad requests.
    v.add(
        "a 31-byte pepper is refused before any key is read",
        over(api(json!([]), None), json!({"pepper": r::hex(&seq(100, 31))})),
        "bad_request",
    );
    let long = seq(1, 100);
    let mut rec_long = rec0.clone();
    rec_long.verifier = r::verifier(&long, &r0());
    v.add(
        "a pepper longer than the HMAC block verifies its own verifier",
        over(api(bearer(&k0), Some(&rec_long)), json!({"pepper": r::hex(&long)})),
        "ok",
    );
    v.lines
}

// ---------------------------------------------------------------------------
// sealing.jsonl

fn seal_req(credential: &str, kid: &str, master: &[u8], nonce: &[u8], t: &str, c: &str, p: &str) -> Value {
    json!({
        "op": "seal", "credential": credential, "kid": kid, "master": r::hex(master), "nonce": r::hex(nonce),
        "tenant_id": t, "connection_id": c, "provider": p,
    })
}

fn unseal_req(sealed: &str, masters: Value, t: &str, c: &str, p: &str) -> Value {
    json!({"op": "unseal", "sealed": sealed, "masters": masters, "tenant_id": t, "connection_id": c, "provider": p})
}

fn m1() -> Value {
    json!({ "m1": r::hex(&master()) })
}

/// Flips the lowest bit of byte `i` of the sealed body.
fn flip_byte(sealed: &str, i: usize) -> String {
    let (head, body) = sealed.rsplit_once('.').unwrap();
    let mut raw = r::b64u_decode(body).unwrap();
    raw[i] ^= 1;
    format!("{head}.{}", r::b64u_encode(&raw))
}

fn sealing_lines() -> Vec<Value> {
    let mut v = Gen::new("c");
    let zero = [0u8; 12];
    let spec = r::seal_bytes("m1", &master(), &zero, "t_1", "c_1", "openai", b"sk-test-123");
    assert_eq!(spec, SPEC_SEALED);

    // seal
    let e =
        v.add("SPEC §8 worked example", seal_req("sk-test-123", "m1", &master(), &zero, "t_1", "c_1", "openai"), "ok");
    assert_eq!(e["ok"]["sealed"], SPEC_SEALED);
    let nonce = seq(0xa0, 12);
    v.add("another nonce", seal_req("sk-test-123", "m1", &master(), &nonce, "t_1", "c_1", "openai"), "ok");
    v.add(
        "another tenant: another connection key",
        seal_req("sk-test-123", "m1", &master(), &zero, "t_2", "c_1", "openai"),
        "ok",
    );
    v.add(
        "another connection: another connection key",
        seal_req("sk-test-123", "m1", &master(), &zero, "t_1", "c_2", "openai"),
        "ok",
    );
    v.add(
        "another provider: same key, another aad",
        seal_req("sk-test-123", "m1", &master(), &zero, "t_1", "c_1", "anthropic"),
        "ok",
    );
    v.add(
        "another kid over the same master bytes: the kid is in the aad",
        seal_req("sk-test-123", "m2", &master(), &zero, "t_1", "c_1", "openai"),
        "ok",
    );
    v.add("a one-byte credential", seal_req("x", "m1", &master(), &zero, "t_1", "c_1", "openai"), "ok");
    let longest = "k".repeat(4096);
    v.add(
        "a 4096-byte credential, the longest",
        seal_req(&longest, "m1", &master(), &zero, "t_1", "c_1", "openai"),
        "ok",
    );
    v.add(
        "a master longer than the HMAC block (hashed first, RFC 2104)",
        seal_req("sk-test-123", "m1", &seq(1, 100), &zero, "t_1", "c_1", "openai"),
        "ok",
    );
    v.add(
        "a 32-character kid, the longest",
        seal_req("sk-test-123", &"K".repeat(32), &master(), &zero, "t_1", "c_1", "openai"),
        "ok",
    );
    v.add("an empty credential", seal_req("", "m1", &master(), &zero, "t_1", "c_1", "openai"), "bad_request");
    v.add(
        "a 4097-byte credential",
        seal_req(&"k".repeat(4097), "m1", &master(), &zero, "t_1", "c_1", "openai"),
        "bad_request",
    );
    v.add(
        "a credential with a space",
        seal_req("sk test", "m1", &master(), &zero, "t_1", "c_1", "openai"),
        "bad_request",
    );
    v.add(
        "a credential with CR LF would split a header",
        seal_req("sk-1\r\nx-evil: 1", "m1", &master(), &zero, "t_1", "c_1", "openai"),
        "bad_request",
    );
    v.add("a 31-byte master", seal_req("sk-test-123", "m1", &seq(0, 31), &zero, "t_1", "c_1", "openai"), "bad_request");
    v.add(
        "an 11-byte nonce",
        seal_req("sk-test-123", "m1", &master(), &seq(0, 11), "t_1", "c_1", "openai"),
        "bad_request",
    );
    v.add(
        "a kid with a dot would break the sealed format",
        seal_req("sk-test-123", "m.1", &master(), &zero, "t_1", "c_1", "openai"),
        "bad_request",
    );
    v.add(
        "a 33-character kid",
        seal_req("sk-test-123", &"K".repeat(33), &master(), &zero, "t_1", "c_1", "openai"),
        "bad_request",
    );

    // unseal
    let e = v.add("SPEC §8 worked example opens", unseal_req(SPEC_SEALED, m1(), "t_1", "c_1", "openai"), "ok");
    assert_eq!(e["ok"]["credential"], "sk-test-123");
    v.add(
        "SPEC §8: the same text does not open for t_2 (a row copied to another tenant)",
        unseal_req(SPEC_SEALED, m1(), "t_2", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "copied onto another connection of the same tenant",
        unseal_req(SPEC_SEALED, m1(), "t_1", "c_2", "openai"),
        "credential_unreadable",
    );
    v.add(
        "opened for another provider",
        unseal_req(SPEC_SEALED, m1(), "t_1", "c_1", "anthropic"),
        "credential_unreadable",
    );
    v.add(
        "length-prefixed fields: t_1|c_1 is not t_1c|_1",
        unseal_req(SPEC_SEALED, m1(), "t_1c", "_1", "openai"),
        "credential_unreadable",
    );
    let relabelled = SPEC_SEALED.replacen("v1.m1.", "v1.m2.", 1);
    v.add(
        "kid relabelled to m2 over the same master bytes: the kid is in the aad",
        unseal_req(&relabelled, json!({"m2": r::hex(&master())}), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "unknown kid",
        unseal_req(SPEC_SEALED, json!({"m2": r::hex(&master())}), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "the right kid with other master bytes",
        unseal_req(SPEC_SEALED, json!({"m1": r::hex(&other_master())}), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "rotation: a ring holding the old key beside a new one opens",
        unseal_req(
            SPEC_SEALED,
            json!({"m0": r::hex(&other_master()), "m1": r::hex(&master())}),
            "t_1",
            "c_1",
            "openai",
        ),
        "ok",
    );
    v.add(
        "a seal made under the new key opens in the same ring",
        unseal_req(
            &r::seal_bytes("m0", &other_master(), &zero, "t_1", "c_1", "openai", b"sk-rotated"),
            json!({"m0": r::hex(&other_master()), "m1": r::hex(&master())}),
            "t_1",
            "c_1",
            "openai",
        ),
        "ok",
    );
    v.add(
        "truncated by one character",
        unseal_req(&SPEC_SEALED[..SPEC_SEALED.len() - 1], m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "truncated by four characters: three bytes of tag gone",
        unseal_req(&SPEC_SEALED[..SPEC_SEALED.len() - 4], m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "one bit of the tag flipped",
        unseal_req(&flip_byte(SPEC_SEALED, 38), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "one bit of the ciphertext flipped (GCM is malleable without its tag)",
        unseal_req(&flip_byte(SPEC_SEALED, 12), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "one bit of the nonce flipped",
        unseal_req(&flip_byte(SPEC_SEALED, 0), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    // 40 raw bytes: 54 characters, the last carrying 4 unused bits.
    let odd = r::seal_bytes("m1", &master(), &zero, "t_1", "c_1", "openai", b"sk-test-1234");
    v.add("a body whose last character has unused bits opens", unseal_req(&odd, m1(), "t_1", "c_1", "openai"), "ok");
    let last = odd.len() - 1;
    let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = b64.iter().position(|&c| c == odd.as_bytes()[last]).unwrap();
    assert_eq!(pos & 15, 0);
    let loose = replace_char(&odd, last, char::from(b64[pos | 1]));
    v.add(
        "non-zero unused trailing bits: a lax decoder reads the same bytes and the tag verifies",
        unseal_req(&loose, m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "base64 padding: a lax decoder reads the same bytes",
        unseal_req(&format!("{odd}=="), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    // Find a seal whose body holds `-` or `_`, and spell it in the
    // standard alphabet.
    let (std_form, std_nonce) = (0u8..=255)
        .find_map(|n| {
            let nonce = [n; 12];
            let s = r::seal_bytes("m1", &master(), &nonce, "t_1", "c_1", "openai", b"sk-test-123");
            let body = s.rsplit_once('.').unwrap().1;
            (body.contains('-') || body.contains('_')).then(|| (s.replace('-', "+").replace('_', "/"), nonce))
        })
        .unwrap();
    v.add(
        "its url-safe form opens",
        unseal_req(
            &r::seal_bytes("m1", &master(), &std_nonce, "t_1", "c_1", "openai", b"sk-test-123"),
            m1(),
            "t_1",
            "c_1",
            "openai",
        ),
        "ok",
    );
    v.add(
        "the standard base64 alphabet (+ and /) is not base64url",
        unseal_req(&std_form, m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "version v2",
        unseal_req(&SPEC_SEALED.replacen("v1.", "v2.", 1), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add("no body", unseal_req("v1.m1", m1(), "t_1", "c_1", "openai"), "credential_unreadable");
    v.add("an empty body", unseal_req("v1.m1.", m1(), "t_1", "c_1", "openai"), "credential_unreadable");
    v.add(
        "an extra dot-separated part",
        unseal_req(&format!("{SPEC_SEALED}.AAAA"), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "an authenticated empty plaintext is not a credential",
        unseal_req(&r::seal_bytes("m1", &master(), &zero, "t_1", "c_1", "openai", b""), m1(), "t_1", "c_1", "openai"),
        "credential_unreadable",
    );
    v.add(
        "an authenticated plaintext with CR LF would split a header",
        unseal_req(
            &r::seal_bytes("m1", &master(), &zero, "t_1", "c_1", "openai", b"sk-1\r\nx-evil: 1"),
            m1(),
            "t_1",
            "c_1",
            "openai",
        ),
        "credential_unreadable",
    );
    v.add(
        "an authenticated plaintext with a space is not a credential",
        unseal_req(
            &r::seal_bytes("m1", &master(), &zero, "t_1", "c_1", "openai", b"sk 1"),
            m1(),
            "t_1",
            "c_1",
            "openai",
        ),
        "credential_unreadable",
    );
    v.add(
        "the longest credential opens",
        unseal_req(
            &r::seal_bytes("m1", &master(), &zero, "t_1", "c_1", "openai", longest.as_bytes()),
            m1(),
            "t_1",
            "c_1",
            "openai",
        ),
        "ok",
    );
    v.lines
}

// ---------------------------------------------------------------------------
// provider_forward.jsonl

fn rates() -> Vec<r::Rate> {
    let rate = |provider: &str, model: &str, input: u64, output: u64, max: u64| r::Rate {
        provider: provider.into(),
        model: model.into(),
        input,
        output,
        max_output: Some(max),
    };
    vec![
        rate("openai", "gpt-4o-mini", 150_000, 600_000, 16_384),
        rate("openai", "tiny", 1, 1, 1),
        rate("openai", "free", 0, 0, 4096),
        rate("anthropic", "claude-3-5-haiku", 800_000, 4_000_000, 8192),
        rate("openrouter", "meta-llama/llama-3.1-8b-instruct", 20_000, 50_000, 131_072),
        rate("notion", "notion-api", 1000, 0, 0),
        rate("telegram", "bot-api", 1000, 0, 0),
    ]
}

struct Fixture {
    k0: String,
    k1: String,
    rec0: r::Record,
    rec1: r::Record,
}

/// The connection `c_{n}` of `t_1` for `provider`, its credential sealed
/// to it.
fn conn(id: &str, tenant: &str, provider: &str, credential: &str) -> r::Connection {
    r::Connection {
        id: id.into(),
        tenant_id: tenant.into(),
        provider: provider.into(),
        sealed: r::seal_bytes("m1", &master(), &[7; 12], tenant, id, provider, credential.as_bytes()),
    }
}

fn binding(id: &str, tenant: &str, deployment: &str, connection: &str) -> Value {
    r::Binding {
        id: id.into(),
        tenant_id: tenant.into(),
        deployment_id: deployment.into(),
        connection_id: connection.into(),
    }
    .to_json()
}

impl Fixture {
    fn new() -> Self {
        Self {
            k0: r::mint(&r0()),
            k1: r::mint(&r1()),
            rec0: record(&r0(), "t_1", Some("d_1")),
            rec1: record(&r1(), "t_1", None),
        }
    }

    /// SPEC §10's `p1`, with the SPEC §8 connection: overridden by `changes`.
    fn req(&self, changes: Value) -> Value {
        let base = json!({
            "op": "provider_forward", "adapter": "openai", "method": "POST", "target": "/v1/chat/completions",
            "headers": [["authorization", format!("Bearer {}", self.k0)], ["x_vendo_user_id", "u_2"], ["accept", "*/*"]],
            "pepper": r::hex(&pepper()), "now": NOW, "record": self.rec0.to_json(),
            "binding": binding("b_1", "t_1", "d_1", "c_1"),
            "connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": SPEC_SEALED},
            "masters": m1(),
            "call": {"model": "gpt-4o-mini", "body_bytes": 1234, "max_tokens": 500},
            "rates": rates().iter().map(r::Rate::to_json).collect::<Vec<_>>(),
        });
        over(base, changes)
    }

    fn with_key(&self, key: &str, changes: Value) -> Value {
        over(self.req(changes), json!({"headers": [["authorization", format!("Bearer {key}")]]}))
    }
}

fn call(model: &str, body_bytes: u64, max_tokens: Option<u64>) -> Value {
    json!({"call": {"model": model, "body_bytes": body_bytes, "max_tokens": max_tokens}})
}

fn provider_forward_lines() -> Vec<Value> {
    let mut v = Gen::new("p");
    let f = Fixture::new();
    let bearer0 = json!(["authorization", format!("Bearer {}", f.k0)]);

    // Admitted calls.
    let e = v.add("SPEC §10 example: forged identity header dropped, credential injected", f.req(json!({})), "ok");
    assert_eq!(
        e["ok"],
        json!({"tenant_id": "t_1", "deployment_id": "d_1", "reserve": "486", "target": "/v1/chat/completions",
            "headers": [["accept", "*/*"], ["authorization", "Bearer sk-test-123"]]})
    );
    v.add(
        "key in x-api-key, openai adapter: removed, Authorization injected",
        f.req(json!({"headers": [["x-api-key", f.k0], ["content-type", "application/json"]]})),
        "ok",
    );
    let anthropic = conn("c_2", "t_1", "anthropic", "sk-ant-api03-test");
    v.add(
        "anthropic: the credential goes to x-api-key, the tool's Authorization is removed",
        f.req(json!({"adapter": "anthropic", "target": "/v1/messages",
            "headers": [bearer0, ["anthropic-version", "2023-06-01"]],
            "binding": binding("b_2", "t_1", "d_1", "c_2"), "connection": anthropic.to_json(),
            "call": {"model": "claude-3-5-haiku", "body_bytes": 2000, "max_tokens": 1024}})),
        "ok",
    );
    v.add(
        "anthropic with the key in x-api-key: the tool's key is replaced, not appended",
        f.req(json!({"adapter": "anthropic", "target": "/v1/messages",
            "headers": [["x-api-key", f.k0], ["anthropic-version", "2023-06-01"]],
            "binding": binding("b_2", "t_1", "d_1", "c_2"), "connection": anthropic.to_json(),
            "call": {"model": "claude-3-5-haiku", "body_bytes": 2000, "max_tokens": null}})),
        "ok",
    );
    let openrouter = conn("c_3", "t_1", "openrouter", "sk-or-v1-test");
    v.add(
        "openrouter: Authorization: Bearer",
        f.req(json!({"adapter": "openrouter", "target": "/api/v1/chat/completions",
            "binding": binding("b_3", "t_1", "d_1", "c_3"), "connection": openrouter.to_json(),
            "call": {"model": "meta-llama/llama-3.1-8b-instruct", "body_bytes": 999, "max_tokens": 256}})),
        "ok",
    );
    let notion = conn("c_4", "t_1", "notion", "secret_notiontest");
    v.add(
        "notion: Authorization: Bearer, Notion-Version kept",
        f.req(json!({"adapter": "notion", "target": "/v1/pages/abc", "method": "GET",
            "headers": [bearer0, ["notion-version", "2022-06-28"]],
            "binding": binding("b_4", "t_1", "d_1", "c_4"), "connection": notion.to_json(),
            "call": {"model": "notion-api", "body_bytes": 0, "max_tokens": null}})),
        "ok",
    );
    let telegram = conn("c_5", "t_1", "telegram", "123456:ABC-DEF1234ghIkl");
    let e = v.add(
        "telegram: the credential goes in the path before the request's path and query; no credential header",
        f.req(json!({"adapter": "telegram", "target": "/sendMessage?chat_id=42",
            "headers": [bearer0, ["content-type", "application/json"]],
            "binding": binding("b_5", "t_1", "d_1", "c_5"), "connection": telegram.to_json(),
            "call": {"model": "bot-api", "body_bytes": 64, "max_tokens": null}})),
        "ok",
    );
    assert_eq!(e["ok"]["target"], "/bot123456:ABC-DEF1234ghIkl/sendMessage?chat_id=42");
    v.add(
        "telegram with the key in x-api-key: removed, nothing injected",
        f.req(json!({"adapter": "telegram", "target": "/getMe",
            "headers": [["x-api-key", f.k0]],
            "binding": binding("b_5", "t_1", "d_1", "c_5"), "connection": telegram.to_json(),
            "call": {"model": "bot-api", "body_bytes": 0, "max_tokens": null}})),
        "ok",
    );
    v.add(
        "every spelling of an inbound credential header is removed",
        f.req(json!({"headers": [
            bearer0, ["Proxy-Authorization", "Basic dXNlcjpwYXNz"], ["proxy_authorization", "Basic eA"],
            ["Api-Key", "azure-key"], ["api.key", "x"], ["X_Api_Key", "sk-attacker"], ["x.api.key", "sk-attacker"],
            ["authorization_", "kept: another name"], ["accept", "*/*"]]})),
        "ok",
    );
    v.add(
        "cookies never reach a provider, session cookie or not",
        f.req(
            json!({"headers": [bearer0, ["cookie", "__Host-vendo_session=v1.k1.x.y; theme=dark"], ["Cookie", "a=1"]]}),
        ),
        "ok",
    );
    v.add(
        "the x-vendo- namespace in every spelling (CVE-2025-64484)",
        f.req(json!({"headers": [bearer0, ["X_Vendo_User_Id", "u_2"], ["x.vendo.tenant.id", "t_2"],
            ["X-VENDO-DEPLOYMENT-ID", "d_2"], ["x-vendo-user-email", "boss@x.io"], ["x-vendor", "kept"]]})),
        "ok",
    );
    v.add(
        "Connection nominations of the namespace removed, other tokens kept (GHSA-q7p4-7xjv-j3wf)",
        f.req(json!({"headers": [bearer0, ["connection", "keep-alive, X_Vendo_User_Id"], ["connection", "x-vendo-tenant-id"]]})),
        "ok",
    );
    v.add(
        "a Connection value that loses nothing is kept byte for byte",
        f.req(json!({"headers": [bearer0, ["connection", "Keep-Alive,TE"], ["te", "trailers"]]})),
        "ok",
    );
    v.add(
        "values of one name keep their order",
        f.req(json!({"headers": [bearer0, ["x-trace", "1"], ["accept", "*/*"], ["x-trace", "2"]]})),
        "ok",
    );
    let e = v.add(
        "a tenant-wide key uses any deployment's binding: the answer names the binding's deployment",
        f.with_key(&f.k1, json!({"record": f.rec1.to_json(), "binding": binding("b_9", "t_1", "d_2", "c_1")})),
        "ok",
    );
    assert_eq!(e["ok"]["deployment_id"], "d_2");
    // SPEC §9 quotes.
    let e = v.add("max_tokens null: the table's model maximum", f.req(call("gpt-4o-mini", 1234, None)), "ok");
    assert_eq!(e["ok"]["reserve"], "10017"); // 186 + ceil(16384 × 0.6) = 186 + 9831
    let e = v.add(
        "max_tokens above the model maximum is what is held",
        f.req(call("gpt-4o-mini", 1234, Some(100_000))),
        "ok",
    );
    assert_eq!(e["ok"]["reserve"], "60186");
    let e = v.add("max_tokens 0: only the input", f.req(call("gpt-4o-mini", 1234, Some(0))), "ok");
    assert_eq!(e["ok"]["reserve"], "186");
    let e = v.add("an empty body and no output: nothing held", f.req(call("gpt-4o-mini", 0, Some(0))), "ok");
    assert_eq!(e["ok"]["reserve"], "0");
    let e = v.add("each part rounds up on its own: 1 + 1, not ceil(2 / 10^6)", f.req(call("tiny", 1, Some(1))), "ok");
    assert_eq!(e["ok"]["reserve"], "2");
    let e = v.add("an exact multiple does not round up", f.req(call("gpt-4o-mini", 1_000_000, Some(0))), "ok");
    assert_eq!(e["ok"]["reserve"], "150000");
    let e = v.add("one byte past a multiple rounds up", f.req(call("gpt-4o-mini", 1_000_001, Some(0))), "ok");
    assert_eq!(e["ok"]["reserve"], "150001");
    let e = v.add(
        "a 1 TB body: no 53-bit float could hold the product",
        f.req(call("gpt-4o-mini", 1_000_000_000_000, Some(16_384))),
        "ok",
    );
    assert_eq!(e["ok"]["reserve"], "150000009831");
    let e = v.add("a model priced at zero on purpose", f.req(call("free", 5000, None)), "ok");
    assert_eq!(e["ok"]["reserve"], "0");

    // Refusals, in SPEC §7 order.
    v.add("no key", f.req(json!({"headers": [["accept", "*/*"]]})), "no_api_key");
    v.add("two keys", f.req(json!({"headers": [bearer0, ["x-api-key", f.k0]]})), "duplicate_api_key");
    v.add("malformed key", f.with_key(&flip_char(&f.k0, 40), json!({})), "malformed_api_key");
    v.add("no record under the key id", f.req(json!({"record": null})), "unknown_api_key");
    v.add("a well-formed guess at the secret", f.with_key(&r::mint(&r_guess()), json!({})), "bad_api_key");
    let mut revoked = f.rec0.clone();
    revoked.revoked_at = Some(NOW);
    v.add("revoked key", f.req(json!({"record": revoked.to_json()})), "revoked_api_key");
    let mut expired = f.rec0.clone();
    expired.expires_at = Some(NOW);
    v.add("expired key", f.req(json!({"record": expired.to_json()})), "expired_api_key");
    v.add(
        "the key comes before the binding",
        f.req(json!({"headers": [], "binding": null, "connection": null})),
        "no_api_key",
    );
    v.add(
        "forged binding id of another tenant: the lookup keyed on t_1 finds nothing",
        f.req(json!({"binding": null, "connection": null})),
        "no_binding",
    );
    v.add("a binding but no connection", f.req(json!({"connection": null})), "no_binding");
    v.add("a connection but no binding", f.req(json!({"binding": null})), "no_binding");
    v.add(
        "no_binding comes before an unreadable credential",
        f.req(json!({"binding": null, "connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": "garbage"}})),
        "no_binding",
    );
    v.add(
        "a lookup without its tenant filter returned t_2's binding",
        f.req(json!({"binding": binding("b_1", "t_2", "d_1", "c_1")})),
        "binding_tenant_mismatch",
    );
    let c_t2 = conn("c_1", "t_2", "openai", "sk-t2-secret");
    v.add(
        "another tenant's binding and connection, both forged by id",
        f.req(json!({"binding": binding("b_7", "t_2", "d_7", "c_1"), "connection": c_t2.to_json()})),
        "binding_tenant_mismatch",
    );
    v.add(
        "a tenant-wide key does not reach another tenant's binding",
        f.with_key(&f.k1, json!({"record": f.rec1.to_json(), "binding": binding("b_7", "t_2", "d_7", "c_1")})),
        "binding_tenant_mismatch",
    );
    v.add(
        "a deployment key and a sibling deployment's binding",
        f.req(json!({"binding": binding("b_2", "t_1", "d_2", "c_1")})),
        "binding_deployment_mismatch",
    );
    v.add(
        "deployment checked before the connection",
        f.req(json!({"binding": binding("b_2", "t_1", "d_2", "c_1"), "connection": c_t2.to_json()})),
        "binding_deployment_mismatch",
    );
    v.add(
        "the loaded connection is not the one the binding names",
        f.req(json!({"binding": binding("b_1", "t_1", "d_1", "c_9")})),
        "binding_connection_mismatch",
    );
    v.add(
        "the binding's connection id resolved to another tenant's row",
        f.req(json!({"connection": c_t2.to_json()})),
        "connection_tenant_mismatch",
    );
    v.add(
        "a notion connection behind the openai adapter",
        f.req(json!({"binding": binding("b_4", "t_1", "d_1", "c_4"), "connection": notion.to_json()})),
        "provider_mismatch",
    );
    v.add(
        "an openai connection behind the anthropic adapter",
        f.req(
            json!({"adapter": "anthropic", "call": {"model": "claude-3-5-haiku", "body_bytes": 10, "max_tokens": 10}}),
        ),
        "provider_mismatch",
    );
    v.add(
        "a telegram connection behind the openai adapter: its token would land in a header",
        f.req(json!({"binding": binding("b_5", "t_1", "d_1", "c_5"), "connection": telegram.to_json()})),
        "provider_mismatch",
    );
    v.add(
        "provider checked before the credential",
        f.req(json!({"connection": {"id": "c_1", "tenant_id": "t_1", "provider": "notion", "sealed": "garbage"}})),
        "provider_mismatch",
    );
    v.add(
        "another tenant's sealed credential copied onto t_1's connection",
        f.req(json!({"connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": c_t2.sealed}})),
        "credential_unreadable",
    );
    let as_notion = r::seal_bytes("m1", &master(), &[7; 12], "t_1", "c_1", "notion", b"secret_notiontest");
    v.add(
        "a row relabelled openai over a credential sealed for notion",
        f.req(json!({"connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": as_notion}})),
        "credential_unreadable",
    );
    v.add(
        "the proxy holds no master under the kid",
        f.req(json!({"masters": {"m2": r::hex(&master())}})),
        "credential_unreadable",
    );
    v.add(
        "a sealed value that is not one",
        f.req(json!({"connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": "sk-plaintext"}})),
        "credential_unreadable",
    );
    v.add(
        "the credential comes before the quote",
        over(
            f.req(json!({"connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": "garbage"}})),
            call("no-such-model", 10, Some(10)),
        ),
        "credential_unreadable",
    );
    v.add("unknown model fails closed", f.req(call("gpt-5-ultra", 1234, Some(500))), "unknown_model");
    v.add(
        "a model priced for another provider is unknown to this one",
        f.req(call("claude-3-5-haiku", 1234, Some(500))),
        "unknown_model",
    );
    v.add(
        "model names are exact: GPT-4o-mini is not gpt-4o-mini",
        f.req(call("GPT-4o-mini", 1234, Some(500))),
        "unknown_model",
    );
    v.lines
}

#[test]
fn api_key_vectors_match_the_reference() {
    vectors::check_or_regenerate("api_key.jsonl", &api_key_lines());
}

#[test]
fn sealing_vectors_match_the_reference() {
    vectors::check_or_regenerate("sealing.jsonl", &sealing_lines());
}

#[test]
fn provider_forward_vectors_match_the_reference() {
    vectors::check_or_regenerate("provider_forward.jsonl", &provider_forward_lines());
}

fn codes(lines: &[Value]) -> std::collections::BTreeSet<String> {
    lines.iter().filter_map(|l| l["expect"]["error"].as_str().map(str::to_owned)).collect()
}

#[test]
fn vectors_cover_every_code() {
    let api = codes(&api_key_lines());
    for code in [
        "no_api_key",
        "duplicate_api_key",
        "malformed_api_key",
        "unknown_api_key",
        "bad_api_key",
        "revoked_api_key",
        "expired_api_key",
    ] {
        assert!(api.contains(code), "api_key.jsonl has no {code}");
    }
    assert!(codes(&sealing_lines()).contains("credential_unreadable"));
    let forward = codes(&provider_forward_lines());
    for code in [
        "no_api_key",
        "duplicate_api_key",
        "malformed_api_key",
        "unknown_api_key",
        "bad_api_key",
        "revoked_api_key",
        "expired_api_key",
        "no_binding",
        "binding_tenant_mismatch",
        "binding_deployment_mismatch",
        "binding_connection_mismatch",
        "connection_tenant_mismatch",
        "provider_mismatch",
        "credential_unreadable",
        "unknown_model",
    ] {
        assert!(forward.contains(code), "provider_forward.jsonl has no {code}");
    }
}

/// The encodings the reference writes out, against RFC 4648 §10's test
/// vectors (lowercased for base32) and the canonical-form rules.
#[test]
fn reference_encodings_meet_rfc_4648() {
    for (clear, b32) in [
        ("", ""),
        ("f", "my"),
        ("fo", "mzxq"),
        ("foo", "mzxw6"),
        ("foob", "mzxw6yq"),
        ("fooba", "mzxw6ytb"),
        ("foobar", "mzxw6ytboi"),
    ] {
        assert_eq!(r::b32_encode(clear.as_bytes()), b32);
        assert_eq!(r::b32_decode(b32).unwrap(), clear.as_bytes());
    }
    assert!(r::b32_decode("mz").is_none(), "non-zero trailing bits");
    assert!(r::b32_decode("MY").is_none(), "upper case");
    assert!(r::b32_decode("my======").is_none(), "padding");
    for (clear, b64) in
        [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE")]
    {
        assert_eq!(r::b64u_encode(clear.as_bytes()), b64);
        assert_eq!(r::b64u_decode(b64).unwrap(), clear.as_bytes());
    }
    assert!(r::b64u_decode("Zh").is_none(), "non-zero trailing bits");
    assert!(r::b64u_decode("Zg==").is_none(), "padding");
    assert!(r::b64u_decode("Z").is_none(), "a lone character");
    assert_eq!(r::b64u_encode(&[0xfb, 0xff]), "-_8");
    // SPEC §6: the CRC is zlib's (IEEE): "123456789" gives 0xcbf43926.
    assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
}
