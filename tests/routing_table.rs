//! The in-memory routing table: decisions from `HostPolicy`, applied
//! all-or-nothing, with tombstones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use vendo_isolation::hosts::{AssignError, HostForm, LabelHolder, LegacyUse, Upstream};
use vendo_isolation::model::{RoutingError, RoutingTable};
use vendo_isolation::{HostPolicy, RouteEntry, RouteKey, TenantId};

fn entry(tenant: &str, dep: &str, tslug: &str, dslug: &str) -> RouteEntry {
    RouteEntry {
        tenant_id: tenant.parse().unwrap(),
        deployment_id: dep.parse().unwrap(),
        tenant_slug: tslug.parse().unwrap(),
        deployment_slug: dslug.parse().unwrap(),
    }
}

fn up(n: u16) -> Upstream {
    format!("http://127.0.0.1:{n}").parse().unwrap()
}

fn host<'a>(t: &RoutingTable, h: &'a str) -> RouteKey<'a> {
    t.policy().parse(h).unwrap()
}

fn resolved(t: &RoutingTable, h: &str) -> Option<String> {
    t.resolve(&host(t, h)).map(|r| r.deployment_id().to_string())
}

#[test]
fn hostile_assignments() {
    let mut t = RoutingTable::default();
    // Tenant A (slug `a-b`) deploys `c`: label `a-b-c`.
    let abc = t.assign(entry("tA", "dA1", "a-b", "c"), up(1)).unwrap();
    // SPEC §2 ambiguity: tenant B (slug `a`) deploying `b-c` joins to the
    // same label. It must not take A's traffic.
    let err = t.assign(entry("tB", "dB1", "a", "b-c"), up(2)).unwrap_err();
    assert_eq!(err.code(), "taken");
    assert_eq!(resolved(&t, "a-b-c.vendo.run").as_deref(), Some("dA1"));

    // A renames `c` to `d`: the old label stops resolving at once and is
    // tombstoned for A.
    t.rename(&abc, entry("tA", "dA1", "a-b", "d")).unwrap();
    assert_eq!(resolved(&t, "a-b-c.vendo.run"), None);
    assert_eq!(resolved(&t, "a-b-d.vendo.run").as_deref(), Some("dA1"));
    assert_eq!(t.holder(&abc), LabelHolder::Tombstoned { tenant_id: "tA".parse().unwrap() });
    // B now tries the freed label: a stranger must not inherit A's old
    // hostname (links, bookmarks, OAuth redirects still point at it).
    let err = t.assign(entry("tB", "dB1", "a", "b-c"), up(2)).unwrap_err();
    assert_eq!(err.code(), "tombstoned");
    // A itself may reclaim it, for another deployment.
    t.assign(entry("tA", "dA2", "a-b", "c"), up(3)).unwrap();
    assert_eq!(resolved(&t, "a-b-c.vendo.run").as_deref(), Some("dA2"));

    // The platform's own hosts: `openai-proxy` is tenant `openai` +
    // deployment `proxy`.
    let err = t.assign(entry("tO", "dO", "openai", "proxy"), up(4)).unwrap_err();
    assert_eq!(err.code(), "reserved");

    // Rename onto a label someone holds: refused, nothing moves.
    let before = t.clone();
    let err = t.rename(&host(&t, "a-b-d.vendo.run"), entry("tA", "dA1", "a-b", "c")).unwrap_err();
    assert_eq!(err.code(), "taken");
    assert_eq!(t, before);

    // A rename may not move the route to another tenant.
    let err = t.rename(&host(&t, "a-b-d.vendo.run"), entry("tB", "dA1", "a-b", "e")).unwrap_err();
    assert_eq!(err.code(), "owner_changed");
    assert_eq!(t, before);

    // Upper case and a port in the Host header reach the same route.
    assert_eq!(resolved(&t, "A-B-D.Vendo.Run:443").as_deref(), Some("dA1"));
    // The legacy form of the same slugs is another key, with no route.
    assert_eq!(resolved(&t, "d.a-b.vendo.run"), None);

    // Releasing takes the route down and keeps the label for its tenant.
    let gone = t.release(&host(&t, "a-b-d.vendo.run")).unwrap();
    assert_eq!(gone.deployment_id(), "dA1");
    assert_eq!(resolved(&t, "a-b-d.vendo.run"), None);
    assert_eq!(t.release(&host(&t, "a-b-d.vendo.run")).unwrap_err(), RoutingError::NotFound);
}

