//! Hostile `Host` values, each row naming what it stops (SPEC §2).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use vendo_isolation::hosts::{HostError, HostForm};
use vendo_isolation::{DeploymentSlug, HostPolicy, TenantSlug};

type Want = Result<(HostForm, &'static str), HostError>;
const S: HostForm = HostForm::SingleLevel;
const L: HostForm = HostForm::Legacy;
use HostError::*;

#[test]
fn hostile_hosts() {
    let a63 = "a".repeat(63);
    let a64 = "a".repeat(64);
    let deep253 = format!("{0}.{0}.{0}.{1}.vendo.run", a63, "a".repeat(51));
    let deep254 = format!("{0}.{0}.{0}.{1}.vendo.run", a63, "a".repeat(52));
    let at63 = format!("{a63}.vendo.run");
    let at64 = format!("{a64}.vendo.run");
    let rows: Vec<(&[u8], Want)> = vec![
        // Baseline: both forms route.
        (b"acme-crm.vendo.run", Ok((S, "acme-crm"))),
        (b"crm.acme.vendo.run", Ok((L, "crm.acme"))),
        // Case games: one route per host however it is spelled.
        (b"ACME-CRM.VENDO.RUN", Ok((S, "acme-crm"))),
        (b"Crm.Acme.Vendo.Run", Ok((L, "crm.acme"))),
        // Ports and FQDN dots must not create a second key for a host.
        (b"acme-crm.vendo.run:443", Ok((S, "acme-crm"))),
        (b"acme-crm.vendo.run.", Ok((S, "acme-crm"))),
        (b"acme-crm.vendo.run.:443", Ok((S, "acme-crm"))),
        (b"acme-crm.vendo.run..", Err(InvalidHost)),
        (b"acme-crm.vendo.run:0", Err(InvalidHost)),
        (b"acme-crm.vendo.run:65536", Err(InvalidHost)),
        (b"acme-crm.vendo.run:443:443", Err(InvalidHost)),
        (b"acme-crm.vendo.run:", Err(InvalidHost)),
        // IP literals reach the origin without a route (SSRF, cert bypass).
        (b"127.0.0.1", Err(InvalidHost)),
        (b"169.254.169.254:80", Err(InvalidHost)),
        (b"[::1]:443", Err(InvalidHost)),
        (b"[fe80::1%25eth0]", Err(InvalidHost)),
        // Bytes a downstream parser may read differently.
        (b"acme_crm.vendo.run", Err(InvalidHost)), // `_`: not LDH, aliases on some resolvers
        (b"acme%2dcrm.vendo.run", Err(InvalidHost)), // percent-decoding disagreement
        (b"evil.com@acme-crm.vendo.run", Err(InvalidHost)), // userinfo confusion
        (b"acme-crm.vendo.run\x00.evil.com", Err(InvalidHost)), // NUL truncation in C parsers
        (b"acme-crm.vendo.run\r\nX-Vendo-User-Id: u", Err(InvalidHost)), // header injection
        (b"acme-crm.vendo.run ", Err(InvalidHost)),
        ("acme-crm.vendo.r\u{0443}n".as_bytes(), Err(InvalidHost)), // Cyrillic homoglyph
        (b"acme-crm.vendo.run\xff", Err(InvalidHost)),              // obs-text
        (b"", Err(InvalidHost)),
        (b".", Err(InvalidHost)),
        (b"..vendo.run", Err(InvalidHost)),
        (b"crm..acme.vendo.run", Err(InvalidHost)),
        // Length limits (RFC 1035 §2.3.4): resolvers and certificates disagree past them.
        (at63.as_bytes(), Ok((S, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))),
        (at64.as_bytes(), Err(InvalidHost)),
        (deep253.as_bytes(), Err(TooDeep)),
        (deep254.as_bytes(), Err(InvalidHost)),
        // IDNA: `xn--` and `--` labels render as another name in browsers.
        (b"xn--80ak6aa92e.vendo.run", Err(InvalidLabel)),
        (b"acme--crm.vendo.run", Err(InvalidLabel)),
        (b"crm.xn--acme.vendo.run", Err(InvalidLabel)),
        (b"-acme.vendo.run", Err(InvalidLabel)),
        (b"acme-.vendo.run", Err(InvalidLabel)),
        // Apex look-alikes: the apex must sit at a label boundary.
        (b"evilvendo.run", Err(NotUnderApex)),
        (b"acme-crm.vendo.run.evil.com", Err(NotUnderApex)),
        (b"acme-crm.vendo.runn", Err(NotUnderApex)),
        (b"vendo.run.evil.com", Err(NotUnderApex)),
        (b"localhost", Err(NotUnderApex)),
        // The apex itself is the platform's site, not a deployment.
        (b"vendo.run", Err(Apex)),
        (b"VENDO.RUN.:8080", Err(Apex)),
        // Depth: a third label would let `x.crm.acme` shadow `crm.acme`.
        (b"x.crm.acme.vendo.run", Err(TooDeep)),
        // Reserved labels: tenants must not squat on the platform's hosts.
        (b"www.vendo.run", Err(Reserved)),
        (b"Admin.vendo.run", Err(Reserved)),
        (b"openai-proxy.vendo.run:443", Err(Reserved)),
        (b"credentials.vendo.run.", Err(Reserved)),
        (b"auth.vendo.run", Err(Reserved)),
        (b"www.acme.vendo.run", Ok((L, "www.acme"))),
    ];
    let policy = HostPolicy::default();
    for (host, want) in rows {
        let got = policy.parse(host).map(|k| (k.form(), k.as_str().to_owned()));
        let want = want.map(|(f, k)| (f, k.to_owned()));
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(host));
    }
}

