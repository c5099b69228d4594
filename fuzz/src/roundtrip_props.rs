//! `mint_session` then `verify_session` returns the claims; the token is
//! byte for byte SPEC §4's; the window's edges, rotation and audience
//! behave as documented; the crate's validation of each raw field agrees
//! with SPEC §1 and §4.

use vendo_isolation::session::{
    ReissueReason, SESSION_COOKIE_NAME, SessionClaims, VerifyOptions, mint_session, session_set_cookie, verify_session,
};
use vendo_isolation::{DeploymentId, Email, KeyRing, SessionKey, TenantId, Timestamp, UserId};

use super::reference::{self, Claims, MAX_SECS};

/// Raw material for one session.
#[derive(Debug, Clone, Default)]
pub struct RoundtripCase {
    /// Tenant id bytes.
    pub tenant: Vec<u8>,
    /// Deployment id bytes.
    pub deployment: Vec<u8>,
    /// User id bytes.
    pub user: Vec<u8>,
    /// Email bytes.
    pub email: Vec<u8>,
    /// Key id bytes.
    pub kid: Vec<u8>,
    /// Secret bytes.
    pub secret: Vec<u8>,
    /// Issued-at, reduced into range.
    pub iat: u64,
    /// Lifetime, reduced to 1 s to 7 days.
    pub lifetime: u64,
    /// Where in the window to verify.
    pub at: u64,
}

const ID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// Maps bytes into `[A-Za-z0-9_-]`, 1 to `max` long.
fn coerce_id(raw: &[u8], max: usize) -> String {
    let mut s: String = raw.iter().take(max).map(|b| char::from(ID_ALPHABET[usize::from(b % 64)])).collect();
    if s.is_empty() {
        s.push('a');
    }
    s
}

/// Maps bytes into a SPEC §4 email: visible ASCII, an inner `@`.
fn coerce_email(raw: &[u8]) -> String {
    let mut b: Vec<u8> = raw.iter().take(254).map(|b| 0x21 + b % 94).collect();
    while b.len() < 3 {
        b.push(b'x');
    }
    let last = b.len() - 1;
    for i in [0, last] {
        if b[i] == b'@' {
            b[i] = b'a';
        }
    }
    if !b.contains(&b'@') {
        let mid = b.len() / 2;
        b[mid] = b'@';
    }
    String::from_utf8(b).unwrap()
}

/// The crate's validation of raw input agrees with the reference.
fn validation_agrees(case: &RoundtripCase) {
    if let Ok(s) = std::str::from_utf8(&case.tenant) {
        assert_eq!(TenantId::validate(s).is_ok(), reference::valid_id(s.as_bytes()), "tenant {s:?}");
    }
    if let Ok(s) = std::str::from_utf8(&case.deployment) {
        assert_eq!(DeploymentId::validate(s).is_ok(), reference::valid_id(s.as_bytes()), "deployment {s:?}");
    }
    if let Ok(s) = std::str::from_utf8(&case.user) {
        assert_eq!(UserId::validate(s).is_ok(), reference::valid_id(s.as_bytes()), "user {s:?}");
    }
    if let Ok(s) = std::str::from_utf8(&case.email) {
        assert_eq!(Email::validate(s).is_ok(), reference::valid_email(s.as_bytes()), "email {s:?}");
    }
    if let Ok(s) = std::str::from_utf8(&case.kid) {
        let want = reference::valid_kid(s.as_bytes()) && case.secret.len() >= 32;
        assert_eq!(SessionKey::new(s, &case.secret).is_ok(), want, "kid {s:?} secret {}", case.secret.len());
    }
}

fn ts(s: u64) -> Timestamp {
    Timestamp::from_unix_seconds(s).unwrap()
}

