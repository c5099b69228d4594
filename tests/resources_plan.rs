//! Resource plans: injective names, valid in every system, never shared.

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
use vendo_isolation::DeploymentId;
use vendo_isolation::tenancy::{
    ComputeProvider, Deployment, MAX_PLANNABLE_DEPLOYMENT_ID_LEN, Manifest, PlanConflict, PlanError,
    REDIS_SERVICE_NAME, ResourceKind, ResourcePlan, ResourceSystem, check_disjoint, deployment_id_from_resource_name,
    resource_name,
};
use vendo_isolation::testing::{manifest, plannable_deployment, plannable_manifest, tenant_id};

const ALPHABET: &[u8] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn dep(id: &str, tenant: &str) -> Deployment {
    Deployment::new(id.parse().unwrap(), tenant.parse().unwrap())
}

fn all_systems() -> [ResourceSystem; 6] {
    [
        ResourceSystem::RailwayProject,
        ResourceSystem::RailwayService,
        ResourceSystem::NeonBranch,
        ResourceSystem::R2Bucket,
        ResourceSystem::CloudflareWorker,
        ResourceSystem::CloudflarePagesProject,
    ]
}

#[test]
fn every_id_of_up_to_two_bytes_gets_its_own_name() {
    // Exhaustive: 64 + 64² ids, including every case and `_`/`-` pair.
    let mut seen = BTreeMap::new();
    let ids = ALPHABET
        .iter()
        .map(|&a| vec![a])
        .chain(ALPHABET.iter().flat_map(|&a| ALPHABET.iter().map(move |&b| vec![a, b])));
    for raw in ids {
        let id: DeploymentId = String::from_utf8(raw).unwrap().parse().unwrap();
        let name = resource_name(&id).unwrap();
        assert_eq!(deployment_id_from_resource_name(&name).as_ref(), Some(&id));
        if let Some(other) = seen.insert(name.clone(), id.clone()) {
            panic!("{id} and {other} both map to {name}");
        }
    }
    assert_eq!(seen.len(), 64 + 64 * 64);
}

/// Pairs of ids that naive naming schemes would merge.
#[test]
fn hostile_near_collisions_stay_apart() {
    let pairs: &[(&str, &str, &str)] = &[
        ("Acme", "acme", "lowercasing"),
        ("a_b", "a-b", "mapping `_` to `-`"),
        ("a__b", "a-b", "collapsing runs of separators"),
        ("ab-", "ab", "trimming edge hyphens"),
        ("-ab", "ab", "trimming edge hyphens"),
        ("a-5f", "a_", "escaping `_` as `-5f`"),
        ("x", "X", "case folding a single letter"),
        ("dep_01HZAAAAAAAAAAAAAAAAAAAAAA", "dep_01hzaaaaaaaaaaaaaaaaaaaaaa", "ULID case folding"),
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "truncation to a bucket name's length",
        ),
    ];
    for (a, b, scheme) in pairs {
        let (na, nb) = (resource_name(&a.parse().unwrap()).unwrap(), resource_name(&b.parse().unwrap()).unwrap());
        assert_ne!(na, nb, "{a} and {b} merge under {scheme}");
    }
}

#[test]
fn ids_past_the_limit_are_refused_not_truncated() {
    let at = "Z".repeat(MAX_PLANNABLE_DEPLOYMENT_ID_LEN);
    let over = "Z".repeat(MAX_PLANNABLE_DEPLOYMENT_ID_LEN + 1);
    assert!(resource_name(&at.parse().unwrap()).is_ok());
    let m = Manifest::new(ComputeProvider::Railway, []);
    let err = ResourcePlan::new(&dep(&over, "t"), &m).unwrap_err();
    assert_eq!(err, PlanError::DeploymentIdTooLong { len: 46, max: 45 });
    assert_eq!(err.code(), "deployment_id_too_long");
}

