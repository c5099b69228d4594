//! Strategies for the credits boundary: amounts, names, prices and rate
//! tables.

use proptest::prelude::*;

use crate::credits::{MicroCredits, ModelName, ModelPrice, RateTable, RateTableVersion, ReservationId, TopUpId};
use crate::testing::id_string;

/// Any amount up to `max` micro-credits.
pub fn micro_credits(max: u64) -> impl Strategy<Value = MicroCredits> {
    (0..=max).prop_map(MicroCredits::from_micros)
}

/// Any valid model name string: 1–128 bytes of `[A-Za-z0-9._:/@-]`.
pub fn model_name_string() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:/@-]{1,128}"
}

try_from_strategy!(model_name, ModelName, model_name_string());
try_from_strategy!(reservation_id, ReservationId, id_string());
try_from_strategy!(top_up_id, TopUpId, id_string());

/// Any model price with each part up to `max` micro-credits per million
/// tokens.
pub fn model_price(max: u64) -> impl Strategy<Value = ModelPrice> {
    (micro_credits(max), micro_credits(max)).prop_map(|(i, o)| ModelPrice::per_million_tokens(i, o))
}

/// A rate table of up to `max_rows` distinct models, prices up to
/// `max_price`, any version.
pub fn rate_table(max_rows: usize, max_price: u64) -> impl Strategy<Value = RateTable> {
    (any::<u64>(), prop::collection::btree_map((super::provider(), model_name()), model_price(max_price), 0..=max_rows))
        .prop_filter_map("colliding rows", |(version, rows)| {
            RateTable::from_rows(RateTableVersion::new(version), rows.into_iter().map(|((p, m), price)| (p, m, price)))
                .ok()
        })
}
