//! The routing table in a real PostgreSQL (`sql/routes.sql`): the crate
//! decides, `vendo_routes_apply` writes the decision all or nothing.
//!
//! - differential: random assigns, renames, releases and legacy restores
//!   decided by `HostPolicy` over what PostgreSQL holds give the same
//!   answers and the same table as `model::RoutingTable`;
//! - the tombstone rule holds as a constraint even for a writer that
//!   bypasses the function;
//! - a role with `EXECUTE` on the two functions cannot touch the tables;
//! - under readers looking up the old and new keys while renames commit,
//!   no lookup that starts after a rename's commit sees the old key;
//! - two deployments racing for one free label: exactly one wins, the
//!   other is refused `taken`.
//!
//! With `CI=true` a missing PostgreSQL fails; elsewhere each test is
//! skipped with one line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "tenancy_pg_cluster.rs"]
mod pg;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use pg::{Cluster, Rng};
use postgres::{Client, NoTls};
use vendo_isolation::hosts::{
    LabelHolder, LegacyUse, POSTGRES_ROUTES_SCHEMA, RouteChange, Upstream, postgres_route_change,
    postgres_route_refusal,
};
use vendo_isolation::model::RoutingTable;
use vendo_isolation::{HostPolicy, RouteEntry, RouteKey};

fn start(test: &str) -> Option<Cluster> {
    let pg = Cluster::start_or_skip(test)?;
    pg.psql(&format!("BEGIN;\n{POSTGRES_ROUTES_SCHEMA}\nCOMMIT;\n"));
    Some(pg)
}

fn connect(pg: &Cluster) -> Client {
    Client::connect(&pg.conninfo(), NoTls).unwrap()
}

fn entry(tenant: &str, deployment: &str, tenant_slug: &str, deployment_slug: &str) -> RouteEntry {
    RouteEntry {
        tenant_id: tenant.parse().unwrap(),
        deployment_id: deployment.parse().unwrap(),
        tenant_slug: tenant_slug.parse().unwrap(),
        deployment_slug: deployment_slug.parse().unwrap(),
    }
}

fn upstream() -> Upstream {
    "http://127.0.0.1:9001".parse().unwrap()
}

fn apply(db: &mut Client, change: &RouteChange) -> String {
    let json = postgres_route_change(change, &upstream());
    db.query_one("SELECT vendo_routes_apply($1::text::jsonb)", &[&json]).unwrap().get(0)
}

/// What a proxy's admin path reads before deciding: who holds `key`.
fn holder(db: &mut Client, key: &RouteKey<'_>) -> LabelHolder {
    let live = db.query_opt("SELECT tenant_id, deployment_id FROM vendo_routes_lookup($1)", &[&key.as_str()]).unwrap();
    if let Some(row) = live {
        let (t, d): (String, String) = (row.get(0), row.get(1));
        return LabelHolder::Held { tenant_id: t.parse().unwrap(), deployment_id: d.parse().unwrap() };
    }
    let label =
        db.query_opt("SELECT tenant_id FROM vendo_route_labels WHERE route_key = $1", &[&key.as_str()]).unwrap();
    match label {
        Some(row) => LabelHolder::Tombstoned { tenant_id: row.get::<_, String>(0).parse().unwrap() },
        None => LabelHolder::Free,
    }
}

fn legacy_use(db: &mut Client, label: &str) -> LegacyUse {
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM vendo_route_labels WHERE position('.' in route_key) > 0 AND split_part(route_key, '.', 2) = $1",
            &[&label],
        )
        .unwrap()
        .get(0);
    if n > 0 { LegacyUse::TenantSlug } else { LegacyUse::None }
}

fn current(db: &mut Client, key: &RouteKey<'_>) -> Option<RouteEntry> {
    db.query_opt(
        "SELECT tenant_id, deployment_id, tenant_slug, deployment_slug FROM vendo_routes_lookup($1)",
        &[&key.as_str()],
    )
    .unwrap()
    .map(|r| entry(&r.get::<_, String>(0), &r.get::<_, String>(1), &r.get::<_, String>(2), &r.get::<_, String>(3)))
}

/// One write, as a platform's admin path asks it.
#[derive(Debug, Clone)]
enum Op {
    Assign(RouteEntry),
    Rename(String, RouteEntry),
    Release(String),
    RestoreLegacy(RouteEntry),
}

