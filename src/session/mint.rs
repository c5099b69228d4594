//! Minting v1 session tokens with the ring's primary key (SPEC §4).

use base64::Engine;
use hmac::Mac;

use super::{B64U, KeyRing, VERSION_PREFIX};
use crate::headers::Identity;
use crate::{DeploymentId, Email, TenantId, Timestamp, UserId};

/// Why claims cannot be minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// `issued_at` is not strictly before `expires_at` (SPEC §4).
    #[error("issued-at is not before expiry")]
    NotBeforeExpiry,
}

impl ClaimsError {
    /// Stable machine-readable code: the code a verifier would report.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotBeforeExpiry => "bad_claims",
        }
    }
}

/// What a session asserts: who, for which tenant's deployment, and when.
///
/// Every field is a validated type, and `issued_at < expires_at`, so any
/// `SessionClaims` mints a token that parses. The maximum lifetime is the
/// verifier's policy, not checked here.
///
/// ```
/// use vendo_isolation::Timestamp;
/// use vendo_isolation::session::SessionClaims;
/// let iat = Timestamp::from_unix_seconds(100)?;
/// let claims = SessionClaims::new("t".parse()?, "d".parse()?, "u".parse()?, "a@b".parse()?, iat, iat);
/// assert_eq!(claims.unwrap_err().code(), "bad_claims");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionClaims {
    tenant_id: TenantId,
    deployment_id: DeploymentId,
    user_id: UserId,
    email: Email,
    issued_at: Timestamp,
    expires_at: Timestamp,
}

impl SessionClaims {
    /// Claims for a new session. `issued_at` must be before `expires_at`.
    pub fn new(
        tenant_id: TenantId,
        deployment_id: DeploymentId,
        user_id: UserId,
        email: Email,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Self, ClaimsError> {
        if issued_at >= expires_at {
            return Err(ClaimsError::NotBeforeExpiry);
        }
        Ok(Self { tenant_id, deployment_id, user_id, email, issued_at, expires_at })
    }

    /// Claims re-issuing a verified identity with new times, for example
    /// after [`VerifiedSession::reissue`](crate::session::VerifiedSession::reissue)
    /// asked for it.
    pub fn from_identity(
        identity: &Identity,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Self, ClaimsError> {
        Self::new(
            identity.tenant_id().clone(),
            identity.deployment_id().clone(),
            identity.user_id().clone(),
            identity.email().clone(),
            issued_at,
            expires_at,
        )
    }

    /// The tenant.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The deployment.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.deployment_id
    }

    /// The end user.
    pub const fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The end user's email.
    pub const fn email(&self) -> &Email {
        &self.email
    }

    /// When the session starts.
    pub const fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// When the session ends (before the verifier's leeway).
    pub const fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// The SPEC §4 claims text: six fields joined by `LF`.
    fn to_text(&self) -> String {
        let mut s = String::with_capacity(super::MAX_CLAIMS_LEN);
        for part in [self.tenant_id.as_str(), self.deployment_id.as_str(), self.user_id.as_str(), self.email.as_str()] {
            s.push_str(part);
            s.push('\n');
        }
        s.push_str(&self.issued_at.unix_seconds().to_string());
        s.push('\n');
        s.push_str(&self.expires_at.unix_seconds().to_string());
        s
    }
}

/// Mints a v1 token for `claims`, signed with the ring's primary key.
///
/// Only the primary ever signs: a verify-only key, however recently added
/// or however it sorts, cannot (CVE-2025-47278). The token is at most
/// 714 bytes, well under the 4096 limit, and uses only
/// `[A-Za-z0-9_.-]`, so it goes into a cookie as it is.
///
/// ```
/// use vendo_isolation::*;
/// use vendo_isolation::session::{SessionClaims, mint_session};
/// let mut ring = KeyRing::new(SessionKey::new("new", &[2u8; 32])?);
/// ring.add_verify_only(SessionKey::new("old", &[1u8; 32])?, None)?;
/// let iat = Timestamp::from_unix_seconds(1_700_000_000)?;
/// let claims = SessionClaims::new(
///     "t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?,
///     iat, iat.checked_add_secs(3_600)?,
/// )?;
/// let token = mint_session(&claims, &ring);
/// assert!(token.starts_with("v1.new."));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mint_session(claims: &SessionClaims, ring: &KeyRing) -> String {
    let payload = B64U.encode(claims.to_text());
    let key = ring.primary_key();
    let kid = key.kid();
    let mut mac = key.mac();
    mac.update(payload.as_bytes());
    let tag = B64U.encode(mac.finalize().into_bytes());
    let mut token = String::with_capacity(
        VERSION_PREFIX
            .len()
            .saturating_add(kid.len())
            .saturating_add(payload.len())
            .saturating_add(tag.len())
            .saturating_add(2),
    );
    token.push_str("v1.");
    token.push_str(kid);
    token.push('.');
    token.push_str(&payload);
    token.push('.');
    token.push_str(&tag);
    token
}
