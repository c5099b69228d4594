//! Deployment API keys (SPEC §6): `vk1_` keys a tool presents to the
//! platform's provider proxies.
//!
//! ```text
//! api_key  = "vk1_" b32( key_id || secret || check )   ; 10 + 32 + 4 bytes, 74 characters
//! check    = CRC-32 (IEEE) of key_id || secret, big-endian
//! verifier = HMAC-SHA256( pepper, "vendo-api-key-v1" %x00 key_id || secret )
//! ```
//!
//! The proxy's path, in SPEC order:
//!
//! 1. [`find_api_key`] finds the one presentation (`Authorization: Bearer`
//!    or `x-api-key`) and parses it strictly, checksum included, before
//!    anything is looked up: `no_api_key`, `duplicate_api_key`,
//!    `malformed_api_key`;
//! 2. the caller looks up the [`ApiKeyRecord`] stored under
//!    [`ApiKey::id`], by id only;
//! 3. [`ApiKeyPepper::verify`] checks the record: `unknown_api_key` (after
//!    computing the verifier anyway, so a missing record and a wrong secret
//!    take the same work), `bad_api_key` (constant-time comparison),
//!    `revoked_api_key`, `expired_api_key`; and answers the key's
//!    [`KeyScope`].
//!
//! The key, its secret and the pepper never print: their `Debug` is
//! redacted, they have no `Display`, and their bytes are zeroed on drop.
//! The store holds the [`ApiKeyVerifier`], which verifies nothing without
//! the pepper.
//!
//! ```
//! use vendo_isolation::Timestamp;
//! use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord, find_api_key};
//!
//! let pepper = ApiKeyPepper::new(&[7; 32])?;
//! // Minting: 42 random bytes from the caller; show the key once, store the record.
//! let key = ApiKey::mint(&[1; 42]);
//! let record = ApiKeyRecord::new("t_acme".parse()?, Some("d_crm".parse()?), pepper.verifier(&key));
//!
//! // Presenting and verifying.
//! let mut headers = http::HeaderMap::new();
//! headers.insert("authorization", format!("Bearer {}", key.expose().as_str()).parse()?);
//! let presented = find_api_key(&headers)?;
//! assert_eq!(presented.id(), key.id()); // look the record up by this id only
//! let now = Timestamp::from_unix_seconds(1_700_000_000)?;
//! let scope = pepper.verify(&presented, Some(&record), now)?;
//! assert_eq!(scope.tenant_id(), "t_acme");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::ids::{DeploymentId, TenantId};
use crate::tenancy::KeyScope;
use crate::time::Timestamp;

/// The key's prefix: the format version.
pub const API_KEY_PREFIX: &str = "vk1_";
/// Length of a whole key, prefix included.
pub const API_KEY_LEN: usize = 78;
/// Bytes of randomness minting takes: the key id, then the secret.
pub const MINT_RANDOM_LEN: usize = KEY_ID_BYTES + SECRET_BYTES;
/// Shortest pepper accepted, in bytes.
pub const MIN_PEPPER_LEN: usize = 32;
/// The header Anthropic-style SDKs present a key in.
pub const X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");

const KEY_ID_BYTES: usize = 10;
const SECRET_BYTES: usize = 32;
const CHECK_BYTES: usize = 4;
const RAW_LEN: usize = KEY_ID_BYTES + SECRET_BYTES + CHECK_BYTES;
const BODY_LEN: usize = API_KEY_LEN - API_KEY_PREFIX.len();
/// Characters of the body that encode exactly the key id (80 bits).
const KEY_ID_CHARS: usize = 16;
const VERIFIER_LABEL: &[u8] = b"vendo-api-key-v1\0";

const _: () = assert!(BODY_LEN == (RAW_LEN * 8).div_ceil(5));
const _: () = assert!(KEY_ID_CHARS * 5 == KEY_ID_BYTES * 8);