/// The SQL-backed store: decide with the crate over what PostgreSQL
/// holds, then apply; the answer as the model's error codes.
fn via_sql(db: &mut Client, policy: &HostPolicy, op: &Op) -> Result<String, String> {
    let refused = |answer: String| match postgres_route_refusal(&answer) {
        Ok(()) => Ok(()),
        Err(Some(e)) => Err(e.code().to_owned()),
        Err(None) => Err(answer),
    };
    match op {
        Op::Assign(e) => {
            let key = policy.single_level_key(&e.tenant_slug, &e.deployment_slug).map_err(|e| e.code().to_owned())?;
            let (h, l) = (holder(db, &key), legacy_use(db, key.as_str()));
            let change = policy.assign(e, &key, &h, l).map_err(|e| e.code().to_owned())?;
            refused(apply(db, &change))?;
            Ok(key.as_str().to_owned())
        }
        Op::Rename(old, renamed) => {
            let old = policy.parse(&format!("{old}.vendo.run")).unwrap().into_owned();
            let now = current(db, &old).ok_or("not_found")?;
            let new_key = policy
                .single_level_key(&renamed.tenant_slug, &renamed.deployment_slug)
                .map_err(|e| e.code().to_owned())?;
            let (h, l) = (holder(db, &new_key), legacy_use(db, new_key.as_str()));
            let change = policy.rename(&old, &now, renamed, &new_key, &h, l).map_err(|e| e.code().to_owned())?;
            refused(apply(db, &change))?;
            Ok(new_key.as_str().to_owned())
        }
        Op::Release(key) => {
            let key = policy.parse(&format!("{key}.vendo.run")).unwrap().into_owned();
            let now = current(db, &key).ok_or("not_found")?;
            let change = policy.release(&key, &now).map_err(|e| e.code().to_owned())?;
            refused(apply(db, &change))?;
            Ok(String::new())
        }
        Op::RestoreLegacy(e) => {
            let key = policy.legacy_key(&e.tenant_slug, &e.deployment_slug).map_err(|e| e.code().to_owned())?;
            let parent = policy.parse(&format!("{}.vendo.run", e.tenant_slug)).map(|k| current(db, &k).is_some());
            let change = policy
                .restore_legacy(e, &holder(db, &key), parent.unwrap_or(false))
                .map_err(|e| e.code().to_owned())?;
            refused(apply(db, &change))?;
            Ok(key.as_str().to_owned())
        }
    }
}

fn via_model(table: &mut RoutingTable, policy: &HostPolicy, op: &Op) -> Result<String, String> {
    let code = |e: vendo_isolation::model::RoutingError| e.code().to_owned();
    match op {
        Op::Assign(e) => table.assign(e.clone(), upstream()).map(|k| k.as_str().to_owned()).map_err(code),
        Op::Rename(old, renamed) => {
            let old = policy.parse(&format!("{old}.vendo.run")).unwrap().into_owned();
            table.rename(&old, renamed.clone()).map(|k| k.as_str().to_owned()).map_err(code)
        }
        Op::Release(key) => {
            let key = policy.parse(&format!("{key}.vendo.run")).unwrap().into_owned();
            table.release(&key).map(|_| String::new()).map_err(code)
        }
        Op::RestoreLegacy(e) => {
            table.restore_legacy(e.clone(), upstream()).map(|k| k.as_str().to_owned()).map_err(code)
        }
    }
}

/// Slugs chosen so that labels collide across tenants (`a-b` + `c` and
/// `a` + `b-c`), nest (`a-b` is a legacy tenant slug) and repeat.
const TENANTS: [(&str, &str); 4] = [("t_1", "a"), ("t_2", "a-b"), ("t_3", "b"), ("t_4", "c")];
const DEPLOYMENTS: [&str; 5] = ["c", "b-c", "b", "crm", "a"];

