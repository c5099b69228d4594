//! Verification in SPEC §4 order, with no heap allocation on any path.

use core::fmt;

use hmac::Mac;

use super::claims::{self, Parsed};
use super::token;
use super::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_LIFETIME_SECS, KeyRing, MAX_CLAIMS_LEN, MAX_KID_LEN};
use crate::headers::Identity;
use crate::{DeploymentId, Email, TenantId, Timestamp, UserId};

/// Why a session token was refused, in SPEC §4 check order.
///
/// The first failing check wins, so the code tells a client no more than
/// that one fact. No variant carries token bytes or claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Check 1: length, shape, version, kid syntax, base64 or MAC length.
    #[error("session token is malformed")]
    Malformed,
    /// Check 2: the kid is not in the key ring, or its key is retired.
    #[error("session token names an unknown key")]
    UnknownKey,
    /// Check 3: the MAC does not match.
    #[error("session token signature does not verify")]
    BadSignature,
    /// Check 4: claims are not UTF-8, have the wrong field count, an
    /// invalid id or email, a non-canonical or out-of-range integer, or
    /// `iat >= exp`.
    #[error("session claims are invalid")]
    BadClaims,
    /// Check 5: `exp - iat` exceeds the maximum lifetime.
    #[error("session lifetime exceeds the maximum")]
    LifetimeTooLong,
    /// Check 6: `now < iat - leeway`.
    #[error("session is not yet valid")]
    NotYetValid,
    /// Check 7: `now >= exp + leeway`.
    #[error("session has expired")]
    Expired,
    /// Extension after check 7: `iat` is before the caller's minimum
    /// issued-at ([`VerifyOptions::with_min_issued_at`]). The SPEC §5
    /// `verify_session` op has no such field and never reports it.
    #[error("session was revoked")]
    Revoked,
    /// Check 8: the session belongs to another tenant.
    #[error("session is for another tenant")]
    WrongTenant,
    /// Check 9: the session belongs to another deployment of the tenant.
    #[error("session is for another deployment")]
    WrongDeployment,
}

impl VerifyError {
    /// Stable machine-readable code (SPEC §4, plus `revoked`).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::BadClaims => "bad_claims",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::WrongTenant => "wrong_tenant",
            Self::WrongDeployment => "wrong_deployment",
        }
    }
}

/// Policy for [`verify_session`]; `VerifyOptions::default()` is SPEC §5's.
///
/// ```
/// use vendo_isolation::Timestamp;
/// use vendo_isolation::session::VerifyOptions;
/// let opts = VerifyOptions::new()
///     .with_leeway_secs(30)
///     .with_max_lifetime_secs(86_400)
///     .with_min_issued_at(Timestamp::from_unix_seconds(1_700_000_000)?)
///     .with_reissue_within_secs(3_600);
/// assert_eq!(opts.leeway_secs(), 30);
/// assert_eq!(VerifyOptions::default().max_lifetime_secs(), 604_800);
/// # Ok::<(), vendo_isolation::time::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerifyOptions {
    leeway_secs: u64,
    max_lifetime_secs: u64,
    min_issued_at: Option<Timestamp>,
    reissue_within_secs: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl VerifyOptions {
    /// Leeway 60 s, maximum lifetime 7 days, no minimum issued-at, no
    /// re-issue for nearness to expiry.
    pub const fn new() -> Self {
        Self {
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
            min_issued_at: None,
            reissue_within_secs: 0,
        }
    }

    /// Clock skew tolerated on both `iat` and `exp`.
    #[must_use]
    pub const fn with_leeway_secs(self, secs: u64) -> Self {
        Self { leeway_secs: secs, ..self }
    }

    /// Longest `exp - iat` accepted. A session with no real expiry (Fernet
    /// `ttl=None`) cannot pass: `exp` is mandatory and bounded by `iat`
    /// plus this.
    #[must_use]
    pub const fn with_max_lifetime_secs(self, secs: u64) -> Self {
        Self { max_lifetime_secs: secs, ..self }
    }

    /// Refuses sessions issued before `at` as `revoked`: stateless
    /// revocation of every session of one audience (after a password
    /// change, say) without a deny list.
    #[must_use]
    pub const fn with_min_issued_at(self, at: Timestamp) -> Self {
        Self { min_issued_at: Some(at), ..self }
    }

    /// Reports [`ReissueReason::NearExpiry`] when fewer than `secs`
    /// seconds remain before `exp`. `0`, the default, never does.
    #[must_use]
    pub const fn with_reissue_within_secs(self, secs: u64) -> Self {
        Self { reissue_within_secs: secs, ..self }
    }

    /// The leeway, in seconds.
    pub const fn leeway_secs(&self) -> u64 {
        self.leeway_secs
    }

    /// The maximum lifetime, in seconds.
    pub const fn max_lifetime_secs(&self) -> u64 {
        self.max_lifetime_secs
    }

    /// The minimum issued-at, if set.
    pub const fn min_issued_at(&self) -> Option<Timestamp> {
        self.min_issued_at
    }

    /// The re-issue threshold, in seconds.
    pub const fn reissue_within_secs(&self) -> u64 {
        self.reissue_within_secs
    }
}

