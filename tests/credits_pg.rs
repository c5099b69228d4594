//! The credit ledger of SPEC §9.1 in a real PostgreSQL (`sql/credits.sql`).
//!
//! - differential: seeded random sequences of top-ups, reserves, retries,
//!   posts above and below the hold, voids and expiries at and around
//!   `expires_at` give the same answer from the SQL functions as from the
//!   crate's `model::Ledger` after every operation, and the same balances;
//! - concurrency: 16 connections race reserves, retries of one id, posts,
//!   voids and sweepers on hot tenants with small balances, and a checker
//!   proves no overdraft, conservation, each hold resolved once, no retry
//!   held twice and no tenant's operation touching another's balance;
//! - the checker catches a read-then-write reserve (the mutant is kept as
//!   a test of the test);
//! - a role with `EXECUTE` on the six functions cannot touch the tables,
//!   and the table constraints refuse what a buggy writer would do;
//! - the runner's `schema` op loads into an empty database in one go.
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

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use pg::{Cluster, Rng};
use postgres::{Client, NoTls};
use vendo_isolation::credits::{
    LedgerReply, MicroCredits, ModelPrice, POSTGRES_CREDITS_SCHEMA, RateTable, RateTableVersion, ReserveError,
    ReserveRequest, SQLSTATE_HOLD_RESOLVED, SettlementKind,
};
use vendo_isolation::model::{Ledger, ReservationStatus, Reserved, TopUp, TopUpError};
use vendo_isolation::{TenantId, Timestamp};

fn start(test: &str) -> Option<Cluster> {
    let pg = Cluster::start_or_skip(test)?;
    pg.psql(&format!("BEGIN;\n{POSTGRES_CREDITS_SCHEMA}\nCOMMIT;\n"));
    Some(pg)
}

fn connect(pg: &Cluster) -> Client {
    Client::connect(&pg.conninfo(), NoTls).unwrap()
}

// ---- the ledger functions, called as a proxy calls them ----

fn top_up(db: &mut Client, t: &str, id: &str, amount: i64) -> Result<String, postgres::Error> {
    db.query_one("SELECT vendo_credits_top_up($1, $2, $3)", &[&t, &id, &amount]).map(|r| r.get(0))
}

fn reserve(db: &mut Client, t: &str, id: &str, amount: i64, ttl: i32, now: i64) -> Result<String, postgres::Error> {
    db.query_one("SELECT vendo_credits_reserve($1, $2, $3, $4, $5)", &[&t, &id, &amount, &ttl, &now]).map(|r| r.get(0))
}

fn post(db: &mut Client, t: &str, id: &str, actual: i64, now: i64) -> Result<String, postgres::Error> {
    db.query_one("SELECT vendo_credits_post($1, $2, $3, $4)", &[&t, &id, &actual, &now]).map(|r| r.get(0))
}

fn void(db: &mut Client, t: &str, id: &str, now: i64) -> Result<String, postgres::Error> {
    db.query_one("SELECT vendo_credits_void($1, $2, $3)", &[&t, &id, &now]).map(|r| r.get(0))
}

fn expire(db: &mut Client, max_rows: i32, now: i64) -> Result<i32, postgres::Error> {
    db.query_one("SELECT vendo_credits_expire($1, $2)", &[&max_rows, &now]).map(|r| r.get(0))
}