#[test]
fn edge_and_static_tools_get_no_writable_state() {
    for compute in [ComputeProvider::CloudflareWorkers, ComputeProvider::CloudflarePages] {
        for kind in [ResourceKind::Database, ResourceKind::Redis, ResourceKind::Bucket] {
            let err = ResourcePlan::new(&dep("d", "t"), &Manifest::new(compute, [kind])).unwrap_err();
            assert_eq!(err.code(), "writable_state_on_edge");
            let msg = err.to_string();
            assert!(msg.contains(compute.as_str()) && msg.contains(kind.as_str()), "{msg}");
            assert!(msg.contains("stateless"), "the error says why: {msg}");
        }
        let plan = ResourcePlan::new(&dep("d", "t"), &Manifest::new(compute, [])).unwrap();
        assert_eq!(plan.resources().len(), 1);
    }
}

#[test]
fn manifests_parse_strictly() {
    let m: Manifest =
        serde_json::from_str(r#"{"computeProvider":"railway","resources":["database","redis","bucket"]}"#).unwrap();
    assert_eq!(m.resources().count(), 3);
    let m: Manifest = serde_json::from_str(r#"{"computeProvider":"cloudflare-pages"}"#).unwrap();
    assert_eq!(m.compute_provider(), ComputeProvider::CloudflarePages);
    for bad in [
        r#"{"computeProvider":"Railway"}"#,                       // names are exact
        r#"{"computeProvider":"railway","resources":["kafka"]}"#, // unknown state fails closed
        r#"{"computeProvider":"railway","sharedBucket":"x"}"#,    // unknown field fails closed
        r#"{"resources":[]}"#,                                    // no provider
    ] {
        assert!(serde_json::from_str::<Manifest>(bad).is_err(), "{bad}");
    }
}

#[test]
fn same_tenant_same_tool_twice_gets_two_of_everything() {
    // Seed: "A tenant that deploys CRM twice gets two independent projects
    // with two independent databases."
    let m =
        Manifest::new(ComputeProvider::Railway, [ResourceKind::Database, ResourceKind::Redis, ResourceKind::Bucket]);
    let a = ResourcePlan::new(&dep("crm_1", "acme"), &m).unwrap();
    let b = ResourcePlan::new(&dep("crm_2", "acme"), &m).unwrap();
    check_disjoint([&a, &b]).unwrap();
    let redis = a.resources().iter().find(|r| r.system() == ResourceSystem::RailwayService).unwrap();
    assert_eq!(redis.name(), REDIS_SERVICE_NAME);
    assert_eq!(redis.scope(), Some(resource_name(a.deployment_id()).unwrap().as_str()));
    // Planning one deployment twice is itself a conflict.
    let err = check_disjoint([&a, &b, &a]).unwrap_err();
    assert_eq!(err, PlanConflict::DuplicateDeployment("crm_1".parse().unwrap()));
    assert_eq!(err.code(), "duplicate_deployment");
}

proptest! {
    /// The name decodes back to the id: the encoding has a left inverse,
    /// so it is injective.
    #[test]
    fn names_round_trip(d in plannable_deployment()) {
        let name = resource_name(d.id()).unwrap();
        prop_assert_eq!(deployment_id_from_resource_name(&name), Some(d.id().clone()));
    }

    /// Distinct ids, distinct names, including ids that differ only by
    /// case or by `_` versus `-`.
    #[test]
    fn distinct_ids_distinct_names(a in "[A-Za-z0-9_-]{1,45}", flips in prop::collection::vec(any::<prop::sample::Index>(), 1..4)) {
        let mut b = a.clone().into_bytes();
        for f in flips {
            let i = f.index(b.len());
            b[i] = match b[i] { b'_' => b'-', b'-' => b'_', c if c.is_ascii_alphabetic() => c ^ 0x20, c => c };
        }
        let b = String::from_utf8(b).unwrap();
        let (na, nb) = (resource_name(&a.parse().unwrap()).unwrap(), resource_name(&b.parse().unwrap()).unwrap());
        prop_assert_eq!(a == b, na == nb);
    }

    /// Every planned name is valid in its system, and names other than the
    /// Redis service decode to the plan's deployment.
    #[test]
    fn planned_names_are_valid_and_attributable(d in plannable_deployment(), m in plannable_manifest()) {
        let plan = ResourcePlan::new(&d, &m).unwrap();
        prop_assert_eq!(plan.tenant_id(), d.tenant_id());
        for r in plan.resources() {
            prop_assert!(r.system().is_valid_name(r.name()), "{:?} {:?}", r.system(), r.name());
            let owner = r.scope().unwrap_or(r.name());
            prop_assert_eq!(deployment_id_from_resource_name(owner), Some(d.id().clone()));
        }
        // The encoded name is valid in every system, so a new system with
        // these limits needs no new scheme.
        let name = resource_name(d.id()).unwrap();
        for s in all_systems().into_iter().filter(|s| *s != ResourceSystem::RailwayService) {
            prop_assert!(s.is_valid_name(&name));
        }
        let kinds: Vec<_> = m.resources().collect();
        let expected = match m.compute_provider() { ComputeProvider::Railway => 1 + kinds.len(), _ => 1 };
        prop_assert_eq!(plan.resources().len(), expected);
    }

    /// Planning refuses writable state exactly on edge and static tools.
    #[test]
    fn edge_state_is_refused_exactly(d in plannable_deployment(), m in manifest()) {
        let wants_state = m.resources().next().is_some();
        let r = ResourcePlan::new(&d, &m);
        prop_assert_eq!(r.is_err(), wants_state && !m.compute_provider().allows_writable_state());
    }

    /// No resource is shared by two deployments: random manifests over
    /// distinct deployments, several per tenant, same tool twice included.
    #[test]
    fn plans_never_share_a_resource(
        deps in prop::collection::btree_map("[A-Za-z0-9_-]{1,45}", (tenant_id(), plannable_manifest()), 1..12),
        twice in plannable_manifest(),
    ) {
        let mut plans = Vec::new();
        for (id, (tenant, m)) in &deps {
            plans.push(ResourcePlan::new(&Deployment::new(id.parse().unwrap(), tenant.clone()), m).unwrap());
        }
        // The first tenant deploys the same tool twice more, under fresh ids.
        let (_, (tenant, _)) = deps.iter().next().unwrap();
        for suffix in ["~1", "~2"] {
            let id = format!("{}{}", deps.keys().map(String::as_str).max().unwrap_or("x"), suffix.replace('~', "_"));
            if id.len() <= MAX_PLANNABLE_DEPLOYMENT_ID_LEN && !deps.contains_key(&id) {
                plans.push(ResourcePlan::new(&Deployment::new(id.parse().unwrap(), tenant.clone()), &twice).unwrap());
            }
        }
        prop_assert_eq!(check_disjoint(&plans), Ok(()));
    }
}

/// A provider's name is the manifest's `computeProvider` value: naming it
/// and serializing it agree, and the name parses back to the provider.
#[test]
fn compute_provider_names_are_the_manifest_values() {
    for (p, name) in [
        (ComputeProvider::Railway, "railway"),
        (ComputeProvider::CloudflareWorkers, "cloudflare-workers"),
        (ComputeProvider::CloudflarePages, "cloudflare-pages"),
    ] {
        assert_eq!(p.as_str(), name);
        assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<ComputeProvider>(&format!("\"{name}\"")).unwrap(), p);
    }
}

/// A resource's name is the manifest's `resources` value.
#[test]
fn resource_kind_names_are_the_manifest_values() {
    for (k, name) in
        [(ResourceKind::Database, "database"), (ResourceKind::Redis, "redis"), (ResourceKind::Bucket, "bucket")]
    {
        assert_eq!(k.as_str(), name);
        assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{name}\""));
    }
}