#[test]
fn legacy_routes_resolve_and_rename_to_single_level() {
    let mut t = RoutingTable::default();
    let legacy = t.restore_legacy(entry("tA", "dA", "acme", "crm"), up(1)).unwrap();
    assert_eq!(resolved(&t, "crm.acme.vendo.run").as_deref(), Some("dA"));
    assert_eq!(t.restore_legacy(entry("tB", "dB", "acme", "crm"), up(2)).unwrap_err().code(), "taken");
    // Moving a legacy deployment onto the single-level form retires the
    // legacy hostname in the same step.
    t.rename(&legacy, entry("tA", "dA", "acme", "crm")).unwrap();
    assert_eq!(resolved(&t, "crm.acme.vendo.run"), None);
    assert_eq!(resolved(&t, "acme-crm.vendo.run").as_deref(), Some("dA"));
    assert_eq!(t.restore_legacy(entry("tB", "dB", "acme", "crm"), up(2)).unwrap_err().code(), "tombstoned");
}

#[test]
fn regression_stale_decision_changes_nothing() {
    // A decision taken on what the table held, applied after another write
    // changed it, must not half-apply.
    let mut t = RoutingTable::default();
    let e = entry("tA", "dA", "acme", "crm");
    let key = t.policy().single_level_key(&e.tenant_slug, &e.deployment_slug).unwrap();
    let change = t.policy().assign(&e, &key, &t.holder(&key), t.legacy_use(key.as_str())).unwrap();
    t.assign(entry("tB", "dB", "acme", "crm"), up(2)).unwrap();
    let before = t.clone();
    assert_eq!(t.apply(&change, &up(1)), Err(RoutingError::StaleChange));
    assert_eq!(t, before);
    assert_eq!(resolved(&t, "acme-crm.vendo.run").as_deref(), Some("dB"));
}

/// SPEC §2 `shadows_legacy`: `acme-corp.vendo.run` (tenant `acme`,
/// deployment `corp`) would be the parent domain of the legacy
/// `wiki.acme-corp.vendo.run` (tenant `acme-corp`), and a browser lets a
/// parent set cookies for its children (cookie tossing into another
/// tenant's host).
#[test]
fn single_level_labels_never_nest_a_legacy_host() {
    let mut t = RoutingTable::default();
    t.restore_legacy(entry("tC", "dW", "acme-corp", "wiki"), up(1)).unwrap();
    assert_eq!(t.legacy_use("acme-corp"), LegacyUse::TenantSlug);
    assert_eq!(t.legacy_use("acme"), LegacyUse::None);

    // Assigning the parent label: refused, whoever asks.
    let before = t.clone();
    let err = t.assign(entry("tA", "dA", "acme", "corp"), up(2)).unwrap_err();
    assert_eq!(err, RoutingError::Assign(AssignError::ShadowsLegacy));
    assert_eq!(err.code(), "shadows_legacy");
    assert_eq!(t, before);
    // Even the legacy host's own tenant may not sit above its legacy host.
    let err = t.assign(entry("tC", "dX", "acme", "corp"), up(2)).unwrap_err();
    assert_eq!(err.code(), "shadows_legacy");

    // Renaming into the parent label: refused, nothing moves.
    let crm = t.assign(entry("tA", "dA", "acme", "crm"), up(2)).unwrap();
    let before = t.clone();
    assert_eq!(t.rename(&crm, entry("tA", "dA", "acme", "corp")).unwrap_err().code(), "shadows_legacy");
    assert_eq!(t, before);
    assert_eq!(resolved(&t, "acme-crm.vendo.run").as_deref(), Some("dA"));

    // A label merely starting with the tenant slug is not its parent.
    t.assign(entry("tA", "dB", "acme", "corp2"), up(3)).unwrap();
}

#[test]
fn legacy_hosts_are_never_restored_under_a_live_parent() {
    let mut t = RoutingTable::default();
    let parent = t.assign(entry("tA", "dA", "acme", "corp"), up(1)).unwrap();
    let before = t.clone();
    let err = t.restore_legacy(entry("tC", "dW", "acme-corp", "wiki"), up(2)).unwrap_err();
    assert_eq!(err, RoutingError::Assign(AssignError::ShadowsLegacy));
    assert_eq!(t, before);
    // Released, the parent no longer serves: the legacy host may come
    // back, and the parent's own tenant may not then reclaim the label.
    t.release(&parent).unwrap();
    t.restore_legacy(entry("tC", "dW", "acme-corp", "wiki"), up(2)).unwrap();
    assert_eq!(t.assign(entry("tA", "dA", "acme", "corp"), up(1)).unwrap_err().code(), "shadows_legacy");
}