/// Why a request's API key was refused (SPEC §6). Every one answers 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// Neither `Authorization` nor `x-api-key` carries a key.
    #[error("no API key")]
    NoApiKey,
    /// More than one presentation, even of the same key.
    #[error("more than one API key")]
    DuplicateApiKey,
    /// Not a `vk1_` key: prefix, length, alphabet, canonical bits or
    /// checksum; or an `Authorization` value in another scheme.
    #[error("malformed API key")]
    MalformedApiKey,
    /// No record under the key id.
    #[error("unknown API key")]
    UnknownApiKey,
    /// The record's verifier does not match the key's secret.
    #[error("wrong API key")]
    BadApiKey,
    /// The key was revoked at or before now.
    #[error("revoked API key")]
    RevokedApiKey,
    /// The key expired at or before now.
    #[error("expired API key")]
    ExpiredApiKey,
}

impl ApiKeyError {
    /// Stable machine-readable code (SPEC §6).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NoApiKey => "no_api_key",
            Self::DuplicateApiKey => "duplicate_api_key",
            Self::MalformedApiKey => "malformed_api_key",
            Self::UnknownApiKey => "unknown_api_key",
            Self::BadApiKey => "bad_api_key",
            Self::RevokedApiKey => "revoked_api_key",
            Self::ExpiredApiKey => "expired_api_key",
        }
    }

    /// The status to answer: 401 for every one.
    pub const fn status(&self) -> http::StatusCode {
        http::StatusCode::UNAUTHORIZED
    }
}

/// A `vk1_` key's id: the first 16 characters of its body, which encode
/// its 10-byte key id. Not secret; the store is queried by it alone.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKeyId([u8; KEY_ID_CHARS]);

impl fmt::Debug for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyId({:?})", self.as_str())
    }
}