/// Why a valid session should be replaced by a freshly minted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReissueReason {
    /// It verified with a key that is no longer primary: re-issue before
    /// that key retires.
    NonPrimaryKey,
    /// Less than [`VerifyOptions::with_reissue_within_secs`] remains.
    NearExpiry,
}

impl ReissueReason {
    /// Stable machine-readable code, for logs and for callers in other
    /// languages: `non_primary_key`, `near_expiry`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NonPrimaryKey => "non_primary_key",
            Self::NearExpiry => "near_expiry",
        }
    }
}

/// A session whose token passed every check.
///
/// The claims live in an inline buffer, so verification allocates
/// nothing; accessors return views into it. [`identity`](Self::identity)
/// builds the owned, typed [`Identity`] the proxy injects.
#[derive(Clone)]
pub struct VerifiedSession {
    // INVARIANT: parsed.spans index into claims[..len] and hold validated
    // ASCII; kid[..kid_len] is a valid kid.
    claims: [u8; MAX_CLAIMS_LEN],
    parsed: Parsed,
    kid: [u8; MAX_KID_LEN],
    kid_len: usize,
    reissue: Option<ReissueReason>,
}

impl VerifiedSession {
    fn field(&self, i: usize) -> &str {
        let (start, end) = self.parsed.spans.get(i).copied().unwrap_or_default();
        self.claims.get(start..end).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or_default()
    }

    /// The tenant the session was issued for: equal to the expected one.
    pub fn tenant_id(&self) -> &str {
        self.field(0)
    }

    /// The deployment the session was issued for: equal to the expected one.
    pub fn deployment_id(&self) -> &str {
        self.field(1)
    }

    /// The end user.
    pub fn user_id(&self) -> &str {
        self.field(2)
    }

    /// The end user's email.
    pub fn email(&self) -> &str {
        self.field(3)
    }

    /// When the session was issued.
    pub const fn issued_at(&self) -> Timestamp {
        self.parsed.issued_at
    }

    /// When the session expires (before leeway).
    pub const fn expires_at(&self) -> Timestamp {
        self.parsed.expires_at
    }

    /// The id of the key that verified it.
    pub fn kid(&self) -> &str {
        self.kid.get(..self.kid_len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or_default()
    }

    /// Whether, and why, the caller should mint a replacement. A
    /// non-primary key takes precedence over nearness to expiry.
    pub const fn reissue(&self) -> Option<ReissueReason> {
        self.reissue
    }

    /// The typed identity, allocating one string per id (four in all).
    pub fn identity(&self) -> Identity {
        // INVARIANT: every field passed its type's validation in
        // `claims::parse` and the buffer is immutable since.
        Identity::from_verified(
            TenantId::from_validated(self.tenant_id()),
            DeploymentId::from_validated(self.deployment_id()),
            UserId::from_validated(self.user_id()),
            Email::from_validated(self.email()),
        )
    }

    /// The typed identity; see [`identity`](Self::identity).
    pub fn into_identity(self) -> Identity {
        self.identity()
    }
}

impl fmt::Debug for VerifiedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedSession")
            .field("tenant_id", &self.tenant_id())
            .field("deployment_id", &self.deployment_id())
            .field("user_id", &self.user_id())
            .field("email", &self.email())
            .field("issued_at", &self.issued_at())
            .field("expires_at", &self.expires_at())
            .field("kid", &self.kid())
            .field("reissue", &self.reissue)
            .finish()
    }
}

