//! The ledger's id scoping, replays, expiry sweep and foreign handles.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use vendo_isolation::credits::*;
use vendo_isolation::model::*;
use vendo_isolation::*;

fn mc(n: u64) -> MicroCredits {
    MicroCredits::from_micros(n)
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

/// One model at 1 credit per million tokens in and out: a request costs
/// exactly its token count in micro-credits.
fn table(version: u64) -> RateTable {
    RateTable::from_rows(
        RateTableVersion::new(version),
        [(
            "openai".parse().unwrap(),
            "m".parse().unwrap(),
            ModelPrice::per_million_tokens(mc(1_000_000), mc(1_000_000)),
        )],
    )
    .unwrap()
}

fn req(input: u64, max_out: u64) -> ReserveRequest {
    ReserveRequest::new("openai".parse().unwrap(), "m".parse().unwrap(), input, max_out)
}

fn t(s: &str) -> TenantId {
    s.parse().unwrap()
}

fn rid(s: &str) -> ReservationId {
    s.parse().unwrap()
}

fn new_hold(r: Result<Reserved, ReserveError>) -> Reservation {
    match r {
        Ok(Reserved::New(h)) => h,
        other => panic!("expected a new hold, got {other:?}"),
    }
}

fn parts(l: &Ledger, tenant: &TenantId) -> (u64, u64, u64) {
    let b = l.balance(tenant).unwrap();
    (b.available().micros(), b.pending().micros(), b.spent().micros())
}

#[test]
fn another_tenants_id_is_a_fresh_id() {
    let (a, b) = (t("t_a"), t("t_b"));
    let mut l = Ledger::new();
    l.top_up(&a, "tu".parse().unwrap(), mc(1_000)).unwrap();
    l.top_up(&b, "tu".parse().unwrap(), mc(50)).unwrap();
    let ha = new_hold(l.reserve(&a, rid("r1"), &table(1), &req(100, 100), at(10), 60));
    let a_status = l.status(&a, &rid("r1"));

    // Same id, different request, other tenant: not `IdReused` (which would
    // tell B that A used the id) and not A's pending status (a replay of
    // A's outcome), but B's own answer from B's own balance.
    assert_eq!(
        l.reserve(&b, rid("r1"), &table(1), &req(10, 90), at(10), 60),
        Err(ReserveError::InsufficientCredits { shortfall: mc(50) })
    );
    // Same id and same request as A's: still B's own outcome.
    assert_eq!(
        l.reserve(&b, rid("r1"), &table(1), &req(100, 100), at(10), 60),
        Err(ReserveError::IdReused),
        "B's first use of r1 is recorded for B alone"
    );
    assert_eq!(l.status(&a, &rid("r1")), a_status);
    assert_eq!(
        l.status(&b, &rid("r1")),
        Some(ReservationStatus::Refused(ReserveError::InsufficientCredits { shortfall: mc(50) }))
    );
    assert_eq!(l.status(&b, &rid("r2")), None);

    let s = l.post(ha, mc(150), at(11)).unwrap();
    assert_eq!(s.tenant(), &a);
    assert_eq!(parts(&l, &a), (850, 0, 150));
    assert_eq!(parts(&l, &b), (50, 0, 0));
    l.check_invariants().unwrap();
}

#[test]
fn top_up_ids_are_per_tenant_and_idempotent() {
    let (a, b) = (t("t_a"), t("t_b"));
    let mut l = Ledger::new();
    assert_eq!(l.top_up(&a, "pi_1".parse().unwrap(), mc(10)), Ok(TopUp::Applied));
    assert_eq!(l.top_up(&a, "pi_1".parse().unwrap(), mc(10)), Ok(TopUp::Replay));
    assert_eq!(l.top_up(&a, "pi_1".parse().unwrap(), mc(11)), Err(TopUpError::IdReused));
    assert_eq!(l.top_up(&b, "pi_1".parse().unwrap(), mc(7)), Ok(TopUp::Applied));
    assert_eq!(parts(&l, &a), (10, 0, 0));
    assert_eq!(parts(&l, &b), (7, 0, 0));
    l.check_invariants().unwrap();
}

#[test]
fn top_up_overflow_is_refused_and_leaves_no_record() {
    let a = t("t_a");
    let mut l = Ledger::new();
    l.top_up(&a, "x".parse().unwrap(), MicroCredits::MAX).unwrap();
    assert_eq!(l.top_up(&a, "y".parse().unwrap(), mc(1)), Err(TopUpError::Overflow));
    assert_eq!(l.top_up(&a, "y".parse().unwrap(), mc(0)), Ok(TopUp::Applied));
    assert_eq!(TopUpError::Overflow.code(), "overflow");
    l.check_invariants().unwrap();
}

#[test]
fn replays_return_the_first_outcome() {
    let a = t("t_a");
    let mut l = Ledger::new();
    l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();

    // A refusal is the first outcome too: topping up does not turn the
    // retry into a hold the caller did not see the first time.
    let refused = l.reserve(&a, rid("big"), &table(1), &req(100, 1), at(0), 60);
    assert_eq!(refused, Err(ReserveError::InsufficientCredits { shortfall: mc(1) }));
    l.top_up(&a, "tu2".parse().unwrap(), mc(100)).unwrap();
    assert_eq!(l.reserve(&a, rid("big"), &table(1), &req(100, 1), at(0), 60), refused);

    let h = new_hold(l.reserve(&a, rid("r"), &table(1), &req(10, 10), at(0), 60));
    let pending =
        ReservationStatus::Pending { amount: mc(20), rate_version: RateTableVersion::new(1), expires_at: at(60) };
    assert_eq!(l.reserve(&a, rid("r"), &table(1), &req(10, 10), at(5), 60), Ok(Reserved::Replay(pending)));
    // A newer table does not reprice a replay.
    assert!(matches!(l.reserve(&a, rid("r"), &table(2), &req(10, 10), at(5), 60), Ok(Reserved::Replay(_))));
    assert_eq!(l.reserve(&a, rid("r"), &table(1), &req(10, 11), at(5), 60), Err(ReserveError::IdReused));

    let s = l.void(h, at(1)).unwrap();
    assert_eq!(s.kind(), SettlementKind::Voided);
    assert_eq!(
        l.reserve(&a, rid("r"), &table(1), &req(10, 10), at(5), 60),
        Ok(Reserved::Replay(ReservationStatus::Resolved(s)))
    );
    assert_eq!(parts(&l, &a), (200, 0, 0));
    l.check_invariants().unwrap();
}

#[test]
fn sweep_expires_at_the_boundary_and_a_late_handle_gets_the_first_outcome() {
    let a = t("t_a");
    let mut l = Ledger::new();
    l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();
    let h = new_hold(l.reserve(&a, rid("r"), &table(1), &req(30, 30), at(1_000), 60));

    assert!(l.expire_due(at(1_059)).is_empty(), "live while now < expires_at");
    assert_eq!(parts(&l, &a), (40, 60, 0));
    let swept = l.expire_due(at(1_060));
    assert_eq!(swept.len(), 1, "expired at now == expires_at");
    assert_eq!(swept[0].kind(), SettlementKind::Expired);
    assert_eq!(parts(&l, &a), (100, 0, 0));
    assert!(l.expire_due(at(2_000)).is_empty(), "a sweep resolves a hold once");

    // The proxy finishes the upstream call after the sweep: no second
    // effect, the sweep's settlement is the answer.
    let s = l.post(h, mc(50), at(1_061)).unwrap();
    assert_eq!(s, swept[0]);
    assert_eq!(parts(&l, &a), (100, 0, 0));
    l.check_invariants().unwrap();
}

#[test]
fn post_at_expiry_settles_as_expired_whether_or_not_the_sweep_ran() {
    let a = t("t_a");
    let mut l = Ledger::new();
    l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();
    let h = new_hold(l.reserve(&a, rid("r"), &table(1), &req(30, 30), at(1_000), 60));
    let s = l.post(h, mc(50), at(1_060)).unwrap();
    assert_eq!((s.kind(), s.debit(), s.unbilled()), (SettlementKind::Expired, mc(0), mc(50)));
    assert_eq!(parts(&l, &a), (100, 0, 0));
}

#[test]
fn a_handle_from_elsewhere_is_refused() {
    let a = t("t_a");
    let mut l1 = Ledger::new();
    let mut l2 = Ledger::new();
    for l in [&mut l1, &mut l2] {
        l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();
    }
    let h1 = new_hold(l1.reserve(&a, rid("r"), &table(1), &req(10, 10), at(0), 60));
    let _h2 = new_hold(l2.reserve(&a, rid("r"), &table(1), &req(20, 20), at(0), 60));
    // Same tenant and id in another ledger, different hold: refused, and
    // l2's pending hold is untouched.
    assert_eq!(l2.post(h1, mc(1), at(1)), Err(ResolveError::UnknownReservation));
    assert_eq!(parts(&l2, &a), (60, 40, 0));

    // A hold taken straight from a balance is not the ledger's.
    let mut bal = TenantBalance::new(a.clone());
    bal.top_up(mc(100)).unwrap();
    let stray = bal.reserve(rid("other"), &table(1), &req(1, 1), at(0), 60).unwrap();
    assert_eq!(l1.void(stray, at(1)), Err(ResolveError::UnknownReservation));

    // Unknown tenant.
    let mut bal = TenantBalance::new(t("t_nobody"));
    bal.top_up(mc(100)).unwrap();
    let stray = bal.reserve(rid("r"), &table(1), &req(1, 1), at(0), 60).unwrap();
    assert_eq!(l1.void(stray, at(1)), Err(ResolveError::UnknownReservation));
    assert_eq!(ResolveError::UnknownReservation.code(), "unknown_reservation");
    l1.check_invariants().unwrap();
    l2.check_invariants().unwrap();
}

#[test]
fn refusals_hold_nothing() {
    let a = t("t_a");
    let mut l = Ledger::new();
    // A tenant never topped up: every reservation is refused.
    assert_eq!(
        l.reserve(&a, rid("r0"), &table(1), &req(1, 0), at(0), 60),
        Err(ReserveError::InsufficientCredits { shortfall: mc(1) })
    );
    l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();
    let unknown = ReserveRequest::new("openai".parse().unwrap(), "M".parse().unwrap(), 1, 1);
    assert_eq!(l.reserve(&a, rid("r1"), &table(1), &unknown, at(0), 60), Err(ReserveError::UnknownModel));
    assert_eq!(l.reserve(&a, rid("r2"), &table(1), &req(1, 1), at(0), 0), Err(ReserveError::BadTtl));
    assert_eq!(parts(&l, &a), (100, 0, 0));
    l.check_invariants().unwrap();
}

#[test]
fn invariant_errors_have_codes() {
    let e = LedgerInvariantError::Conservation { tenant: t("t_a") };
    assert_eq!(e.code(), "conservation");
    assert_eq!(e.to_string(), "balance does not sum to what was credited");
    assert!(Ledger::new().check_invariants().is_ok());
}

#[test]
fn a_reused_id_never_hands_out_a_second_handle() {
    // If a repeat of a settled id handed back a fresh handle, a tenant that
    // replays its idempotency key would get an upstream call whose post
    // replays the old settlement: a free call. A repeat gets no handle.
    let a = t("t_a");
    let mut l = Ledger::new();
    l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();
    let h = new_hold(l.reserve(&a, rid("r"), &table(1), &req(10, 10), at(0), 60));
    l.post(h, mc(20), at(1)).unwrap();
    for now in [1, 59, 60, 10_000] {
        let again = l.reserve(&a, rid("r"), &table(1), &req(10, 10), at(now), 60).unwrap();
        assert!(matches!(again, Reserved::Replay(ReservationStatus::Resolved(_))), "{again:?}");
    }
    assert_eq!(parts(&l, &a), (80, 0, 20));
}

/// A handle of another hold under the same tenant and id is refused after
/// that hold was resolved too: a replay returns the first outcome only to
/// the handle of the hold it settled.
#[test]
fn a_handle_from_elsewhere_is_refused_after_the_hold_is_resolved() {
    let a = t("t_a");
    let mut l1 = Ledger::new();
    let mut l2 = Ledger::new();
    for l in [&mut l1, &mut l2] {
        l.top_up(&a, "tu".parse().unwrap(), mc(100)).unwrap();
    }
    let h1 = new_hold(l1.reserve(&a, rid("r"), &table(1), &req(10, 10), at(0), 60));
    let h2 = new_hold(l2.reserve(&a, rid("r"), &table(1), &req(20, 20), at(0), 60));
    l2.void(h2, at(1)).unwrap();
    assert_eq!(l2.post(h1, mc(1), at(2)), Err(ResolveError::UnknownReservation));
    assert_eq!(parts(&l2, &a), (100, 0, 0));
    let listed: Vec<_> = l2.balances().map(|b| (b.tenant().to_string(), b.available().micros())).collect();
    assert_eq!(listed, [("t_a".to_owned(), 100)]);
    l2.check_invariants().unwrap();
}

/// The money and rate values read back as built: a proxy's logs and the
/// store's rows are written from these getters.
#[test]
fn money_and_rates_read_back_as_built() {
    assert_eq!(MicroCredits::from_credits(3).map(MicroCredits::micros), Some(3_000_000));
    assert_eq!(MicroCredits::from_credits(u64::MAX), None, "does not fit");
    assert!(mc(0).is_zero() && !mc(1).is_zero());
    let price = ModelPrice::per_million_tokens(mc(1), mc(2));
    assert_eq!(price.max_output(), None);
    assert_eq!(price.with_max_output(16_384).max_output(), Some(16_384));
    let r = req(1_234, 567);
    assert_eq!((r.input_tokens(), r.max_output_tokens()), (1_234, 567));
    assert!(!table(1).is_empty());
    assert!(RateTable::from_rows(RateTableVersion::new(1), []).unwrap().is_empty());
}