#[test]
fn a_tombstoned_legacy_key_still_blocks_its_parent() {
    let mut t = RoutingTable::default();
    let legacy = t.restore_legacy(entry("tC", "dW", "acme-corp", "wiki"), up(1)).unwrap();
    // The legacy deployment moves to its single-level host; its old key
    // is tombstoned for tC and may be restored, so it still counts.
    t.rename(&legacy, entry("tC", "dW", "acme-corp", "wiki")).unwrap();
    assert_eq!(t.holder(&legacy), LabelHolder::Tombstoned { tenant_id: "tC".parse().unwrap() });
    assert_eq!(t.legacy_use("acme-corp"), LegacyUse::TenantSlug);
    assert_eq!(t.assign(entry("tA", "dA", "acme", "corp"), up(2)).unwrap_err().code(), "shadows_legacy");
    // The same after a plain release.
    let mut t = RoutingTable::default();
    let legacy = t.restore_legacy(entry("tC", "dW", "acme-corp", "wiki"), up(1)).unwrap();
    t.release(&legacy).unwrap();
    assert_eq!(t.assign(entry("tA", "dA", "acme", "corp"), up(2)).unwrap_err().code(), "shadows_legacy");
}

#[test]
fn policy_refuses_shadowing_in_assign_and_rename() {
    let policy = HostPolicy::default();
    let e = entry("tA", "dA", "acme", "corp");
    let key = policy.single_level_key(&e.tenant_slug, &e.deployment_slug).unwrap();
    assert_eq!(policy.assign(&e, &key, &LabelHolder::Free, LegacyUse::TenantSlug), Err(AssignError::ShadowsLegacy));
    // Checked even when the label is already this deployment's.
    let held = LabelHolder::Held { tenant_id: e.tenant_id.clone(), deployment_id: e.deployment_id.clone() };
    assert_eq!(policy.assign(&e, &key, &held, LegacyUse::TenantSlug), Err(AssignError::ShadowsLegacy));
    // The holder rules answer first: a taken label stays `taken`.
    let other = LabelHolder::Held { tenant_id: "tB".parse().unwrap(), deployment_id: "dB".parse().unwrap() };
    assert_eq!(policy.assign(&e, &key, &other, LegacyUse::TenantSlug), Err(AssignError::Taken));
    let current = entry("tA", "dA", "acme", "crm");
    let old = policy.parse("acme-crm.vendo.run").unwrap();
    let got = policy.rename(&old, &current, &e, &key, &LabelHolder::Free, LegacyUse::TenantSlug);
    assert_eq!(got, Err(AssignError::ShadowsLegacy));
}

/// A decision taken before a legacy host was restored must not nest it
/// when applied afterwards. Found by this test: `apply` re-checked the
/// holder (stale_change) but not the legacy use the decision was made on.
#[test]
fn regression_stale_decision_cannot_nest_a_legacy_host() {
    let mut t = RoutingTable::default();
    let e = entry("tA", "dA", "acme", "corp");
    let key = t.policy().single_level_key(&e.tenant_slug, &e.deployment_slug).unwrap();
    let change = t.policy().assign(&e, &key, &t.holder(&key), t.legacy_use(key.as_str())).unwrap();
    t.restore_legacy(entry("tC", "dW", "acme-corp", "wiki"), up(2)).unwrap();
    let before = t.clone();
    assert_eq!(t.apply(&change, &up(1)), Err(RoutingError::StaleChange));
    assert_eq!(t, before);
}

#[test]
fn hostile_upstreams() {
    for (bad, why) in [
        ("https://user:pw@backend.example", "credentials in the table"),
        ("https://backend.example/admin", "a path the proxy would prepend"),
        ("https://backend.example/?a=1", "a query"),
        ("ftp://backend.example", "a scheme the proxy does not speak"),
        ("backend.example:443", "no scheme"),
        ("/relative", "no authority"),
    ] {
        assert!(bad.parse::<Upstream>().is_err(), "{why}: {bad}");
    }
    assert!("https://backend.example:8443".parse::<Upstream>().is_ok());
    assert!("http://127.0.0.1:9".parse::<Upstream>().is_ok());
}

#[derive(Debug, Clone)]
enum Step {
    Assign(usize, usize),
    Rename(usize, usize, usize),
    Release(usize),
}

