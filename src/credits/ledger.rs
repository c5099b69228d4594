//! An in-memory, sans-IO credit ledger: the reference model of a credit
//! store, for demos and for the test harnesses of services that embed the
//! crate.
//!
//! It applies the same operations a production store applies
//! ([`TenantBalance::reserve`], [`TenantBalance::apply`]) and adds what a
//! store must add around them: idempotency by id and an expiry sweep.
//!
//! **Ids are scoped per tenant.** Every balance, top-up id and reservation
//! id lives under its tenant's key, and every operation reaches exactly one
//! tenant's entry: the tenant it is given, or for a resolution the tenant
//! the [`Reservation`] carries. So an id another tenant already used is,
//! for this tenant, simply a new id: it neither replays nor conflicts with
//! the other tenant's reservation, and cannot learn that it exists (a
//! global id space would answer "id taken", a cross-tenant oracle).
//!
//! **Expiry is half-open**: a hold is live while `now < expires_at`; at
//! `now == expires_at` it is expired, both for resolution and for
//! [`Ledger::expire_due`].

use std::collections::BTreeMap;

use crate::credits::{
    MicroCredits, RateTable, RateTableVersion, Reservation, ReservationId, ReserveError, ReserveRequest, Settlement,
    SettlementKind, TenantBalance, TopUpId,
};
use crate::ids::TenantId;
use crate::time::Timestamp;

/// What [`Ledger::top_up`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopUp {
    /// The amount was credited.
    Applied,
    /// This tenant already applied this id with this amount; nothing
    /// changed.
    Replay,
}

/// Why a top-up was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopUpError {
    /// The tenant already used this id with a different amount.
    #[error("top-up id was used with a different amount")]
    IdReused,
    /// The credited total would not fit in [`MicroCredits`].
    #[error("balance overflows")]
    Overflow,
}

impl TopUpError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::IdReused => "id_reused",
            Self::Overflow => "overflow",
        }
    }
}

/// What a reservation id stands for in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReservationStatus {
    /// The first request with this id was refused; the same error is
    /// replayed.
    Refused(ReserveError),
    /// The hold is unresolved (it may be past its expiry until a
    /// resolution or [`Ledger::expire_due`] sees it).
    Pending {
        /// The amount held.
        amount: MicroCredits,
        /// The rate table version it was priced with.
        rate_version: RateTableVersion,
        /// The first second at which it is expired.
        expires_at: Timestamp,
    },
    /// The hold was resolved.
    Resolved(Settlement),
}

/// What [`Ledger::reserve`] did.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reserved {
    /// A new hold: forward the request, then resolve the handle.
    New(Reservation),
    /// The tenant already used this id for the same request: no new hold
    /// and no handle. Do not forward the request again.
    Replay(ReservationStatus),
}

/// Why a resolution was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// This ledger holds no such reservation for the reservation's tenant
    /// (the handle came from another ledger or balance).
    #[error("unknown reservation")]
    UnknownReservation,
    /// The tenant's balance does not hold the reservation as pending; the
    /// invariants are broken.
    #[error("balance does not hold the reservation")]
    Inconsistent,
}

impl ResolveError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownReservation => "unknown_reservation",
            Self::Inconsistent => "inconsistent",
        }
    }
}

/// A broken ledger invariant, naming the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerInvariantError {
    /// `available + pending + spent` differs from the credited total.
    #[error("balance does not sum to what was credited")]
    Conservation {
        /// The tenant.
        tenant: TenantId,
    },
    /// The credited total differs from the sum of applied top-ups.
    #[error("credited total differs from applied top-ups")]
    TopUps {
        /// The tenant.
        tenant: TenantId,
    },
    /// `pending` differs from the sum of unresolved holds.
    #[error("pending differs from unresolved holds")]
    Pending {
        /// The tenant.
        tenant: TenantId,
    },
    /// `spent` differs from the sum of posted debits.
    #[error("spent differs from posted debits")]
    Spent {
        /// The tenant.
        tenant: TenantId,
    },
    /// An entry is filed under a tenant other than its own.
    #[error("entry filed under another tenant")]
    Misfiled {
        /// The tenant key the entry was found under.
        tenant: TenantId,
    },
}

impl LedgerInvariantError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Conservation { .. } => "conservation",
            Self::TopUps { .. } => "top_ups",
            Self::Pending { .. } => "pending",
            Self::Spent { .. } => "spent",
            Self::Misfiled { .. } => "misfiled",
        }
    }
}

