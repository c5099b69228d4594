//! Random interleavings of top-ups, reservations, posts, voids, expiries and
//! duplicate requests across several tenants, against the ledger's four
//! promises: non-interference, no overdraft, no double effect, conservation.

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
use vendo_isolation::credits::*;
use vendo_isolation::model::*;
use vendo_isolation::*;

const TENANTS: [&str; 3] = ["t_a", "t_b", "t_c"];
/// The last pair is not in the table: it must fail closed.
const MODELS: [(&str, &str); 3] = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("openai", "free-model")];
const START: u64 = 1_700_000_000;

fn table() -> RateTable {
    let p = |i, o| ModelPrice::per_million_tokens(MicroCredits::from_micros(i), MicroCredits::from_micros(o));
    RateTable::from_rows(
        RateTableVersion::new(42),
        [
            ("openai".parse().unwrap(), "gpt-4o-mini".parse().unwrap(), p(150_000, 600_000)),
            ("openai".parse().unwrap(), "gpt-4o".parse().unwrap(), p(2_500_000, 10_000_000)),
        ],
    )
    .unwrap()
}

fn tenant(i: usize) -> TenantId {
    TENANTS[i].parse().unwrap()
}

fn request(model: usize, input: u64, max_out: u64) -> ReserveRequest {
    let (p, m) = MODELS[model];
    ReserveRequest::new(p.parse().unwrap(), m.parse().unwrap(), input, max_out)
}

#[derive(Debug, Clone)]
enum Op {
    TopUp { tenant: usize, id: u8, amount: u64 },
    Reserve { tenant: usize, id: u8, model: usize, input: u64, max_out: u64, ttl: u32 },
    Post { tenant: usize, id: u8, actual: u64 },
    Void { tenant: usize, id: u8 },
    Tick { secs: u32 },
    Sweep,
}

impl Op {
    const fn tenant(&self) -> Option<usize> {
        match self {
            Self::TopUp { tenant, .. }
            | Self::Reserve { tenant, .. }
            | Self::Post { tenant, .. }
            | Self::Void { tenant, .. } => Some(*tenant),
            Self::Tick { .. } | Self::Sweep => None,
        }
    }
}

/// Small id spaces, so the same id comes back within a tenant (a
/// duplicate) and across tenants (a collision).
fn op() -> impl Strategy<Value = Op> {
    let t = 0..TENANTS.len();
    prop_oneof![
        3 => (t.clone(), 0..4u8, 0..200_000u64).prop_map(|(tenant, id, amount)| Op::TopUp { tenant, id, amount }),
        5 => (t.clone(), 0..6u8, 0..MODELS.len(), 0..20_000u64, 0..20_000u64, 0..40u32).prop_map(
            |(tenant, id, model, input, max_out, ttl)| Op::Reserve { tenant, id, model, input, max_out, ttl }
        ),
        3 => (t.clone(), 0..6u8, 0..300_000u64).prop_map(|(tenant, id, actual)| Op::Post { tenant, id, actual }),
        1 => (t, 0..6u8).prop_map(|(tenant, id)| Op::Void { tenant, id }),
        2 => (0..30u32).prop_map(|secs| Op::Tick { secs }),
        1 => Just(Op::Sweep),
    ]
}

fn snapshot(ledger: &Ledger, t: usize) -> (u64, u64, u64) {
    ledger.balance(&tenant(t)).map_or((0, 0, 0), |b| (b.available().micros(), b.pending().micros(), b.spent().micros()))
}

/// Runs ops against a ledger, checking every step, and records what each
/// tenant was told.
struct Harness {
    ledger: Ledger,
    table: RateTable,
    now: Timestamp,
    handles: BTreeMap<(usize, u8), Reservation>,
    /// The first amount applied under each (tenant, top-up id).
    top_ups: BTreeMap<(usize, u8), u64>,
    /// The harness's own count of what each tenant was credited.
    credited: [u64; 3],
    /// What each tenant's operations answered, in order.
    told: [Vec<String>; 3],
}

impl Harness {
    fn new() -> Self {
        Self {
            ledger: Ledger::new(),
            table: table(),
            now: Timestamp::from_unix_seconds(START).unwrap(),
            handles: BTreeMap::new(),
            top_ups: BTreeMap::new(),
            credited: [0; 3],
            told: Default::default(),
        }
    }