// Tenant i has slug TENANT_SLUGS[i]; deployment j belongs to tenant j % 3.
// `a` + `b-c` and `a-b` + `c` collide, as do `a-b` + `c` and others.
const TENANT_SLUGS: &[&str] = &["a", "a-b", "acme"];
const DEP_SLUGS: &[&str] = &["b-c", "c", "b", "crm", "sales", "b-crm"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..6usize, 0..6usize).prop_map(|(d, s)| Step::Assign(d, s)),
        3 => (0..12usize, 0..6usize, 0..6usize).prop_map(|(k, d, s)| Step::Rename(k, d, s)),
        1 => (0..12usize).prop_map(Step::Release),
    ]
}

fn dep_entry(d: usize, s: usize) -> RouteEntry {
    let tenant = d % 3;
    entry(&format!("t{tenant}"), &format!("d{d}"), TENANT_SLUGS[tenant], DEP_SLUGS[s])
}

proptest! {
    #[test]
    fn table_invariants(steps in prop::collection::vec(step(), 0..40)) {
        let mut t = RoutingTable::default();
        let policy = HostPolicy::default();
        // Every key ever written, with the tenant that first held it.
        let mut first_owner: BTreeMap<String, TenantId> = BTreeMap::new();
        let all_keys = || {
            TENANT_SLUGS.iter().flat_map(|ts| DEP_SLUGS.iter().map(move |ds| format!("{ts}-{ds}")))
        };
        for s in steps {
            let before = t.clone();
            let result = match s {
                Step::Assign(d, slug) => t.assign(dep_entry(d, slug), up(d as u16)).map(|_| None),
                Step::Rename(k, d, slug) => {
                    let key = all_keys().nth(k % 18).unwrap();
                    let key = policy.parse(&format!("{key}.vendo.run")).unwrap().into_owned();
                    t.rename(&key, dep_entry(d, slug)).map(|new| Some((key, new)))
                }
                Step::Release(k) => {
                    let key = all_keys().nth(k % 18).unwrap();
                    let key = policy.parse(&format!("{key}.vendo.run")).unwrap().into_owned();
                    t.release(&key).map(|_| None)
                }
            };
            match result {
                Err(_) => prop_assert_eq!(&t, &before, "a refused step changed the table"),
                Ok(Some((old, new))) if old.as_str() != new.as_str() => {
                    prop_assert!(t.resolve(&old).is_none(), "old hostname still resolves after a rename");
                }
                Ok(_) => {}
            }
            for (key, route) in t.routes() {
                // SPEC §2: the entry rebuilds the key it is stored under.
                prop_assert!(key.check_entry(route.entry()).is_ok());
                prop_assert_eq!(t.resolve(key), Some(route));
                // A label once held by a tenant never serves another.
                let owner = first_owner.entry(key.as_str().to_owned()).or_insert_with(|| route.tenant_id().clone());
                prop_assert_eq!(&*owner, route.tenant_id(), "{} changed tenant", key);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum NestStep {
    Assign(usize, usize),
    Restore(usize, usize),
    Rename(usize, usize, usize),
    Release(usize),
}

// `acme` + `corp` is the parent of every legacy host of tenant
// `acme-corp`, and `a` + `b` of tenant `a-b`'s.
const NEST_TENANTS: &[&str] = &["acme", "acme-corp", "a", "a-b"];
const NEST_DEPS: &[&str] = &["corp", "wiki", "b", "crm"];

fn nest_entry(d: usize, s: usize) -> RouteEntry {
    let tenant = d % NEST_TENANTS.len();
    entry(&format!("t{tenant}"), &format!("d{d}"), NEST_TENANTS[tenant], NEST_DEPS[s % NEST_DEPS.len()])
}

/// Every key the steps can name: both forms of every slug pair.
fn nest_keys(policy: &HostPolicy) -> Vec<RouteKey<'static>> {
    NEST_TENANTS
        .iter()
        .flat_map(|t| NEST_DEPS.iter().map(move |d| (t, d)))
        .flat_map(|(t, d)| {
            [format!("{t}-{d}.vendo.run"), format!("{d}.{t}.vendo.run")].map(|h| policy.parse(&h).unwrap().into_owned())
        })
        .collect()
}

fn nest_step() -> impl Strategy<Value = NestStep> {
    prop_oneof![
        3 => (0..8usize, 0..4usize).prop_map(|(d, s)| NestStep::Assign(d, s)),
        3 => (0..8usize, 0..4usize).prop_map(|(d, s)| NestStep::Restore(d, s)),
        2 => (0..32usize, 0..8usize, 0..4usize).prop_map(|(k, d, s)| NestStep::Rename(k, d, s)),
        1 => (0..32usize).prop_map(NestStep::Release),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5ad0_1e9a),
        ..ProptestConfig::default()
    })]

    /// SPEC §2 `shadows_legacy`: whatever order hosts are assigned,
    /// restored, renamed and released in, no live single-level label is
    /// the tenant slug of a live legacy key, and a refused step changes
    /// nothing.
    #[test]
    fn no_live_label_is_the_parent_of_a_live_legacy_host(steps in prop::collection::vec(nest_step(), 0..40)) {
        let mut t = RoutingTable::default();
        let keys = nest_keys(t.policy());
        for s in steps {
            let before = t.clone();
            let result = match s {
                NestStep::Assign(d, slug) => t.assign(nest_entry(d, slug), up(1)).map(drop),
                NestStep::Restore(d, slug) => t.restore_legacy(nest_entry(d, slug), up(2)).map(drop),
                NestStep::Rename(k, d, slug) => t.rename(&keys[k % keys.len()], nest_entry(d, slug)).map(drop),
                NestStep::Release(k) => t.release(&keys[k % keys.len()]).map(drop),
            };
            if result.is_err() {
                prop_assert_eq!(&t, &before, "a refused step changed the table");
            }
            let live_labels: Vec<&str> = t.routes().filter_map(|(k, _)| k.label()).collect();
            for (key, _) in t.routes().filter(|(k, _)| k.form() == HostForm::Legacy) {
                let (_, tenant) = key.legacy_parts().unwrap();
                prop_assert!(!live_labels.contains(&tenant), "{}.vendo.run nests {}", tenant, key);
            }
        }
    }
}

