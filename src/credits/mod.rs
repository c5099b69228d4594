//! Per-tenant credits: integer money, the shared rate table, and two-phase
//! reservations that settle only against their own tenant.
//!
//! The flow, as the proxy runs it for one upstream call:
//!
//! 1. price the request's worst case with the global [`RateTable`]
//!    (an unknown model fails closed);
//! 2. reserve that amount against the resolved tenant's balance
//!    ([`TenantBalance::reserve`], or [`Ledger::reserve`](crate::model::Ledger::reserve)
//!    with idempotency): the check and the hold are one step;
//! 3. forward, then resolve the [`Reservation`] exactly once: post the
//!    actual cost, void it, or let it expire. Resolving takes no tenant, so
//!    the [`Settlement`] debits the tenant the hold was taken from.
//!
//! Money is [`MicroCredits`], an integer with checked arithmetic only.

pub(crate) mod ledger;
mod money;
mod postgres;
mod rates;
mod reservation;

pub use money::{MAX_MODEL_NAME_LEN, MicroCredits, ModelName, ReservationId, TopUpId};
pub use postgres::{LedgerReply, POSTGRES_CREDITS_SCHEMA, SQLSTATE_HOLD_RESOLVED};
pub use rates::{
    ModelPrice, QuoteError, RateTable, RateTableBuilder, RateTableError, RateTableVersion, ReserveRequest,
    TOKENS_PER_PRICE_UNIT,
};
pub use reservation::{
    ApplySettlementError, BalanceError, Reservation, ReserveError, Settlement, SettlementKind, TenantBalance,
};