/// Each system's name rule, at its edges: a name one byte over the limit
/// would be refused (or truncated into a sibling's name) by the provider
/// that creates it, so the plan must never produce one.
#[test]
fn each_system_takes_names_up_to_its_own_limit() {
    for (system, max, min) in [
        (ResourceSystem::RailwayProject, 63, 1),
        (ResourceSystem::RailwayService, 32, 1),
        (ResourceSystem::NeonBranch, 63, 1),
        (ResourceSystem::R2Bucket, 63, 3),
        (ResourceSystem::CloudflareWorker, 63, 1),
        (ResourceSystem::CloudflarePagesProject, 58, 1),
    ] {
        assert_eq!(system.max_name_len(), max, "{system:?}");
        assert!(system.is_valid_name(&"a".repeat(max)), "{system:?} at its limit");
        assert!(!system.is_valid_name(&"a".repeat(max + 1)), "{system:?} over its limit");
        assert!(system.is_valid_name(&"a".repeat(min)), "{system:?} at its minimum");
        assert!(!system.is_valid_name(&"a".repeat(min - 1)), "{system:?} under its minimum");
        // Each row: a byte or an edge no system here accepts.
        for bad in ["-abc", "abc-", "ab_c", "Abc", "ab.c", "ab c", "abç"] {
            assert!(!system.is_valid_name(bad), "{system:?} took {bad:?}");
        }
        assert!(system.is_valid_name("a-1-b"), "{system:?}");
    }
}