    fn step(&mut self, op: &Op) {
        let before: Vec<_> = (0..TENANTS.len()).map(|t| snapshot(&self.ledger, t)).collect();
        match *op {
            Op::TopUp { tenant: t, id, amount } => {
                let first = self.top_ups.get(&(t, id)).copied();
                let r = self.ledger.top_up(
                    &tenant(t),
                    format!("tu{id}").parse().unwrap(),
                    MicroCredits::from_micros(amount),
                );
                let after = snapshot(&self.ledger, t);
                match r {
                    Ok(TopUp::Applied) => {
                        assert_eq!(first, None);
                        self.top_ups.insert((t, id), amount);
                        self.credited[t] += amount;
                        assert_eq!(after, (before[t].0 + amount, before[t].1, before[t].2));
                    }
                    // No double effect: a repeated top-up id changes nothing.
                    Ok(TopUp::Replay) => {
                        assert_eq!(first, Some(amount));
                        assert_eq!(after, before[t]);
                    }
                    Err(TopUpError::IdReused) => {
                        assert!(first.is_some_and(|f| f != amount));
                        assert_eq!(after, before[t]);
                    }
                    other => panic!("unexpected top-up outcome {other:?}"),
                }
                self.told[t].push(format!("{r:?}"));
            }
            Op::Reserve { tenant: t, id, model, input, max_out, ttl } => {
                let rid: ReservationId = format!("r{id}").parse().unwrap();
                let req = request(model, input, max_out);
                let prior = self.ledger.status(&tenant(t), &rid);
                let r = self.ledger.reserve(&tenant(t), rid.clone(), &self.table, &req, self.now, ttl);
                let after = snapshot(&self.ledger, t);
                if prior.is_some() {
                    // No double effect: a repeated id replays or is refused.
                    assert_eq!(after, before[t]);
                    assert!(!matches!(r, Ok(Reserved::New(_))), "a repeated id made a second hold");
                } else {
                    let quote = self.table.quote(&req);
                    match &r {
                        Ok(Reserved::New(h)) => {
                            let q = quote.unwrap().micros();
                            // No overdraft: only what is available is held.
                            assert!(q <= before[t].0);
                            assert_eq!(h.amount().micros(), q);
                            assert_eq!(h.tenant(), &tenant(t));
                            assert_eq!(h.id(), &rid);
                            assert_eq!(h.rate_version(), RateTableVersion::new(42));
                            assert_eq!(h.expires_at().unix_seconds(), self.now.unix_seconds() + u64::from(ttl));
                            assert_eq!(after, (before[t].0 - q, before[t].1 + q, before[t].2));
                        }
                        Err(ReserveError::InsufficientCredits { shortfall }) => {
                            let q = quote.unwrap().micros();
                            assert!(q > before[t].0, "refused a reservation the balance covers");
                            assert_eq!(shortfall.micros(), q - before[t].0);
                            assert_eq!(after, before[t]);
                        }
                        Err(ReserveError::UnknownModel) => {
                            assert_eq!(quote, Err(QuoteError::UnknownModel));
                            assert_eq!(after, before[t]);
                        }
                        Err(ReserveError::BadTtl) => {
                            assert_eq!(ttl, 0);
                            assert_eq!(after, before[t]);
                        }
                        other => panic!("unexpected first reserve outcome {other:?}"),
                    }
                }
                self.told[t].push(format!("{r:?}"));
                if let Ok(Reserved::New(h)) = r {
                    assert!(self.handles.insert((t, id), h).is_none());
                }
            }
            Op::Post { tenant: t, id, .. } | Op::Void { tenant: t, id } => {
                let Some(h) = self.handles.remove(&(t, id)) else {
                    self.told[t].push("no handle".to_owned());
                    return self.after_step(&before, Some(t));
                };
                let prior = self.ledger.status(&tenant(t), h.id()).unwrap();
                let amount = h.amount().micros();
                let s = match *op {
                    Op::Post { actual, .. } => self.ledger.post(h, MicroCredits::from_micros(actual), self.now),
                    _ => self.ledger.void(h, self.now),
                }
                .unwrap();
                assert_eq!(s.tenant(), &tenant(t));
                assert_eq!(s.debit().micros() + s.released().micros(), amount);
                let after = snapshot(&self.ledger, t);
                match prior {
                    // No double effect: the sweep resolved it first.
                    ReservationStatus::Resolved(first) => {
                        assert_eq!(s, first);
                        assert_eq!(after, before[t]);
                    }
                    ReservationStatus::Pending { .. } => {
                        let (d, r) = (s.debit().micros(), s.released().micros());
                        assert_eq!(after, (before[t].0 + r, before[t].1 - amount, before[t].2 + d));
                        assert_eq!(s.kind() == SettlementKind::Expired, self.now >= s.expires_at());
                    }
                    other => panic!("a handle for a refused id: {other:?}"),
                }
                self.told[t].push(format!("{s:?}"));
            }
            Op::Tick { secs } => self.now = self.now.checked_add_secs(u64::from(secs)).unwrap(),
            Op::Sweep => {
                for s in self.ledger.expire_due(self.now) {
                    assert!(s.expires_at() <= self.now);
                    assert_eq!(s.kind(), SettlementKind::Expired);
                    let t = TENANTS.iter().position(|n| s.tenant() == n).unwrap();
                    self.told[t].push(format!("swept {s:?}"));
                }
                for t in 0..TENANTS.len() {
                    for id in 0..6u8 {
                        if let Some(ReservationStatus::Pending { expires_at, .. }) =
                            self.ledger.status(&tenant(t), &format!("r{id}").parse().unwrap())
                        {
                            assert!(expires_at > self.now, "the sweep left a due hold");
                        }
                    }
                }
            }
        }
        self.after_step(&before, op.tenant());
    }

