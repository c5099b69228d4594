//! Properties of the hostname codec and of assignment (SPEC §2).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashMap;

use proptest::prelude::*;
use vendo_isolation::hosts::{HostError, HostForm, LabelHolder, LegacyUse, RouteOp};
use vendo_isolation::testing::{deployment_id, deployment_slug, tenant_id, tenant_slug};
use vendo_isolation::{DeploymentId, HostPolicy, RouteEntry, TenantId};

fn entry() -> impl Strategy<Value = RouteEntry> {
    (tenant_id(), deployment_id(), tenant_slug(), deployment_slug()).prop_map(
        |(tenant_id, deployment_id, tenant_slug, deployment_slug)| RouteEntry {
            tenant_id,
            deployment_id,
            tenant_slug,
            deployment_slug,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any slug pair formats to a host that parses back to the same key and
    /// whose entry check passes, in both forms and in any case.
    #[test]
    fn format_parse_round_trip(e in entry(), upper in any::<bool>(), dot in any::<bool>(), port in proptest::option::of(1u16..)) {
        let policy = HostPolicy::default();
        let keys = [
            policy.single_level_key(&e.tenant_slug, &e.deployment_slug).ok(),
            policy.legacy_key(&e.tenant_slug, &e.deployment_slug).ok(),
        ];
        prop_assert!(keys[1].is_some(), "two slugs always fit a legacy key under vendo.run");
        for key in keys.into_iter().flatten() {
            let mut host = policy.hostname(&key);
            if upper { host = host.to_ascii_uppercase(); }
            if dot { host.push('.'); }
            if let Some(p) = port { host.push_str(&format!(":{p}")); }
            let parsed = policy.parse(&host).unwrap();
            prop_assert_eq!(parsed.as_str(), key.as_str());
            prop_assert_eq!(parsed.form(), key.form());
            prop_assert!(parsed.check_entry(&e).is_ok());
        }
    }

    /// A single-level key fails to format only for the SPEC's reasons.
    #[test]
    fn single_level_refusals_are_exact(e in entry()) {
        let policy = HostPolicy::default();
        let joined = format!("{}-{}", e.tenant_slug, e.deployment_slug);
        let got = policy.single_level_key(&e.tenant_slug, &e.deployment_slug).map(|k| k.as_str().to_owned());
        let want = if joined.len() > 63 { Err("too_long") } else if policy.is_reserved(&joined) { Err("reserved") } else { Ok(joined) };
        prop_assert_eq!(got.map_err(|e| e.code()), want);
    }

    /// Parsing never panics on any string, and what it accepts is
    /// lowercase, sits under the apex, and is stable under re-parsing.
    #[test]
    fn parse_any_string(s in "\\PC{0,80}") {
        let policy = HostPolicy::default();
        if let Ok(k) = policy.parse(&s) {
            prop_assert!(!k.as_str().bytes().any(|b| b.is_ascii_uppercase()));
            let host = policy.hostname(&k);
            let again = policy.parse(&host).unwrap();
            prop_assert_eq!(again.as_str(), k.as_str());
        }
    }

    /// Parsing never panics on any bytes, including hostname-ish ones.
    #[test]
    fn parse_any_bytes(b in prop::collection::vec(prop::sample::select(b"aZ09-.:_@[]%\x00\r\n\xff ".to_vec()), 0..40), suffix in any::<bool>()) {
        let policy = HostPolicy::default();
        let mut b = b;
        if suffix { b.extend_from_slice(b".vendo.run"); }
        let _ = policy.parse(&b);
    }

    /// A label that differs from a valid key only in case, port or trailing
    /// dot parses to the same key; anything a parse accepts has one form.
    #[test]
    fn spellings_agree(e in entry()) {
        let policy = HostPolicy::default();
        let key = policy.legacy_key(&e.tenant_slug, &e.deployment_slug).unwrap();
        let host = policy.hostname(&key);
        let variants = [host.clone(), host.to_ascii_uppercase(), format!("{host}."), format!("{host}:443"), format!("{}.:1", host.to_ascii_uppercase())];
        for v in variants {
            let k = policy.parse(&v).unwrap();
            prop_assert_eq!(k.as_str(), key.as_str());
            prop_assert_eq!(k.form(), HostForm::Legacy);
        }
    }

    /// Whatever order assignments and renames arrive in, no label is ever
    /// held by two deployments, a held label is never overwritten by
    /// another deployment, and a tombstone is reclaimed only by its tenant.
    #[test]
    fn assignments_never_share_a_label(
        tenants in prop::collection::vec((tenant_id(), prop::sample::select(vec!["a", "a-b", "b"])), 1..4),
        ops in prop::collection::vec((0usize..4, 0usize..4, prop::sample::select(vec!["c", "b-c", "x", "c-d"]), any::<bool>()), 1..40),
    ) {
        #[derive(Clone, Debug)]
        enum Slot { Held(RouteEntry), Tomb(TenantId) }
        let policy = HostPolicy::default();
        let mut store: HashMap<String, Slot> = HashMap::new();
        let mut where_is: HashMap<DeploymentId, String> = HashMap::new();
        for (ti, di, dslug, rename) in ops {
            let (tid, tslug) = &tenants[ti % tenants.len()];
            let did: DeploymentId = format!("{tid}_{di}").chars().take(64).collect::<String>().parse().unwrap();
            let entry = RouteEntry { tenant_id: tid.clone(), deployment_id: did.clone(), tenant_slug: tslug.parse().unwrap(), deployment_slug: dslug.parse().unwrap() };
            let Ok(new_key) = policy.single_level_key(&entry.tenant_slug, &entry.deployment_slug) else { continue };
            let holder = match store.get(new_key.as_str()) {
                None => LabelHolder::Free,
                Some(Slot::Held(e)) => LabelHolder::Held { tenant_id: e.tenant_id.clone(), deployment_id: e.deployment_id.clone() },
                Some(Slot::Tomb(t)) => LabelHolder::Tombstoned { tenant_id: t.clone() },
            };
            let decision = match (rename, where_is.get(&did)) {
                (true, Some(old)) => {
                    let Some(Slot::Held(current)) = store.get(old) else { unreachable!() };
                    let old_host = format!("{old}.vendo.run");
                    let old_key = policy.parse(&old_host).unwrap();
                    policy.rename(&old_key, current, &entry, &new_key, &holder, LegacyUse::None)
                }
                (_, Some(_)) => continue, // a deployment has one route
                (_, None) => policy.assign(&entry, &new_key, &holder, LegacyUse::None),
            };
            let Ok(change) = decision else {
                // Refusals match the holder.
                match &holder {
                    LabelHolder::Held { deployment_id, .. } => prop_assert_ne!(deployment_id, &did),
                    LabelHolder::Tombstoned { tenant_id } => prop_assert_ne!(tenant_id, tid),
                    _ => prop_assert!(false, "a free label was refused"),
                }
                continue;
            };
            for op in change.into_ops() {
                match op {
                    RouteOp::Remove(k) => { store.remove(k.as_str()); }
                    RouteOp::Tombstone(k, t) => { store.insert(k.as_str().to_owned(), Slot::Tomb(t)); }
                    RouteOp::Write(k, e) => {
                        if let Some(Slot::Held(prev)) = store.get(k.as_str()) {
                            prop_assert_eq!(&prev.deployment_id, &e.deployment_id, "overwrote another deployment");
                        }
                        if let Some(Slot::Tomb(t)) = store.get(k.as_str()) {
                            prop_assert_eq!(t, &e.tenant_id, "reclaimed another tenant's tombstone");
                        }
                        where_is.insert(e.deployment_id.clone(), k.as_str().to_owned());
                        store.insert(k.as_str().to_owned(), Slot::Held(e));
                    }
                    _ => unreachable!(),
                }
            }
            // One label per deployment, one deployment per label, every
            // entry rebuilds its key.
            let mut seen = HashMap::new();
            for (k, slot) in &store {
                if let Slot::Held(e) = slot {
                    prop_assert!(seen.insert(e.deployment_id.clone(), k.clone()).is_none());
                    let host = format!("{k}.vendo.run");
                    prop_assert!(policy.parse(&host).unwrap().check_entry(e).is_ok());
                }
            }
        }
    }
}

#[test]
fn reserved_single_level_is_not_a_route() {
    let policy = HostPolicy::default();
    for r in vendo_isolation::hosts::DEFAULT_RESERVED {
        assert_eq!(policy.parse(&format!("{r}.vendo.run")), Err(HostError::Reserved));
    }
}
