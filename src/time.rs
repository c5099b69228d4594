//! Time as the caller passes it.
//!
//! The library never reads a clock: every decision that depends on time takes
//! a [`Timestamp`] argument. Its range is SPEC §4's: unix seconds from `0` to
//! `253402300799` (9999-12-31T23:59:59Z), so adding any [`u32`] of seconds to
//! it can never wrap a `u64`.

use core::fmt;

/// Largest unix second a [`Timestamp`] holds: 9999-12-31T23:59:59Z.
pub const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// A point in time, in whole unix seconds, within `0..=253402300799`.
///
/// ```
/// use vendo_isolation::Timestamp;
/// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
/// assert_eq!(now.unix_seconds(), 1_700_000_000);
/// assert!(Timestamp::from_unix_seconds(253_402_300_800).is_err());
/// # Ok::<(), vendo_isolation::time::TimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

/// A time outside the range a [`Timestamp`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time is outside 1970-01-01T00:00:00Z..=9999-12-31T23:59:59Z")]
#[non_exhaustive]
pub struct TimestampError;

impl Timestamp {
    /// The unix epoch.
    pub const EPOCH: Self = Self(0);
    /// The last representable second.
    pub const MAX: Self = Self(MAX_UNIX_SECONDS);

    /// Builds a timestamp from unix seconds.
    pub const fn from_unix_seconds(secs: u64) -> Result<Self, TimestampError> {
        if secs > MAX_UNIX_SECONDS {
            return Err(TimestampError);
        }
        Ok(Self(secs))
    }

    /// Unix seconds.
    pub const fn unix_seconds(self) -> u64 {
        self.0
    }

    /// `self + secs`, or an error when the sum leaves the range.
    pub const fn checked_add_secs(self, secs: u64) -> Result<Self, TimestampError> {
        match self.0.checked_add(secs) {
            Some(v) => Self::from_unix_seconds(v),
            None => Err(TimestampError),
        }
    }

    /// `self + secs`, clamped to [`Timestamp::MAX`].
    pub const fn saturating_add_secs(self, secs: u64) -> Self {
        let v = self.0.saturating_add(secs);
        if v > MAX_UNIX_SECONDS { Self::MAX } else { Self(v) }
    }

    /// `self - secs`, clamped to [`Timestamp::EPOCH`].
    pub const fn saturating_sub_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    /// Seconds from `earlier` to `self`, or `None` if `earlier` is later.
    pub const fn secs_since(self, earlier: Self) -> Option<u64> {
        self.0.checked_sub(earlier.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<time::OffsetDateTime> for Timestamp {
    type Error = TimestampError;
    /// Whole seconds, truncating any fraction; times before 1970 are refused.
    fn try_from(t: time::OffsetDateTime) -> Result<Self, TimestampError> {
        u64::try_from(t.unix_timestamp()).map_err(|_| TimestampError).and_then(Self::from_unix_seconds)
    }
}

impl From<Timestamp> for time::OffsetDateTime {
    fn from(t: Timestamp) -> Self {
        // INVARIANT: t.0 <= MAX_UNIX_SECONDS, which `time` represents
        // (its default range ends at year 9999).
        let secs = i64::try_from(t.0).unwrap_or(i64::MAX);
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_and_arithmetic() {
        assert_eq!(Timestamp::from_unix_seconds(MAX_UNIX_SECONDS), Ok(Timestamp::MAX));
        assert!(Timestamp::MAX.checked_add_secs(1).is_err());
        assert_eq!(Timestamp::MAX.saturating_add_secs(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::EPOCH.saturating_sub_secs(5), Timestamp::EPOCH);
        assert_eq!(Timestamp(10).secs_since(Timestamp(4)), Some(6));
        assert_eq!(Timestamp(4).secs_since(Timestamp(10)), None);
    }

    #[test]
    fn time_round_trip() {
        let t = Timestamp::MAX;
        let odt: time::OffsetDateTime = t.into();
        assert_eq!(odt.year(), 9999);
        assert_eq!(Timestamp::try_from(odt), Ok(t));
        let before = time::OffsetDateTime::UNIX_EPOCH - time::Duration::seconds(1);
        assert!(Timestamp::try_from(before).is_err());
    }
}
