//! Two-phase holds on one tenant's balance: reserve the worst case, then
//! post the actual cost, void, or let the hold expire.

use crate::credits::money::{MicroCredits, ReservationId};
use crate::credits::rates::{QuoteError, RateTable, RateTableVersion, ReserveRequest};
use crate::ids::TenantId;
use crate::time::Timestamp;

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReserveError {
    /// The model is not in the rate table (fails closed).
    #[error("model is not in the rate table")]
    UnknownModel,
    /// The worst-case cost does not fit in [`MicroCredits`].
    #[error("cost overflows")]
    Overflow,
    /// The available balance is below the worst-case cost. Nothing was held.
    #[error("insufficient credits")]
    InsufficientCredits {
        /// How much more the tenant would need: `cost - available`.
        shortfall: MicroCredits,
    },
    /// The time to live is zero, or `now + ttl` is past
    /// [`Timestamp::MAX`].
    #[error("time to live is zero or out of range")]
    BadTtl,
    /// The tenant already used this id for a different request. Only the
    /// [`Ledger`](crate::model::Ledger) returns this.
    #[error("reservation id was used for a different request")]
    IdReused,
}

impl ReserveError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownModel => "unknown_model",
            Self::Overflow => "overflow",
            Self::InsufficientCredits { .. } => "insufficient_credits",
            Self::BadTtl => "bad_ttl",
            Self::IdReused => "id_reused",
        }
    }
}

impl From<QuoteError> for ReserveError {
    fn from(e: QuoteError) -> Self {
        match e {
            QuoteError::UnknownModel => Self::UnknownModel,
            QuoteError::Overflow => Self::Overflow,
        }
    }
}

/// Why a balance could not take a top-up or be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BalanceError {
    /// The credited total would not fit in [`MicroCredits`].
    #[error("balance overflows")]
    Overflow,
}

impl BalanceError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Overflow => "overflow",
        }
    }
}

/// Why a settlement could not be applied to a balance. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplySettlementError {
    /// The settlement belongs to another tenant's balance.
    #[error("settlement belongs to another tenant")]
    WrongTenant,
    /// The balance does not hold the settled amount as pending: the
    /// settlement was applied already, or the balance was not the one the
    /// reservation was taken from.
    #[error("balance does not hold the reserved amount")]
    NotPending,
}

impl ApplySettlementError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::WrongTenant => "wrong_tenant",
            Self::NotPending => "not_pending",
        }
    }
}

/// One tenant's balance: `available + pending + spent = credited`.
///
/// Every operation keeps that sum and keeps it within [`MicroCredits`]:
/// a top-up grows `available` and `credited`; a reservation moves its
/// amount from `available` to `pending` in the same step that checks it
/// (no window between the check and the hold, BerriAI/litellm#40095); a
/// settlement moves it from `pending` to `spent` and back to `available`.
///
/// A store keyed on `tenant_id` loads a balance with
/// [`from_parts`](Self::from_parts), applies one operation and writes it
/// back in one transaction (compare-and-swap on the row).
///
/// ```
/// use vendo_isolation::*;
/// use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion, ReserveRequest, TenantBalance};
/// let table = RateTable::from_rows(RateTableVersion::new(1), [(
///     "openai".parse()?, "gpt-4o".parse()?,
///     ModelPrice::per_million_tokens(MicroCredits::from_micros(2_500_000), MicroCredits::from_micros(10_000_000)),
/// )])?;
/// let mut balance = TenantBalance::new("t_acme".parse()?);
/// balance.top_up(MicroCredits::from_credits(1).unwrap())?;
///
/// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
/// let req = ReserveRequest::new("openai".parse()?, "gpt-4o".parse()?, 1_000, 1_000);
/// let hold = balance.reserve("req_1".parse()?, &table, &req, now, 300)?;
/// assert_eq!(hold.amount(), MicroCredits::from_micros(12_500));
/// assert_eq!(balance.pending(), hold.amount());
///
/// let settlement = hold.post(MicroCredits::from_micros(4_000), now);
/// balance.apply(&settlement)?;
/// assert_eq!(balance.spent(), MicroCredits::from_micros(4_000));
/// assert_eq!(balance.available(), MicroCredits::from_micros(996_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantBalance {
    tenant: TenantId,
    available: MicroCredits,
    pending: MicroCredits,
    spent: MicroCredits,
}

impl TenantBalance {
    /// An empty balance for `tenant`.
    pub const fn new(tenant: TenantId) -> Self {
        Self { tenant, available: MicroCredits::ZERO, pending: MicroCredits::ZERO, spent: MicroCredits::ZERO }
    }

    /// A balance as a store holds it; refused if the three parts do not
    /// sum within [`MicroCredits`].
    pub fn from_parts(
        tenant: TenantId,
        available: MicroCredits,
        pending: MicroCredits,
        spent: MicroCredits,
    ) -> Result<Self, BalanceError> {
        available.checked_add(pending).and_then(|s| s.checked_add(spent)).ok_or(BalanceError::Overflow)?;
        Ok(Self { tenant, available, pending, spent })
    }

