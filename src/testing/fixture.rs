//! One request the proxy admits, with everything a harness needs around
//! it.

use http::header::{ACCEPT, ACCEPT_LANGUAGE, COOKIE, HOST, USER_AGENT};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Uri};

use crate::attestation::{AttestationVerifier, DeploymentKey, MIN_ATTESTATION_SECRET_LEN};
use crate::headers::{SEC_FETCH_DEST, SEC_FETCH_MODE, SEC_FETCH_SITE};
use crate::session::{MIN_KEY_LEN, SESSION_COOKIE_NAME, SessionClaims, mint_session};
use crate::{AttestationSecret, Gate, KeyRing, RouteEntry, SessionKey, Timestamp};

/// Key id of the fixture's session key.
pub const TEST_SESSION_KID: &str = "test-session";

/// The fixture's session secret.
///
/// A public test key: it is printed in this crate's source, so anyone can
/// mint sessions with it. Never configure it, nor [`TEST_ATTESTATION_SECRET`],
/// outside tests.
pub const TEST_SESSION_SECRET: &[u8; 32] = b"vendo-isolation-test-session-key";

/// Key id of the fixture's attestation secret.
pub const TEST_ATTESTATION_KID: &str = "test-attestation";

/// The fixture's attestation secret: a public test key, like
/// [`TEST_SESSION_SECRET`]. Never use it outside tests.
pub const TEST_ATTESTATION_SECRET: &[u8; 32] = b"vendo-isolation-test-attestation";

const _: () = assert!(TEST_SESSION_SECRET.len() >= MIN_KEY_LEN);
const _: () = assert!(TEST_ATTESTATION_SECRET.len() >= MIN_ATTESTATION_SECRET_LEN);

/// Unix seconds of [`Fixture::now`]: 2023-11-14T22:13:20Z.
const NOW: u64 = 1_700_000_000;
/// The session's lifetime from [`Fixture::now`], within the default
/// maximum so that default verification accepts it.
const SESSION_SECS: u64 = 3_600;

/// Everything for one request that [`Gate::admit`] admits; see
/// [`fixture`].
///
/// Fields are public so that a harness can borrow the gate and the request
/// apart (`f.gate.admit(&mut f.request, Some(&f.entry), f.now)`), change
/// the request to build the denial it tests, or take any part by value.
/// `Parts` is `Clone`: clone it to admit more than once.
#[derive(Debug)]
pub struct Fixture {
    /// A gate with the default host policy (`vendo.run`), default
    /// verification options, the `__Host-vendo_session` cookie, a ring of
    /// one key ([`TEST_SESSION_KID`], [`TEST_SESSION_SECRET`]) and the
    /// attestation secret ([`TEST_ATTESTATION_KID`],
    /// [`TEST_ATTESTATION_SECRET`]).
    pub gate: Gate,
    /// The route the store holds under `acme-crm`: tenant `t_acme`,
    /// deployment `d_acme_crm`, slugs `acme` and `crm`.
    pub entry: RouteEntry,
    /// 2023-11-14T22:13:20Z (unix 1700000000): the session's issue time
    /// and the time to admit at.
    pub now: Timestamp,
    /// The claims of the session in [`Fixture::request`]'s cookie: user
    /// `u_alice`, `alice@acme.example`, for `t_acme` / `d_acme_crm`, issued
    /// at [`Fixture::now`], expiring an hour later.
    pub claims: SessionClaims,
    /// The session token, minted by [`mint_session`] with the gate's ring.
    pub token: String,
    /// A top-level navigation from the same origin, as a browser sends it:
    /// `GET /inbox?page=1`, `Host: acme-crm.vendo.run`, a `Cookie` carrying
    /// the session and `theme=dark`, `Sec-Fetch-Site: same-origin`,
    /// `Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`, and `Accept`,
    /// `Accept-Language` and `User-Agent`.
    pub request: Parts,
    attestation: AttestationSecret,
}

impl Fixture {
    /// The key the platform provisions to the tool of
    /// [`Fixture::entry`]'s deployment.
    pub fn deployment_key(&self) -> DeploymentKey {
        self.attestation.deployment_key(&self.entry.deployment_id)
    }

