//! Properties of pricing, holds and settlements.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use proptest::prelude::*;
use vendo_isolation::credits::*;
use vendo_isolation::tenancy::Provider;
use vendo_isolation::testing::{model_name, model_price, provider, rate_table, reservation_id, top_up_id};
use vendo_isolation::*;

const M: u128 = 1_000_000;

/// The reference: each part `ceil(tokens * price / 1e6)` in u128, summed
/// in u128, `None` past u64.
fn reference(i: u64, o: u64, pi: u64, po: u64) -> Option<u64> {
    let part = |t: u64, p: u64| (u128::from(t) * u128::from(p)).div_ceil(M);
    u64::try_from(part(i, pi) + part(o, po)).ok()
}

fn tokens() -> impl Strategy<Value = u64> {
    prop_oneof![0..10_000_000u64, any::<u64>(), Just(u64::MAX), Just(0)]
}

fn prices() -> impl Strategy<Value = u64> {
    prop_oneof![0..100_000_000u64, any::<u64>(), Just(u64::MAX), Just(1)]
}

proptest! {
    /// The cost is exactly the rounded-up formula, and an overflow is an
    /// error exactly when the true value leaves u64.
    #[test]
    fn cost_matches_the_exact_formula(i in tokens(), o in tokens(), pi in prices(), po in prices()) {
        let got = ModelPrice::per_million_tokens(MicroCredits::from_micros(pi), MicroCredits::from_micros(po)).cost(i, o);
        match reference(i, o, pi, po) {
            Some(want) => prop_assert_eq!(got, Ok(MicroCredits::from_micros(want))),
            None => prop_assert_eq!(got, Err(QuoteError::Overflow)),
        }
    }

    /// Never below the exact cost, and less than two micro-credits above it.
    #[test]
    fn cost_is_never_below_exact(i in 0..u64::from(u32::MAX), o in 0..u64::from(u32::MAX), pi in 0..u64::from(u32::MAX), po in 0..u64::from(u32::MAX)) {
        let c = ModelPrice::per_million_tokens(MicroCredits::from_micros(pi), MicroCredits::from_micros(po)).cost(i, o).unwrap();
        let exact = u128::from(i) * u128::from(pi) + u128::from(o) * u128::from(po);
        let scaled = u128::from(c.micros()) * M;
        prop_assert!(scaled >= exact);
        prop_assert!(scaled < exact + 2 * M);
    }

    /// More tokens never cost less.
    #[test]
    fn cost_is_monotonic(i in 0..1u64 << 40, o in 0..1u64 << 40, di in 0..1u64 << 20, dout in 0..1u64 << 20, pi in 0..1u64 << 20, po in 0..1u64 << 20) {
        let p = ModelPrice::per_million_tokens(MicroCredits::from_micros(pi), MicroCredits::from_micros(po));
        prop_assert!(p.cost(i, o).unwrap() <= p.cost(i + di, o + dout).unwrap());
    }

    /// Every row is priced as inserted; every other pair fails closed.
    #[test]
    fn table_prices_its_rows_and_nothing_else(table in rate_table(8, 1 << 40), p in provider(), m in model_name()) {
        for (provider, model, price) in table.iter() {
            prop_assert_eq!(table.price(provider, model), Ok(price));
        }
        let listed = table.iter().any(|(tp, tm, _)| *tp == p && *tm == m);
        prop_assert_eq!(table.price(&p, &m).is_ok(), listed);
        prop_assert_eq!(table.len(), table.iter().count());
    }

    /// Whatever the caller posts and whenever: `debit + released ==
    /// reserved`, the debit never exceeds the hold or the actual, an
    /// overrun is reported exactly when the actual exceeds the hold, and
    /// applying it keeps `credited`.
    #[test]
    fn settlements_conserve(
        funds in 0..1u64 << 40,
        tokens_in in 0..1u64 << 20,
        actual in prop_oneof![0..1u64 << 21, any::<u64>()],
        ttl in 1..1_000u32,
        later in 0..2_000u64,
        how in 0..3u8,
    ) {
        let table = RateTable::from_rows(RateTableVersion::new(1), [(
            "p".parse().unwrap(), "m".parse().unwrap(),
            ModelPrice::per_million_tokens(MicroCredits::from_micros(1_000_000), MicroCredits::ZERO),
        )]).unwrap();
        let mut b = TenantBalance::new("t".parse().unwrap());
        b.top_up(MicroCredits::from_micros(funds)).unwrap();
        let req = ReserveRequest::new("p".parse().unwrap(), "m".parse().unwrap(), tokens_in, 0);
        let now = Timestamp::from_unix_seconds(1_000).unwrap();
        let Ok(h) = b.reserve("r".parse().unwrap(), &table, &req, now, ttl) else {
            prop_assert!(tokens_in > funds);
            return Ok(());
        };
        let reserved = h.amount();
        let then = now.checked_add_secs(later).unwrap();
        let expired = later >= u64::from(ttl);
        let actual = MicroCredits::from_micros(actual);
        let s = match how {
            0 => h.post(actual, then),
            1 => h.void(then),
            _ => match h.expire(then) { Ok(s) => s, Err(h) => { prop_assert!(!expired); h.void(then) } },
        };
        prop_assert_eq!(s.debit().checked_add(s.released()), Some(reserved));
        prop_assert!(s.debit() <= reserved);
        prop_assert_eq!(s.kind() == SettlementKind::Expired, expired);
        if s.kind() == SettlementKind::Posted {
            prop_assert!(s.debit() <= actual);
            prop_assert_eq!(s.overrun(), actual.checked_sub(reserved).filter(|o| !o.is_zero()));
        } else {
            prop_assert_eq!(s.debit(), MicroCredits::ZERO);
            prop_assert_eq!(s.overrun(), None);
        }
        b.apply(&s).unwrap();
        prop_assert_eq!(b.credited(), MicroCredits::from_micros(funds));
        prop_assert_eq!(b.pending(), MicroCredits::ZERO);
        prop_assert_eq!(b.spent(), s.debit());
    }

    /// Names round-trip through Display, `FromStr` and serde.
    #[test]
    fn names_round_trip(p in provider(), m in model_name(), r in reservation_id(), t in top_up_id()) {
        prop_assert_eq!(p.to_string().parse::<Provider>().unwrap(), p.clone());
        prop_assert_eq!(m.to_string().parse::<ModelName>().unwrap(), m.clone());
        prop_assert_eq!(r.as_str().parse::<ReservationId>().unwrap(), r.clone());
        prop_assert_eq!(t.as_ref().parse::<TopUpId>().unwrap(), t.clone());
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<ModelName>(&json).unwrap(), m);
    }

    /// Any price survives the table unchanged.
    #[test]
    fn a_row_keeps_its_price(price in model_price(u64::MAX)) {
        let t = RateTable::from_rows(RateTableVersion::new(0), [("p".parse().unwrap(), "m".parse().unwrap(), price)]).unwrap();
        prop_assert_eq!(t.price(&"p".parse().unwrap(), &"m".parse().unwrap()), Ok(price));
    }
}