impl ApiKeyId {
    /// The 16 lowercase base32 characters.
    pub fn as_str(&self) -> &str {
        // INVARIANT: built from base32 output, ASCII.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ApiKeyId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ApiKeyId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A whole `vk1_` key: what the tool holds and presents. Its `Debug` shows
/// only the key id; its bytes are zeroed on drop.
pub struct ApiKey {
    /// key id, secret, check.
    raw: [u8; RAW_LEN],
    id: ApiKeyId,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

impl Drop for ApiKey {
    fn drop(&mut self) {
        self.raw.zeroize();
    }
}

impl ApiKey {
    /// Mints a key from 42 bytes of the caller's randomness (a CSPRNG's:
    /// the first 10 become the key id, the other 32 the secret).
    pub fn mint(random: &[u8; MINT_RANDOM_LEN]) -> Self {
        let mut raw = [0u8; RAW_LEN];
        let (body, check) = raw.split_at_mut(MINT_RANDOM_LEN);
        body.copy_from_slice(random);
        check.copy_from_slice(&crc32fast::hash(random).to_be_bytes());
        Self::from_raw(raw)
    }

    fn from_raw(raw: [u8; RAW_LEN]) -> Self {
        let mut id = [0u8; KEY_ID_CHARS];
        let key_id = raw.get(..KEY_ID_BYTES).unwrap_or_default();
        let mut upper = [0u8; KEY_ID_CHARS];
        BASE32_NOPAD.encode_mut(key_id, &mut upper);
        for (out, c) in id.iter_mut().zip(upper) {
            *out = c.to_ascii_lowercase();
        }
        Self { raw, id: ApiKeyId(id) }
    }

    /// Parses a key strictly (SPEC §6 `malformed_api_key`): the `vk1_`
    /// prefix, exactly 74 lowercase base32 characters whose 2 unused
    /// trailing bits are zero, and a matching CRC-32. No lookup is needed
    /// to refuse a typo or a random string.
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let body = text.strip_prefix(API_KEY_PREFIX).ok_or(ApiKeyError::MalformedApiKey)?;
        if body.len() != BODY_LEN {
            return Err(ApiKeyError::MalformedApiKey);
        }
        // The strict engine is upper case; the SPEC's alphabet is lower.
        let mut upper = Zeroizing::new([0u8; BODY_LEN]);
        for (out, &c) in upper.iter_mut().zip(body.as_bytes()) {
            if !(c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)) {
                return Err(ApiKeyError::MalformedApiKey);
            }
            *out = c.to_ascii_uppercase();
        }
        let mut raw = [0u8; RAW_LEN];
        match BASE32_NOPAD.decode_len(BODY_LEN) {
            Ok(RAW_LEN) => {}
            _ => return Err(ApiKeyError::MalformedApiKey),
        }
        // BASE32_NOPAD refuses non-zero trailing bits (canonical form).
        BASE32_NOPAD.decode_mut(upper.as_slice(), &mut raw).map_err(|_| ApiKeyError::MalformedApiKey)?;
        let key = Self::from_raw(raw);
        let (payload, check) = key.raw.split_at(MINT_RANDOM_LEN);
        if crc32fast::hash(payload).to_be_bytes() != check {
            return Err(ApiKeyError::MalformedApiKey);
        }
        Ok(key)
    }

    /// The key id to look the record up by.
    pub const fn id(&self) -> &ApiKeyId {
        &self.id
    }

    /// The key's text, to show the tool's owner once at minting. Zeroed
    /// when dropped.
    pub fn expose(&self) -> Zeroizing<String> {
        let mut upper = Zeroizing::new([0u8; BODY_LEN]);
        BASE32_NOPAD.encode_mut(&self.raw, upper.as_mut_slice());
        let mut text = Zeroizing::new(String::with_capacity(API_KEY_LEN));
        text.push_str(API_KEY_PREFIX);
        for &c in upper.iter() {
            text.push(char::from(c.to_ascii_lowercase()));
        }
        text
    }

    /// `key_id || secret`: what the verifier covers.
    fn payload(&self) -> &[u8] {
        self.raw.get(..MINT_RANDOM_LEN).unwrap_or_default()
    }
}

/// The 32-byte verifier the store keeps for a key: HMAC-SHA256 under the
/// proxy's pepper. Without the pepper it verifies nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyVerifier([u8; 32]);

impl fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyVerifier(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl ApiKeyVerifier {
    /// A verifier as the store returns it.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes to store.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What the store keeps under a key id (SPEC §6): never the key or its
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The tenant the key belongs to.
    pub tenant_id: TenantId,
    /// The deployment it was minted for; `None` for a tenant-wide key.
    pub deployment_id: Option<DeploymentId>,
    /// HMAC-SHA256 of the key under the pepper.
    pub verifier: ApiKeyVerifier,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    /// A record with no expiry and no revocation.
    pub const fn new(tenant_id: TenantId, deployment_id: Option<DeploymentId>, verifier: ApiKeyVerifier) -> Self {
        Self { tenant_id, deployment_id, verifier, expires_at: None, revoked_at: None }
    }
}

/// The proxy's pepper (≥ 32 bytes), which lives with the proxy and never
/// in the store. Its `Debug` is redacted; its key state is zeroed on drop.
#[derive(Clone)]
pub struct ApiKeyPepper {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for ApiKeyPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyPepper(<redacted>)")
    }
}

/// The pepper was shorter than [`MIN_PEPPER_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an API key pepper needs at least 32 bytes, got {len}")]
pub struct ShortPepper {
    /// The length given.
    pub len: usize,
}

impl ApiKeyPepper {
    /// A pepper of at least [`MIN_PEPPER_LEN`] bytes.
    pub fn new(pepper: &[u8]) -> Result<Self, ShortPepper> {
        if pepper.len() < MIN_PEPPER_LEN {
            return Err(ShortPepper { len: pepper.len() });
        }
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(pepper).map_err(|_| ShortPepper { len: pepper.len() })?;
        Ok(Self { keyed })
    }

    fn mac(&self, key: &ApiKey) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(VERIFIER_LABEL);
        mac.update(key.payload());
        mac
    }

    /// The verifier to store for a freshly minted key.
    pub fn verifier(&self, key: &ApiKey) -> ApiKeyVerifier {
        ApiKeyVerifier(self.mac(key).finalize().into_bytes().into())
    }

