//! Session keys and the key ring used to sign and verify (SPEC §4).

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{MAC_DOMAIN, MAX_KID_LEN, MAX_RING_KEYS, MIN_KEY_LEN, VERSION_PREFIX, is_valid_kid};
use crate::Timestamp;

/// Why bytes cannot become a [`SessionKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key id is not 1–32 bytes of `[A-Za-z0-9_-]`.
    #[error("key id is not 1 to 32 bytes of [A-Za-z0-9_-]")]
    InvalidKid,
    /// The secret is shorter than [`MIN_KEY_LEN`] bytes.
    #[error("key is {len} bytes, shorter than 32")]
    TooShort {
        /// The length given; never the bytes.
        len: usize,
    },
}

impl KeyError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidKid => "invalid_kid",
            Self::TooShort { .. } => "key_too_short",
        }
    }
}

/// One HMAC-SHA256 session key and its id.
///
/// The key schedule runs once, here: the stored state has already absorbed
/// the key and the constant MAC prefix `"vendo-session-v1" %x00 "v1." kid
/// "."`, so signing and verifying only feed the payload. The secret itself
/// is not kept. The state is as good as the key for forging, so the type is
/// neither `Clone` nor printed by `Debug`.
///
/// ```
/// use vendo_isolation::SessionKey;
/// use vendo_isolation::session::KeyError;
/// let key = SessionKey::new("2024-06", &[7u8; 32])?;
/// assert_eq!(key.kid(), "2024-06");
/// assert_eq!(format!("{key:?}"), r#"SessionKey { kid: "2024-06", .. }"#);
/// assert_eq!(SessionKey::new("k", &[7u8; 31]).err(), Some(KeyError::TooShort { len: 31 }));
/// # Ok::<(), KeyError>(())
/// ```
pub struct SessionKey {
    kid: [u8; MAX_KID_LEN],
    // INVARIANT: 1 <= kid_len <= MAX_KID_LEN and kid[..kid_len] is a valid kid.
    kid_len: u8,
    prefixed: Hmac<Sha256>,
}

impl SessionKey {
    /// Builds a key from its id and secret bytes.
    ///
    /// The secret must be at least [`MIN_KEY_LEN`] bytes; draw it from a
    /// CSPRNG, never from a password.
    pub fn new(kid: &str, secret: &[u8]) -> Result<Self, KeyError> {
        if !is_valid_kid(kid.as_bytes()) {
            return Err(KeyError::InvalidKid);
        }
        if secret.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort { len: secret.len() });
        }
        let mut buf = [0u8; MAX_KID_LEN];
        buf.iter_mut().zip(kid.bytes()).for_each(|(d, s)| *d = s);
        // HMAC accepts a key of any length, so this never fails; the error
        // arm keeps the code free of panics.
        let mut prefixed =
            Hmac::<Sha256>::new_from_slice(secret).map_err(|_| KeyError::TooShort { len: secret.len() })?;
        prefixed.update(MAC_DOMAIN);
        prefixed.update(VERSION_PREFIX);
        prefixed.update(kid.as_bytes());
        prefixed.update(b".");
        // INVARIANT: is_valid_kid bounds len by MAX_KID_LEN = 32 < 256.
        let kid_len = u8::try_from(kid.len()).map_err(|_| KeyError::InvalidKid)?;
        Ok(Self { kid: buf, kid_len, prefixed })
    }

    /// The key id, as it appears in tokens.
    pub fn kid(&self) -> &str {
        let bytes = self.kid.get(..usize::from(self.kid_len)).unwrap_or_default();
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    fn kid_bytes(&self) -> &[u8] {
        self.kid.get(..usize::from(self.kid_len)).unwrap_or_default()
    }

    /// A MAC state that has absorbed the key and the prefix; the caller
    /// feeds the payload. Cloning copies a few hundred bytes on the stack
    /// instead of re-running the key schedule.
    pub(crate) fn mac(&self) -> Hmac<Sha256> {
        self.prefixed.clone()
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

/// Why a [`KeyRing`] operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// A key with this id is already in the ring.
    #[error("key id is already in the ring")]
    DuplicateKid,
    /// The ring already holds [`MAX_RING_KEYS`] keys.
    #[error("key ring is full")]
    Full,
    /// No key with this id is in the ring.
    #[error("key id is not in the ring")]
    UnknownKid,
    /// The primary key cannot be retired or removed: promote another first.
    #[error("the primary key cannot be retired or removed")]
    PrimaryKey,
}

impl KeyRingError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::DuplicateKid => "duplicate_kid",
            Self::Full => "ring_full",
            Self::UnknownKid => "unknown_kid",
            Self::PrimaryKey => "primary_key",
        }
    }
}

#[derive(Debug)]
struct Entry {
    key: SessionKey,
    /// From this time on the key no longer verifies.
    retire_at: Option<Timestamp>,
}

