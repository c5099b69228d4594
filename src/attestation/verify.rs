//! The tool-side verifier.

use base64::Engine;
use hmac::Mac;
use http::header::CONNECTION;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Uri};

use super::keys::{AttestationKeyError, DeploymentKey, MAX_VERIFIER_KEYS, valid_kid};
use super::sign::{MAC_B64_LEN, RequestTarget, VERSION, message_mac};
use crate::headers::{ATTESTATION_HEADER, IDENTITY_HEADERS, is_managed_name};
use crate::ids::{DeploymentId, Email, TenantId, UserId};
use crate::time::Timestamp;
use crate::wire::{B64U, connection_tokens, parse_canonical_secs};

/// Why a request's attestation was refused.
///
/// Listed in the order the checks run; the first failure is reported.
/// Every rejection allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// A header or `Connection` token in the `x-vendo-` namespace (by
    /// collision key) that the attestation does not cover, such as
    /// `x_vendo_user_id` or `x-vendo-role`.
    #[error("unexpected header in the x-vendo namespace")]
    UnexpectedHeader,
    /// A covered header sent more than once.
    #[error("duplicate x-vendo header")]
    DuplicateHeader,
    /// No `x-vendo-attestation` header.
    #[error("no attestation")]
    Missing,
    /// One of the four identity headers is absent.
    #[error("identity header missing")]
    MissingIdentity,
    /// The attestation value does not have the v1 shape.
    #[error("malformed attestation")]
    Malformed,
    /// The request has no single authority to check against.
    #[error("request has no single authority")]
    MissingAuthority,
    /// No key with the attestation's key id.
    #[error("unknown attestation key")]
    UnknownKey,
    /// The MAC does not match the request and identity headers.
    #[error("bad attestation signature")]
    BadSignature,
    /// An identity value fails its SPEC §1 or §4 syntax.
    #[error("identity header is invalid")]
    BadIdentity,
    /// Signed later than `now` plus the allowed skew.
    #[error("attestation not yet valid")]
    NotYetValid,
    /// Signed longer ago than the allowed age plus skew.
    #[error("attestation expired")]
    Expired,
    /// The identity's deployment is not the key's deployment.
    #[error("attestation is for another deployment")]
    WrongDeployment,
}

impl AttestationError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnexpectedHeader => "unexpected_header",
            Self::DuplicateHeader => "duplicate_header",
            Self::Missing => "missing",
            Self::MissingIdentity => "missing_identity",
            Self::Malformed => "malformed",
            Self::MissingAuthority => "missing_authority",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::BadIdentity => "bad_identity",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::WrongDeployment => "wrong_deployment",
        }
    }
}

/// The identity a verified attestation vouches for, borrowed from the
/// request's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestedIdentity<'r> {
    tenant_id: &'r str,
    deployment_id: &'r str,
    user_id: &'r str,
    email: &'r str,
    kid: &'r str,
    signed_at: Timestamp,
}

impl<'r> AttestedIdentity<'r> {
    /// The tenant id (SPEC §1 syntax).
    pub const fn tenant_id(&self) -> &'r str {
        self.tenant_id
    }
    /// The deployment id, equal to the key's deployment.
    pub const fn deployment_id(&self) -> &'r str {
        self.deployment_id
    }
    /// The user id (SPEC §1 syntax).
    pub const fn user_id(&self) -> &'r str {
        self.user_id
    }
    /// The email (SPEC §4 syntax).
    pub const fn email(&self) -> &'r str {
        self.email
    }
    /// The key id the attestation was signed under.
    pub const fn kid(&self) -> &'r str {
        self.kid
    }
    /// When the proxy signed it.
    pub const fn signed_at(&self) -> Timestamp {
        self.signed_at
    }
}

/// Checks on the tool side that a request came through the proxy.
///
/// Holds the deployment's keys (more than one while the platform rotates
/// its secret), the accepted age (default 60 s) and clock skew (default
/// 5 s). A request is accepted when `signed_at <= now + skew` and
/// `signed_at + max_age + skew >= now`.
///
/// ```
/// # use vendo_isolation::*;
/// use vendo_isolation::attestation::{AttestationError, AttestationVerifier};
/// use vendo_isolation::headers::{Identity, strip_request};
/// # let platform = AttestationSecret::new("k1", &[7; 32])?;
/// # let key = platform.deployment_key(&"d_1".parse()?);
/// # let identity = Identity::for_tests("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?);
/// # let now = Timestamp::from_unix_seconds(1_700_000_000)?;
/// # let (mut parts, ()) = http::Request::get("/items").header("host", "acme-crm.vendo.run").body(())?.into_parts();
/// # strip_request(&mut parts, "__Host-vendo_session").inject(identity, Some(&platform.signer(now)))?;
/// // In the tool: `key` was provisioned, `parts` is the request received.
/// let verifier = AttestationVerifier::new(key).max_age_secs(30);
/// let who = verifier.verify(&parts, now)?;
/// assert_eq!(who.user_id(), "u_1");
///
/// parts.headers.append("x_vendo_user_id", http::HeaderValue::from_static("u_2"));
/// assert_eq!(verifier.verify(&parts, now), Err(AttestationError::UnexpectedHeader));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// What follows is the wire format, for tools written in other languages.
///
#[doc = include_str!("format.md")]
#[derive(Debug)]
pub struct AttestationVerifier {
    keys: Vec<DeploymentKey>,
    max_age: u32,
    skew: u32,
}