fn random_op(rng: &mut Rng, model: &RoutingTable, seen: &[String]) -> Op {
    let (t, ts) = TENANTS[(rng.next_u64() % 4) as usize];
    let ds = DEPLOYMENTS[(rng.next_u64() % 5) as usize];
    let d = format!("d_{}_{}", &t[2..], ds.replace('-', ""));
    let e = entry(t, &d, ts, ds);
    // Keys seen so far, live or not (a dead one is `not_found`).
    let old = (!seen.is_empty()).then(|| seen[(rng.next_u64() as usize) % seen.len()].clone());
    match (rng.next_u64() % 10, old) {
        (0..=3, _) | (_, None) => Op::Assign(e),
        (4..=5, Some(old)) => {
            // A rename keeps the tenant and deployment; mostly a new
            // deployment slug, sometimes another owner (refused).
            let policy = model.policy();
            let live = model.resolve(&policy.parse(&format!("{old}.vendo.run")).unwrap()).map(|r| r.entry().clone());
            match live {
                Some(now) if rng.next_u64() % 8 != 0 => {
                    Op::Rename(old, RouteEntry { deployment_slug: ds.parse().unwrap(), ..now })
                }
                _ => Op::Rename(old, e),
            }
        }
        (6..=7, Some(old)) => Op::Release(old),
        _ => Op::RestoreLegacy(e),
    }
}

fn sql_table(db: &mut Client) -> (BTreeMap<String, (String, String)>, BTreeMap<String, String>) {
    let routes: BTreeMap<String, (String, String)> = db
        .query("SELECT route_key, tenant_id, deployment_id FROM vendo_routes", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let labels = db.query("SELECT route_key, tenant_id FROM vendo_route_labels", &[]).unwrap();
    let tombstones = labels
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .filter(|(k, _)| !routes.contains_key(k))
        .collect();
    (routes, tombstones)
}

fn model_table(
    table: &RoutingTable,
    policy: &HostPolicy,
    keys: &[String],
) -> (BTreeMap<String, (String, String)>, BTreeMap<String, String>) {
    let routes: BTreeMap<String, (String, String)> = table
        .routes()
        .map(|(k, r)| (k.as_str().to_owned(), (r.tenant_id().to_string(), r.entry().deployment_id.to_string())))
        .collect();
    let mut tombstones = BTreeMap::new();
    for k in keys {
        let key = policy.parse(&format!("{k}.vendo.run")).unwrap().into_owned();
        if let LabelHolder::Tombstoned { tenant_id } = table.holder(&key) {
            tombstones.insert(k.clone(), tenant_id.to_string());
        }
    }
    (routes, tombstones)
}

#[test]
fn sql_routes_agree_with_the_model_on_random_changes() {
    let Some(pg) = start("sql_routes_agree_with_the_model_on_random_changes") else { return };
    let mut db = connect(&pg);
    let policy = HostPolicy::default();
    let mut model = RoutingTable::new(policy.clone());
    let mut rng = Rng(0x5eed_2026);
    let mut seen: Vec<String> = Vec::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..1_500 {
        let op = random_op(&mut rng, &model, &seen);
        let (sql, ours) = (via_sql(&mut db, &policy, &op), via_model(&mut model, &policy, &op));
        assert_eq!(sql, ours, "op {i}: {op:?}");
        if let Ok(k) = &ours {
            if !k.is_empty() && !seen.contains(k) {
                seen.push(k.clone());
            }
        }
        *outcomes.entry(ours.map_or_else(|e| e, |_| "ok".to_owned())).or_default() += 1;
        if i % 100 == 99 {
            assert_eq!(sql_table(&mut db), model_table(&model, &policy, &seen), "after op {i}");
        }
    }
    println!("outcomes: {outcomes:?}");
    for code in ["ok", "taken", "tombstoned", "shadows_legacy", "not_found", "owner_changed"] {
        assert!(outcomes.get(code).copied().unwrap_or(0) > 0, "no {code} in {outcomes:?}");
    }
}

#[test]
fn the_tombstone_rule_binds_writers_that_bypass_the_function() {
    let Some(pg) = start("the_tombstone_rule_binds_writers_that_bypass_the_function") else { return };
    let mut db = connect(&pg);
    let policy = HostPolicy::default();
    let acme = entry("t_1", "d_1", "acme", "crm");
    let key = policy.single_level_key(&acme.tenant_slug, &acme.deployment_slug).unwrap();
    assert_eq!(apply(&mut db, &policy.assign(&acme, &key, &LabelHolder::Free, LegacyUse::None).unwrap()), "applied");
    let release = policy.release(&key, &acme).unwrap();
    assert_eq!(apply(&mut db, &release), "applied");
    // Another tenant's route under the freed key, written directly.
    let err = db
        .execute(
            "INSERT INTO vendo_routes VALUES ('acme-crm', 't_2', 'd_2', 'acme', 'crm', 'http://127.0.0.1:9002')",
            &[],
        )
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "23503", "{err}");
    // Moving the label to the other tenant first.
    let err =
        db.execute("UPDATE vendo_route_labels SET tenant_id = 't_2' WHERE route_key = 'acme-crm'", &[]).unwrap_err();
    assert_eq!(err.code().unwrap().code(), vendo_isolation::hosts::SQLSTATE_LABEL_MOVED, "{err}");
    // An entry whose slugs do not rebuild its key.
    db.batch_execute("INSERT INTO vendo_route_labels VALUES ('acme-x', 't_1')").unwrap();
    let err = db
        .execute("INSERT INTO vendo_routes VALUES ('acme-x', 't_1', 'd_1', 'acme', 'y', 'http://a')", &[])
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "23514", "{err}");
    // Through the function, the other tenant is refused by name.
    let globex = entry("t_2", "d_2", "acme", "crm");
    let stale = policy.assign(&globex, &key, &LabelHolder::Free, LegacyUse::None).unwrap();
    assert_eq!(apply(&mut db, &stale), "tombstoned");
    assert_eq!(holder(&mut db, &key), LabelHolder::Tombstoned { tenant_id: "t_1".parse().unwrap() });
    // Its own tenant reclaims it.
    let again = entry("t_1", "d_9", "acme", "crm");
    let change = policy.assign(&again, &key, &holder(&mut db, &key), LegacyUse::None).unwrap();
    assert_eq!(apply(&mut db, &change), "applied");
}