#[derive(Debug, Clone)]
enum Record {
    Refused { request: ReserveRequest, error: ReserveError },
    Pending { request: ReserveRequest, amount: MicroCredits, version: RateTableVersion, expires_at: Timestamp },
    Resolved { request: ReserveRequest, settlement: Settlement },
}

impl Record {
    const fn request(&self) -> &ReserveRequest {
        match self {
            Self::Refused { request, .. } | Self::Pending { request, .. } | Self::Resolved { request, .. } => request,
        }
    }

    fn status(&self) -> ReservationStatus {
        match self {
            Self::Refused { error, .. } => ReservationStatus::Refused(*error),
            Self::Pending { amount, version, expires_at, .. } => {
                ReservationStatus::Pending { amount: *amount, rate_version: *version, expires_at: *expires_at }
            }
            Self::Resolved { settlement, .. } => ReservationStatus::Resolved(settlement.clone()),
        }
    }
}

/// One tenant's entry: its balance and every id it used.
#[derive(Debug, Clone)]
struct Account {
    balance: TenantBalance,
    /// Sum of applied top-ups, kept apart from `balance` so
    /// `check_invariants` compares two independent accounts of it.
    credited: MicroCredits,
    top_ups: BTreeMap<TopUpId, MicroCredits>,
    reservations: BTreeMap<ReservationId, Record>,
}

impl Account {
    const fn new(tenant: TenantId) -> Self {
        Self {
            balance: TenantBalance::new(tenant),
            credited: MicroCredits::ZERO,
            top_ups: BTreeMap::new(),
            reservations: BTreeMap::new(),
        }
    }
}

/// Per-tenant balances with idempotent top-ups, reservations and
/// resolutions.
///
/// Invariant, per tenant, after every operation:
/// `available + pending + spent = credited` ([`check_invariants`](Self::check_invariants)).
///
/// ```
/// use vendo_isolation::*;
/// use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion, ReserveRequest};
/// use vendo_isolation::model::{Ledger, ReservationStatus, Reserved};
///
/// let table = RateTable::from_rows(RateTableVersion::new(3), [(
///     "openai".parse()?, "gpt-4o-mini".parse()?,
///     ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000)),
/// )])?;
/// let acme: TenantId = "t_acme".parse()?;
/// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
///
/// let mut ledger = Ledger::new();
/// ledger.top_up(&acme, "stripe_pi_1".parse()?, MicroCredits::from_micros(10_000))?;
///
/// let req = ReserveRequest::new("openai".parse()?, "gpt-4o-mini".parse()?, 10_000, 4_096);
/// let Reserved::New(hold) = ledger.reserve(&acme, "req_1".parse()?, &table, &req, now, 120)? else {
///     unreachable!("a fresh id makes a new hold");
/// };
/// assert_eq!(hold.amount(), MicroCredits::from_micros(1_500 + 2_458));
///
/// // A retried request with the same id holds nothing more and gets no handle.
/// let again = ledger.reserve(&acme, "req_1".parse()?, &table, &req, now, 120)?;
/// assert!(matches!(again, Reserved::Replay(ReservationStatus::Pending { .. })));
///
/// let settlement = ledger.post(hold, MicroCredits::from_micros(900), now)?;
/// assert_eq!(settlement.tenant(), &acme);
/// let balance = ledger.balance(&acme).unwrap();
/// assert_eq!((balance.available(), balance.pending(), balance.spent()),
///            (MicroCredits::from_micros(9_100), MicroCredits::ZERO, MicroCredits::from_micros(900)));
/// ledger.check_invariants()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    accounts: BTreeMap<TenantId, Account>,
}

impl Ledger {
    /// An empty ledger.
    pub const fn new() -> Self {
        Self { accounts: BTreeMap::new() }
    }

    fn account(&mut self, tenant: &TenantId) -> &mut Account {
        self.accounts.entry(tenant.clone()).or_insert_with(|| Account::new(tenant.clone()))
    }

    /// The tenant's balance, if the ledger has seen the tenant.
    pub fn balance(&self, tenant: &TenantId) -> Option<&TenantBalance> {
        self.accounts.get(tenant).map(|a| &a.balance)
    }

    /// Every tenant's balance, in tenant id order.
    pub fn balances(&self) -> impl Iterator<Item = &TenantBalance> {
        self.accounts.values().map(|a| &a.balance)
    }