    /// The tenant this balance belongs to.
    pub const fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Credit that new reservations may hold.
    pub const fn available(&self) -> MicroCredits {
        self.available
    }

    /// Credit held by unresolved reservations.
    pub const fn pending(&self) -> MicroCredits {
        self.pending
    }

    /// Credit debited by posted reservations.
    pub const fn spent(&self) -> MicroCredits {
        self.spent
    }

    /// Everything ever credited: `available + pending + spent`.
    pub const fn credited(&self) -> MicroCredits {
        // INVARIANT: every constructor and operation keeps this sum within
        // u64 (from_parts and top_up check it; the others move amounts).
        MicroCredits::from_micros(
            self.available.micros().saturating_add(self.pending.micros()).saturating_add(self.spent.micros()),
        )
    }

    /// Credits `amount` to `available`. Idempotency of top-ups is the
    /// store's (see [`Ledger::top_up`](crate::model::Ledger::top_up)).
    pub fn top_up(&mut self, amount: MicroCredits) -> Result<(), BalanceError> {
        self.credited().checked_add(amount).ok_or(BalanceError::Overflow)?;
        self.available = self.available.checked_add(amount).ok_or(BalanceError::Overflow)?;
        Ok(())
    }

    /// Holds the worst-case cost of `request` at `table`'s prices until
    /// `now + ttl_secs`, or refuses without changing anything.
    ///
    /// Checks, in order: the TTL ([`ReserveError::BadTtl`]), the price
    /// ([`ReserveError::UnknownModel`], [`ReserveError::Overflow`]), the
    /// balance ([`ReserveError::InsufficientCredits`] with the shortfall).
    /// The reservation carries this balance's tenant, `id`, the amount,
    /// the table's version and the expiry.
    pub fn reserve(
        &mut self,
        id: ReservationId,
        table: &RateTable,
        request: &ReserveRequest,
        now: Timestamp,
        ttl_secs: u32,
    ) -> Result<Reservation, ReserveError> {
        if ttl_secs == 0 {
            return Err(ReserveError::BadTtl);
        }
        let expires_at = now.checked_add_secs(u64::from(ttl_secs)).map_err(|_| ReserveError::BadTtl)?;
        let amount = table.quote(request)?;
        let Some(available) = self.available.checked_sub(amount) else {
            return Err(ReserveError::InsufficientCredits { shortfall: amount.saturating_sub(self.available) });
        };
        // INVARIANT: amount <= old available, so pending + amount stays
        // within the credited sum.
        let pending = self.pending.checked_add(amount).ok_or(ReserveError::Overflow)?;
        self.available = available;
        self.pending = pending;
        Ok(Reservation { tenant: self.tenant.clone(), id, amount, version: table.version(), expires_at })
    }

    /// Applies a settlement of a reservation taken from this balance:
    /// `pending -= reserved`, `spent += debit`, `available += released`.
    ///
    /// The tenant comes from the settlement; a settlement of another
    /// tenant's reservation is [`ApplySettlementError::WrongTenant`].
    /// This value has no memory of ids: applying one settlement twice is
    /// the store's to prevent (the reservation row keyed on
    /// `(tenant_id, reservation_id)` is resolved in the same transaction),
    /// as [`Ledger`](crate::model::Ledger) does.
    pub fn apply(&mut self, settlement: &Settlement) -> Result<(), ApplySettlementError> {
        if settlement.tenant != self.tenant {
            return Err(ApplySettlementError::WrongTenant);
        }
        let pending = self.pending.checked_sub(settlement.reserved).ok_or(ApplySettlementError::NotPending)?;
        // INVARIANT: debit + released == reserved <= old pending, so both
        // sums stay within the credited total.
        let spent = self.spent.checked_add(settlement.debit()).ok_or(ApplySettlementError::NotPending)?;
        let available = self.available.checked_add(settlement.released()).ok_or(ApplySettlementError::NotPending)?;
        self.pending = pending;
        self.spent = spent;
        self.available = available;
        Ok(())
    }
}

/// A hold on one tenant's credit, resolved exactly once.
///
/// Only [`TenantBalance::reserve`] (and [`Ledger::reserve`](crate::model::Ledger::reserve))
/// make one. It is not `Clone`, and [`post`](Self::post),
/// [`void`](Self::void) and [`expire`](Self::expire) take it by value, so
/// the compiler refuses a second resolution. None of them takes a tenant:
/// the settlement is for the tenant the hold was taken from, and no code
/// path can point it at another.
///
/// Expiry is half-open: the hold is live while `now < expires_at`; at
/// `now == expires_at` it is expired (as a session is at `now == exp`,
/// SPEC §4).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation holds credit until it is posted, voided or expires"]
pub struct Reservation {
    tenant: TenantId,
    id: ReservationId,
    amount: MicroCredits,
    version: RateTableVersion,
    expires_at: Timestamp,
}

impl Reservation {
    /// The tenant whose credit is held.
    pub const fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The reservation's id (its idempotency key within the tenant).
    pub const fn id(&self) -> &ReservationId {
        &self.id
    }

    /// The amount held: the worst-case cost.
    pub const fn amount(&self) -> MicroCredits {
        self.amount
    }