#[test]
fn formatted_hosts_refuse_what_parsing_refuses() {
    let policy = HostPolicy::default();
    let t = |v: &str| -> TenantSlug { v.parse().unwrap() };
    let d = |v: &str| -> DeploymentSlug { v.parse().unwrap() };
    // Joining can produce a reserved label from two harmless slugs.
    assert_eq!(policy.single_level_key(&t("openai"), &d("proxy")).unwrap_err().code(), "reserved");
    // 31 + 1 + 31 = 63 fits; one more byte does not.
    let k = policy.single_level_key(&t(&"a".repeat(31)), &d(&"b".repeat(31))).unwrap();
    assert_eq!(k.as_str().len(), 63);
    assert_eq!(policy.single_level_key(&t(&"a".repeat(32)), &d(&"b".repeat(31))).unwrap_err().code(), "too_long");
    // A long staging apex bounds the whole name to 253 bytes.
    let apex = format!("{}.{}.{}.dev", "a".repeat(63), "b".repeat(63), "c".repeat(63));
    let long = HostPolicy::new(&apex).unwrap();
    assert_eq!(long.single_level_key(&t(&"a".repeat(30)), &d(&"b".repeat(30))).unwrap_err().code(), "too_long");
    assert!(long.single_level_key(&t("a"), &d("b")).is_ok());
    assert_eq!(long.legacy_key(&t(&"a".repeat(30)), &d(&"b".repeat(30))).unwrap_err().code(), "too_long");
}

/// Route entries found under a host that must be refused, each row naming
/// the attack: a routing store that returns another deployment's entry
/// (a stale cache, a wrong key, a poisoned row) must not be served as
/// this host's. The legacy rows need both slugs to match: a deployment
/// slug alone is shared by many tenants.
#[test]
fn entries_that_do_not_rebuild_the_host() {
    use vendo_isolation::RouteEntry;
    let policy = HostPolicy::new("vendo.run").unwrap();
    assert_eq!(policy.apex(), "vendo.run");
    let entry = |t: &str, d: &str| RouteEntry {
        tenant_id: "t_1".parse().unwrap(),
        deployment_id: "d_1".parse().unwrap(),
        tenant_slug: t.parse().unwrap(),
        deployment_slug: d.parse().unwrap(),
    };
    let rows: [(&str, (&str, &str), bool, &str); 10] = [
        ("acme-crm.vendo.run", ("acme", "crm"), true, "the owner's entry"),
        ("crm.acme.vendo.run", ("acme", "crm"), true, "the owner's entry, legacy form"),
        ("crm.acme.vendo.run", ("globex", "crm"), false, "another tenant's deployment with the same slug"),
        ("crm.acme.vendo.run", ("acme", "billing"), false, "a sibling deployment of the same tenant"),
        ("crm.acme.vendo.run", ("crm", "acme"), false, "slugs swapped"),
        ("acme-crm.vendo.run", ("globex", "crm"), false, "another tenant's deployment with the same slug"),
        ("acme-crm.vendo.run", ("acme", "billing"), false, "a sibling deployment"),
        ("acme-crm.vendo.run", ("acme-crm", "x"), false, "a tenant slug that swallows the separator"),
        ("acme-x-crm.vendo.run", ("acme", "x-crm"), true, "a hyphenated deployment slug"),
        ("acme-x-crm.vendo.run", ("acme-x", "crm"), true, "a hyphenated tenant slug"),
    ];
    for (host, (t, d), ok, why) in rows {
        let key = policy.parse(host).unwrap();
        let got = key.check_entry(&entry(t, d));
        assert_eq!(got.is_ok(), ok, "{host} with ({t}, {d}): {why}");
        if let Err(e) = got {
            assert_eq!(e.code(), "route_mismatch");
        }
    }
    // What logs and the store see of a key is its text.
    let key = policy.parse("Crm.Acme.Vendo.Run").unwrap();
    assert_eq!(key.to_string(), "crm.acme");
    assert_eq!(format!("{key:?}"), "RouteKey { form: Legacy, key: \"crm.acme\" }");
}