    /// What `id` stands for under `tenant`; another tenant's use of the
    /// same id is invisible here.
    pub fn status(&self, tenant: &TenantId, id: &ReservationId) -> Option<ReservationStatus> {
        self.accounts.get(tenant)?.reservations.get(id).map(Record::status)
    }

    /// Credits `amount` to `tenant`, once per `(tenant, id)`.
    ///
    /// A repeat of an applied id with the same amount is
    /// [`TopUp::Replay`] and changes nothing; with another amount it is
    /// [`TopUpError::IdReused`]. A refused top-up leaves no record.
    pub fn top_up(&mut self, tenant: &TenantId, id: TopUpId, amount: MicroCredits) -> Result<TopUp, TopUpError> {
        let account = self.account(tenant);
        if let Some(first) = account.top_ups.get(&id) {
            return if *first == amount { Ok(TopUp::Replay) } else { Err(TopUpError::IdReused) };
        }
        let credited = account.credited.checked_add(amount).ok_or(TopUpError::Overflow)?;
        account.balance.top_up(amount).map_err(|_| TopUpError::Overflow)?;
        account.credited = credited;
        account.top_ups.insert(id, amount);
        Ok(TopUp::Applied)
    }

    /// Reserves the worst case of `request` for `tenant` under `id`
    /// ([`TenantBalance::reserve`]), once per `(tenant, id)`.
    ///
    /// The first outcome is recorded, refusals included, and a repeat of
    /// the same request replays it: [`Reserved::Replay`] with the status,
    /// or the same error. A repeat with a different request is
    /// [`ReserveError::IdReused`].
    pub fn reserve(
        &mut self,
        tenant: &TenantId,
        id: ReservationId,
        table: &RateTable,
        request: &ReserveRequest,
        now: Timestamp,
        ttl_secs: u32,
    ) -> Result<Reserved, ReserveError> {
        let account = self.account(tenant);
        if let Some(record) = account.reservations.get(&id) {
            if record.request() != request {
                return Err(ReserveError::IdReused);
            }
            return match record {
                Record::Refused { error, .. } => Err(*error),
                _ => Ok(Reserved::Replay(record.status())),
            };
        }
        match account.balance.reserve(id.clone(), table, request, now, ttl_secs) {
            Ok(hold) => {
                let (amount, version, expires_at) = hold.parts();
                account
                    .reservations
                    .insert(id, Record::Pending { request: request.clone(), amount, version, expires_at });
                Ok(Reserved::New(hold))
            }
            Err(error) => {
                account.reservations.insert(id, Record::Refused { request: request.clone(), error });
                Err(error)
            }
        }
    }

    /// Posts the actual cost of `reservation` ([`Reservation::post`]) to
    /// the reservation's own tenant.
    ///
    /// If the ledger already resolved it (an expiry sweep got there
    /// first), the first settlement is returned and nothing changes.
    pub fn post(
        &mut self,
        reservation: Reservation,
        actual: MicroCredits,
        now: Timestamp,
    ) -> Result<Settlement, ResolveError> {
        self.resolve(reservation, |r| r.post(actual, now))
    }

    /// Voids `reservation` ([`Reservation::void`]); as [`post`](Self::post)
    /// if it was already resolved.
    pub fn void(&mut self, reservation: Reservation, now: Timestamp) -> Result<Settlement, ResolveError> {
        self.resolve(reservation, |r| r.void(now))
    }

    fn resolve(
        &mut self,
        reservation: Reservation,
        settle: impl FnOnce(Reservation) -> Settlement,
    ) -> Result<Settlement, ResolveError> {
        let Account { balance, reservations, .. } =
            self.accounts.get_mut(reservation.tenant()).ok_or(ResolveError::UnknownReservation)?;
        let record = reservations.get_mut(reservation.id()).ok_or(ResolveError::UnknownReservation)?;
        let (amount, version, expires_at) = reservation.parts();
        match record {
            Record::Pending { request, amount: a, version: v, expires_at: e }
                if (*a, *v, *e) == (amount, version, expires_at) =>
            {
                let settlement = settle(reservation);
                balance.apply(&settlement).map_err(|_| ResolveError::Inconsistent)?;
                *record = Record::Resolved { request: request.clone(), settlement: settlement.clone() };
                Ok(settlement)
            }
            // The first outcome stands: a handle resolved after the sweep
            // has no second effect.
            Record::Resolved { settlement, .. }
                if (settlement.reserved(), settlement.rate_version(), settlement.expires_at())
                    == (amount, version, expires_at) =>
            {
                Ok(settlement.clone())
            }
            _ => Err(ResolveError::UnknownReservation),
        }
    }

