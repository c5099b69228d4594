//! Sealed connection credentials (SPEC §8).
//!
//! ```text
//! sealed   = "v1." kid "." b64u( nonce || ciphertext || tag )
//! conn_key = HMAC-SHA256( master[kid], "vendo-credential-key-v1" %x00 field(tenant_id) field(connection_id) )
//! aad      = "vendo-credential-v1" %x00 field(kid) field(tenant_id) field(connection_id) field(provider)
//! ciphertext || tag = AES-256-GCM( conn_key, nonce, credential, aad )
//! ```
//!
//! A provider token is stored sealed to its tenant, connection and
//! provider: a sealed value copied onto another tenant's or another
//! connection's row, or read through a lookup that returned the wrong row,
//! does not open. Opening takes a [`GrantedConnection`], the proof that
//! [`check_connection_use`](crate::tenancy::check_connection_use) passed,
//! so no code path can open a credential for a connection it has not
//! checked. Every failure to open is one error,
//! [`CredentialUnreadable`], which says nothing about why.
//!
//! ```
//! use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
//! use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};
//!
//! let ring = MasterKeyRing::new(MasterKey::new("m1", &[3; 32])?);
//! let conn = Connection::new("c_1".parse()?, "t_1".parse()?, "openai".parse()?);
//! // Storing: the caller supplies 12 random bytes of nonce.
//! let sealed = ring.seal(&conn, &[0; 12], &Credential::new("sk-test-123")?);
//!
//! // Using: only after the proxy's checks grant the connection.
//! let deployment = Deployment::new("d_1".parse()?, "t_1".parse()?);
//! let binding = Binding::new("b_1".parse()?, &deployment, &conn)?;
//! let scope = KeyScope::deployment("t_1".parse()?, "d_1".parse()?);
//! let granted = check_connection_use(&scope, &binding, &conn, &"openai".parse()?)?;
//! assert_eq!(ring.open(&granted, &sealed)?.expose(), "sk-test-123");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::ids::{ConnectionId, TenantId};
use crate::tenancy::{Connection, GrantedConnection, Provider};
use crate::wire::{B64U, field, field_with, is_kid};

/// Shortest master key accepted, in bytes.
pub const MIN_MASTER_KEY_LEN: usize = 32;
/// Most master keys a ring holds.
pub const MAX_MASTER_KEYS: usize = 8;
/// Longest credential, in bytes.
pub const MAX_CREDENTIAL_LEN: usize = 4096;
/// Bytes of nonce a seal takes from the caller.
pub const NONCE_LEN: usize = 12;

const TAG_LEN: usize = 16;
/// The longest base64url body a valid seal can have: the unpadded
/// encoding of nonce, longest credential and tag (exact, so the longest
/// credential's seal is at the bound).
const MAX_SEALED_BODY_CHARS: usize = ((NONCE_LEN + MAX_CREDENTIAL_LEN + TAG_LEN) * 4).div_ceil(3);
const KEY_LABEL: &[u8] = b"vendo-credential-key-v1\0";
const AAD_LABEL: &[u8] = b"vendo-credential-v1\0";

/// A sealed credential did not open: bad shape, unknown kid, or a tag that
/// does not verify under this tenant, connection and provider (SPEC §8
/// `credential_unreadable`). Which one is deliberately not said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("credential unreadable")]
pub struct CredentialUnreadable;

impl CredentialUnreadable {
    /// Stable machine-readable code (SPEC §8).
    pub const fn code(&self) -> &'static str {
        "credential_unreadable"
    }
}

/// Why a master key, a ring or a credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialKeyError {
    /// The kid is not 1–32 of `A-Za-z0-9_-` (SPEC §4).
    #[error("invalid master key id")]
    InvalidKid,
    /// The master key is shorter than [`MIN_MASTER_KEY_LEN`].
    #[error("a master key needs at least 32 bytes")]
    ShortKey,
    /// The ring already holds a key under this kid.
    #[error("duplicate master key id")]
    DuplicateKid,
    /// The ring already holds [`MAX_MASTER_KEYS`].
    #[error("too many master keys")]
    TooManyKeys,
    /// A credential must be 1–4096 bytes of visible ASCII.
    #[error("a credential must be 1-4096 bytes of visible ASCII")]
    InvalidCredential,
}

/// A master key under its kid. `Debug` shows the kid only; the key is
/// zeroed on drop.
#[derive(Clone)]
pub struct MasterKey {
    kid: String,
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("kid", &self.kid).field("key", &"<redacted>").finish()
    }
}