/// (credited, pending, spent, available)
fn balance(db: &mut Client, t: &str) -> (i64, i64, i64, i64) {
    let r = db.query_one("SELECT credited, pending, spent, available FROM vendo_credits_balance($1)", &[&t]).unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

// ---- the model, driven with amounts ----

/// The crate's `Ledger` reached through SPEC §9.1's arguments: a rate
/// table of one model at one micro-credit per input token and nothing per
/// output token prices a request of `amount` input tokens at `amount`.
struct Model {
    ledger: Ledger,
    table: RateTable,
    handles: BTreeMap<(String, String), vendo_isolation::credits::Reservation>,
}

impl Model {
    fn new() -> Self {
        let price = ModelPrice::per_million_tokens(MicroCredits::from_micros(1_000_000), MicroCredits::ZERO);
        let table =
            RateTable::from_rows(RateTableVersion::new(1), [("openai".parse().unwrap(), "m".parse().unwrap(), price)])
                .unwrap();
        Self { ledger: Ledger::new(), table, handles: BTreeMap::new() }
    }

    fn request(amount: u64) -> ReserveRequest {
        ReserveRequest::new("openai".parse().unwrap(), "m".parse().unwrap(), amount, 0)
    }

    fn top_up(&mut self, t: &str, id: &str, amount: i64) -> LedgerReply {
        let r = self.ledger.top_up(&tenant(t), id.parse().unwrap(), MicroCredits::from_micros(amount as u64));
        match r {
            Ok(TopUp::Applied) => LedgerReply::Credited,
            Ok(TopUp::Replay) => LedgerReply::Duplicate,
            Err(TopUpError::IdReused) => LedgerReply::IdReused,
            other => panic!("top-up {other:?}"),
        }
    }

    fn reserve(&mut self, t: &str, id: &str, amount: i64, ttl: i32, now: i64) -> LedgerReply {
        // The SQL function's argument check, before any ledger work.
        if amount <= 0 || ttl <= 0 {
            return LedgerReply::BadRequest;
        }
        let r = self.ledger.reserve(
            &tenant(t),
            id.parse().unwrap(),
            &self.table,
            &Self::request(amount as u64),
            at(now),
            ttl as u32,
        );
        match r {
            Ok(Reserved::New(h)) => {
                assert_eq!(h.amount().micros(), amount as u64);
                self.handles.insert((t.to_owned(), id.to_owned()), h);
                LedgerReply::Reserved
            }
            Ok(Reserved::Replay(_)) => LedgerReply::Duplicate,
            Err(ReserveError::IdReused) => LedgerReply::IdReused,
            Err(ReserveError::InsufficientCredits { .. }) => LedgerReply::InsufficientCredits,
            other => panic!("reserve {other:?}"),
        }
    }

    /// Post (`Some(actual)`) or void (`None`).
    fn resolve(&mut self, t: &str, id: &str, actual: Option<i64>, now: i64) -> LedgerReply {
        match self.ledger.status(&tenant(t), &id.parse().unwrap()) {
            None | Some(ReservationStatus::Refused(_)) => return LedgerReply::NotFound,
            Some(ReservationStatus::Resolved(_)) => return LedgerReply::AlreadyResolved,
            Some(ReservationStatus::Pending { .. }) => {}
            Some(other) => panic!("status {other:?}"),
        }
        let h = self.handles.remove(&(t.to_owned(), id.to_owned())).expect("a pending hold has its handle");
        let s = match actual {
            Some(a) => self.ledger.post(h, MicroCredits::from_micros(a as u64), at(now)),
            None => self.ledger.void(h, at(now)),
        }
        .unwrap();
        match s.kind() {
            SettlementKind::Posted if s.overrun().is_some() => LedgerReply::PostedCapped,
            SettlementKind::Posted => LedgerReply::Posted,
            SettlementKind::Voided => LedgerReply::Voided,
            SettlementKind::Expired => LedgerReply::Expired,
            other => panic!("settlement {other:?}"),
        }
    }

    fn expire(&mut self, now: i64) -> i32 {
        let released = self.ledger.expire_due(at(now));
        for s in &released {
            self.handles.remove(&(s.tenant().to_string(), s.id().to_string()));
        }
        i32::try_from(released.len()).unwrap()
    }

    fn balance(&self, t: &str) -> (i64, i64, i64, i64) {
        self.ledger.balance(&tenant(t)).map_or((0, 0, 0, 0), |b| {
            let (a, p, s) = (b.available().micros() as i64, b.pending().micros() as i64, b.spent().micros() as i64);
            (a + p + s, p, s, a)
        })
    }
}

fn tenant(t: &str) -> TenantId {
    t.parse().unwrap()
}

fn at(now: i64) -> Timestamp {
    Timestamp::from_unix_seconds(now as u64).unwrap()
}

const TENANTS: [&str; 4] = ["t_0", "t_1", "t_2", "t_3"];

#[test]
fn sql_ledger_matches_the_model_over_random_sequences() {
    let Some(pg) = start("sql_ledger_matches_the_model_over_random_sequences") else { return };
    let mut db = connect(&pg);
    let mut model = Model::new();
    let mut rng = Rng(0x5eed_1ed9_e700_0001);
    let mut now: i64 = 1_700_000_000;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    const OPS: usize = 12_000;
    for step in 0..OPS {
        // The clock stands still or moves one second, so posts, voids and
        // sweeps land before, at and after expires_at.
        if rng.next_u64() % 4 == 0 {
            now += 1;
        }
        let t = rng.pick(&TENANTS);
        let roll = rng.next_u64() % 100;
        let (what, got, want) = if roll < 12 {
            // Ids from a window that slides with the sequence: fresh ids
            // keep coming, and recent ones are retried.
            let id = format!("tu{}", step / 200 + (rng.next_u64() % 4) as usize);
            let amount = [0, 5, 20, 50, 100][(rng.next_u64() % 5) as usize];
            (
                format!("top_up {t} {id} {amount}"),
                top_up(&mut db, t, &id, amount).unwrap(),
                model.top_up(t, &id, amount),
            )
        } else if roll < 52 {
            let id = format!("r{}", step / 30 + (rng.next_u64() % 10) as usize);
            // Mostly the same amount per id (retries are duplicates), now
            // and then another (id_reused), rarely nonsense (bad_request).
            let amount = match rng.next_u64() % 20 {
                0 => -((rng.next_u64() % 3) as i64),
                1 => (rng.next_u64() % 90) as i64 + 1,
                _ => (id[1..].parse::<i64>().unwrap() % 30) + 1,
            };
            let ttl = match rng.next_u64() % 25 {
                0 => 0,
                1 => -1,
                _ => (rng.next_u64() % 4) as i32 + 1,
            };
            let got = reserve(&mut db, t, &id, amount, ttl, now).unwrap();
            (format!("reserve {t} {id} {amount} ttl {ttl}"), got, model.reserve(t, &id, amount, ttl, now))
        } else if roll < 72 {
            let id = format!("r{}", step / 30 + (rng.next_u64() % 10) as usize);
            let actual = (rng.next_u64() % 45) as i64;
            let got = post(&mut db, t, &id, actual, now).unwrap();
            (format!("post {t} {id} {actual}"), got, model.resolve(t, &id, Some(actual), now))
        } else if roll < 90 {
            let id = format!("r{}", step / 30 + (rng.next_u64() % 10) as usize);
            (format!("void {t} {id}"), void(&mut db, t, &id, now).unwrap(), model.resolve(t, &id, None, now))
        } else {
            let got = expire(&mut db, 10_000, now).unwrap();
            let want = model.expire(now);
            assert_eq!(got, want, "step {step}: expire at {now}");
            *counts.entry("expire".into()).or_default() += 1;
            for t in TENANTS {
                assert_eq!(balance(&mut db, t), model.balance(t), "step {step}: {t} after expire");
            }
            continue;
        };
        assert_eq!(LedgerReply::from_code(&got), Some(want), "step {step}: {what} at {now}: sql {got}, model {want}");
        *counts.entry(got).or_default() += 1;
        assert_eq!(balance(&mut db, t), model.balance(t), "step {step}: {t} after {what}");
    }
    for t in TENANTS {
        assert_eq!(balance(&mut db, t), model.balance(t));
    }
    model.ledger.check_invariants().unwrap();
    println!("{OPS} operations: {counts:?}");
    // The sequence reached every answer, or it proves less than it says.
    for code in [
        "credited",
        "duplicate",
        "id_reused",
        "reserved",
        "insufficient_credits",
        "bad_request",
        "posted",
        "posted_capped",
        "voided",
        "not_found",
        "already_resolved",
        "expired",
    ] {
        assert!(counts.get(code).copied().unwrap_or(0) >= 5, "{code} reached only {:?} times", counts.get(code));
    }
}

// ---- concurrency ----

/// What one call answered, as the caller saw it.
#[derive(Debug, Clone)]
enum Call {
    TopUp { t: String, amount: i64, got: String },
    Reserve { t: String, id: String, amount: i64, got: String },
    Resolve { t: String, id: String, actual: Option<i64>, got: String },
    Expire { got: i32 },
    Failed { what: String, error: String },
}

const HOT: [&str; 3] = ["t_hot0", "t_hot1", "t_hot2"];

/// The amount every reserve of `id` asks for, so concurrent retries of
/// one id are true retries.
fn amount_of(id: &str) -> i64 {
    (id.bytes().map(i64::from).sum::<i64>() % 17) + 3
}

/// One consistent snapshot of the tables, checked against themselves:
/// no negative available balance, conservation, pending = unresolved
/// holds, spent = posted debits, credited = applied top-ups.
fn snapshot_violations(db: &mut Client) -> Vec<String> {
    let mut tx = db.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).start().unwrap();
    let rows = tx
        .query(
            "SELECT b.tenant_id, b.credited, b.pending, b.spent, b.available,
                    coalesce((SELECT sum(amount) FROM vendo_credit_top_ups u WHERE u.tenant_id = b.tenant_id), 0)::bigint,
                    coalesce((SELECT sum(amount) FROM vendo_credit_holds h
                               WHERE h.tenant_id = b.tenant_id AND h.state = 'pending'), 0)::bigint,
                    coalesce((SELECT sum(debit) FROM vendo_credit_holds h
                               WHERE h.tenant_id = b.tenant_id AND h.state = 'posted'), 0)::bigint
               FROM vendo_credit_balances b ORDER BY b.tenant_id",
            &[],
        )
        .unwrap();
    tx.commit().unwrap();
    let mut out = Vec::new();
    for r in rows {
        let (t, credited, pending, spent, available): (String, i64, i64, i64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let (top_ups, held, debited): (i64, i64, i64) = (r.get(5), r.get(6), r.get(7));
        if available < 0 || credited - held - debited < 0 {
            out.push(format!("{t}: overdrawn (available {available}, by the holds {})", credited - held - debited));
        }
        if credited != available + pending + spent {
            out.push(format!("{t}: credited {credited} != {available} + {pending} + {spent}"));
        }
        if pending != held {
            out.push(format!("{t}: pending {pending} but unresolved holds sum to {held}"));
        }
        if spent != debited {
            out.push(format!("{t}: spent {spent} but posted debits sum to {debited}"));
        }
        if credited != top_ups {
            out.push(format!("{t}: credited {credited} but top-ups sum to {top_ups}"));
        }
    }
    out
}

/// Races `workers` connections over the hot tenants, then checks the
/// store against the callers' own accounts. Returns every violation.
fn race(pg: &Cluster, workers: usize, ops: usize, seed: u64) -> (Vec<String>, BTreeMap<String, usize>) {
    {
        let mut db = connect(pg);
        for t in HOT {
            // Small balances: the reserves outrun them all the time.
            top_up(&mut db, t, "seed", 60).unwrap();
        }
    }
    let clock = Arc::new(AtomicI64::new(1_700_000_000));
    let start = Arc::new(Barrier::new(workers + 1));
    let done = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let monitor = {
        let (mut db, done, samples) = (connect(pg), done.clone(), samples.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                samples.lock().unwrap().extend(snapshot_violations(&mut db));
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            n
        })
    };
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (mut db, clock, start) = (connect(pg), clock.clone(), start.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9));
                let mut log = Vec::with_capacity(ops);
                start.wait();
                for i in 0..ops {
                    let now = if rng.next_u64() % 100 == 0 {
                        clock.fetch_add(1, Ordering::Relaxed) + 1
                    } else {
                        clock.load(Ordering::Relaxed)
                    };
                    let t = rng.pick(&HOT).to_owned();
                    // A small window of ids that all workers slide through
                    // together: the same id is reserved, retried, posted and
                    // voided concurrently.
                    let id = format!("r{}", i / 4 + (rng.next_u64() % 6) as usize);
                    let roll = rng.next_u64() % 100;
                    let call = if roll < 2 {
                        let (id, amount) = (format!("w{w}_{i}"), 7);
                        let r = top_up(&mut db, &t, &id, amount);
                        r.map(|got| Call::TopUp { t: t.clone(), amount, got })
                            .map_err(|e| (format!("top_up {t} {id}"), e))
                    } else if roll < 50 {
                        // Now and then a conflicting amount for the same id.
                        let amount = if rng.next_u64() % 25 == 0 { amount_of(&id) + 1 } else { amount_of(&id) };
                        let ttl = (rng.next_u64() % 3) as i32 + 1;
                        reserve(&mut db, &t, &id, amount, ttl, now)
                            .map(|got| Call::Reserve { t: t.clone(), id: id.clone(), amount, got })
                            .map_err(|e| (format!("reserve {t} {id}"), e))
                    } else if roll < 75 {
                        let actual = (rng.next_u64() % 25) as i64;
                        post(&mut db, &t, &id, actual, now)
                            .map(|got| Call::Resolve { t: t.clone(), id: id.clone(), actual: Some(actual), got })
                            .map_err(|e| (format!("post {t} {id}"), e))
                    } else if roll < 95 {
                        void(&mut db, &t, &id, now)
                            .map(|got| Call::Resolve { t: t.clone(), id: id.clone(), actual: None, got })
                            .map_err(|e| (format!("void {t} {id}"), e))
                    } else {
                        expire(&mut db, 4, now).map(|got| Call::Expire { got }).map_err(|e| ("expire".to_owned(), e))
                    };
                    log.push(call.unwrap_or_else(|(what, e)| Call::Failed { what, error: e.to_string() }));
                }
                log
            })
        })
        .collect();
    start.wait();
    let logs: Vec<Call> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    let sampled = monitor.join().unwrap();

    let mut db = connect(pg);
    let mut violations: Vec<String> = samples.lock().unwrap().clone();
    violations.extend(snapshot_violations(&mut db));
    // Release what is still held, so the end state is fully accounted.
    let swept_at_end = expire(&mut db, 1_000_000, i64::MAX / 2).unwrap_or_else(|e| {
        violations.push(format!("the final sweep failed: {e}"));
        0
    });
    violations.extend(snapshot_violations(&mut db));

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    // The callers' own accounts, per tenant.
    let mut credited: BTreeMap<&str, i64> = HOT.iter().map(|t| (*t, 60)).collect();
    let mut reserved: BTreeMap<(String, String), i64> = BTreeMap::new();
    // (tenant, id) → every resolving answer and the actual posted.
    type Outcomes = Vec<(String, Option<i64>)>;
    let mut resolved: BTreeMap<(String, String), Outcomes> = BTreeMap::new();
    let mut swept = 0;
    for call in &logs {
        match call {
            Call::TopUp { t, amount, got, .. } => {
                *counts.entry(format!("top_up:{got}")).or_default() += 1;
                if got == "credited" {
                    *credited.get_mut(t.as_str()).unwrap() += amount;
                } else {
                    violations.push(format!("a fresh top-up id answered {got}"));
                }
            }
            Call::Reserve { t, id, amount, got } => {
                *counts.entry(format!("reserve:{got}")).or_default() += 1;
                if got == "reserved" && reserved.insert((t.clone(), id.clone()), *amount).is_some() {
                    violations.push(format!("{t} {id}: a retried reserve held twice"));
                }
            }
            Call::Resolve { t, id, actual, got } => {
                *counts.entry(format!("{}:{got}", if actual.is_some() { "post" } else { "void" })).or_default() += 1;
                if matches!(got.as_str(), "posted" | "posted_capped" | "voided" | "expired") {
                    resolved.entry((t.clone(), id.clone())).or_default().push((got.clone(), *actual));
                }
            }
            Call::Expire { got } => swept += got,
            Call::Failed { what, error } => violations.push(format!("{what} failed: {error}")),
        }
    }
    let mut spent: BTreeMap<&str, i64> = HOT.iter().map(|t| (*t, 0)).collect();
    let mut expired_by_calls = 0;
    for (key, outcomes) in &resolved {
        if outcomes.len() > 1 {
            violations.push(format!("{key:?}: resolved {} times: {outcomes:?}", outcomes.len()));
        }
        let Some(&amount) = reserved.get(key) else {
            violations.push(format!("{key:?}: resolved but never reserved"));
            continue;
        };
        match &outcomes[0] {
            (got, Some(actual)) if got.starts_with("posted") => {
                *spent.get_mut(key.0.as_str()).unwrap() += (*actual).min(amount);
            }
            (got, _) if got == "expired" => expired_by_calls += 1,
            _ => {}
        }
    }
    // Each reservation ended exactly once: by a post or void, or by a sweep.
    let holds: BTreeMap<String, i64> = db
        .query("SELECT state, count(*) FROM vendo_credit_holds WHERE state <> 'refused' GROUP BY state", &[])
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let live_holds: i64 = holds.values().sum();
    if live_holds != reserved.len() as i64 {
        violations.push(format!("{live_holds} holds in the table, {} reserves answered reserved", reserved.len()));
    }
    let expired_rows = holds.get("expired").copied().unwrap_or(0);
    if expired_rows != i64::from(swept + swept_at_end) + expired_by_calls {
        violations.push(format!(
            "{expired_rows} expired holds, but sweeps released {} and calls answered expired {expired_by_calls}",
            swept + swept_at_end
        ));
    }
    // No operation of one tenant changed another's balance: every
    // tenant's store balance is exactly what its own calls add up to.
    for t in HOT {
        let want = (credited[t], 0, spent[t], credited[t] - spent[t]);
        let got = balance(&mut db, t);
        if got != want {
            violations.push(format!("{t}: store {got:?}, its own calls add up to {want:?}"));
        }
    }
    counts.insert("snapshots sampled".into(), sampled);
    (violations, counts)
}

