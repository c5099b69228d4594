//! Integer money and the names prices and holds are keyed on.

use core::fmt;
use serde::{Deserialize, Serialize};

use crate::ids::{IdError, check_id};

/// An amount of credit in whole micro-credits (one credit is
/// [`MicroCredits::PER_CREDIT`] micro-credits).
///
/// Money is an integer everywhere: floats drift when summed
/// (BerriAI/litellm#8867). There is no `Add` or `Sub` impl, so every sum
/// goes through [`checked_add`](Self::checked_add) and an overflow is an
/// error the caller sees, never a wrap.
///
/// ```
/// use vendo_isolation::credits::MicroCredits;
/// let a = MicroCredits::from_credits(2).unwrap();
/// assert_eq!(a.micros(), 2_000_000);
/// assert_eq!(a.to_string(), "2.000000");
/// assert_eq!(MicroCredits::MAX.checked_add(MicroCredits::from_micros(1)), None);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MicroCredits(u64);

impl MicroCredits {
    /// No credit.
    pub const ZERO: Self = Self(0);
    /// The largest amount held.
    pub const MAX: Self = Self(u64::MAX);
    /// Micro-credits in one credit.
    pub const PER_CREDIT: u64 = 1_000_000;

    /// An amount of micro-credits.
    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    /// An amount of whole credits, or `None` if it does not fit.
    pub const fn from_credits(credits: u64) -> Option<Self> {
        match credits.checked_mul(Self::PER_CREDIT) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The amount in micro-credits.
    pub const fn micros(self) -> u64 {
        self.0
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` if `other` is larger.
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self - other`, or zero if `other` is larger.
    pub const fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// The smaller of the two.
    pub const fn min(self, other: Self) -> Self {
        if self.0 <= other.0 { self } else { other }
    }
}

impl fmt::Debug for MicroCredits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MicroCredits({})", self.0)
    }
}

/// Whole credits, a dot and six digits of micro-credits: `1.500000`.
impl fmt::Display for MicroCredits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0.checked_div(Self::PER_CREDIT).unwrap_or_default();
        let frac = self.0.checked_rem(Self::PER_CREDIT).unwrap_or_default();
        write!(f, "{whole}.{frac:06}")
    }
}

/// Longest model name accepted, in bytes.
pub const MAX_MODEL_NAME_LEN: usize = 128;

const MODEL_ALPHABET: &str = "[A-Za-z0-9._:/@-]";

/// Validates a model name: 1–128 bytes of `[A-Za-z0-9._:/@-]`, the
/// characters provider model ids use (`openai/gpt-4o-mini`,
/// `anthropic.claude-3-haiku-20240307-v1:0`, `claude-3-5-sonnet@20240620`).
pub(crate) const fn check_model(kind: &'static str, s: &[u8]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_MODEL_NAME_LEN {
        return Err(IdError::TooLong { kind, len: s.len(), max: MAX_MODEL_NAME_LEN });
    }
    let mut i = 0;
    while let Some(&b) = s.split_at(i).1.first() {
        let ok = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'@' | b'-');
        if !ok {
            return Err(IdError::InvalidByte { kind, alphabet: MODEL_ALPHABET, offset: i });
        }
        // INVARIANT: i < s.len() <= 128, so the increment cannot overflow.
        i = i.saturating_add(1);
    }
    Ok(())
}

crate::ids::string_newtype!(
    /// A provider's model id, exactly as it is forwarded upstream.
    ///
    /// 1–128 bytes of `[A-Za-z0-9._:/@-]`, compared byte for byte with no
    /// case folding: the proxy must forward the very name it priced, or a
    /// cheap entry could price a request the provider routes to a dear one.
    ModelName, "model name", check_model
);
crate::ids::string_newtype!(
    /// The idempotency key of a reservation, scoped to its tenant.
    ///
    /// SPEC §1 identifier syntax. The same id under two tenants names two
    /// unrelated reservations (see [`Ledger`](crate::model::Ledger)).
    ReservationId, "reservation id", check_id
);
crate::ids::string_newtype!(
    /// The idempotency key of a top-up, scoped to its tenant.
    ///
    /// SPEC §1 identifier syntax.
    TopUpId, "top-up id", check_id
);
