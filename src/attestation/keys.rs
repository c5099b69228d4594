//! The platform attestation secret and the per-deployment keys derived
//! from it.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ids::DeploymentId;

/// Shortest platform attestation secret accepted, in bytes.
pub const MIN_ATTESTATION_SECRET_LEN: usize = 32;
/// Length of a deployment attestation key, in bytes (one HMAC-SHA256 output).
pub const DEPLOYMENT_KEY_LEN: usize = 32;
/// Longest attestation key id, in bytes (SPEC §4 `kid`).
pub const MAX_ATTESTATION_KID_LEN: usize = crate::wire::MAX_KID_LEN;

/// Domain-separation label of the key derivation: a key derived for the
/// attestation can never equal a MAC of any other message kind.
pub(crate) const KEY_LABEL: &[u8] = b"vendo-attestation-key-v1\0";

/// Why an attestation key could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationKeyError {
    /// The platform secret is shorter than [`MIN_ATTESTATION_SECRET_LEN`].
    #[error("attestation secret is shorter than 32 bytes")]
    ShortSecret,
    /// A deployment key is not exactly [`DEPLOYMENT_KEY_LEN`] bytes.
    #[error("deployment attestation key is not 32 bytes")]
    BadKeyLength,
    /// The key id is not 1–32 bytes of `[A-Za-z0-9_-]`.
    #[error("attestation key id is not 1-32 bytes of [A-Za-z0-9_-]")]
    InvalidKeyId,
    /// A verifier already holds [`MAX_VERIFIER_KEYS`] keys.
    #[error("the verifier holds the most keys it can")]
    TooManyKeys,
    /// The key was derived for another deployment than the verifier's.
    #[error("the key is for another deployment")]
    OtherDeployment,
}

/// Most deployment keys one [`crate::attestation::AttestationVerifier`] holds, as for a
/// session [`crate::KeyRing`]: rotation needs two or three, and a bound
/// keeps the per-request lookup short.
pub const MAX_VERIFIER_KEYS: usize = 8;

impl AttestationKeyError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::ShortSecret => "short_secret",
            Self::BadKeyLength => "bad_key_length",
            Self::InvalidKeyId => "invalid_key_id",
            Self::TooManyKeys => "too_many_keys",
            Self::OtherDeployment => "other_deployment",
        }
    }
}

/// `kid = 1*32 ( ALPHA / DIGIT / "_" / "-" )`, as in SPEC §4.
pub(crate) const fn valid_kid(kid: &str) -> bool {
    crate::wire::is_kid(kid.as_bytes())
}

/// The platform's attestation secret, held by the proxy only.
///
/// Never handed to a tool: each tool gets the [`DeploymentKey`] derived
/// for its own deployment, which cannot sign for any other.
///
/// ```
/// use vendo_isolation::AttestationSecret;
/// let secret = AttestationSecret::new("k1", &[7; 32])?;
/// assert_eq!(secret.kid(), "k1");
/// assert!(AttestationSecret::new("k1", &[7; 31]).is_err());
/// # Ok::<(), vendo_isolation::attestation::AttestationKeyError>(())
/// ```
pub struct AttestationSecret {
    kid: String,
    // HMAC state keyed with the secret; the raw bytes are not kept.
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for AttestationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestationSecret").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl AttestationSecret {
    /// Builds the secret from its key id and at least 32 bytes.
    pub fn new(kid: &str, secret: &[u8]) -> Result<Self, AttestationKeyError> {
        if !valid_kid(kid) {
            return Err(AttestationKeyError::InvalidKeyId);
        }
        if secret.len() < MIN_ATTESTATION_SECRET_LEN {
            return Err(AttestationKeyError::ShortSecret);
        }
        let keyed = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| AttestationKeyError::ShortSecret)?;
        Ok(Self { kid: kid.to_owned(), keyed })
    }

    /// The key id every attestation signed with this secret carries.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32-byte key of one deployment:
    /// `HMAC-SHA256(secret, "vendo-attestation-key-v1" %x00 deployment_id)`.
    pub fn deployment_key(&self, deployment: &DeploymentId) -> DeploymentKey {
        let key = self.derive(deployment);
        DeploymentKey { kid: self.kid.clone(), deployment: deployment.clone(), keyed: keyed_mac(&key), key }
    }

    /// The derivation itself, without allocating.
    pub(crate) fn derive(&self, deployment: &DeploymentId) -> [u8; DEPLOYMENT_KEY_LEN] {
        self.derive_bytes(deployment.as_str().as_bytes())
    }

    /// [`derive`](Self::derive) over a deployment id's bytes.
    pub(crate) fn derive_bytes(&self, deployment: &[u8]) -> [u8; DEPLOYMENT_KEY_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(KEY_LABEL);
        mac.update(deployment);
        mac.finalize().into_bytes().into()
    }
}