#[test]
fn sixteen_connections_never_overdraw_or_resolve_twice() {
    let Some(pg) = start("sixteen_connections_never_overdraw_or_resolve_twice") else { return };
    let (violations, counts) = race(&pg, 16, 400, 0xc0ffee);
    println!("{counts:?}");
    assert!(violations.is_empty(), "{} violations:\n{}", violations.len(), violations.join("\n"));
    // The race produced the contention it is meant to test.
    for what in ["reserve:reserved", "reserve:duplicate", "reserve:insufficient_credits", "post:posted", "void:voided"]
    {
        assert!(counts.get(what).copied().unwrap_or(0) >= 10, "{what}: {counts:?}");
    }
    assert!(counts["snapshots sampled"] >= 3, "{counts:?}");
}

/// The reserve as a careless implementation writes it: read the balance,
/// decide, write back what it computed. At READ COMMITTED two of these
/// interleave and one's write overwrites the other's; the sleep only
/// widens the window so a short run shows it.
const READ_THEN_WRITE_RESERVE: &str = r#"
CREATE OR REPLACE FUNCTION vendo_credits_reserve(
    tenant_id text, reservation_id text, amount bigint, ttl_s integer, now_s bigint DEFAULT NULL
) RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    a bigint;
    p bigint;
BEGIN
    IF amount <= 0 OR ttl_s <= 0 THEN
        RETURN 'bad_request';
    END IF;
    INSERT INTO vendo_credit_holds AS h (tenant_id, reservation_id, amount, state, expires_at)
    VALUES (vendo_credits_reserve.tenant_id, vendo_credits_reserve.reservation_id, vendo_credits_reserve.amount,
            'pending', now_s + ttl_s)
    ON CONFLICT ON CONSTRAINT vendo_credit_holds_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    SELECT b.available, b.pending INTO a, p FROM vendo_credit_balances b
    WHERE b.tenant_id = vendo_credits_reserve.tenant_id;
    IF a IS NULL OR a < vendo_credits_reserve.amount THEN
        UPDATE vendo_credit_holds h SET state = 'refused'
        WHERE h.tenant_id = vendo_credits_reserve.tenant_id AND h.reservation_id = vendo_credits_reserve.reservation_id;
        RETURN 'insufficient_credits';
    END IF;
    PERFORM pg_sleep(0.002);
    UPDATE vendo_credit_balances b SET available = a - vendo_credits_reserve.amount, pending = p + vendo_credits_reserve.amount
    WHERE b.tenant_id = vendo_credits_reserve.tenant_id;
    RETURN 'reserved';