/// A change decided on a read that is no longer true is refused when the
/// table applies it: each row is a write that would hand a label to the
/// wrong deployment or nest one tenant's host under another's.
#[test]
fn stale_changes_are_refused_on_apply() {
    let policy = HostPolicy::default();
    let label = |t: &RoutingTable, h: &str| host(t, h).into_owned();

    // Decided while `acme-crm` was free; meanwhile a sibling deployment of
    // the same tenant took it.
    let mut t = RoutingTable::default();
    let mine = entry("tA", "dA", "acme", "crm");
    let key = policy.single_level_key(&mine.tenant_slug, &mine.deployment_slug).unwrap();
    let change = policy.assign(&mine, &key, &LabelHolder::Free, LegacyUse::None).unwrap();
    t.assign(entry("tA", "dB", "acme", "crm"), up(2)).unwrap();
    assert!(matches!(t.apply(&change, &up(1)), Err(RoutingError::StaleChange)), "a sibling holds it now");
    assert_eq!(resolved(&t, "acme-crm.vendo.run").as_deref(), Some("dB"));

    // The same write applied twice by its own deployment is idempotent.
    let mut t = RoutingTable::default();
    t.apply(&change, &up(1)).unwrap();
    t.apply(&change, &up(1)).unwrap();
    assert_eq!(resolved(&t, "acme-crm.vendo.run").as_deref(), Some("dA"));
    let live: Vec<_> = t.routes().map(|(k, r)| (k.as_str().to_owned(), r.deployment_id().to_string())).collect();
    assert_eq!(live, [("acme-crm".to_owned(), "dA".to_owned())]);

    // A legacy restore decided while `acme-corp` was free; meanwhile a
    // single-level route took that label, which would be its parent.
    let mut t = RoutingTable::default();
    let legacy = entry("tC", "dW", "acme-corp", "wiki");
    let restore = policy.restore_legacy(&legacy, &LabelHolder::Free, false).unwrap();
    t.assign(entry("tA", "dA", "acme", "corp"), up(2)).unwrap();
    assert!(matches!(t.apply(&restore, &up(1)), Err(RoutingError::StaleChange)), "it would nest");
    assert!(t.resolve(&label(&t, "wiki.acme-corp.vendo.run")).is_none());

    // Other live routes are no parent: the same restore applies.
    let mut t = RoutingTable::default();
    t.assign(entry("tA", "dA", "acme", "crm"), up(2)).unwrap();
    t.apply(&restore, &up(1)).unwrap();
    assert_eq!(resolved(&t, "wiki.acme-corp.vendo.run").as_deref(), Some("dW"));
    assert_eq!(t.routes().count(), 2);
}
