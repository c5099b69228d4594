//! The shared provider rate table: read by every tenant, written by none.
//!
//! A refresh job builds a new [`RateTable`] through a [`RateTableBuilder`]
//! and the caller swaps it in whole (an `Arc` behind a lock, a KV key):
//! the table itself has no `&mut` method, so no tenant-reachable code path
//! can change a price. A model that is not in the table has no price: every
//! lookup of it fails closed, where pricing it at zero would let it through
//! for free (Helicone #5700).

use std::collections::BTreeMap;

use crate::credits::money::{MicroCredits, ModelName};
use crate::tenancy::Provider;

/// Tokens a price is quoted per.
pub const TOKENS_PER_PRICE_UNIT: u64 = 1_000_000;

/// The version a refresh job gives a rate table; carried by every
/// reservation priced with it, so a settlement can be traced to its prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RateTableVersion(u64);

impl RateTableVersion {
    /// A version number, as the refresh job assigns it.
    pub const fn new(version: u64) -> Self {
        Self(version)
    }

    /// The version number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// One model's prices, in micro-credits per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelPrice {
    input: MicroCredits,
    output: MicroCredits,
    max_output: Option<u64>,
}

/// `ceil(tokens * price / 1_000_000)`, exact: a `u64` times a `u64` fits a
/// `u128`, and rounding up means no request is ever priced below its cost.
fn token_cost(tokens: u64, per_million: MicroCredits) -> Option<MicroCredits> {
    let scaled = u128::from(tokens).checked_mul(u128::from(per_million.micros()))?;
    let unit = u128::from(TOKENS_PER_PRICE_UNIT);
    let whole = scaled.checked_div(unit)?;
    let rounded = if scaled.checked_rem(unit)? == 0 { whole } else { whole.checked_add(1)? };
    u64::try_from(rounded).ok().map(MicroCredits::from_micros)
}

impl ModelPrice {
    /// Prices for input and output tokens, each in micro-credits per
    /// million tokens. A zero price is allowed but must be written down:
    /// only an explicit entry makes a model free.
    pub const fn per_million_tokens(input: MicroCredits, output: MicroCredits) -> Self {
        Self { input, output, max_output: None }
    }

    /// The model's largest output, in tokens: the worst case of a call
    /// that names no `max_tokens` (SPEC §9).
    pub const fn with_max_output(mut self, tokens: u64) -> Self {
        self.max_output = Some(tokens);
        self
    }

    /// The model's largest output, if the table knows it.
    pub const fn max_output(&self) -> Option<u64> {
        self.max_output
    }

    /// Micro-credits per million input tokens.
    pub const fn input_per_million(&self) -> MicroCredits {
        self.input
    }

    /// Micro-credits per million output tokens.
    pub const fn output_per_million(&self) -> MicroCredits {
        self.output
    }

    /// `ceil(input_tokens * input / 1e6) + ceil(output_tokens * output / 1e6)`.
    ///
    /// Each part is rounded up on its own, so the sum is never below the
    /// exact cost; an amount past [`MicroCredits::MAX`] is an error.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> Result<MicroCredits, QuoteError> {
        let input = token_cost(input_tokens, self.input).ok_or(QuoteError::Overflow)?;
        let output = token_cost(output_tokens, self.output).ok_or(QuoteError::Overflow)?;
        input.checked_add(output).ok_or(QuoteError::Overflow)
    }
}

/// Why a request could not be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuoteError {
    /// The (provider, model) pair is not in the rate table; it fails
    /// closed rather than pricing at zero.
    #[error("model is not in the rate table")]
    UnknownModel,
    /// The cost does not fit in [`MicroCredits`].
    #[error("cost overflows")]
    Overflow,
}

impl QuoteError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownModel => "unknown_model",
            Self::Overflow => "overflow",
        }
    }
}

/// Why a rate table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateTableError {
    /// The same (provider, model) pair was given twice: which price wins
    /// would be an accident of row order, so neither does.
    #[error("model is priced twice")]
    DuplicateModel,
}

impl RateTableError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::DuplicateModel => "duplicate_model",
        }
    }
}

/// What one upstream call may cost at most: the model, its input tokens and
/// the request's cap on output tokens.
///
/// The caller counts input tokens and takes the cap from the request (or
/// imposes one). Reserving against the cap, not an estimate, is what keeps
/// concurrent requests from overspending (BerriAI/litellm#34732).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReserveRequest {
    provider: Provider,
    model: ModelName,
    input_tokens: u64,
    max_output_tokens: u64,
}

impl ReserveRequest {
    /// A request for `model` at `provider`.
    pub const fn new(provider: Provider, model: ModelName, input_tokens: u64, max_output_tokens: u64) -> Self {
        Self { provider, model, input_tokens, max_output_tokens }
    }

    /// The provider.
    pub const fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The model, as it will be forwarded.
    pub const fn model(&self) -> &ModelName {
        &self.model
    }

    /// Input tokens.
    pub const fn input_tokens(&self) -> u64 {
        self.input_tokens
    }