END;
$$;
"#;

#[test]
fn the_checker_catches_a_read_then_write_reserve() {
    let Some(pg) = start("the_checker_catches_a_read_then_write_reserve") else { return };
    pg.psql(READ_THEN_WRITE_RESERVE);
    let (violations, counts) = race(&pg, 16, 120, 0xbad);
    println!("{counts:?}\nfirst violations: {:?}", &violations[..violations.len().min(5)]);
    assert!(!violations.is_empty(), "the checker passed a reserve that loses updates");
}

// ---- privileges and constraints ----

const SIX_FUNCTIONS: &str = "vendo_credits_top_up(text, text, bigint), \
     vendo_credits_reserve(text, text, bigint, integer, bigint), vendo_credits_post(text, text, bigint, bigint), \
     vendo_credits_void(text, text, bigint), vendo_credits_expire(integer, bigint), vendo_credits_balance(text)";

fn sqlstate(r: Result<impl Sized, postgres::Error>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.code().map_or_else(|| e.to_string(), |c| c.code().to_owned()),
    }
}

#[test]
fn the_functions_are_the_proxy_roles_only_way_in() {
    let Some(pg) = start("the_functions_are_the_proxy_roles_only_way_in") else { return };
    pg.psql(&format!("CREATE ROLE vendo_proxy LOGIN; GRANT EXECUTE ON FUNCTION {SIX_FUNCTIONS} TO vendo_proxy;"));
    let mut proxy = Client::connect(&pg.conninfo_as("vendo_proxy"), NoTls).unwrap();
    // The way in works, with the database clock when now_s is omitted.
    assert_eq!(top_up(&mut proxy, "t_a", "pi_1", 100).unwrap(), "credited");
    let r: String = proxy.query_one("SELECT vendo_credits_reserve('t_a', 'r1', 30, 60)", &[]).unwrap().get(0);
    assert_eq!(r, "reserved");
    let r: String = proxy.query_one("SELECT vendo_credits_post('t_a', 'r1', 10)", &[]).unwrap().get(0);
    assert_eq!(r, "posted");
    let n: i32 = proxy.query_one("SELECT vendo_credits_expire(10)", &[]).unwrap().get(0);
    assert_eq!(n, 0);
    let r: String = proxy.query_one("SELECT vendo_credits_void('t_a', 'r1')", &[]).unwrap().get(0);
    assert_eq!(r, "already_resolved");
    assert_eq!(balance(&mut proxy, "t_a"), (100, 0, 10, 90));
    // Nothing else: no table, no internal helper.
    for sql in [
        "UPDATE vendo_credit_balances SET available = 1000000, credited = 1000010 WHERE tenant_id = 't_a'",
        "INSERT INTO vendo_credit_top_ups VALUES ('t_a', 'free', 1000000)",
        "UPDATE vendo_credit_holds SET state = 'voided'",
        "DELETE FROM vendo_credit_holds",
        "SELECT * FROM vendo_credit_balances",
        "SELECT * FROM vendo_credit_holds",
        "SELECT vendo_credits_resolve('t_a', 'r1', 0, 0)",
        "TRUNCATE vendo_credit_top_ups",
    ] {
        assert_eq!(sqlstate(proxy.batch_execute(sql)), "42501", "{sql}");
    }
    assert_eq!(balance(&mut connect(&pg), "t_a"), (100, 0, 10, 90));
}