    /// Expires every unresolved hold with `expires_at <= now`, releasing
    /// its amount to its own tenant, and returns the settlements in tenant
    /// and id order. Their handles, resolved later, get these settlements.
    pub fn expire_due(&mut self, now: Timestamp) -> Vec<Settlement> {
        let mut out = Vec::new();
        for account in self.accounts.values_mut() {
            let Account { balance, reservations, .. } = account;
            for (id, record) in reservations.iter_mut() {
                let Record::Pending { request, amount, version, expires_at } = record else { continue };
                if now < *expires_at {
                    continue;
                }
                let settlement =
                    Settlement::expired(balance.tenant().clone(), id.clone(), *amount, *version, *expires_at);
                // A balance that refuses is left pending for check_invariants
                // to report; the sweep never half-applies.
                if balance.apply(&settlement).is_ok() {
                    *record = Record::Resolved { request: request.clone(), settlement: settlement.clone() };
                    out.push(settlement);
                }
            }
        }
        out
    }

    /// Checks, per tenant: `available + pending + spent` equals the
    /// credited total; the credited total equals the sum of applied
    /// top-ups; `pending` equals the sum of unresolved holds; `spent`
    /// equals the sum of posted debits; the balance is filed under its own
    /// tenant. Returns the first broken one.
    pub fn check_invariants(&self) -> Result<(), LedgerInvariantError> {
        for (tenant, account) in &self.accounts {
            let err = |make: fn(TenantId) -> LedgerInvariantError| Err(make(tenant.clone()));
            let b = &account.balance;
            if b.tenant() != tenant {
                return err(|tenant| LedgerInvariantError::Misfiled { tenant });
            }
            let sum = b.available().checked_add(b.pending()).and_then(|s| s.checked_add(b.spent()));
            if sum != Some(account.credited) {
                return err(|tenant| LedgerInvariantError::Conservation { tenant });
            }
            if sum_of(account.top_ups.values().copied()) != Some(account.credited) {
                return err(|tenant| LedgerInvariantError::TopUps { tenant });
            }
            let mut pending = Vec::new();
            let mut debits = Vec::new();
            for record in account.reservations.values() {
                match record {
                    Record::Pending { amount, .. } => pending.push(*amount),
                    Record::Resolved { settlement, .. } => {
                        if settlement.tenant() != tenant {
                            return err(|tenant| LedgerInvariantError::Misfiled { tenant });
                        }
                        if settlement.kind() == SettlementKind::Posted {
                            debits.push(settlement.debit());
                        }
                    }
                    Record::Refused { .. } => {}
                }
            }
            if sum_of(pending) != Some(b.pending()) {
                return err(|tenant| LedgerInvariantError::Pending { tenant });
            }
            if sum_of(debits) != Some(b.spent()) {
                return err(|tenant| LedgerInvariantError::Spent { tenant });
            }
        }
        Ok(())
    }
}

fn sum_of(amounts: impl IntoIterator<Item = MicroCredits>) -> Option<MicroCredits> {
    amounts.into_iter().try_fold(MicroCredits::ZERO, MicroCredits::checked_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle the ledger properties trust names each broken account,
    /// one corruption at a time.
    #[test]
    fn the_invariant_check_names_each_broken_account() {
        let tenant: TenantId = "t_a".parse().unwrap();
        let healthy = || {
            let mut l = Ledger::new();
            l.top_up(&tenant, "tu".parse().unwrap(), MicroCredits::from_micros(100)).unwrap();
            l
        };
        assert_eq!(healthy().check_invariants(), Ok(()));

        let mut l = healthy();
        l.accounts.get_mut(&tenant).unwrap().credited = MicroCredits::from_micros(99);
        assert_eq!(l.check_invariants(), Err(LedgerInvariantError::Conservation { tenant: tenant.clone() }));

        let mut l = healthy();
        l.accounts.get_mut(&tenant).unwrap().top_ups.insert("tu2".parse().unwrap(), MicroCredits::from_micros(1));
        assert_eq!(l.check_invariants(), Err(LedgerInvariantError::TopUps { tenant: tenant.clone() }));

        let mut l = healthy();
        let other: TenantId = "t_b".parse().unwrap();
        let moved = l.accounts.remove(&tenant).unwrap();
        l.accounts.insert(other.clone(), moved);
        assert_eq!(l.check_invariants(), Err(LedgerInvariantError::Misfiled { tenant: other }));
    }
}
