//! Pricing, holds and settlements: rounding, overflow, failing closed,
//! overruns, the expiry boundary and the rate table version.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use vendo_isolation::credits::*;
use vendo_isolation::tenancy::Provider;
use vendo_isolation::*;

fn mc(n: u64) -> MicroCredits {
    MicroCredits::from_micros(n)
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

fn price(i: u64, o: u64) -> ModelPrice {
    ModelPrice::per_million_tokens(mc(i), mc(o))
}

fn table_with(version: u64, rows: &[(&str, &str, ModelPrice)]) -> RateTable {
    RateTable::from_rows(
        RateTableVersion::new(version),
        rows.iter().map(|(p, m, price)| (p.parse().unwrap(), m.parse().unwrap(), *price)),
    )
    .unwrap()
}

fn req(p: &str, m: &str, input: u64, max_out: u64) -> ReserveRequest {
    ReserveRequest::new(p.parse().unwrap(), m.parse().unwrap(), input, max_out)
}

fn funded(micros: u64) -> TenantBalance {
    let mut b = TenantBalance::new("t_a".parse().unwrap());
    b.top_up(mc(micros)).unwrap();
    b
}

fn hold(amount_tokens: u64, now: u64, ttl: u32) -> (TenantBalance, Reservation) {
    let table = table_with(9, &[("openai", "m", price(1_000_000, 0))]);
    let mut b = funded(1_000);
    let h = b.reserve("r".parse().unwrap(), &table, &req("openai", "m", amount_tokens, 0), at(now), ttl).unwrap();
    (b, h)
}

#[test]
fn cost_rounds_up() {
    // (input tokens, output tokens, input price, output price, cost)
    let rows: &[(u64, u64, u64, u64, u64)] = &[
        // One token of a cheap model is never free: rounding down would
        // let many tiny requests through at zero.
        (1, 0, 1, 0, 1),
        (0, 1, 0, 1, 1),
        (999_999, 0, 1, 0, 1),
        (1_000_000, 0, 1, 0, 1),
        (1_000_001, 0, 1, 0, 2),
        // Each part is rounded on its own: 1 + 1, not ceil(2e-6) = 1.
        (1, 1, 1, 1, 2),
        (1_000, 500, 150_000, 600_000, 450),
        (1_001, 0, 150_000, 0, 151),
        // No tokens cost nothing, whatever the price.
        (0, 0, u64::MAX, u64::MAX, 0),
        // Exact at the top of the range: u64::MAX tokens at one credit.
        (u64::MAX, 0, 1_000_000, 0, u64::MAX),
    ];
    for &(i, o, pi, po, want) in rows {
        assert_eq!(price(pi, po).cost(i, o), Ok(mc(want)), "{i} in, {o} out at {pi}/{po}");
    }
}

#[test]
fn overflow_is_an_error_never_a_wrap() {
    // (input tokens, output tokens, input price, output price)
    let rows: &[(u64, u64, u64, u64)] = &[
        // A single part past u64 (a wrap would make it tiny).
        (u64::MAX, 0, 1_000_001, 0),
        (u64::MAX, 0, u64::MAX, 0),
        (0, u64::MAX, 0, u64::MAX),
        // Each part fits, the sum does not.
        (u64::MAX, u64::MAX, 1_000_000, 1_000_000),
    ];
    for &(i, o, pi, po) in rows {
        assert_eq!(price(pi, po).cost(i, o), Err(QuoteError::Overflow), "{i} in, {o} out at {pi}/{po}");
    }
    let table = table_with(1, &[("openai", "m", price(u64::MAX, u64::MAX))]);
    let mut b = funded(u64::MAX);
    let huge = req("openai", "m", u64::MAX, u64::MAX);
    assert_eq!(b.reserve("r".parse().unwrap(), &table, &huge, at(0), 60).unwrap_err(), ReserveError::Overflow);
    assert_eq!(b, funded(u64::MAX));

    assert_eq!(MicroCredits::from_credits(u64::MAX / 1_000_000 + 1), None);
    assert_eq!(MicroCredits::MAX.checked_add(mc(1)), None);
    assert_eq!(mc(0).checked_sub(mc(1)), None);
    let mut full = funded(u64::MAX - 1);
    assert_eq!(full.top_up(mc(2)), Err(BalanceError::Overflow));
    assert_eq!(full, funded(u64::MAX - 1));
    assert_eq!(
        TenantBalance::from_parts("t_a".parse().unwrap(), MicroCredits::MAX, mc(1), mc(0)),
        Err(BalanceError::Overflow)
    );
}

#[test]
fn unknown_model_fails_closed() {
    let table = table_with(
        1,
        &[("openai", "gpt-4o-mini", price(150_000, 600_000)), ("openrouter", "meta/llama-3:free", price(0, 0))],
    );
    // Each row: a request that must not be priced at all (Helicone #5700).
    let rows: &[(&str, &str)] = &[
        // Not listed.
        ("openai", "gpt-5"),
        // Case variant of a listed model: no folding, no price.
        ("openai", "GPT-4o-mini"),
        // Listed under another provider only.
        ("openrouter", "gpt-4o-mini"),
        // A free model's name under the paid provider.
        ("openai", "meta/llama-3:free"),
        // Prefix and suffix tricks.
        ("openai", "gpt-4o-mini-2024"),
        ("openai", "gpt-4o"),
        // Unknown provider.
        ("azure", "gpt-4o-mini"),
    ];
    let mut b = funded(1_000_000);
    for (i, (p, m)) in rows.iter().enumerate() {
        let r = req(p, m, 10, 10);
        assert_eq!(table.quote(&r), Err(QuoteError::UnknownModel), "{p}/{m}");
        assert_eq!(table.price(r.provider(), r.model()), Err(QuoteError::UnknownModel));
        let id = format!("r{i}").parse().unwrap();
        assert_eq!(b.reserve(id, &table, &r, at(0), 60).unwrap_err(), ReserveError::UnknownModel);
    }
    assert_eq!(b, funded(1_000_000), "a refused model holds nothing");
    // An empty table prices nothing.
    let empty = RateTable::builder(RateTableVersion::new(0)).build();
    assert!(empty.is_empty());
    assert_eq!(empty.quote(&req("openai", "gpt-4o-mini", 0, 0)), Err(QuoteError::UnknownModel));
    // An explicit zero price is a price: only a written entry is free.
    assert_eq!(table.quote(&req("openrouter", "meta/llama-3:free", 10, 10)), Ok(mc(0)));
}

#[test]
fn hostile_names_do_not_parse() {
    let rows: &[&str] = &[
        // Padding that a lenient lookup might trim into a match.
        " gpt-4o",
        "gpt-4o ",
        // Header and log injection.
        "gpt-4o\r\nx-vendo-tenant-id: t_b",
        "gpt\0-4o",
        // Percent-encoding and query tricks that an upstream may decode.
        "gpt-4o%2Fmini",
        "gpt-4o?x=1",
        // Homoglyph (Cyrillic о).
        "gpt-4\u{043e}",
        "",
    ];
    for m in rows {
        assert!(m.parse::<ModelName>().is_err(), "{m:?}");
    }
    assert_eq!("a".repeat(129).parse::<ModelName>().map_err(|e| e.code()), Err("too_long"));
    assert!("a".repeat(128).parse::<ModelName>().is_ok());
    assert!("anthropic.claude-3-haiku-20240307-v1:0".parse::<ModelName>().is_ok());
    assert!("claude-3-5-sonnet@20240620".parse::<ModelName>().is_ok());
    assert!("open.ai".parse::<Provider>().is_err());
    assert!("r 1".parse::<ReservationId>().is_err());
    assert!("".parse::<TopUpId>().is_err());
    assert!(serde_json::from_str::<ModelName>("\"gpt 4o\"").is_err());
    assert_eq!(serde_json::from_str::<ModelName>("\"gpt-4o\"").unwrap().as_str(), "gpt-4o");
}

#[test]
fn a_pair_priced_twice_is_refused() {
    let mut b = RateTable::builder(RateTableVersion::new(1));
    b.insert("openai".parse().unwrap(), "m".parse().unwrap(), price(1, 1)).unwrap();
    let dup = b.insert("openai".parse().unwrap(), "m".parse().unwrap(), price(0, 0));
    assert_eq!(dup, Err(RateTableError::DuplicateModel));
    assert_eq!(dup.unwrap_err().code(), "duplicate_model");
    let table = b.build();
    assert_eq!(table.len(), 1);
    assert_eq!(table.price(&"openai".parse().unwrap(), &"m".parse().unwrap()), Ok(price(1, 1)));
    // The same model under two providers is two rows.
    let rows = vec![
        ("openai".parse().unwrap(), "m".parse().unwrap(), price(1, 1)),
        ("azure".parse().unwrap(), "m".parse().unwrap(), price(2, 2)),
    ];
    assert_eq!(RateTable::from_rows(RateTableVersion::new(1), rows).unwrap().iter().count(), 2);
}

#[test]
fn insufficient_credits_reports_the_shortfall() {
    let table = table_with(1, &[("openai", "m", price(1_000_000, 2_000_000))]);
    let r = req("openai", "m", 100, 50); // 100 + 100
    let mut b = funded(199);
    let err = b.reserve("r".parse().unwrap(), &table, &r, at(0), 60).unwrap_err();
    assert_eq!(err, ReserveError::InsufficientCredits { shortfall: mc(1) });
    assert_eq!(err.code(), "insufficient_credits");
    assert_eq!(b, funded(199));
    // Exactly enough is enough.
    let mut b = funded(200);
    let h = b.reserve("r".parse().unwrap(), &table, &r, at(0), 60).unwrap();
    assert_eq!((b.available(), b.pending(), h.amount()), (mc(0), mc(200), mc(200)));
}

#[test]
fn overrun_is_capped_and_reported() {
    // (actual, debit, released, overrun, unbilled) for a hold of 100
    let rows: &[(u64, u64, u64, Option<u64>, u64)] = &[
        (0, 0, 100, None, 0),
        (40, 40, 60, None, 0),
        (100, 100, 0, None, 0),
        // The provider billed more than the worst case: the tenant is
        // charged the hold, never more, and the caller hears of the rest.
        (101, 100, 0, Some(1), 1),
        (u64::MAX, 100, 0, Some(u64::MAX - 100), u64::MAX - 100),
    ];
    for &(actual, debit, released, overrun, unbilled) in rows {
        let (mut b, h) = hold(100, 0, 60);
        let s = h.post(mc(actual), at(1));
        assert_eq!(s.kind(), SettlementKind::Posted);
        assert_eq!(s.actual(), Some(mc(actual)));
        assert_eq!((s.debit(), s.released()), (mc(debit), mc(released)), "actual {actual}");
        assert_eq!(s.overrun(), overrun.map(mc));
        assert_eq!(s.unbilled(), mc(unbilled));
        b.apply(&s).unwrap();
        assert_eq!((b.available(), b.pending(), b.spent()), (mc(900 + released), mc(0), mc(debit)));
    }
}

#[test]
fn expiry_boundary_is_half_open() {
    // Live while now < expires_at, expired at now == expires_at.
    let (_, h) = hold(10, 1_000, 60);
    assert_eq!(h.expires_at(), at(1_060));
    assert!(!h.is_expired(at(1_059)));
    assert!(h.is_expired(at(1_060)));
    let h = h.expire(at(1_059)).unwrap_err();
    let s = h.expire(at(1_060)).unwrap();
    assert_eq!((s.kind(), s.debit(), s.released()), (SettlementKind::Expired, mc(0), mc(10)));

    let (_, h) = hold(10, 1_000, 60);
    assert_eq!(h.post(mc(5), at(1_059)).kind(), SettlementKind::Posted);
    let (_, h) = hold(10, 1_000, 60);
    let late = h.post(mc(5), at(1_060));
    assert_eq!((late.kind(), late.debit(), late.unbilled()), (SettlementKind::Expired, mc(0), mc(5)));
    assert_eq!(late.overrun(), None);
    let (_, h) = hold(10, 1_000, 60);
    assert_eq!(h.void(at(1_059)).kind(), SettlementKind::Voided);
    let (_, h) = hold(10, 1_000, 60);
    assert_eq!(h.void(at(1_060)).kind(), SettlementKind::Expired);
}

#[test]
fn ttl_must_be_positive_and_in_range() {
    let table = table_with(1, &[("openai", "m", price(1, 1))]);
    let r = req("openai", "m", 1, 1);
    let mut b = funded(10);
    // Zero: the hold would be expired as it is made.
    assert_eq!(b.reserve("r".parse().unwrap(), &table, &r, at(0), 0).unwrap_err(), ReserveError::BadTtl);
    // Past the end of time.
    assert_eq!(b.reserve("r".parse().unwrap(), &table, &r, Timestamp::MAX, 1).unwrap_err(), ReserveError::BadTtl);
    let h = b.reserve("r".parse().unwrap(), &table, &r, Timestamp::MAX.saturating_sub_secs(1), 1).unwrap();
    assert_eq!(h.expires_at(), Timestamp::MAX);
    assert_eq!(ReserveError::BadTtl.code(), "bad_ttl");
}

#[test]
fn version_is_carried_from_table_to_settlement() {
    let old = table_with(7, &[("openai", "m", price(1_000_000, 1_000_000))]);
    let mut b = funded(1_000);
    let h = b.reserve("r".parse().unwrap(), &old, &req("openai", "m", 10, 10), at(0), 60).unwrap();
    assert_eq!(h.rate_version(), RateTableVersion::new(7));
    // A refresh builds a new table; the hold keeps the version it was
    // priced with.
    let new = table_with(8, &[("openai", "m", price(2_000_000, 2_000_000))]);
    assert_eq!(new.version().get(), 8);
    let actual = old.cost(&"openai".parse().unwrap(), &"m".parse().unwrap(), 10, 3).unwrap();
    let s = h.post(actual, at(1));
    assert_eq!(s.rate_version(), RateTableVersion::new(7));
    assert_eq!(s.debit(), mc(13));
}

#[test]
fn a_settlement_applies_only_to_its_own_tenant_and_only_once() {
    let (mut a, h) = hold(10, 0, 60);
    let mut other = TenantBalance::new("t_b".parse().unwrap());
    other.top_up(mc(1_000)).unwrap();
    let before = other.clone();
    let s = h.post(mc(4), at(1));
    assert_eq!(s.tenant().as_str(), "t_a");
    assert_eq!(other.apply(&s), Err(ApplySettlementError::WrongTenant));
    assert_eq!(other, before);
    assert_eq!(ApplySettlementError::WrongTenant.code(), "wrong_tenant");
    a.apply(&s).unwrap();
    let once = a.clone();
    assert_eq!(a.apply(&s), Err(ApplySettlementError::NotPending));
    assert_eq!(a, once);
    assert_eq!((a.available(), a.pending(), a.spent(), a.credited()), (mc(996), mc(0), mc(4), mc(1_000)));
}

#[test]
fn money_formats_and_serializes_as_an_integer() {
    assert_eq!(mc(1_500_000).to_string(), "1.500000");
    assert_eq!(mc(7).to_string(), "0.000007");
    assert_eq!(MicroCredits::MAX.to_string(), "18446744073709.551615");
    assert_eq!(format!("{:?}", mc(3)), "MicroCredits(3)");
    assert_eq!(serde_json::to_string(&mc(42)).unwrap(), "42");
    assert_eq!(serde_json::from_str::<MicroCredits>("42").unwrap(), mc(42));
    // Floats are not money.
    assert!(serde_json::from_str::<MicroCredits>("4.2").is_err());
    assert!(serde_json::from_str::<MicroCredits>("-1").is_err());
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(QuoteError::UnknownModel.code(), "unknown_model");
    assert_eq!(QuoteError::Overflow.code(), "overflow");
    assert_eq!(ReserveError::UnknownModel.code(), "unknown_model");
    assert_eq!(ReserveError::Overflow.code(), "overflow");
    assert_eq!(ReserveError::IdReused.code(), "id_reused");
    assert_eq!(BalanceError::Overflow.code(), "overflow");
    assert_eq!(ApplySettlementError::NotPending.code(), "not_pending");
    assert_eq!(SettlementKind::Posted.code(), "posted");
    assert_eq!(SettlementKind::Voided.code(), "voided");
    assert_eq!(SettlementKind::Expired.code(), "expired");
    assert_eq!(ReserveError::InsufficientCredits { shortfall: mc(5) }.to_string(), "insufficient credits");
}