#[test]
fn the_tables_refuse_a_buggy_writer() {
    let Some(pg) = start("the_tables_refuse_a_buggy_writer") else { return };
    let mut db = connect(&pg);
    top_up(&mut db, "t_a", "pi_1", 50).unwrap();
    assert_eq!(reserve(&mut db, "t_a", "r1", 20, 60, 1000).unwrap(), "reserved");
    assert_eq!(void(&mut db, "t_a", "r1", 1001).unwrap(), "voided");
    for (sql, code) in [
        // Overdraft, even with the sums kept equal.
        ("UPDATE vendo_credit_balances SET available = -5, spent = spent + 5", "23514"),
        // Money out of nowhere.
        ("UPDATE vendo_credit_balances SET available = available + 1", "23514"),
        ("UPDATE vendo_credit_balances SET pending = -1, available = available + 1", "23514"),
        // A resolved hold resolved again, or moved to another tenant.
        (
            "UPDATE vendo_credit_holds SET state = 'posted', debit = 20 WHERE reservation_id = 'r1'",
            SQLSTATE_HOLD_RESOLVED,
        ),
        ("UPDATE vendo_credit_holds SET tenant_id = 't_b' WHERE reservation_id = 'r1'", SQLSTATE_HOLD_RESOLVED),
        // A debit larger than its hold.
        ("INSERT INTO vendo_credit_holds VALUES ('t_a', 'r2', 5, 'posted', 9, 2000)", "23514"),
        ("INSERT INTO vendo_credit_holds VALUES ('t_a', 'r3', 0, 'pending', 0, 2000)", "23514"),
        ("INSERT INTO vendo_credit_top_ups VALUES ('t_a', 'neg', -10)", "23514"),
        // Ids follow SPEC §1.
        ("INSERT INTO vendo_credit_top_ups VALUES ('t a', 'x', 1)", "23514"),
    ] {
        assert_eq!(sqlstate(db.batch_execute(sql)), code, "{sql}");
    }
    assert_eq!(sqlstate(post(&mut db, "t_a", "r1", -1, 1001)), "22023", "a negative actual is refused");
    assert_eq!(balance(&mut db, "t_a"), (50, 0, 0, 50));
}