/// The keys a service signs and verifies sessions with.
///
/// Exactly one key is primary: [`mint_session`](crate::session::mint_session) signs
/// with it and with nothing else, whatever order keys were added in
/// (CVE-2025-47278). The other keys only verify, each until the
/// retirement time the caller sets. A session verified with a non-primary
/// key reports [`ReissueReason::NonPrimaryKey`](crate::session::ReissueReason).
///
/// Lookup is a linear scan over at most [`MAX_RING_KEYS`] entries: it
/// compares at most eight ids of at most 32 bytes, touches one cache line
/// per entry, needs no hasher (a `HashMap`'s `RandomState` would read OS
/// randomness, which this sans-IO crate never does) and allocates nothing.
///
/// Rotation:
///
/// 1. add the new key with [`add_verify_only`](Self::add_verify_only) and
///    deploy the ring everywhere that verifies;
/// 2. [`promote`](Self::promote) it, giving the old primary a retirement
///    time of now plus the maximum session lifetime (plus leeway);
/// 3. after that time, [`remove`](Self::remove) the old key.
///
/// ```
/// use vendo_isolation::{KeyRing, SessionKey, Timestamp};
/// let mut ring = KeyRing::new(SessionKey::new("k1", &[1u8; 32])?);
/// ring.add_verify_only(SessionKey::new("k2", &[2u8; 32])?, None)?;
/// let retire = Timestamp::from_unix_seconds(1_700_604_860)?;
/// ring.promote("k2", Some(retire))?;
/// assert_eq!(ring.primary_kid(), "k2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct KeyRing {
    /// The one key that signs. Held apart so that signing can never pick
    /// another key, nor fail to find this one.
    primary: SessionKey,
    // INVARIANT: at most MAX_RING_KEYS - 1 entries; every kid, the
    // primary's included, is distinct.
    others: Vec<Entry>,
}

impl KeyRing {
    /// A ring holding one key, which is primary.
    pub fn new(primary: SessionKey) -> Self {
        Self { primary, others: Vec::with_capacity(MAX_RING_KEYS.saturating_sub(1)) }
    }

