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

/// An apex of `len` bytes (at least 5): labels of `a`s, then one of `b`s,
/// then `run`.
fn long_apex(len: usize) -> String {
    let mut apex = String::new();
    let mut left = len - ".run".len();
    while left > 63 {
        apex.push_str(&"a".repeat(50));
        apex.push('.');
        left -= 51;
    }
    apex.push_str(&"b".repeat(left));
    apex.push_str(".run");
    assert_eq!(apex.len(), len);
    apex
}

/// The length rules (SPEC §2: a name of at most 253 bytes, labels of at
/// most 63) hold at their edges under a long apex, for the common
/// lowercase spelling the parser takes in one pass, and for the keys a
/// policy formats.
#[test]
fn the_length_limits_hold_under_a_long_apex() {
    let (a63, b63) = ("a".repeat(63), "b".repeat(63));
    // Two labels of 63 under a 125-byte apex: 253 bytes, the longest name.
    let policy = HostPolicy::new(&long_apex(125)).unwrap();
    let longest = format!("{a63}.{b63}.{}", policy.apex());
    assert_eq!(longest.len(), 253);
    assert_eq!(policy.parse(&longest).map(|k| k.form()), Ok(L));
    // Under a 126-byte apex the same labels make 254 bytes: too long,
    // though every label is valid.
    let policy = HostPolicy::new(&long_apex(126)).unwrap();
    let over = format!("{a63}.{b63}.{}", policy.apex());
    assert_eq!(over.len(), 254);
    assert_eq!(policy.parse(&over).map(|k| k.form()), Err(InvalidHost), "a 254-byte name");

    // A 64-byte label on either side of the dot.
    let policy = HostPolicy::default();
    let a64 = "a".repeat(64);
    for host in [format!("crm.{a64}.vendo.run"), format!("{a64}.acme.vendo.run"), format!("{a64}.vendo.run")] {
        assert!(policy.parse(&host).is_err(), "a 64-byte label: {host}");
    }

    // Formatting at the name limit: built at 253 bytes, refused at 254.
    let tenant = |n: usize| -> TenantSlug { "a".repeat(n).parse().unwrap() };
    let deployment = |n: usize| -> DeploymentSlug { "b".repeat(n).parse().unwrap() };
    let policy = HostPolicy::new(&long_apex(253 - 63 - 1)).unwrap();
    let key = policy.single_level_key(&tenant(31), &deployment(31)).unwrap();
    assert_eq!(policy.hostname(&key).len(), 253);
    let policy = HostPolicy::new(&long_apex(253 - 63)).unwrap();
    assert!(policy.single_level_key(&tenant(31), &deployment(31)).is_err(), "254 bytes");
    let policy = HostPolicy::new(&long_apex(253 - 127 - 1)).unwrap();
    let key = policy.legacy_key(&tenant(63), &deployment(63)).unwrap();
    assert_eq!(policy.hostname(&key).len(), 253);
    assert_eq!(policy.parse(&policy.hostname(&key)).unwrap().as_str(), key.as_str());
    let policy = HostPolicy::new(&long_apex(253 - 127)).unwrap();
    assert!(policy.legacy_key(&tenant(63), &deployment(63)).is_err(), "254 bytes");
}

/// A name that ends in another apex of the apex's own length, after a
/// dot, is not under the apex: `vendo.com` is not `vendo.run`.
#[test]
fn a_sibling_apex_of_the_same_length_is_not_the_apex() {
    let policy = HostPolicy::default();
    for host in ["acme-crm.vendo.com", "ACME-crm.vendo.com", "crm.acme.vendo.com", "acme-crm.vendo.run.vendo.com"] {
        assert_eq!(policy.parse(host).map(|k| k.form()), Err(NotUnderApex), "{host}");
    }
}

/// Each host error's code is the SPEC §5 `parse_host` code: a proxy's
/// logs and the public vectors read these strings.
#[test]
fn host_error_codes_are_the_specs() {
    let rows = [
        (InvalidHost, "invalid_host"),
        (NotUnderApex, "not_under_apex"),
        (Apex, "apex"),
        (TooDeep, "too_deep"),
        (InvalidLabel, "invalid_label"),
        (Reserved, "reserved"),
    ];
    for (error, code) in rows {
        assert_eq!(error.code(), code);
    }
}

fn route(t: &str, d: &str, tenant_slug: &str, deployment_slug: &str) -> vendo_isolation::RouteEntry {
    vendo_isolation::RouteEntry {
        tenant_id: t.parse().unwrap(),
        deployment_id: d.parse().unwrap(),
        tenant_slug: tenant_slug.parse().unwrap(),
        deployment_slug: deployment_slug.parse().unwrap(),
    }
}