#[test]
fn holds_are_scoped_to_their_tenant() {
    let Some(pg) = start("holds_are_scoped_to_their_tenant") else { return };
    let mut db = connect(&pg);
    top_up(&mut db, "t_a", "pi", 100).unwrap();
    top_up(&mut db, "t_b", "pi", 100).unwrap();
    assert_eq!(reserve(&mut db, "t_a", "r1", 40, 60, 1000).unwrap(), "reserved");
    // B cannot resolve, replay or learn of A's id.
    assert_eq!(post(&mut db, "t_b", "r1", 40, 1001).unwrap(), "not_found");
    assert_eq!(void(&mut db, "t_b", "r1", 1001).unwrap(), "not_found");
    assert_eq!(reserve(&mut db, "t_b", "r1", 41, 60, 1000).unwrap(), "reserved", "not id_reused: no oracle");
    assert_eq!(balance(&mut db, "t_a"), (100, 40, 0, 60));
    assert_eq!(balance(&mut db, "t_b"), (100, 41, 0, 59));
    // At expires_at exactly the hold is expired (half-open), and a late
    // post releases it then.
    assert_eq!(post(&mut db, "t_a", "r1", 10, 1060).unwrap(), "expired");
    assert_eq!(expire(&mut db, 10, 1059).unwrap(), 0, "t_b's hold is live until 1060");
    assert_eq!(expire(&mut db, 10, 1060).unwrap(), 1);
    assert_eq!(balance(&mut db, "t_a"), (100, 0, 0, 100));
    assert_eq!(balance(&mut db, "t_b"), (100, 0, 0, 100));
    assert_eq!(balance(&mut db, "t_nobody"), (0, 0, 0, 0));
}

