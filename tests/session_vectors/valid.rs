//! Vectors that verify: edges of every range, from SPEC §4 and §5.

use serde_json::json;

use crate::reference::*;

pub fn add(v: &mut Vectors) {
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
}