    /// The version of the rate table the amount was priced with.
    pub const fn rate_version(&self) -> RateTableVersion {
        self.version
    }

    /// The first second at which the hold is expired.
    pub const fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Whether the hold is expired at `now` (`now >= expires_at`).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Posts the actual cost and releases the rest.
    ///
    /// The debit is capped at the reserved amount; anything above it is
    /// reported by [`Settlement::overrun`] so the caller can alert. A post
    /// at or after expiry debits nothing and settles as
    /// [`SettlementKind::Expired`]: the hold was already released, and the
    /// outcome must not depend on whether an expiry sweep ran first.
    pub fn post(self, actual: MicroCredits, now: Timestamp) -> Settlement {
        let kind = if self.is_expired(now) { SettlementKind::Expired } else { SettlementKind::Posted };
        self.settle(kind, Some(actual))
    }

    /// Releases the whole hold (the upstream call was not made or failed
    /// without cost). At or after expiry it settles as
    /// [`SettlementKind::Expired`].
    pub fn void(self, now: Timestamp) -> Settlement {
        let kind = if self.is_expired(now) { SettlementKind::Expired } else { SettlementKind::Voided };
        self.settle(kind, None)
    }

    /// Releases the hold if it is expired at `now`; gives it back if not.
    pub fn expire(self, now: Timestamp) -> Result<Settlement, Self> {
        if self.is_expired(now) { Ok(self.settle(SettlementKind::Expired, None)) } else { Err(self) }
    }

    fn settle(self, kind: SettlementKind, actual: Option<MicroCredits>) -> Settlement {
        Settlement {
            tenant: self.tenant,
            id: self.id,
            version: self.version,
            expires_at: self.expires_at,
            reserved: self.amount,
            kind,
            actual,
        }
    }

    /// The fields a store keeps for an unresolved hold.
    pub(crate) fn parts(&self) -> (MicroCredits, RateTableVersion, Timestamp) {
        (self.amount, self.version, self.expires_at)
    }
}

/// How a reservation was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SettlementKind {
    /// The actual cost was debited (capped at the reserved amount).
    Posted,
    /// The hold was released with no debit.
    Voided,
    /// The hold expired and was released with no debit.
    Expired,
}

impl SettlementKind {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Voided => "voided",
            Self::Expired => "expired",
        }
    }
}

/// The resolution of one reservation, for the reservation's own tenant.
///
/// `debit + released == reserved` always; apply it with
/// [`TenantBalance::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    tenant: TenantId,
    id: ReservationId,
    version: RateTableVersion,
    expires_at: Timestamp,
    reserved: MicroCredits,
    kind: SettlementKind,
    actual: Option<MicroCredits>,
}

impl Settlement {
    /// Builds the settlement of an expired hold a store kept without its
    /// handle (the ledger's expiry sweep).
    pub(crate) const fn expired(
        tenant: TenantId,
        id: ReservationId,
        reserved: MicroCredits,
        version: RateTableVersion,
        expires_at: Timestamp,
    ) -> Self {
        Self { tenant, id, version, expires_at, reserved, kind: SettlementKind::Expired, actual: None }
    }

    /// The tenant debited; always the tenant the hold was taken from.
    pub const fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The reservation's id.
    pub const fn id(&self) -> &ReservationId {
        &self.id
    }

    /// The rate table version the reservation was priced with.
    pub const fn rate_version(&self) -> RateTableVersion {
        self.version
    }

    /// The reservation's expiry.
    pub const fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// How the reservation was resolved.
    pub const fn kind(&self) -> SettlementKind {
        self.kind
    }

    /// The amount that was held.
    pub const fn reserved(&self) -> MicroCredits {
        self.reserved
    }

    /// The actual cost the caller posted, if it posted one.
    pub const fn actual(&self) -> Option<MicroCredits> {
        self.actual
    }

    /// The amount moved from pending to spent: `min(actual, reserved)` for
    /// a post, zero otherwise.
    pub fn debit(&self) -> MicroCredits {
        match (self.kind, self.actual) {
            (SettlementKind::Posted, Some(actual)) => actual.min(self.reserved),
            _ => MicroCredits::ZERO,
        }
    }

    /// The amount moved from pending back to available: `reserved - debit`.
    pub fn released(&self) -> MicroCredits {
        // INVARIANT: debit() <= reserved, so this never saturates.
        self.reserved.saturating_sub(self.debit())
    }

    /// How far a posted actual cost exceeded the reservation, if it did.
    /// The debit was capped; this is the part the tenant was not charged,
    /// reported so the caller can alert (a worst case that was not one).
    pub fn overrun(&self) -> Option<MicroCredits> {
        match (self.kind, self.actual) {
            (SettlementKind::Posted, Some(actual)) if actual > self.reserved => actual.checked_sub(self.reserved),
            _ => None,
        }
    }

    /// Posted cost that was not debited: an overrun, or the whole actual
    /// of a post that arrived at or after expiry. Zero otherwise.
    pub fn unbilled(&self) -> MicroCredits {
        self.actual.unwrap_or_default().saturating_sub(self.debit())
    }
}