/// The resource-name encoding written out: 6-bit symbols, read 5 bits at a
/// time into lowercase base32, the last group zero-padded.
fn encode_id(id: &str) -> String {
    const SYMBOLS: &[u8] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
    const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bits: Vec<u8> = id
        .bytes()
        .flat_map(|b| {
            let v = SYMBOLS.iter().position(|&s| s == b).unwrap() as u8;
            (0..6).rev().map(move |i| (v >> i) & 1)
        })
        .collect();
    let mut out = String::from("vd-");
    for chunk in bits.chunks(5) {
        let v = (0..5).fold(0usize, |v, i| v << 1 | usize::from(chunk.get(i).copied().unwrap_or(0)));
        out.push(char::from(BASE32[v]));
    }
    out
}

/// Only ids the planner would name decode back: a name that encodes a
/// longer (though valid) deployment id is not any planned resource's, and
/// attributing it to that deployment would let a crafted name pass an
/// audit.
#[test]
fn names_of_ids_too_long_to_plan_decode_to_nothing() {
    let longest = "d".repeat(MAX_PLANNABLE_DEPLOYMENT_ID_LEN);
    let id: DeploymentId = longest.parse().unwrap();
    assert_eq!(encode_id(&longest), resource_name(&id).unwrap(), "the written-out encoding is the planner's");
    assert_eq!(deployment_id_from_resource_name(&encode_id(&longest)), Some(id));
    for len in [MAX_PLANNABLE_DEPLOYMENT_ID_LEN + 1, 64] {
        let too_long = "d".repeat(len);
        assert!(too_long.parse::<DeploymentId>().is_ok(), "a valid id of {len} bytes");
        assert_eq!(deployment_id_from_resource_name(&encode_id(&too_long)), None, "{len} bytes");
    }
    assert_eq!(deployment_id_from_resource_name("vd-"), None);
    // One name per id. Names of 7 or 13 characters after the prefix are
    // no id's (ids of 5 and 10 bytes take 6 and 12, of 6 and 11 take 8 and
    // 14): a zero character appended there carries only padding bits and
    // must not decode to the shorter id.
    for id in ["d_abc", "d_abcdefgh"] {
        let name = resource_name(&id.parse().unwrap()).unwrap();
        assert_eq!(deployment_id_from_resource_name(&name).unwrap().as_str(), id);
        assert_eq!(deployment_id_from_resource_name(&format!("{name}a")), None, "{name}a");
    }
    // Elsewhere the longer name is another id's own: "d_1" then "-".
    let name = resource_name(&"d_1".parse().unwrap()).unwrap();
    assert_eq!(deployment_id_from_resource_name(&format!("{name}a")).unwrap().as_str(), "d_1-");
}
