//! `verify_session`: the crate agrees with the SPEC §4 reference on every
//! token (same first failure, same claims), and only a token the ring's
//! keys minted ever verifies.

use vendo_isolation::Timestamp;
use vendo_isolation::session::{ReissueReason, verify_session};

use super::fixture::{DEPLOYMENTS, Fixture, IAT, TENANTS, options, signing_key};
use super::reference::{self, b64u_encode, sign_payload};

/// Where a token under test came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Arbitrary bytes or a mutation of a token: must never verify unless
    /// it is byte for byte a token the ring's keys minted.
    Untrusted,
    /// Signed by the property itself with a chosen key, to reach the
    /// claims checks: may verify, but only in its one canonical spelling.
    Signed,
}

/// One verification.
#[derive(Debug, Clone)]
pub struct VerifyCase<'a> {
    /// The token bytes.
    pub token: &'a [u8],
    /// Unix seconds.
    pub now: u64,
    /// Index into [`super::fixture::options`].
    pub options: u8,
    /// Index into [`TENANTS`].
    pub tenant: u8,
    /// Index into [`DEPLOYMENTS`].
    pub deployment: u8,
    /// Where the token came from.
    pub origin: Origin,
}

fn reissue_code(r: Option<ReissueReason>) -> Option<&'static str> {
    match r {
        None => None,
        Some(ReissueReason::NonPrimaryKey) => Some("non_primary_key"),
        Some(ReissueReason::NearExpiry) => Some("near_expiry"),
        Some(_) => Some("other"),
    }
}

/// The property: crate and reference agree, and what verifies is authentic
/// and canonical. Returns the outcome's code (`ok` when it verified).
pub fn check(case: &VerifyCase<'_>) -> &'static str {
    let f = Fixture::get();
    let (opts, model) = options(case.options);
    let tenant = TENANTS[usize::from(case.tenant) % TENANTS.len()];
    let deployment = DEPLOYMENTS[usize::from(case.deployment) % DEPLOYMENTS.len()];
    let now = Timestamp::from_unix_seconds(case.now).unwrap();
    let ours = verify_session(case.token, &f.ring, now, &tenant.parse().unwrap(), &deployment.parse().unwrap(), &opts);
    let theirs = reference::verify(case.token, &f.keys, case.now, tenant, deployment, &model);
    let token_text = String::from_utf8_lossy(case.token);
    let code = match (&ours, &theirs) {
        (Ok(s), Ok(a)) => {
            let c = &a.claims;
            assert_eq!(
                (s.tenant_id(), s.deployment_id(), s.user_id(), s.email()),
                (c.tenant.as_str(), c.deployment.as_str(), c.user.as_str(), c.email.as_str()),
                "claims differ for {token_text:?}"
            );
            assert_eq!((s.issued_at().unix_seconds(), s.expires_at().unix_seconds()), (c.iat, c.exp));
            assert_eq!(s.kid(), a.kid);
            assert_eq!(reissue_code(s.reissue()), a.reissue, "reissue differs for {token_text:?}");
            let id = s.identity();
            assert_eq!((id.tenant_id().as_str(), id.user_id().as_str()), (tenant, c.user.as_str()));
            // One claims set, one token: re-minting what verified gives
            // the same bytes, so no second spelling of a session exists.
            let secret = f.secret(&a.kid).unwrap();
            assert_eq!(case.token, reference::mint(c, &a.kid, secret).as_bytes(), "non-canonical token verified");
            if case.origin == Origin::Untrusted {
                assert!(
                    f.minted.iter().any(|m| m.token.as_bytes() == case.token),
                    "a token nobody minted verified: {token_text:?}"
                );
            }
            "ok"
        }
        (Err(e), Err(want)) => {
            assert_eq!(e.code(), *want, "first failure differs for {token_text:?} at {}", case.now);
            if case.token.contains(&b'.') && case.token.len() >= 8 {
                assert!(!e.to_string().contains(&*token_text), "error message echoes the token");
            }
            want
        }
        _ => panic!(
            "crate {:?} vs reference {:?} for {token_text:?} now {} opts {} tenant {tenant} deployment {deployment}",
            ours.as_ref().map(|s| s.user_id().to_owned()).map_err(|e| e.code()),
            theirs.as_ref().map(|a| a.claims.user.clone()),
            case.now,
            case.options,
        ),
    };
    // No claim is read before the MAC verifies: past `bad_signature`, an
    // untrusted token must be one the ring's keys minted.
    if case.origin == Origin::Untrusted && !matches!(code, "malformed" | "unknown_key" | "bad_signature") {
        assert!(
            f.minted.iter().any(|m| m.token.as_bytes() == case.token),
            "{code} for a token nobody minted: {token_text:?}"
        );
    }
    code
}

/// An integer claim: an offset from [`IAT`], or raw text (signs, zeros,
/// overflows).
#[derive(Debug, Clone)]
pub enum IntSpec {
    /// `IAT + offset`, canonical decimal (negative values keep the sign).
    Offset(i64),
    /// Exact text.
    Raw(Vec<u8>),
}

impl IntSpec {
    fn text(&self) -> Vec<u8> {
        match self {
            Self::Offset(o) => (i128::from(IAT) + i128::from(*o)).to_string().into_bytes(),
            Self::Raw(r) => r.clone(),
        }
    }
}

/// A claims text built field by field, so signed tokens reach every claims
/// check.
#[derive(Debug, Clone)]
pub struct ClaimsSpec {
    /// Index into [`TENANTS`], or raw text when `None`.
    pub tenant: Option<u8>,
    /// Raw tenant text, used when `tenant` is `None`.
    pub tenant_raw: Vec<u8>,
    /// Index into [`DEPLOYMENTS`].
    pub deployment: u8,
    /// User id text.
    pub user: Vec<u8>,
    /// Email text.
    pub email: Vec<u8>,
    /// Issued-at.
    pub iat: IntSpec,
    /// Expiry.
    pub exp: IntSpec,
    /// Extra fields appended after an `LF`.
    pub extra: Option<Vec<u8>>,
}

impl ClaimsSpec {
    /// The claims text.
    pub fn text(&self) -> Vec<u8> {
        let tenant = match self.tenant {
            Some(i) => TENANTS[usize::from(i) % TENANTS.len()].as_bytes().to_vec(),
            None => self.tenant_raw.clone(),
        };
        let deployment = DEPLOYMENTS[usize::from(self.deployment) % DEPLOYMENTS.len()].as_bytes().to_vec();
        let mut fields =
            vec![tenant, deployment, self.user.clone(), self.email.clone(), self.iat.text(), self.exp.text()];
        fields.extend(self.extra.clone());
        fields.join(&b'\n')
    }
}

/// What a signed token's payload part is.
#[derive(Debug, Clone)]
pub enum Payload {
    /// `b64u` of these claims.
    Claims(ClaimsSpec),
    /// `b64u` of these bytes.
    Encode(Vec<u8>),
    /// Exactly this text, base64 or not: a valid MAC over a non-canonical
    /// payload must still be `malformed`.
    Raw(Vec<u8>),
}

/// A token signed by [`signing_key`]`(key)` over `payload`.
pub fn signed_token(key: u8, payload: &Payload) -> Vec<u8> {
    let (kid, secret) = signing_key(key);
    let text = match payload {
        Payload::Claims(c) => b64u_encode(&c.text()).into_bytes(),
        Payload::Encode(b) => b64u_encode(b).into_bytes(),
        Payload::Raw(r) => r.clone(),
    };
    sign_payload(secret, kid.as_bytes(), &text)
}