    /// A ring from its primary key and its verify-only keys, each with its
    /// retirement time: what a harness or a configuration loader holds.
    /// Fails as [`add_verify_only`](Self::add_verify_only) would, on the
    /// first key that does not fit.
    ///
    /// ```
    /// use vendo_isolation::{KeyRing, SessionKey, Timestamp};
    /// let retire = Timestamp::from_unix_seconds(1_700_604_860)?;
    /// let ring = KeyRing::from_keys(
    ///     SessionKey::new("k2", &[2u8; 32])?,
    ///     [(SessionKey::new("k1", &[1u8; 32])?, Some(retire))],
    /// )?;
    /// assert_eq!(ring.kids().collect::<Vec<_>>(), ["k2", "k1"]);
    /// let twice = KeyRing::from_keys(SessionKey::new("k", &[1u8; 32])?, [(SessionKey::new("k", &[2u8; 32])?, None)]);
    /// assert_eq!(twice.unwrap_err().code(), "duplicate_kid");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_keys(
        primary: SessionKey,
        verify_only: impl IntoIterator<Item = (SessionKey, Option<Timestamp>)>,
    ) -> Result<Self, KeyRingError> {
        let mut ring = Self::new(primary);
        for (key, retire_at) in verify_only {
            ring.add_verify_only(key, retire_at)?;
        }
        Ok(ring)
    }

    /// Adds a key that verifies but never signs, until `retire_at` if set.
    pub fn add_verify_only(&mut self, key: SessionKey, retire_at: Option<Timestamp>) -> Result<(), KeyRingError> {
        if self.primary.kid_bytes() == key.kid_bytes() || self.position(key.kid_bytes()).is_some() {
            return Err(KeyRingError::DuplicateKid);
        }
        if self.others.len() >= MAX_RING_KEYS.saturating_sub(1) {
            return Err(KeyRingError::Full);
        }
        self.others.push(Entry { key, retire_at });
        Ok(())
    }

    /// Makes the key `kid` primary. The previous primary becomes
    /// verify-only, retired at `retire_old_at` if set; the new primary
    /// has no retirement time. Promoting the primary changes nothing.
    pub fn promote(&mut self, kid: &str, retire_old_at: Option<Timestamp>) -> Result<(), KeyRingError> {
        if self.primary.kid_bytes() == kid.as_bytes() {
            return Ok(());
        }
        let index = self.position(kid.as_bytes()).ok_or(KeyRingError::UnknownKid)?;
        if let Some(entry) = self.others.get_mut(index) {
            core::mem::swap(&mut entry.key, &mut self.primary);
            entry.retire_at = retire_old_at;
        }
        Ok(())
    }

    /// Sets the time from which the verify-only key `kid` stops verifying.
    pub fn retire(&mut self, kid: &str, at: Timestamp) -> Result<(), KeyRingError> {
        if self.primary.kid_bytes() == kid.as_bytes() {
            return Err(KeyRingError::PrimaryKey);
        }
        let index = self.position(kid.as_bytes()).ok_or(KeyRingError::UnknownKid)?;
        if let Some(entry) = self.others.get_mut(index) {
            entry.retire_at = Some(at);
        }
        Ok(())
    }

    /// Removes the verify-only key `kid`; tokens under it then fail with
    /// `unknown_key`.
    pub fn remove(&mut self, kid: &str) -> Result<(), KeyRingError> {
        if self.primary.kid_bytes() == kid.as_bytes() {
            return Err(KeyRingError::PrimaryKey);
        }
        let index = self.position(kid.as_bytes()).ok_or(KeyRingError::UnknownKid)?;
        self.others.remove(index);
        Ok(())
    }

    /// The id of the key that signs.
    pub fn primary_kid(&self) -> &str {
        self.primary.kid()
    }

    /// The ids of every key in the ring, retired or not: the primary
    /// first, then the others.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        core::iter::once(self.primary.kid()).chain(self.others.iter().map(|e| e.key.kid()))
    }

    pub(crate) const fn primary_key(&self) -> &SessionKey {
        &self.primary
    }

    /// The key that verifies tokens carrying `kid` at `now`, and whether it
    /// is the primary. A retired key is as good as absent.
    pub(crate) fn verifying_key(&self, kid: &[u8], now: Timestamp) -> Option<(&SessionKey, bool)> {
        if self.primary.kid_bytes() == kid {
            return Some((&self.primary, true));
        }
        let entry = self.others.get(self.position(kid)?)?;
        match entry.retire_at {
            Some(at) if now >= at => None,
            _ => Some((&entry.key, false)),
        }
    }

    fn position(&self, kid: &[u8]) -> Option<usize> {
        self.others.iter().position(|e| e.key.kid_bytes() == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str) -> SessionKey {
        SessionKey::new(kid, &[kid.len() as u8; 32]).unwrap()
    }

    fn ts(s: u64) -> Timestamp {
        Timestamp::from_unix_seconds(s).unwrap()
    }

    #[test]
    fn key_rules() {
        assert_eq!(SessionKey::new("", &[0; 32]).err(), Some(KeyError::InvalidKid));
        assert_eq!(SessionKey::new(&"k".repeat(33), &[0; 32]).err(), Some(KeyError::InvalidKid));
        assert_eq!(SessionKey::new("k.1", &[0; 32]).err(), Some(KeyError::InvalidKid));
        assert_eq!(SessionKey::new("k", &[]).err().map(|e| e.code()), Some("key_too_short"));
        assert_eq!(SessionKey::new(&"k".repeat(32), &[0; 32]).unwrap().kid(), "k".repeat(32));
    }

    #[test]
    fn debug_never_prints_key_material() {
        let k = SessionKey::new("k1", &[0xab; 40]).unwrap();
        let ring = KeyRing::new(k);
        let dbg = format!("{ring:?}");
        assert!(dbg.contains("k1"));
        assert!(!dbg.to_lowercase().contains("ab, ab") && !dbg.contains("171"), "{dbg}");
    }

    #[test]
    fn ring_operations() {
        let mut ring = KeyRing::new(key("a"));
        assert_eq!(ring.add_verify_only(key("a"), None), Err(KeyRingError::DuplicateKid));
        for kid in ["b", "c", "d", "e", "f", "g", "h"] {
            ring.add_verify_only(key(kid), None).unwrap();
        }
        assert_eq!(ring.add_verify_only(key("i"), None), Err(KeyRingError::Full));
        assert_eq!(ring.retire("a", ts(1)), Err(KeyRingError::PrimaryKey));
        assert_eq!(ring.remove("a"), Err(KeyRingError::PrimaryKey));
        assert_eq!(ring.promote("zz", None), Err(KeyRingError::UnknownKid));
        ring.promote("c", Some(ts(100))).unwrap();
        assert_eq!(ring.primary_kid(), "c");
        assert!(ring.verifying_key(b"a", ts(99)).is_some_and(|(_, p)| !p));
        assert!(ring.verifying_key(b"a", ts(100)).is_none());
        assert!(ring.verifying_key(b"c", Timestamp::MAX).is_some_and(|(_, p)| p));
        ring.remove("a").unwrap();
        ring.remove("b").unwrap();
        assert_eq!(ring.primary_kid(), "c");
        assert_eq!(ring.kids().collect::<Vec<_>>(), ["c", "d", "e", "f", "g", "h"]);
        ring.retire("d", ts(5)).unwrap();
        // Promoting a retired key clears its retirement: a primary always verifies.
        ring.promote("d", None).unwrap();
        assert!(ring.verifying_key(b"d", ts(6)).is_some_and(|(_, p)| p));
        assert!(ring.verifying_key(b"c", Timestamp::MAX).is_some_and(|(_, p)| !p));
        ring.promote("d", Some(ts(1))).unwrap();
        assert!(ring.verifying_key(b"c", Timestamp::MAX).is_some(), "promoting the primary is a no-op");
    }
}