/// Verifies a v1 session token (SPEC §4) for one tenant's deployment.
///
/// Checks in order and returns the first failure: size (before any
/// decoding), shape and canonical base64 (`malformed`); key lookup
/// (`unknown_key`); the MAC, compared in constant time over exactly 32
/// bytes (`bad_signature`) — no claim is read before it passes; claims
/// (`bad_claims`); lifetime; not-before; expiry; minimum issued-at
/// (`revoked`); tenant; deployment. The tenant and deployment checks bind
/// the session to one audience, so a session for one deployment is
/// refused by every other (CVE-2025-62610).
///
/// Arbitrary bytes never panic, and no path allocates.
///
/// ```
/// use vendo_isolation::*;
/// use vendo_isolation::session::{SessionClaims, VerifyOptions, mint_session, verify_session};
/// let ring = KeyRing::new(SessionKey::new("k1", &[42u8; 32])?);
/// let tenant: TenantId = "t_1".parse()?;
/// let deployment: DeploymentId = "d_1".parse()?;
/// let iat = Timestamp::from_unix_seconds(1_700_000_000)?;
/// let exp = iat.checked_add_secs(3_600)?;
/// let claims = SessionClaims::new(tenant.clone(), deployment.clone(), "u_1".parse()?, "a@b.io".parse()?, iat, exp)?;
/// let token = mint_session(&claims, &ring);
///
/// let now = iat.checked_add_secs(10)?;
/// let opts = VerifyOptions::default();
/// let session = verify_session(&token, &ring, now, &tenant, &deployment, &opts)?;
/// assert_eq!(session.user_id(), "u_1");
/// assert_eq!(session.reissue(), None);
///
/// let other: DeploymentId = "d_2".parse()?;
/// let err = verify_session(&token, &ring, now, &tenant, &other, &opts).unwrap_err();
/// assert_eq!(err.code(), "wrong_deployment");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_session(
    token: impl AsRef<[u8]>,
    ring: &KeyRing,
    now: Timestamp,
    tenant: &TenantId,
    deployment: &DeploymentId,
    options: &VerifyOptions,
) -> Result<VerifiedSession, VerifyError> {
    verify_bytes(token.as_ref(), ring, now, tenant, deployment, options)
}

fn verify_bytes(
    token: &[u8],
    ring: &KeyRing,
    now: Timestamp,
    tenant: &TenantId,
    deployment: &DeploymentId,
    options: &VerifyOptions,
) -> Result<VerifiedSession, VerifyError> {
    // 1. malformed
    let parts = token::split(token).ok_or(VerifyError::Malformed)?;
    // Decoding is not reading: the claims are decoded here, in the one
    // pass that checks the base64, but nothing looks at them before the
    // MAC verifies. A payload too long for valid claims is only checked.
    let mut claims_buf = [0u8; MAX_CLAIMS_LEN];
    let decoded_len = token::canonical_len(parts.payload).ok_or(VerifyError::Malformed)?;
    let fits = match claims_buf.get_mut(..decoded_len) {
        Some(out) => token::decode_canonical(parts.payload, out).map(|()| true),
        None => token::canonical(parts.payload).map(|_| false),
    }
    .ok_or(VerifyError::Malformed)?;

    // 2. unknown_key
    let (key, is_primary) = ring.verifying_key(parts.kid, now).ok_or(VerifyError::UnknownKey)?;

    // 3. bad_signature: `verify_slice` compares all 32 bytes in constant
    // time. The MAC covers the base64 text, so one payload has one MAC.
    let mut mac = key.mac();
    mac.update(parts.payload);
    mac.verify_slice(&parts.mac).map_err(|_| VerifyError::BadSignature)?;

    // 4. bad_claims: claims longer than any valid ones cannot parse.
    if !fits {
        return Err(VerifyError::BadClaims);
    }
    let raw = claims_buf.get(..decoded_len).ok_or(VerifyError::BadClaims)?;
    let parsed = claims::parse(raw, tenant, deployment).ok_or(VerifyError::BadClaims)?;
    let (iat, exp) = (parsed.issued_at.unix_seconds(), parsed.expires_at.unix_seconds());

    // 5. lifetime_too_long. INVARIANT: parse guarantees iat < exp.
    if exp.saturating_sub(iat) > options.max_lifetime_secs {
        return Err(VerifyError::LifetimeTooLong);
    }
    // 6-7. Times are at most MAX_UNIX_SECONDS, far below u64::MAX, so a
    // saturated sum is still larger than every timestamp and each
    // comparison is exact.
    let now_s = now.unix_seconds();
    if now_s.saturating_add(options.leeway_secs) < iat {
        return Err(VerifyError::NotYetValid);
    }
    if now_s >= exp.saturating_add(options.leeway_secs) {
        return Err(VerifyError::Expired);
    }
    // 7.5 revoked (crate extension).
    if options.min_issued_at.is_some_and(|min| parsed.issued_at < min) {
        return Err(VerifyError::Revoked);
    }

    let field = |i: usize| {
        let (start, end) = parsed.spans.get(i).copied().unwrap_or_default();
        raw.get(start..end).unwrap_or_default()
    };
    // 8-9. Byte-for-byte, case-sensitive (SPEC §1).
    if field(0) != tenant.as_str().as_bytes() {
        return Err(VerifyError::WrongTenant);
    }
    if field(1) != deployment.as_str().as_bytes() {
        return Err(VerifyError::WrongDeployment);
    }

    let reissue = if !is_primary {
        Some(ReissueReason::NonPrimaryKey)
    } else if exp.saturating_sub(now_s) < options.reissue_within_secs {
        Some(ReissueReason::NearExpiry)
    } else {
        None
    };
    let mut kid = [0u8; MAX_KID_LEN];
    kid.iter_mut().zip(parts.kid).for_each(|(d, s)| *d = *s);
    Ok(VerifiedSession { claims: claims_buf, parsed, kid, kid_len: parts.kid.len(), reissue })
}