impl MasterKey {
    /// A master key of at least [`MIN_MASTER_KEY_LEN`] bytes.
    pub fn new(kid: &str, key: &[u8]) -> Result<Self, CredentialKeyError> {
        if !is_kid(kid.as_bytes()) {
            return Err(CredentialKeyError::InvalidKid);
        }
        if key.len() < MIN_MASTER_KEY_LEN {
            return Err(CredentialKeyError::ShortKey);
        }
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| CredentialKeyError::ShortKey)?;
        Ok(Self { kid: kid.to_owned(), keyed })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The per-connection AES-256 key, zeroed when dropped.
    fn connection_key(&self, tenant: &TenantId, connection: &ConnectionId) -> Zeroizing<[u8; 32]> {
        let mut mac = self.keyed.clone();
        mac.update(KEY_LABEL);
        field(&mut mac, &[tenant.as_str().as_bytes()]);
        field(&mut mac, &[connection.as_str().as_bytes()]);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

/// A provider credential in the clear: 1–4096 bytes of visible ASCII.
/// `Debug` is redacted; zeroed on drop.
pub struct Credential(Zeroizing<String>);

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

impl Credential {
    /// Checks the SPEC §8 syntax.
    pub fn new(credential: &str) -> Result<Self, CredentialKeyError> {
        Self::from_bytes(credential.as_bytes().to_vec())
    }

    fn from_bytes(mut bytes: Vec<u8>) -> Result<Self, CredentialKeyError> {
        let ok =
            !bytes.is_empty() && bytes.len() <= MAX_CREDENTIAL_LEN && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
        match (ok, String::from_utf8(core::mem::take(&mut bytes))) {
            (true, Ok(s)) => Ok(Self(Zeroizing::new(s))),
            (_, Ok(mut s)) => {
                s.zeroize();
                Err(CredentialKeyError::InvalidCredential)
            }
            (_, Err(e)) => {
                e.into_bytes().zeroize();
                Err(CredentialKeyError::InvalidCredential)
            }
        }
    }

    /// The credential, to hand to the provider adapter.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The master keys: seal with the primary, open with any (rotation, as the
/// session ring does it).
#[derive(Debug, Clone)]
pub struct MasterKeyRing {
    primary: MasterKey,
    others: Vec<MasterKey>,
}

impl MasterKeyRing {
    /// A ring whose only key is `primary`.
    pub const fn new(primary: MasterKey) -> Self {
        Self { primary, others: Vec::new() }
    }

    /// Adds a key that opens but never seals (being rotated in or out).
    pub fn add_open_only(&mut self, key: MasterKey) -> Result<(), CredentialKeyError> {
        if self.others.len().saturating_add(1) >= MAX_MASTER_KEYS {
            return Err(CredentialKeyError::TooManyKeys);
        }
        if self.get(&key.kid).is_some() {
            return Err(CredentialKeyError::DuplicateKid);
        }
        self.others.push(key);
        Ok(())
    }

    /// The key that seals.
    pub const fn primary(&self) -> &MasterKey {
        &self.primary
    }

    fn get(&self, kid: &str) -> Option<&MasterKey> {
        core::iter::once(&self.primary).chain(&self.others).find(|k| k.kid == kid)
    }

    /// Seals `credential` for `connection` (its tenant, id and provider)
    /// under the primary key, with the caller's 12 random bytes of nonce.
    /// A nonce must never repeat under one connection key: draw it from a
    /// CSPRNG for every seal.
    pub fn seal(&self, connection: &Connection, nonce: &[u8; NONCE_LEN], credential: &Credential) -> String {
        let key = &self.primary;
        let conn_key = key.connection_key(connection.tenant_id(), connection.id());
        let aad = aad(&key.kid, connection.tenant_id(), connection.id(), connection.provider());
        let cipher = Aes256Gcm::new(conn_key.as_ref().into());
        let payload = Payload { msg: credential.expose().as_bytes(), aad: &aad };
        // Encryption fails only for messages over 64 GiB; a credential is
        // at most 4 KiB, so the empty fallback is unreachable.
        let sealed = cipher.encrypt(&Nonce::from(*nonce), payload).unwrap_or_default();
        let mut body = Zeroizing::new(Vec::with_capacity(NONCE_LEN.saturating_add(sealed.len())));
        body.extend_from_slice(nonce);
        body.extend_from_slice(&sealed);
        format!("v1.{}.{}", key.kid, B64U.encode(body.as_slice()))
    }

    /// Opens a sealed credential for the connection the proxy's checks
    /// granted. Any failure is [`CredentialUnreadable`].
    pub fn open(&self, granted: &GrantedConnection<'_>, sealed: &str) -> Result<Credential, CredentialUnreadable> {
        let connection = granted.connection();
        let rest = sealed.strip_prefix("v1.").ok_or(CredentialUnreadable)?;
        let (kid, body) = rest.split_once('.').ok_or(CredentialUnreadable)?;
        // `is_kid` bounds the length as well.
        if !is_kid(kid.as_bytes()) {
            return Err(CredentialUnreadable);
        }
        if body.len() > MAX_SEALED_BODY_CHARS {
            return Err(CredentialUnreadable);
        }
        let raw = Zeroizing::new(B64U.decode(body).map_err(|_| CredentialUnreadable)?);
        if raw.len() <= NONCE_LEN.saturating_add(TAG_LEN) {
            return Err(CredentialUnreadable);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CredentialUnreadable)?;
        let key = self.get(kid).ok_or(CredentialUnreadable)?;
        let conn_key = key.connection_key(connection.tenant_id(), connection.id());
        let aad = aad(kid, connection.tenant_id(), connection.id(), connection.provider());
        let cipher = Aes256Gcm::new(conn_key.as_ref().into());
        let clear = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| CredentialUnreadable)?;
        Credential::from_bytes(clear).map_err(|_| CredentialUnreadable)
    }
}

fn aad(kid: &str, tenant: &TenantId, connection: &ConnectionId, provider: &Provider) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(AAD_LABEL);
    for part in
        [kid.as_bytes(), tenant.as_str().as_bytes(), connection.as_str().as_bytes(), provider.as_str().as_bytes()]
    {
        field_with(&[part], |b| out.extend_from_slice(b));
    }
    out
}