/// The property.
pub fn check(case: &RoundtripCase) {
    validation_agrees(case);
    let c = Claims {
        tenant: coerce_id(&case.tenant, 64),
        deployment: coerce_id(&case.deployment, 64),
        user: coerce_id(&case.user, 64),
        email: coerce_email(&case.email),
        iat: case.iat % MAX_SECS,
        exp: 0,
    };
    let exp = (c.iat + 1 + case.lifetime % 604_800).min(MAX_SECS);
    let c = Claims { exp, ..c };
    let kid = coerce_id(&case.kid, 32);
    let mut secret = case.secret.clone();
    secret.resize(secret.len().max(32), 0);

    let (tenant, deployment): (TenantId, DeploymentId) = (c.tenant.parse().unwrap(), c.deployment.parse().unwrap());
    let claims = SessionClaims::new(
        tenant.clone(),
        deployment.clone(),
        c.user.parse().unwrap(),
        c.email.parse().unwrap(),
        ts(c.iat),
        ts(exp),
    )
    .unwrap();
    let mut ring = KeyRing::new(SessionKey::new(&kid, &secret).unwrap());
    let token = mint_session(&claims, &ring);

    // Byte for byte the SPEC's token; short and cookie-safe as documented.
    assert_eq!(token, reference::mint(&c, &kid, &secret), "token differs from SPEC §4");
    assert!(token.len() <= 714, "token is {} bytes", token.len());
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
    assert_eq!(mint_session(&claims, &ring), token, "minting is not deterministic");
    assert!(session_set_cookie(SESSION_COOKIE_NAME, &token, ts(exp), ts(c.iat)).is_ok());

    // Verifies anywhere in [iat - L, exp + L) with the tightest lifetime.
    let life = exp - c.iat;
    let opts = VerifyOptions::new().with_max_lifetime_secs(life);
    let lo = c.iat.saturating_sub(60);
    let hi = (exp + 59).min(MAX_SECS);
    let now = lo + case.at % (hi - lo + 1);
    let verify = |ring: &KeyRing, now: u64, opts: &VerifyOptions, t: &TenantId| {
        verify_session(&token, ring, ts(now), t, &deployment, opts)
    };
    let s = verify(&ring, now, &opts, &tenant).unwrap_or_else(|e| panic!("{} at {now} for {c:?}", e.code()));
    assert_eq!(
        (s.tenant_id(), s.deployment_id(), s.user_id(), s.email()),
        (c.tenant.as_str(), c.deployment.as_str(), c.user.as_str(), c.email.as_str())
    );
    assert_eq!((s.issued_at(), s.expires_at(), s.kid(), s.reissue()), (ts(c.iat), ts(exp), kid.as_str(), None));
    assert_eq!(SessionClaims::from_identity(&s.identity(), ts(c.iat), ts(exp)).unwrap(), claims);

    // The window's edges and the lifetime cap.
    let code = |r: Result<_, vendo_isolation::session::VerifyError>| r.err().map(|e| e.code());
    if exp + 60 <= MAX_SECS {
        assert_eq!(code(verify(&ring, exp + 60, &opts, &tenant)), Some("expired"));
    }
    if c.iat >= 61 {
        assert_eq!(code(verify(&ring, c.iat - 61, &opts, &tenant)), Some("not_yet_valid"));
    }
    assert!(verify(&ring, lo, &opts, &tenant).is_ok(), "refused at iat - leeway");
    assert!(verify(&ring, hi, &opts, &tenant).is_ok(), "refused at exp + leeway - 1");
    let tight = opts.with_max_lifetime_secs(life - 1);
    assert_eq!(code(verify(&ring, now, &tight, &tenant)), Some("lifetime_too_long"));

    // Audience: one more byte of tenant is another tenant.
    if c.tenant.len() < 64 {
        let other: TenantId = format!("{}x", c.tenant).parse().unwrap();
        assert_eq!(code(verify(&ring, now, &opts, &other)), Some("wrong_tenant"));
    }

    // Rotation: after promoting a new key, the old token still verifies
    // but asks to be re-issued, and new tokens carry the new kid.
    let new_kid = if kid.len() < 32 { format!("{kid}n") } else { format!("{}n", &kid[..31]) };
    let new_kid = if new_kid == kid { "n".to_owned() } else { new_kid };
    ring.add_verify_only(SessionKey::new(&new_kid, &[7; 32]).unwrap(), None).unwrap();
    ring.promote(&new_kid, None).unwrap();
    let s = verify(&ring, now, &opts, &tenant).unwrap();
    assert_eq!(s.reissue(), Some(ReissueReason::NonPrimaryKey));
    assert!(mint_session(&claims, &ring).starts_with(&format!("v1.{new_kid}.")));
}