#[test]
fn sweepers_on_many_connections_release_each_hold_once() {
    let Some(pg) = start("sweepers_on_many_connections_release_each_hold_once") else { return };
    let mut db = connect(&pg);
    for t in 0..20 {
        top_up(&mut db, &format!("t_{t}"), "pi", 1_000).unwrap();
        for r in 0..50 {
            assert_eq!(reserve(&mut db, &format!("t_{t}"), &format!("r{r}"), 10, 5, 1000).unwrap(), "reserved");
        }
    }
    let start = Arc::new(Barrier::new(8));
    let sweepers: Vec<_> = (0..8)
        .map(|_| {
            let (mut db, start) = (connect(&pg), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let mut total = 0;
                loop {
                    let n = expire(&mut db, 7, 1005).unwrap();
                    if n == 0 {
                        return total;
                    }
                    total += n;
                }
            })
        })
        .collect();
    let released: i32 = sweepers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(released, 1_000);
    for t in 0..20 {
        assert_eq!(balance(&mut db, &format!("t_{t}")), (1_000, 0, 0, 1_000));
    }
    assert!(snapshot_violations(&mut db).is_empty());
}

// ---- the runner's schema op ----

#[test]
fn the_schema_op_loads_into_an_empty_database_in_one_go() {
    let Some(pg) = Cluster::start_or_skip("the_schema_op_loads_into_an_empty_database_in_one_go") else { return };
    // target/<profile>/deps/<this test> → target/<profile>/examples/conformance
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("examples").join("conformance");
    assert!(bin.exists(), "{} is missing: build the examples first", bin.display());
    let mut child = Command::new(bin).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"{\"id\":1,\"op\":\"schema\"}\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sql = answer["ok"]["sql"].as_str().unwrap();
    for part in ["bindings", "credits", "routes"] {
        assert!(sql.contains(answer["ok"]["parts"][part].as_str().unwrap()), "{part}");
    }
    pg.psql(&format!("BEGIN;\n{sql}\nCOMMIT;\n"));
    let tables: BTreeSet<String> =
        pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public';").lines().map(str::to_owned).collect();
    for t in ["tenants", "app_connection_bindings", "vendo_credit_balances", "vendo_credit_holds", "vendo_routes"] {
        assert!(tables.contains(t), "{t} in {tables:?}");
    }
}