    /// SPEC §6 steps 4–7 on a parsed key and the record the caller found
    /// under its id (or `None`): the key's scope, or why it is refused.
    ///
    /// The verifier is computed and compared (in constant time) whether or
    /// not a record was found, so the time taken does not tell a missing
    /// record from a wrong secret.
    pub fn verify(&self, key: &ApiKey, record: Option<&ApiKeyRecord>, now: Timestamp) -> Result<KeyScope, ApiKeyError> {
        let expected = record.map_or(&[0u8; 32], |r| &r.verifier.0);
        let matches = self.mac(key).verify_slice(expected).is_ok();
        let record = record.ok_or(ApiKeyError::UnknownApiKey)?;
        if !matches {
            return Err(ApiKeyError::BadApiKey);
        }
        if record.revoked_at.is_some_and(|at| at <= now) {
            return Err(ApiKeyError::RevokedApiKey);
        }
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiKeyError::ExpiredApiKey);
        }
        Ok(match &record.deployment_id {
            Some(deployment) => KeyScope::deployment(record.tenant_id.clone(), deployment.clone()),
            None => KeyScope::tenant(record.tenant_id.clone()),
        })
    }
}

/// SPEC §6 steps 1–3: the request's one API key, parsed.
///
/// Every `Authorization` value and every `x-api-key` value is one
/// presentation; more than one in total is `duplicate_api_key`, even of
/// the same key. An `Authorization` value must be `Bearer` (any case)
/// followed by a space; a value in any other scheme, or none, is
/// `malformed_api_key`. Spaces and tabs around the key are trimmed.
pub fn find_api_key(headers: &HeaderMap) -> Result<ApiKey, ApiKeyError> {
    let mut bearer = headers.get_all(AUTHORIZATION).iter().map(|v| (true, v));
    let mut plain = headers.get_all(X_API_KEY).iter().map(|v| (false, v));
    let mut all = bearer.by_ref().chain(plain.by_ref());
    let (is_authorization, value) = all.next().ok_or(ApiKeyError::NoApiKey)?;
    if all.next().is_some() {
        return Err(ApiKeyError::DuplicateApiKey);
    }
    let mut text = value.as_bytes();
    if is_authorization {
        let scheme = text.get(..7).ok_or(ApiKeyError::MalformedApiKey)?;
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return Err(ApiKeyError::MalformedApiKey);
        }
        text = text.get(7..).unwrap_or_default();
    }
    let text = crate::headers::cookies::trim_ows(text);
    ApiKey::parse(core::str::from_utf8(text).map_err(|_| ApiKeyError::MalformedApiKey)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(start: u8, n: usize) -> Vec<u8> {
        (0..n).map(|i| start.wrapping_add(i as u8)).collect()
    }

    #[test]
    fn the_spec_worked_example() {
        let random: [u8; 42] = seq(0, 42).try_into().unwrap();
        let key = ApiKey::mint(&random);
        assert_eq!(
            key.expose().as_str(),
            "vk1_aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijcemsckjrhfau7ce25v4"
        );
        assert_eq!(key.id().as_str(), "aaaqeayeaudaocaj");
        let pepper = ApiKeyPepper::new(&seq(100, 32)).unwrap();
        let hex: String = pepper.verifier(&key).as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8c3996b174c21d007338d24434bd2ab5d9d5791c1567d4f65c7d48a2429bf706");
        let parsed = ApiKey::parse(&key.expose()).unwrap();
        assert_eq!(parsed.id(), key.id());
    }

    #[test]
    fn nothing_secret_prints() {
        let key = ApiKey::mint(&[9; 42]);
        let text = key.expose();
        let debug = format!("{key:?}");
        assert!(!debug.contains(&text[20..]), "{debug}");
        assert!(debug.contains(key.id().as_str()));
        let pepper = ApiKeyPepper::new(&[0xab; 32]).unwrap();
        assert_eq!(format!("{pepper:?}"), "ApiKeyPepper(<redacted>)");
    }
}