#[test]
fn the_proxy_role_reaches_routes_only_through_the_functions() {
    let Some(pg) = start("the_proxy_role_reaches_routes_only_through_the_functions") else { return };
    pg.psql(
        "CREATE ROLE vendo_proxy LOGIN;
         GRANT EXECUTE ON FUNCTION vendo_routes_lookup(text), vendo_routes_apply(jsonb) TO vendo_proxy;",
    );
    let mut proxy = Client::connect(&pg.conninfo_as("vendo_proxy"), NoTls).unwrap();
    let policy = HostPolicy::default();
    let acme = entry("t_1", "d_1", "acme", "crm");
    let key = policy.single_level_key(&acme.tenant_slug, &acme.deployment_slug).unwrap();
    let change = policy.assign(&acme, &key, &LabelHolder::Free, LegacyUse::None).unwrap();
    assert_eq!(apply(&mut proxy, &change), "applied");
    assert!(current(&mut proxy, &key).is_some());
    for sql in [
        "SELECT * FROM vendo_routes",
        "SELECT * FROM vendo_route_labels",
        "INSERT INTO vendo_route_labels VALUES ('x-y', 't_9')",
        "UPDATE vendo_routes SET tenant_id = 't_9'",
        "DELETE FROM vendo_routes",
        "DELETE FROM vendo_route_labels",
        "TRUNCATE vendo_route_labels",
    ] {
        let err = proxy.batch_execute(sql).unwrap_err();
        assert_eq!(err.code().unwrap().code(), "42501", "{sql}: {err}");
    }
}