/// Restoring a legacy host decides on what holds its key. Each row names
/// the takeover it stops, or the idempotent restore it allows.
#[test]
fn restoring_a_legacy_host_decides_on_its_holder() {
    use vendo_isolation::hosts::LabelHolder;
    let policy = HostPolicy::default();
    let mine = route("t_1", "d_1", "acme", "crm");
    let held =
        |t: &str, d: &str| LabelHolder::Held { tenant_id: t.parse().unwrap(), deployment_id: d.parse().unwrap() };
    let tomb = |t: &str| LabelHolder::Tombstoned { tenant_id: t.parse().unwrap() };
    let rows: [(LabelHolder, Result<(), &str>, &str); 6] = [
        (LabelHolder::Free, Ok(()), "a free key"),
        (held("t_1", "d_1"), Ok(()), "restored again by its own deployment (idempotent)"),
        (held("t_1", "d_2"), Err("taken"), "a sibling deployment of the same tenant holds it"),
        (held("t_2", "d_1"), Err("taken"), "another tenant holds it, whatever the deployment id"),
        (tomb("t_1"), Ok(()), "freed by the same tenant: it may reclaim it"),
        (tomb("t_2"), Err("tombstoned"), "freed by another tenant: never a stranger's"),
    ];
    for (holder, want, why) in rows {
        let got = policy.restore_legacy(&mine, &holder, false);
        assert_eq!(got.as_ref().map(|_| ()).map_err(|e| e.code()), want, "{why}");
        if let Ok(change) = got {
            assert!(!change.is_empty(), "a restore writes the route: {why}");
            assert_eq!(format!("{:?}", change.ops()), "[Write(crm.acme, t_1/d_1)]");
        }
    }
    assert_eq!(policy.restore_legacy(&mine, &LabelHolder::Free, true).unwrap_err().code(), "shadows_legacy");
}

/// `assign` takes only the single-level key the entry rebuilds: its own
/// legacy key (which the entry also matches) is refused, or a label could
/// be claimed in the legacy namespace through the single-level path.
#[test]
fn assign_takes_only_the_single_level_key_of_its_entry() {
    use vendo_isolation::hosts::{LabelHolder, LegacyUse};
    let policy = HostPolicy::default();
    let mine = route("t_1", "d_1", "acme", "crm");
    let legacy = policy.legacy_key(&mine.tenant_slug, &mine.deployment_slug).unwrap();
    assert!(legacy.check_entry(&mine).is_ok());
    let got = policy.assign(&mine, &legacy, &LabelHolder::Free, LegacyUse::None);
    assert_eq!(got.unwrap_err().code(), "route_mismatch");
    let key = policy.single_level_key(&mine.tenant_slug, &mine.deployment_slug).unwrap();
    let fresh = policy.assign(&mine, &key, &LabelHolder::Free, LegacyUse::None).unwrap();
    assert!(!fresh.is_empty());
    assert_eq!(format!("{:?}", fresh.ops()), "[Write(acme-crm, t_1/d_1)]");
    let held = LabelHolder::Held { tenant_id: "t_1".parse().unwrap(), deployment_id: "d_1".parse().unwrap() };
    let again = policy.assign(&mine, &key, &held, LegacyUse::None).unwrap();
    assert!(again.is_empty(), "re-assigning the same label changes nothing");
    let released = policy.release(&key, &mine).unwrap();
    assert_eq!(format!("{:?}", released.ops()), "[Remove(acme-crm), Tombstone(acme-crm, t_1)]");
}

/// A port is 1–5 digits (SPEC §2 step 1): six digits are refused even
/// when their value is a valid port, so `:000443` cannot slip past a
/// filter that matches `:443`.
#[test]
fn a_port_has_at_most_five_digits() {
    let policy = HostPolicy::default();
    for host in ["acme-crm.vendo.run:000001", "acme-crm.vendo.run:044300", "acme-crm.vendo.run:"] {
        assert_eq!(policy.parse(host).map(|k| k.form()), Err(InvalidHost), "{host}");
    }
    assert_eq!(policy.parse("acme-crm.vendo.run:00443").map(|k| k.form()), Ok(S));
}

/// What an operator sees of an upstream is its origin, in logs and in
/// errors.
#[test]
fn an_upstream_shows_its_origin() {
    use vendo_isolation::hosts::Upstream;
    let upstream: Upstream = "http://127.0.0.1:9001".parse().unwrap();
    assert_eq!(upstream.to_string(), "http://127.0.0.1:9001/");
    assert_eq!(format!("{upstream:?}"), "Upstream(http://127.0.0.1:9001/)");
    let refused = "http://user:pw@127.0.0.1:9001".parse::<Upstream>().unwrap_err();
    assert_eq!(refused.code(), "invalid_upstream");
}
