//! The credit ledger of SPEC §9.1 in PostgreSQL (`sql/credits.sql`): the
//! DDL, and the typed reading of what its functions answer.

/// The credit ledger's tables and the six functions of SPEC §9.1
/// (`sql/credits.sql`), for PostgreSQL 11 or later. Loads beside the
/// binding DDL ([`POSTGRES_SCHEMA`](crate::tenancy::POSTGRES_SCHEMA)) and
/// the route DDL ([`POSTGRES_ROUTES_SCHEMA`](crate::hosts::POSTGRES_ROUTES_SCHEMA)),
/// in one transaction into an empty database.
///
/// | function | answers |
/// |---|---|
/// | `vendo_credits_top_up(tenant_id, top_up_id, amount)` | `credited`, `duplicate`, `id_reused` |
/// | `vendo_credits_reserve(tenant_id, reservation_id, amount, ttl_s, now_s)` | `reserved`, `duplicate`, `id_reused`, `insufficient_credits`, `bad_request` |
/// | `vendo_credits_post(tenant_id, reservation_id, actual, now_s)` | `posted`, `posted_capped`, `not_found`, `already_resolved`, `expired` |
/// | `vendo_credits_void(tenant_id, reservation_id, now_s)` | `voided`, `not_found`, `already_resolved`, `expired` |
/// | `vendo_credits_expire(max_rows, now_s)` | the number of holds released |
/// | `vendo_credits_balance(tenant_id)` | one row: `credited`, `pending`, `spent`, `available` |
///
/// The reserve is one conditional `UPDATE … WHERE available >= amount`,
/// which PostgreSQL re-checks against the latest row when a concurrent
/// reserve committed first, so concurrent proxies cannot overdraw a
/// balance; `CHECK` constraints refuse a negative or unbalanced balance
/// row even from a writer that bypasses the functions, and a trigger
/// ([`SQLSTATE_HOLD_RESOLVED`]) refuses changing a hold once resolved.
/// The first outcome of a reservation id is kept, a refusal included, as
/// [`Ledger`](crate::model::Ledger) keeps it. An omitted or `NULL`
/// `now_s` is the database clock. Grant the proxy role `EXECUTE` on the
/// six functions and nothing on the tables.
///
/// ```
/// use vendo_isolation::credits::POSTGRES_CREDITS_SCHEMA;
/// assert!(POSTGRES_CREDITS_SCHEMA.contains("FUNCTION vendo_credits_reserve("));
/// assert!(POSTGRES_CREDITS_SCHEMA.contains("FOR UPDATE SKIP LOCKED"));
/// ```
pub const POSTGRES_CREDITS_SCHEMA: &str = include_str!("../../sql/credits.sql");

/// The SQLSTATE of the trigger that refuses changing a credit hold that
/// already left `pending` (or moving one to another tenant, id, amount or
/// expiry).
pub const SQLSTATE_HOLD_RESOLVED: &str = "VI004";

/// What a ledger function of [`POSTGRES_CREDITS_SCHEMA`] answered, as
/// text (SPEC §9.1). [`LedgerReply::from_code`] reads it;
/// [`code`](LedgerReply::code) writes it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LedgerReply {
    /// `credited`: the top-up was applied.
    Credited,
    /// `duplicate`: the same id with the same amount was already applied;
    /// nothing changed (for a reserve: no second hold, do not forward
    /// again).
    Duplicate,
    /// `id_reused`: the tenant used the id with another amount; nothing
    /// changed.
    IdReused,
    /// `reserved`: the amount is held.
    Reserved,
    /// `insufficient_credits`: nothing was held (HTTP 402).
    InsufficientCredits,
    /// `bad_request`: an amount or time to live of zero or less.
    BadRequest,
    /// `posted`: the actual cost was debited and the rest released.
    Posted,
    /// `posted_capped`: the actual cost exceeded the hold; the hold was
    /// debited whole (alert on it).
    PostedCapped,
    /// `voided`: the whole hold was released.
    Voided,
    /// `not_found`: the tenant holds no such reservation (another
    /// tenant's id answers this too).
    NotFound,
    /// `already_resolved`: the hold was posted, voided or expired before.
    AlreadyResolved,
    /// `expired`: the hold was due; it was released, nothing debited.
    Expired,
}

impl LedgerReply {
    const ALL: [Self; 12] = [
        Self::Credited,
        Self::Duplicate,
        Self::IdReused,
        Self::Reserved,
        Self::InsufficientCredits,
        Self::BadRequest,
        Self::Posted,
        Self::PostedCapped,
        Self::Voided,
        Self::NotFound,
        Self::AlreadyResolved,
        Self::Expired,
    ];

    /// The answer's text, as the function returns it.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Credited => "credited",
            Self::Duplicate => "duplicate",
            Self::IdReused => "id_reused",
            Self::Reserved => "reserved",
            Self::InsufficientCredits => "insufficient_credits",
            Self::BadRequest => "bad_request",
            Self::Posted => "posted",
            Self::PostedCapped => "posted_capped",
            Self::Voided => "voided",
            Self::NotFound => "not_found",
            Self::AlreadyResolved => "already_resolved",
            Self::Expired => "expired",
        }
    }

    /// Reads a function's answer; `None` for any other text.
    ///
    /// ```
    /// use vendo_isolation::credits::LedgerReply;
    /// assert_eq!(LedgerReply::from_code("posted_capped"), Some(LedgerReply::PostedCapped));
    /// assert_eq!(LedgerReply::from_code("Posted"), None);
    /// ```
    pub fn from_code(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == text)
    }
}

impl core::fmt::Display for LedgerReply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back() {
        for r in LedgerReply::ALL {
            assert_eq!(LedgerReply::from_code(r.code()), Some(r));
            assert_eq!(r.to_string(), r.code());
        }
        assert_eq!(LedgerReply::from_code(""), None);
    }

    #[test]
    fn the_schema_defines_every_spec_function() {
        for f in [
            "vendo_credits_top_up(tenant_id text, top_up_id text, amount bigint)",
            "vendo_credits_reserve(\n    tenant_id text, reservation_id text, amount bigint, ttl_s integer, now_s bigint",
            "vendo_credits_post(\n    tenant_id text, reservation_id text, actual bigint, now_s bigint",
            "vendo_credits_void(tenant_id text, reservation_id text, now_s bigint",
            "vendo_credits_expire(max_rows integer, now_s bigint",
            "vendo_credits_balance(tenant_id text)",
        ] {
            assert!(POSTGRES_CREDITS_SCHEMA.contains(f), "{f}");
        }
        assert!(POSTGRES_CREDITS_SCHEMA.contains(SQLSTATE_HOLD_RESOLVED));
        for r in LedgerReply::ALL {
            assert!(POSTGRES_CREDITS_SCHEMA.contains(&format!("'{}'", r.code())), "{r}");
        }
    }
}