    /// The most output tokens the upstream may produce.
    pub const fn max_output_tokens(&self) -> u64 {
        self.max_output_tokens
    }
}

/// The global table of model prices, immutable once built.
///
/// ```
/// use vendo_isolation::credits::{MicroCredits, ModelPrice, QuoteError, RateTable, RateTableVersion, ReserveRequest};
///
/// let mut b = RateTable::builder(RateTableVersion::new(7));
/// // 0.15 credits per million input tokens, 0.60 per million output.
/// let price = ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000));
/// b.insert("openai".parse()?, "gpt-4o-mini".parse()?, price)?;
/// let table = b.build();
///
/// let req = ReserveRequest::new("openai".parse()?, "gpt-4o-mini".parse()?, 1_000, 500);
/// // ceil(1000 * 150000 / 1e6) + ceil(500 * 600000 / 1e6) = 150 + 300
/// assert_eq!(table.quote(&req), Ok(MicroCredits::from_micros(450)));
///
/// let unknown = ReserveRequest::new("openai".parse()?, "gpt-5-free".parse()?, 1, 1);
/// assert_eq!(table.quote(&unknown), Err(QuoteError::UnknownModel));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTable {
    version: RateTableVersion,
    prices: BTreeMap<Provider, BTreeMap<ModelName, ModelPrice>>,
}

/// Collects prices for a new [`RateTable`]; consumed by
/// [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct RateTableBuilder {
    table: RateTable,
}

impl RateTableBuilder {
    /// Adds one model's price. A pair given twice is an error.
    pub fn insert(&mut self, provider: Provider, model: ModelName, price: ModelPrice) -> Result<(), RateTableError> {
        let models = self.table.prices.entry(provider).or_default();
        if models.contains_key(&model) {
            return Err(RateTableError::DuplicateModel);
        }
        models.insert(model, price);
        Ok(())
    }

    /// The finished table.
    pub fn build(self) -> RateTable {
        self.table
    }
}

impl RateTable {
    /// Starts a table with `version`.
    pub const fn builder(version: RateTableVersion) -> RateTableBuilder {
        RateTableBuilder { table: Self { version, prices: BTreeMap::new() } }
    }

    /// Builds a table from `(provider, model, price)` rows, refusing a pair
    /// given twice.
    pub fn from_rows<I>(version: RateTableVersion, rows: I) -> Result<Self, RateTableError>
    where
        I: IntoIterator<Item = (Provider, ModelName, ModelPrice)>,
    {
        let mut b = Self::builder(version);
        for (provider, model, price) in rows {
            b.insert(provider, model, price)?;
        }
        Ok(b.build())
    }

    /// The version the refresh job gave this table.
    pub const fn version(&self) -> RateTableVersion {
        self.version
    }

    /// The price of `model` at `provider`; a pair not in the table is
    /// [`QuoteError::UnknownModel`], never a zero price.
    pub fn price(&self, provider: &Provider, model: &ModelName) -> Result<ModelPrice, QuoteError> {
        self.prices.get(provider).and_then(|m| m.get(model)).copied().ok_or(QuoteError::UnknownModel)
    }

    /// The cost of a call that used `input_tokens` and `output_tokens`.
    pub fn cost(
        &self,
        provider: &Provider,
        model: &ModelName,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Result<MicroCredits, QuoteError> {
        self.price(provider, model)?.cost(input_tokens, output_tokens)
    }

    /// The worst-case cost of `request`: its input tokens and its output
    /// cap at this table's prices, rounded up.
    pub fn quote(&self, request: &ReserveRequest) -> Result<MicroCredits, QuoteError> {
        self.cost(&request.provider, &request.model, request.input_tokens, request.max_output_tokens)
    }

    /// Number of priced models.
    pub fn len(&self) -> usize {
        self.prices.values().map(BTreeMap::len).fold(0, usize::saturating_add)
    }

    /// Whether no model is priced (every quote fails closed).
    pub fn is_empty(&self) -> bool {
        self.prices.values().all(BTreeMap::is_empty)
    }

    /// Every `(provider, model, price)` row, in byte order.
    pub fn iter(&self) -> impl Iterator<Item = (&Provider, &ModelName, ModelPrice)> {
        self.prices.iter().flat_map(|(p, models)| models.iter().map(move |(m, price)| (p, m, *price)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_cost_rounds_up_exactly() {
        let p = MicroCredits::from_micros;
        assert_eq!(token_cost(0, p(u64::MAX)), Some(p(0)));
        assert_eq!(token_cost(1, p(1)), Some(p(1)));
        assert_eq!(token_cost(1_000_000, p(1)), Some(p(1)));
        assert_eq!(token_cost(1_000_001, p(1)), Some(p(2)));
        assert_eq!(token_cost(u64::MAX, p(1_000_000)), Some(p(u64::MAX)));
        assert_eq!(token_cost(u64::MAX, p(1_000_001)), None);
        assert_eq!(token_cost(u64::MAX, p(u64::MAX)), None);
    }
}