/// The covered headers of one request, each seen at most once.
#[derive(Default)]
struct Covered<'r> {
    attestation: Option<&'r HeaderValue>,
    identity: [Option<&'r HeaderValue>; 4],
}

fn set_once<'r>(slot: &mut Option<&'r HeaderValue>, value: &'r HeaderValue) -> Result<(), AttestationError> {
    match slot.replace(value) {
        Some(_) => Err(AttestationError::DuplicateHeader),
        None => Ok(()),
    }
}

/// Collects the covered headers; anything else in the namespace, or any
/// `Connection` nomination of it, is a request the proxy did not send.
fn scan(headers: &HeaderMap) -> Result<Covered<'_>, AttestationError> {
    let mut c = Covered::default();
    for (name, value) in headers {
        if name == CONNECTION {
            let nominated = connection_tokens(value.as_bytes()).any(is_managed_name);
            if nominated {
                return Err(AttestationError::UnexpectedHeader);
            }
            continue;
        }
        if !is_managed_name(name.as_str().as_bytes()) {
            continue;
        }
        // The identity headers' one table orders the slots, as it orders
        // the injection and the MAC message.
        let slot = if name == ATTESTATION_HEADER {
            Some(&mut c.attestation)
        } else {
            IDENTITY_HEADERS.iter().position(|h| h == name).and_then(|i| c.identity.get_mut(i))
        };
        set_once(slot.ok_or(AttestationError::UnexpectedHeader)?, value)?;
    }
    Ok(c)
}

/// `v1.kid.ts.mac` split and checked for shape.
struct Parsed<'r> {
    kid: &'r str,
    ts_text: &'r str,
    ts: Timestamp,
    mac: [u8; 32],
}

fn parse(value: &HeaderValue) -> Result<Parsed<'_>, AttestationError> {
    let s = value.to_str().map_err(|_| AttestationError::Malformed)?;
    let mut it = s.split('.');
    let (Some(version), Some(kid), Some(ts_text), Some(mac_b64), None) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(AttestationError::Malformed);
    };
    if version != VERSION || !valid_kid(kid) || mac_b64.len() != MAC_B64_LEN {
        return Err(AttestationError::Malformed);
    }
    let ts = parse_canonical_secs(ts_text.as_bytes()).ok_or(AttestationError::Malformed)?;
    // The strict engine refuses padding, the standard alphabet and non-zero
    // trailing bits: one encoding per MAC (SPEC §4 b64u).
    let mut buf = [0u8; 33];
    let n = B64U.decode_slice(mac_b64, &mut buf).map_err(|_| AttestationError::Malformed)?;
    let mac = buf.get(..n).and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or(AttestationError::Malformed)?;
    Ok(Parsed { kid, ts_text, ts, mac })
}

impl AttestationVerifier {
    /// Default accepted age of an attestation, in seconds.
    pub const DEFAULT_MAX_AGE_SECS: u32 = 60;
    /// Default accepted clock skew between proxy and tool, in seconds.
    pub const DEFAULT_SKEW_SECS: u32 = 5;

    /// A verifier holding one deployment key.
    pub fn new(key: DeploymentKey) -> Self {
        Self { keys: vec![key], max_age: Self::DEFAULT_MAX_AGE_SECS, skew: Self::DEFAULT_SKEW_SECS }
    }