    fn after_step(&self, before: &[(u64, u64, u64)], touched: Option<usize>) {
        // Conservation per tenant, at every step.
        self.ledger.check_invariants().unwrap();
        for (t, credited) in self.credited.iter().enumerate() {
            let (a, p, s) = snapshot(&self.ledger, t);
            assert_eq!(a + p + s, *credited, "tenant {t} does not conserve");
            // Non-interference, step by step: an op for one tenant leaves
            // every other tenant's balance as it was.
            if touched.is_some_and(|u| u != t) {
                assert_eq!((a, p, s), before[t], "an op for tenant {touched:?} moved tenant {t}");
            }
        }
    }

    fn balances(&self) -> Vec<Option<TenantBalance>> {
        (0..TENANTS.len()).map(|t| self.ledger.balance(&tenant(t)).cloned()).collect()
    }
}

fn run(ops: &[Op]) -> Harness {
    let mut h = Harness::new();
    for op in ops {
        h.step(op);
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Each tenant's balance, and everything the ledger told it, equal a
    /// run with only that tenant's operations (and the shared clock).
    #[test]
    fn non_interference(ops in prop::collection::vec(op(), 0..80)) {
        let full = run(&ops);
        for t in 0..TENANTS.len() {
            let solo_ops: Vec<Op> = ops.iter().filter(|o| o.tenant().is_none_or(|u| u == t)).cloned().collect();
            let solo = run(&solo_ops);
            prop_assert_eq!(&full.balances()[t], &solo.balances()[t]);
            prop_assert_eq!(&full.told[t], &solo.told[t]);
        }
    }

    /// Sending every request twice ends with the same balances as sending
    /// it once: a duplicated id never changes a balance twice.
    #[test]
    fn duplicates_have_no_second_effect(ops in prop::collection::vec(op(), 0..80)) {
        let once = run(&ops);
        let twice: Vec<Op> = ops
            .iter()
            .flat_map(|o| match o {
                Op::Tick { .. } => vec![o.clone()],
                _ => vec![o.clone(), o.clone()],
            })
            .collect();
        let twice = run(&twice);
        prop_assert_eq!(once.balances(), twice.balances());
    }

    /// Overdraft, conservation and per-step non-interference are asserted
    /// inside every step; this runs longer sequences for them alone.
    #[test]
    fn long_runs_keep_every_step_invariant(ops in prop::collection::vec(op(), 0..300)) {
        let h = run(&ops);
        prop_assert!(h.ledger.check_invariants().is_ok());
    }
}