    /// The tool side: a verifier for [`Fixture::entry`]'s deployment, with
    /// the default age and skew, that accepts what [`Fixture::gate`]
    /// attests.
    pub fn attestation_verifier(&self) -> AttestationVerifier {
        AttestationVerifier::new(self.deployment_key())
    }
}

/// A [`Fixture`]: a gate, its route entry, `now` and a browser's request
/// that the gate admits at `now` under that entry.
///
/// Every key in it is a public test key ([`TEST_SESSION_SECRET`],
/// [`TEST_ATTESTATION_SECRET`]): never use them outside tests.
///
/// ```
/// use vendo_isolation::testing::fixture;
/// let mut f = fixture()?;
/// let admitted = f.gate.admit(&mut f.request, Some(&f.entry), f.now)?;
/// assert_eq!(admitted.session().user_id(), "u_alice");
/// assert_eq!(f.request.headers["x-vendo-deployment-id"], "d_acme_crm");
/// assert_eq!(f.request.headers["cookie"], "theme=dark");
///
/// // What the tool checks on arrival.
/// let who = f.attestation_verifier().verify(&f.request, f.now)?;
/// assert_eq!(who.tenant_id(), "t_acme");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// None in practice: every input is a constant of this module, and this
/// crate's own tests build the fixture, so a constant that stopped
/// validating would fail them first. The crate has no infallible
/// constructor for keys and identifiers, and the library never panics, so
/// the validation surfaces here as a `Result`.
pub fn fixture() -> Result<Fixture, FixtureError> {
    build().map_err(|e| FixtureError(e.to_string()))
}

/// A fixture constant failed its validation (see [`fixture`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("test fixture: {0}")]
pub struct FixtureError(String);

fn build() -> Result<Fixture, Box<dyn std::error::Error + Send + Sync>> {
    let now = Timestamp::from_unix_seconds(NOW)?;
    let entry = RouteEntry {
        tenant_id: "t_acme".parse()?,
        deployment_id: "d_acme_crm".parse()?,
        tenant_slug: "acme".parse()?,
        deployment_slug: "crm".parse()?,
    };
    let ring = KeyRing::new(SessionKey::new(TEST_SESSION_KID, TEST_SESSION_SECRET)?);
    let claims = SessionClaims::new(
        entry.tenant_id.clone(),
        entry.deployment_id.clone(),
        "u_alice".parse()?,
        "alice@acme.example".parse()?,
        now,
        now.checked_add_secs(SESSION_SECS)?,
    )?;
    let token = mint_session(&claims, &ring);
    let gate = Gate::new(ring).with_attestation(AttestationSecret::new(TEST_ATTESTATION_KID, TEST_ATTESTATION_SECRET)?);

    let (mut request, ()) = Request::new(()).into_parts();
    request.method = Method::GET;
    request.uri = Uri::try_from("/inbox?page=1")?;
    let h = &mut request.headers;
    h.try_append(HOST, HeaderValue::from_static("acme-crm.vendo.run"))?;
    h.try_append(USER_AGENT, HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) vendo-isolation-fixture"))?;
    h.try_append(ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"))?;
    h.try_append(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"))?;
    h.try_append(COOKIE, HeaderValue::try_from(format!("{SESSION_COOKIE_NAME}={token}; theme=dark"))?)?;
    h.try_append(SEC_FETCH_SITE, HeaderValue::from_static("same-origin"))?;
    h.try_append(SEC_FETCH_MODE, HeaderValue::from_static("navigate"))?;
    h.try_append(SEC_FETCH_DEST, HeaderValue::from_static("document"))?;

    let attestation = AttestationSecret::new(TEST_ATTESTATION_KID, TEST_ATTESTATION_SECRET)?;
    Ok(Fixture { gate, entry, now, claims, token, request, attestation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_builds_and_is_admitted() {
        let mut f = build().unwrap();
        let admitted = f.gate.admit(&mut f.request, Some(&f.entry), f.now).unwrap();
        assert_eq!(admitted.session().identity().user_id(), f.claims.user_id());
        assert!(!admitted.report().is_spoofing());
        let who = f.attestation_verifier().verify(&f.request, f.now).unwrap();
        assert_eq!((who.deployment_id(), who.kid()), ("d_acme_crm", TEST_ATTESTATION_KID));
    }
}