    /// Adds a key, for rotation. A key id already held is replaced. Refuses
    /// a key derived for another deployment (`other_deployment`: the
    /// verifier would then accept that deployment's traffic) and a key past
    /// [`MAX_VERIFIER_KEYS`] (`too_many_keys`).
    ///
    /// ```
    /// use vendo_isolation::AttestationSecret;
    /// use vendo_isolation::attestation::AttestationVerifier;
    /// let (old, new) = (AttestationSecret::new("a1", &[1; 32])?, AttestationSecret::new("a2", &[2; 32])?);
    /// let d = "d_1".parse()?;
    /// let verifier = AttestationVerifier::new(old.deployment_key(&d)).with_key(new.deployment_key(&d))?;
    /// let other = verifier.with_key(new.deployment_key(&"d_2".parse()?));
    /// assert_eq!(other.unwrap_err().code(), "other_deployment");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_key(mut self, key: DeploymentKey) -> Result<Self, AttestationKeyError> {
        if self.keys.iter().any(|k| k.deployment_id() != key.deployment_id()) {
            return Err(AttestationKeyError::OtherDeployment);
        }
        self.keys.retain(|k| k.kid() != key.kid());
        if self.keys.len() >= MAX_VERIFIER_KEYS {
            return Err(AttestationKeyError::TooManyKeys);
        }
        self.keys.push(key);
        Ok(self)
    }

    /// Sets the accepted age, in seconds.
    pub const fn max_age_secs(mut self, secs: u32) -> Self {
        self.max_age = secs;
        self
    }

    /// Sets the accepted clock skew, in seconds.
    pub const fn skew_secs(mut self, secs: u32) -> Self {
        self.skew = secs;
        self
    }

    /// Verifies a request as the tool received it.
    pub fn verify<'r>(&self, parts: &'r Parts, now: Timestamp) -> Result<AttestedIdentity<'r>, AttestationError> {
        self.verify_request(&parts.method, &parts.uri, &parts.headers, now)
    }

    /// [`AttestationVerifier::verify`] on the request's pieces.
    pub fn verify_request<'r>(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &'r HeaderMap,
        now: Timestamp,
    ) -> Result<AttestedIdentity<'r>, AttestationError> {
        let covered = scan(headers)?;
        let value = covered.attestation.ok_or(AttestationError::Missing)?;
        let [Some(tenant), Some(deployment), Some(user), Some(email)] = covered.identity else {
            return Err(AttestationError::MissingIdentity);
        };
        let parsed = parse(value)?;
        let target = RequestTarget::new(method, uri, headers).map_err(|_| AttestationError::MissingAuthority)?;
        let key = self.keys.iter().find(|k| k.kid() == parsed.kid).ok_or(AttestationError::UnknownKey)?;

        let values = [tenant.as_bytes(), deployment.as_bytes(), user.as_bytes(), email.as_bytes()];
        message_mac(key.mac(), parsed.kid, parsed.ts_text, &target, values)
            .verify_slice(&parsed.mac)
            .map_err(|_| AttestationError::BadSignature)?;

        // No identity value is read before the MAC verifies.
        let text = |v: &'r HeaderValue| v.to_str().map_err(|_| AttestationError::BadIdentity);
        let (tenant, deployment, user, email) = (text(tenant)?, text(deployment)?, text(user)?, text(email)?);
        let syntax = TenantId::validate(tenant)
            .and(DeploymentId::validate(deployment))
            .and(UserId::validate(user))
            .and(Email::validate(email));
        syntax.map_err(|_| AttestationError::BadIdentity)?;

        let skew = u64::from(self.skew);
        if parsed.ts > now.saturating_add_secs(skew) {
            return Err(AttestationError::NotYetValid);
        }
        if now > parsed.ts.saturating_add_secs(u64::from(self.max_age)).saturating_add_secs(skew) {
            return Err(AttestationError::Expired);
        }
        if key.deployment_id().as_str() != deployment {
            return Err(AttestationError::WrongDeployment);
        }
        Ok(AttestedIdentity {
            tenant_id: tenant,
            deployment_id: deployment,
            user_id: user,
            email,
            kid: parsed.kid,
            signed_at: parsed.ts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_encoding_is_canonical() {
        let ok = format!("v1.k.1.{}", "A".repeat(43));
        assert!(parse(&HeaderValue::from_str(&ok).unwrap()).is_ok());
        // Non-zero trailing bits: a second spelling of the same MAC.
        let trailing = format!("v1.k.1.{}B", "A".repeat(42));
        // Padding, the standard alphabet, a short MAC, an extra field.
        let padded = format!("v1.k.1.{}=", "A".repeat(43));
        let std_alpha = format!("v1.k.1.{}+", "A".repeat(42));
        let short = format!("v1.k.1.{}", "A".repeat(42));
        let extra = format!("v1.k.1.{}.x", "A".repeat(43));
        let v2 = format!("v2.k.1.{}", "A".repeat(43));
        for bad in [trailing, padded, std_alpha, short, extra, v2] {
            let value = HeaderValue::from_str(&bad).unwrap();
            assert!(matches!(parse(&value), Err(AttestationError::Malformed)), "{bad}");
        }
    }
}