/// One deployment's attestation key, as the tool holds it.
///
/// The tool is provisioned with its key id, its deployment id and these 32
/// bytes; [`crate::attestation::AttestationVerifier`] checks requests with it.
///
/// ```
/// use vendo_isolation::AttestationSecret;
/// use vendo_isolation::attestation::DeploymentKey;
/// let platform = AttestationSecret::new("k1", &[7; 32])?;
/// let provisioned = platform.deployment_key(&"d_1".parse()?);
/// // What the tool reads from its configuration:
/// let key = DeploymentKey::new("k1", "d_1".parse()?, provisioned.expose_secret())?;
/// assert_eq!(key.deployment_id().as_str(), "d_1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DeploymentKey {
    kid: String,
    deployment: DeploymentId,
    key: [u8; DEPLOYMENT_KEY_LEN],
    // The HMAC key schedule, computed once: verifying a request clones it
    // instead of re-keying.
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeploymentKey")
            .field("kid", &self.kid)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
}

impl DeploymentKey {
    /// Builds a deployment key from its key id, deployment and exactly 32
    /// bytes.
    pub fn new(kid: &str, deployment: DeploymentId, key: &[u8]) -> Result<Self, AttestationKeyError> {
        if !valid_kid(kid) {
            return Err(AttestationKeyError::InvalidKeyId);
        }
        let key = <[u8; DEPLOYMENT_KEY_LEN]>::try_from(key).map_err(|_| AttestationKeyError::BadKeyLength)?;
        Ok(Self { kid: kid.to_owned(), deployment, keyed: keyed_mac(&key), key })
    }

    /// The key id attestations under this key carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The deployment this key belongs to.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.deployment
    }

    /// The raw key bytes, to provision the tool. Keep them out of logs.
    pub const fn expose_secret(&self) -> &[u8; DEPLOYMENT_KEY_LEN] {
        &self.key
    }

    pub(crate) fn mac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }
}

/// HMAC-SHA256 keyed with a deployment key.
pub(crate) fn keyed_mac(key: &[u8; DEPLOYMENT_KEY_LEN]) -> Hmac<Sha256> {
    // RFC 2104 §2: a key shorter than the hash block is zero-padded to a
    // block, so the padded block is the same key, and `new` over a whole
    // block is infallible.
    let mut block = [0u8; 64];
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_rules() {
        assert!(valid_kid("a"));
        assert!(valid_kid(&"a".repeat(32)));
        assert!(!valid_kid(&"a".repeat(33)));
        assert!(!valid_kid(""));
        // A `.` would let the kid shift the header's field boundaries.
        assert!(!valid_kid("a.b"));
    }

    #[test]
    fn derivation_depends_on_deployment_and_secret() {
        let a = AttestationSecret::new("k", &[1; 32]).unwrap();
        let b = AttestationSecret::new("k", &[2; 32]).unwrap();
        let d1: DeploymentId = "d_1".parse().unwrap();
        let d2: DeploymentId = "d_2".parse().unwrap();
        assert_ne!(a.derive(&d1), a.derive(&d2));
        assert_ne!(a.derive(&d1), b.derive(&d1));
        assert_eq!(a.deployment_key(&d1).expose_secret(), &a.derive(&d1));
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let s = AttestationSecret::new("k", &[0xAB; 32]).unwrap();
        let k = s.deployment_key(&"d".parse().unwrap());
        let out = format!("{s:?} {k:?}");
        assert!(!out.contains("171") && !out.to_lowercase().contains("ab, "), "{out}");
        assert_eq!(DeploymentKey::new("k", "d".parse().unwrap(), &[0; 31]).unwrap_err().code(), "bad_key_length");
    }
}