#[test]
fn no_lookup_after_a_rename_commits_sees_the_old_key() {
    let Some(pg) = start("no_lookup_after_a_rename_commits_sees_the_old_key") else { return };
    let policy = HostPolicy::default();
    const RENAMES: usize = 40;
    let keys: Vec<String> = (0..=RENAMES).map(|i| format!("acme-crm{i}")).collect();
    let mut db = connect(&pg);
    let first = entry("t_1", "d_1", "acme", "crm0");
    let key0 = policy.single_level_key(&first.tenant_slug, &first.deployment_slug).unwrap();
    assert_eq!(apply(&mut db, &policy.assign(&first, &key0, &LabelHolder::Free, LegacyUse::None).unwrap()), "applied");

    // `committed` is the number of renames whose COMMIT has returned.
    let committed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    // Lookups so far, of renamed-away keys and of the current one.
    let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let readers: Vec<_> = (0..8)
        .map(|r| {
            let (committed, done, keys, info) = (committed.clone(), done.clone(), keys.clone(), pg.conninfo());
            let counts = counts.clone();
            std::thread::spawn(move || {
                let mut db = Client::connect(&info, NoTls).unwrap();
                let mut rng = Rng(r);
                let (mut old_reads, mut current_hits) = (0u64, 0u64);
                while !done.load(Ordering::SeqCst) {
                    let before = committed.load(Ordering::SeqCst);
                    // Any key renamed away at or before `before`, and the
                    // current one.
                    let j = (rng.next_u64() as usize) % (before + 1);
                    let row = db.query_opt("SELECT deployment_slug FROM vendo_routes_lookup($1)", &[&keys[j]]).unwrap();
                    if j < before {
                        old_reads += 1;
                        counts[0].fetch_add(1, Ordering::SeqCst);
                        assert!(row.is_none(), "reader {r} saw {} after rename {before} committed", keys[j]);
                    } else if row.is_some() {
                        current_hits += 1;
                        counts[1].fetch_add(1, Ordering::SeqCst);
                    }
                }
                (old_reads, current_hits)
            })
        })
        .collect();
    for (i, old) in keys.iter().take(RENAMES).enumerate() {
        let old = policy.parse(&format!("{old}.vendo.run")).unwrap().into_owned();
        let now = current(&mut db, &old).unwrap();
        let renamed = entry("t_1", "d_1", "acme", &format!("crm{}", i + 1));
        let new_key = policy.single_level_key(&renamed.tenant_slug, &renamed.deployment_slug).unwrap();
        let change = policy.rename(&old, &now, &renamed, &new_key, &LabelHolder::Free, LegacyUse::None).unwrap();
        assert_eq!(apply(&mut db, &change), "applied");
        committed.store(i + 1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // On a loaded machine the readers may have done few lookups by now;
    // they go on reading the settled state until both kinds are plentiful
    // (bounded, so a stuck reader still fails the test below).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while (counts[0].load(Ordering::SeqCst) <= 100 || counts[1].load(Ordering::SeqCst) <= 100)
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    done.store(true, Ordering::SeqCst);
    let (mut old_reads, mut hits) = (0, 0);
    for r in readers {
        let (o, h) = r.join().unwrap();
        old_reads += o;
        hits += h;
    }
    println!("{old_reads} lookups of renamed-away keys found nothing; {hits} found the current key");
    assert!(old_reads > 100 && hits > 100, "the readers overlapped the renames: {old_reads} old, {hits} current");
    for (i, k) in keys.iter().enumerate() {
        let found = db.query_opt("SELECT 1 FROM vendo_routes_lookup($1)", &[k]).unwrap();
        assert_eq!(found.is_some(), i == RENAMES, "{k}");
    }
}

#[test]
fn two_deployments_racing_for_one_free_label_one_wins() {
    let Some(pg) = start("two_deployments_racing_for_one_free_label_one_wins") else { return };
    let policy = HostPolicy::default();
    let mut db = connect(&pg);
    const ROUNDS: usize = 60;
    let mut wins = [0usize; 2];
    for round in 0..ROUNDS {
        // `a-b` + `cN` and `a` + `b-cN`: two tenants, one label; every
        // third round the rivals are two deployments of one tenant.
        let same_tenant = round % 3 == 0;
        let rivals = [
            entry("t_ab", &format!("d_x{round}"), "a-b", &format!("c{round}")),
            if same_tenant {
                entry("t_ab", &format!("d_y{round}"), "a-b", &format!("c{round}"))
            } else {
                entry("t_a", &format!("d_y{round}"), "a", &format!("b-c{round}"))
            },
        ];
        let key = policy.single_level_key(&rivals[0].tenant_slug, &rivals[0].deployment_slug).unwrap();
        // Both decide on the same read: the label is free.
        let h = holder(&mut db, &key);
        assert_eq!(h, LabelHolder::Free);
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = rivals
            .iter()
            .map(|e| {
                let change = policy.assign(e, &key, &h, LegacyUse::None).unwrap();
                let (barrier, info) = (barrier.clone(), pg.conninfo());
                std::thread::spawn(move || {
                    let mut db = Client::connect(&info, NoTls).unwrap();
                    barrier.wait();
                    apply(&mut db, &change)
                })
            })
            .collect();
        let answers: Vec<String> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let winner =
            answers.iter().position(|a| a == "applied").unwrap_or_else(|| panic!("round {round}: {answers:?}"));
        assert_eq!(answers[1 - winner], "taken", "round {round}: {answers:?}");
        assert_eq!(current(&mut db, &key).unwrap(), rivals[winner], "round {round}: the winner's entry is live");
        wins[winner] += 1;
    }
    println!("first racer won {} rounds, second {}", wins[0], wins[1]);
}
