//! Vectors that fail, grouped by the SPEC §4 check that catches them, then
//! the runner's `bad_request`. Each `why` names the case or the attack.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::reference::*;

pub fn add(v: &mut Vectors) {
    let none = json!({});
    let g = good();

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
}
