//! The proxy's hot path as one decision, in two sans-IO steps.
//!
//! 1. [`Gate::route_key`]: from the request's authority, the key the caller
//!    looks up in its routing store (a Worker's KV, a proxy's map).
//! 2. [`Gate::admit`]: from the entry it found (or none), the request and
//!    `now`, either an [`Admitted`] request (stripped, identity injected,
//!    attested) or a [`Denial`] with the status to answer.
//! 3. [`Gate::filter_response`]: the tool's response headers, before they
//!    are relayed to the browser (SPEC §3.3).
//!
//! Step 2 re-derives the route key from the same request instead of
//! trusting the caller to pass the right one, so the entry is always checked
//! against the host that is actually forwarded. Whatever the outcome, step 2
//! strips the inbound `x-vendo-*` namespace first: a denial never leaves a
//! forged identity header in the map for a careless error path to forward.

use std::fmt;

use http::request::Parts;
use http::uri::{Authority, PathAndQuery};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};

use crate::attestation::{AttestationSecret, AttestationSigner, DeploymentKey};
use crate::headers::{
    CrossSiteRequest, InjectError, ResponseReport, SEC_FETCH_DEST, SEC_FETCH_MODE, SEC_FETCH_SITE, StripReport,
    Stripped, check_request_site, filter_response, is_managed_name, strip, strip_request,
};
use crate::hosts::authority::{AuthorityError, request_authority};
use crate::hosts::{HostError, HostPolicy, RouteEntry, RouteKey};
use crate::ids::DeploymentId;
use crate::session::{
    ClaimsError, KeyRing, ReissueReason, SessionClaims, SessionCookieName, SessionRequestError, SetCookieError,
    VerifiedSession, VerifyError, VerifyOptions, mint_session, session_set_cookie, verify_session_cookie,
};
use crate::time::Timestamp;

/// Why the proxy refuses a request, with the status it should answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DenyReason {
    /// The request has no single authority (400).
    #[error(transparent)]
    Authority(#[from] AuthorityError),
    /// The host does not name a deployment (400 or 404, see
    /// [`DenyReason::status`]).
    #[error(transparent)]
    Host(#[from] HostError),
    /// The store has no route under the key (404).
    #[error("no route for this host")]
    NotFound,
    /// The store's entry does not rebuild the host (404).
    #[error("route entry does not match the host")]
    RouteMismatch,
    /// Another deployment's page (or an opaque origin) started the request
    /// (403, SPEC §3.2).
    #[error(transparent)]
    CrossSite(#[from] CrossSiteRequest),
    /// No valid session for this deployment (401), or a session for another
    /// tenant or deployment (403).
    #[error(transparent)]
    Session(#[from] SessionRequestError),
    /// The verified identity could not be written (500): a value over the
    /// length cap, or a full header map.
    #[error(transparent)]
    Inject(#[from] InjectError),
}

impl DenyReason {
    /// Stable machine-readable code: SPEC §2, §4 and §5 codes.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Authority(e) => e.code(),
            Self::Host(e) => e.code(),
            Self::NotFound => "not_found",
            Self::RouteMismatch => "route_mismatch",
            Self::CrossSite(e) => e.code(),
            Self::Session(e) => e.code(),
            Self::Inject(e) => e.code(),
        }
    }

    /// The status a proxy should answer: 400 for a host that can never
    /// name a deployment, 404 for an unknown, mismatched, reserved or
    /// foreign host, 403 for a request another deployment's page started,
    /// 401 for a missing or invalid session, 403 for a valid session of
    /// another tenant or deployment.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Authority(_) => StatusCode::BAD_REQUEST,
            Self::Host(HostError::InvalidHost | HostError::InvalidLabel | HostError::TooDeep) => {
                StatusCode::BAD_REQUEST
            }
            Self::Host(_) | Self::NotFound | Self::RouteMismatch => StatusCode::NOT_FOUND,
            Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::Session(SessionRequestError::Token(VerifyError::WrongTenant | VerifyError::WrongDeployment)) => {
                StatusCode::FORBIDDEN
            }
            Self::Session(_) => StatusCode::UNAUTHORIZED,
            Self::Inject(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A refused request: why, the status to answer, and what was stripped.
///
/// By the time a `Denial` exists the request's headers hold no inbound
/// `x-vendo-*` header, `Connection` nomination of one, or session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    reason: DenyReason,
    report: StripReport,
}

impl Denial {
    /// Why the request was refused.
    pub const fn reason(&self) -> DenyReason {
        self.reason
    }

    /// Stable machine-readable code; see [`DenyReason::code`].
    pub const fn code(&self) -> &'static str {
        self.reason.code()
    }

    /// The status a proxy should answer; see [`DenyReason::status`].
    pub fn status(&self) -> StatusCode {
        self.reason.status()
    }

    /// What was stripped from the request, for spoofing alerts.
    pub const fn report(&self) -> &StripReport {
        &self.report
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.status())
    }
}

impl std::error::Error for Denial {}

/// A request cleared for forwarding: its headers now carry the verified
/// identity (and the attestation, when the gate holds a secret).
#[derive(Debug, Clone)]
pub struct Admitted {
    session: VerifiedSession,
    report: StripReport,
}

impl Admitted {
    /// The verified session whose identity was injected.
    pub const fn session(&self) -> &VerifiedSession {
        &self.session
    }

    /// Whether the proxy should mint a fresh session cookie on the
    /// response: the key that verified it is no longer primary, or it is
    /// close to expiry.
    pub const fn reissue(&self) -> Option<ReissueReason> {
        self.session.reissue()
    }

    /// What was stripped from the request, for spoofing alerts.
    pub const fn report(&self) -> &StripReport {
        &self.report
    }
}

/// A replacement session minted by [`Gate::reissue`]: the token and the
/// `Set-Cookie` value that stores it.
#[derive(Clone)]
pub struct Reissued {
    token: String,
    set_cookie: HeaderValue,
    expires_at: Timestamp,
}

impl Reissued {
    /// The new token (a bearer credential: do not log it).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The `Set-Cookie` value to append to the response; marked sensitive.
    pub const fn set_cookie(&self) -> &HeaderValue {
        &self.set_cookie
    }

    /// When the new session expires.
    pub const fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

impl fmt::Debug for Reissued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential.
        f.debug_struct("Reissued").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// Why a replacement session could not be minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReissueError {
    /// The replacement's window is empty (`now` at the end of time).
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The gate's cookie name cannot carry a `Set-Cookie` (it lacks the
    /// `__Host-` prefix).
    #[error(transparent)]
    Cookie(#[from] SetCookieError),
}

impl ReissueError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Claims(e) => e.code(),
            Self::Cookie(e) => e.code(),
        }
    }
}

/// The composed proxy policy: hosts, session keys, verification options,
/// the session cookie's name and the optional attestation secret.
///
/// A `Gate` holds no per-request state and no interior mutability; share
/// one across requests and rebuild it (or [`Gate::keys_mut`]) to rotate.
///
/// ```
/// use vendo_isolation::*;
/// use vendo_isolation::session::{SessionClaims, mint_session};
/// let ring = KeyRing::new(SessionKey::new("k1", &[42; 32])?);
/// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
/// # let claims = SessionClaims::new("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?,
/// #     now, now.checked_add_secs(3600)?)?;
/// # let token = mint_session(&claims, &ring);
/// let gate = Gate::new(ring).with_attestation(AttestationSecret::new("a1", &[7; 32])?);
///
/// let (mut parts, ()) = http::Request::get("/inbox")
///     .header("host", "acme-crm.vendo.run")
///     .header("cookie", format!("__Host-vendo_session={token}; theme=dark"))
///     .header("x-vendo-user-id", "admin") // forged
///     .body(())?
///     .into_parts();
///
/// // Step 1: the key to look up, then the caller's own lookup.
/// let key = gate.route_key(&parts)?.into_owned();
/// assert_eq!(key.as_str(), "acme-crm");
/// let entry = RouteEntry {
///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
/// };
///
/// // Step 2: admit or deny.
/// let admitted = gate.admit(&mut parts, Some(&entry), now)?;
/// assert!(admitted.report().is_spoofing());
/// assert_eq!(parts.headers["x-vendo-user-id"], "u_1");
/// assert_eq!(parts.headers["cookie"], "theme=dark");
/// assert!(parts.headers.contains_key("x-vendo-attestation"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Gate {
    hosts: HostPolicy,
    keys: KeyRing,
    verify: VerifyOptions,
    cookie_name: SessionCookieName,
    attestation: Option<AttestationSecret>,
}

impl Gate {
    /// A gate with the default host policy (`vendo.run`), default
    /// verification options, the `__Host-vendo_session` cookie and no
    /// attestation secret.
    pub fn new(keys: KeyRing) -> Self {
        Self {
            hosts: HostPolicy::default(),
            keys,
            verify: VerifyOptions::default(),
            cookie_name: SessionCookieName::DEFAULT,
            attestation: None,
        }
    }

    /// Replaces the host policy (apex and reserved labels).
    pub fn with_hosts(mut self, hosts: HostPolicy) -> Self {
        self.hosts = hosts;
        self
    }

    /// Replaces the session verification options.
    pub const fn with_verify_options(mut self, verify: VerifyOptions) -> Self {
        self.verify = verify;
        self
    }

    /// Replaces the session cookie's name (compared exactly, SPEC §3),
    /// validated once as a cookie-name token by [`SessionCookieName`].
    pub fn with_session_cookie(mut self, name: SessionCookieName) -> Self {
        self.cookie_name = name;
        self
    }

    /// The session cookie's name, for a harness that builds requests.
    pub const fn session_cookie(&self) -> &SessionCookieName {
        &self.cookie_name
    }

    /// Signs an `x-vendo-attestation` header on every admitted request.
    pub fn with_attestation(mut self, secret: AttestationSecret) -> Self {
        self.attestation = Some(secret);
        self
    }

    /// The host policy.
    pub const fn hosts(&self) -> &HostPolicy {
        &self.hosts
    }

    /// The session key ring, to rotate keys in place.
    pub const fn keys_mut(&mut self) -> &mut KeyRing {
        &mut self.keys
    }

    /// Step 1: the route key to look up for this request.
    ///
    /// Borrows the request; call [`RouteKey::into_owned`] to keep it past
    /// a mutation. A denial here needs no stripping because nothing is
    /// forwarded, but [`Gate::admit`] with `None` strips and denies the
    /// same way if the caller prefers one path.
    pub fn route_key<'p>(&self, parts: &'p Parts) -> Result<RouteKey<'p>, DenyReason> {
        let authority = request_authority(parts)?;
        Ok(self.hosts.parse(authority)?)
    }

    /// Step 2: admit or deny the request, given the entry the caller found
    /// under [`Gate::route_key`] (or `None`).
    ///
    /// Decides in SPEC §5 `forward` order (host, route, route match, the
    /// request's site, session cookie, session) on the request as received,
    /// then strips it (SPEC §3 steps 1–3) whatever the answer, so a
    /// [`Denial`] leaves nothing of the namespace nor the session cookie in
    /// `parts`. When admitted, inserts the verified identity and, with an
    /// attestation secret, the attestation.
    pub fn admit(&self, parts: &mut Parts, entry: Option<&RouteEntry>, now: Timestamp) -> Result<Admitted, Denial> {
        KeyedGate::from(self).admit(parts, entry, now)
    }

    /// Step 2 over the method, a bare header map and the request's host
    /// (a Worker's URL host), for callers that do not hold
    /// `http::request::Parts`. Adds no attestation (it needs the target).
    ///
    /// A `Host` header in the map must be single and equal `host` (ASCII
    /// case aside), as [`Gate::admit`] requires of the request-target:
    /// otherwise the proxy would route on one host while the tool reads
    /// another (`duplicate_host`, `host_mismatch`, 400).
    pub fn admit_headers(
        &self,
        method: &Method,
        host: &str,
        headers: &mut HeaderMap,
        entry: Option<&RouteEntry>,
        now: Timestamp,
    ) -> Result<Admitted, Denial> {
        let decision = host_header_agrees(host, headers).and_then(|()| self.decide(method, host, headers, entry, now));
        finish(decision, strip(headers, self.cookie_name.as_str()), None)
    }

    /// Step 2 for a caller that holds the request as text (a Worker has the
    /// method, the URL's host and path, and a header list): admits or
    /// denies exactly as [`Gate::admit`], attestation included.
    ///
    /// `target` is the origin-form request-target (`/path?query`) that will
    /// be forwarded; `host` is the host the caller routes on, and a `Host`
    /// header in `headers`, if any, must be single and equal to it. A
    /// `target` or `host` that is not valid is `invalid_host` (400).
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, Method};
    /// use vendo_isolation::*;
    /// use vendo_isolation::session::{SessionClaims, mint_session};
    /// let ring = KeyRing::new(SessionKey::new("k1", &[42; 32])?);
    /// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
    /// # let claims = SessionClaims::new("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?,
    /// #     now, now.checked_add_secs(3600)?)?;
    /// # let token = mint_session(&claims, &ring);
    /// let gate = Gate::new(ring).with_attestation(AttestationSecret::new("a1", &[7; 32])?);
    /// let entry = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// let mut headers = HeaderMap::new();
    /// headers.insert("cookie", HeaderValue::from_str(&format!("__Host-vendo_session={token}"))?);
    ///
    /// let key = gate.route_key_for_host("acme-crm.vendo.run")?;
    /// assert_eq!(key.as_str(), "acme-crm");
    /// gate.admit_request(&Method::GET, "/inbox?page=2", "acme-crm.vendo.run", &mut headers, Some(&entry), now)?;
    /// assert_eq!(headers["x-vendo-user-id"], "u_1");
    /// assert!(headers["x-vendo-attestation"].to_str()?.starts_with("v1.a1.1700000000."));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit_request(
        &self,
        method: &Method,
        target: &str,
        host: &str,
        headers: &mut HeaderMap,
        entry: Option<&RouteEntry>,
        now: Timestamp,
    ) -> Result<Admitted, Denial> {
        KeyedGate::from(self).admit_request(method, target, host, headers, entry, now)
    }

    /// Step 2 for a proxy that forwards to another origin (a Worker's
    /// `fetch` to the tool's backend): admits or denies exactly as
    /// [`Gate::admit_request`], routing and deciding on `host`, but the
    /// forwarded request is the one to `upstream`, and the attestation
    /// covers what the tool receives there.
    ///
    /// `upstream` is the absolute URI the proxy will request: the tool's
    /// origin with the request's path and query (`http://127.0.0.1:9001/inbox?page=2`).
    /// When admitted, `headers` carries `Host: {upstream's authority}` (the
    /// value the tool reads, and the one a `fetch` sends), and the
    /// attestation signs the method, that authority and the upstream's
    /// path and query (SPEC §3.1). A tool behind such a proxy therefore
    /// expects its own backend authority in an attestation, not the public
    /// hostname. An `upstream` without an authority, with userinfo, or
    /// without a path is `invalid_host` (400), like an invalid `target`.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, Method, Uri};
    /// use vendo_isolation::*;
    /// # use vendo_isolation::session::{SessionClaims, mint_session};
    /// # let ring = KeyRing::new(SessionKey::new("k1", &[42; 32])?);
    /// # let now = Timestamp::from_unix_seconds(1_700_000_000)?;
    /// # let claims = SessionClaims::new("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?,
    /// #     now, now.checked_add_secs(3600)?)?;
    /// # let token = mint_session(&claims, &ring);
    /// let gate = Gate::new(ring).with_attestation(AttestationSecret::new("a1", &[7; 32])?);
    /// # let entry = RouteEntry {
    /// #     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    /// #     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// # };
    /// let mut headers = HeaderMap::new();
    /// headers.insert("host", HeaderValue::from_static("acme-crm.vendo.run"));
    /// headers.insert("cookie", HeaderValue::from_str(&format!("__Host-vendo_session={token}"))?);
    ///
    /// let upstream: Uri = "http://127.0.0.1:9001/inbox?page=2".parse()?;
    /// gate.admit_request_to(&Method::GET, &upstream, "acme-crm.vendo.run", &mut headers, Some(&entry), now)?;
    /// assert_eq!(headers["host"], "127.0.0.1:9001");
    ///
    /// // The tool verifies over exactly the request it received.
    /// # let key = AttestationSecret::new("a1", &[7; 32])?.deployment_key(&"d_1".parse()?);
    /// let verifier = vendo_isolation::attestation::AttestationVerifier::new(key);
    /// let who = verifier.verify_request(&Method::GET, &"/inbox?page=2".parse()?, &headers, now)?;
    /// assert_eq!(who.user_id(), "u_1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit_request_to(
        &self,
        method: &Method,
        upstream: &Uri,
        host: &str,
        headers: &mut HeaderMap,
        entry: Option<&RouteEntry>,
        now: Timestamp,
    ) -> Result<Admitted, Denial> {
        KeyedGate::from(self).admit_request_to(method, upstream, host, headers, entry, now)
    }

    /// The deployment's attestation key under this gate's secret, to keep
    /// beside the deployment's route entry and hand to
    /// [`Gate::with_deployment_key`]; `None` when the gate does not attest.
    pub fn deployment_key(&self, deployment: &DeploymentId) -> Option<DeploymentKey> {
        self.attestation.as_ref().map(|s| s.deployment_key(deployment))
    }

    /// This gate, signing attestations with `key` (from
    /// [`Gate::deployment_key`], kept per deployment by the caller) instead
    /// of deriving the deployment's key on every request: four SHA-256
    /// blocks fewer per attested admit.
    ///
    /// Decisions are unchanged. The key is used only for a request whose
    /// session is of the key's deployment and only when its key id is the
    /// gate's secret's (see [`AttestationSigner::with_deployment_key`]);
    /// otherwise the gate derives the key as [`Gate::admit`] does, so a
    /// stale key (the secret was rotated) or another deployment's key costs
    /// time, never a wrong attestation.
    ///
    /// ```
    /// use vendo_isolation::*;
    /// # use vendo_isolation::session::{SessionClaims, mint_session};
    /// # let ring = KeyRing::new(SessionKey::new("k1", &[42; 32])?);
    /// # let now = Timestamp::from_unix_seconds(1_700_000_000)?;
    /// # let claims = SessionClaims::new("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?,
    /// #     now, now.checked_add_secs(3600)?)?;
    /// # let token = mint_session(&claims, &ring);
    /// let gate = Gate::new(ring).with_attestation(AttestationSecret::new("a1", &[7; 32])?);
    /// let entry = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// // Once per deployment, beside its entry in the caller's route cache.
    /// let key = gate.deployment_key(&entry.deployment_id).expect("the gate attests");
    ///
    /// let request = || http::Request::get("/inbox").header("host", "acme-crm.vendo.run")
    ///     .header("cookie", format!("__Host-vendo_session={token}")).body(());
    /// let (mut cached, ()) = request()?.into_parts();
    /// let (mut derived, ()) = request()?.into_parts();
    /// gate.with_deployment_key(&key).admit(&mut cached, Some(&entry), now)?;
    /// gate.admit(&mut derived, Some(&entry), now)?;
    /// assert_eq!(cached.headers["x-vendo-attestation"], derived.headers["x-vendo-attestation"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn with_deployment_key<'g>(&'g self, key: &'g DeploymentKey) -> KeyedGate<'g> {
        KeyedGate { gate: self, key: Some(key) }
    }

    /// Whether the gate reads or changes request headers of this name:
    /// the `x-vendo-` namespace in any spelling, `Host`, `Cookie`,
    /// `Connection`, `Origin` and the Fetch Metadata headers
    /// `Sec-Fetch-Site`, `Sec-Fetch-Mode` and `Sec-Fetch-Dest` (ASCII case
    /// aside).
    ///
    /// Every admit decides on these alone and changes only these, so a
    /// caller that must copy a request's headers into a [`HeaderMap`] (a
    /// Worker holding a JavaScript `Headers`) can copy just these, admit,
    /// and forward every other header as it came: the decision, the
    /// attestation and the changes are the same as for the whole map
    /// (`tests/gate_users.rs` holds the gate to it).
    ///
    /// ```
    /// use vendo_isolation::Gate;
    /// assert!(Gate::reads_header(b"Cookie") && Gate::reads_header(b"X_Vendo_User_Id"));
    /// assert!(!Gate::reads_header(b"user-agent") && !Gate::reads_header(b"sec-fetch-user"));
    /// ```
    pub fn reads_header(name: &[u8]) -> bool {
        use http::header::{CONNECTION, COOKIE, HOST, ORIGIN};
        // A Worker asks this of every header of every request, so the
        // length picks the few names worth comparing.
        let is = |r: &HeaderName| r.as_str().as_bytes().eq_ignore_ascii_case(name);
        let fixed = match name.len() {
            4 => is(&HOST),
            6 => is(&COOKIE) || is(&ORIGIN),
            10 => is(&CONNECTION),
            14 => is(&SEC_FETCH_SITE) || is(&SEC_FETCH_MODE) || is(&SEC_FETCH_DEST),
            _ => false,
        };
        fixed || is_managed_name(name)
    }

    /// Step 1 from a bare host string (a Worker's URL host): the route key
    /// to look up, as [`Gate::route_key`] derives it from a request.
    pub fn route_key_for_host<'h>(&self, host: &'h str) -> Result<RouteKey<'h>, DenyReason> {
        Ok(self.hosts.parse(host)?)
    }

    /// Mints the replacement for an admitted session that carries a
    /// re-issue hint ([`Admitted::reissue`]), signed by the ring's primary
    /// key: the same identity, issued at `now`, with the lifetime of the
    /// session it replaces; and its `Set-Cookie` under this gate's cookie
    /// name. `Ok(None)` when no re-issue is due.
    ///
    /// ```
    /// use vendo_isolation::*;
    /// use vendo_isolation::session::{ReissueReason, SessionClaims, mint_session};
    /// let mut ring = KeyRing::new(SessionKey::new("k2", &[2; 32])?);
    /// let old = KeyRing::new(SessionKey::new("k1", &[1; 32])?);
    /// ring.add_verify_only(SessionKey::new("k1", &[1; 32])?, None)?;
    /// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
    /// let claims = SessionClaims::new("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?,
    ///     now.saturating_sub_secs(60), now.checked_add_secs(3540)?)?;
    /// let token = mint_session(&claims, &old); // signed by the key being rotated out
    /// let gate = Gate::new(ring);
    /// let (mut parts, ()) = http::Request::get("/").header("host", "acme-crm.vendo.run")
    ///     .header("cookie", format!("__Host-vendo_session={token}")).body(())?.into_parts();
    /// let entry = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// let admitted = gate.admit(&mut parts, Some(&entry), now)?;
    /// assert_eq!(admitted.reissue(), Some(ReissueReason::NonPrimaryKey));
    ///
    /// let fresh = gate.reissue(&admitted, now)?.expect("a re-issue is due");
    /// assert!(fresh.token().starts_with("v1.k2."));
    /// assert_eq!(fresh.expires_at(), now.checked_add_secs(3600)?);
    /// assert!(fresh.set_cookie().to_str()?.starts_with("__Host-vendo_session=v1.k2."));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reissue(&self, admitted: &Admitted, now: Timestamp) -> Result<Option<Reissued>, ReissueError> {
        if admitted.reissue().is_none() {
            return Ok(None);
        }
        let session = &admitted.session;
        let lifetime = session.expires_at().secs_since(session.issued_at()).unwrap_or(0);
        let expires_at = now.saturating_add_secs(lifetime);
        let identity = session.identity();
        let claims = SessionClaims::from_identity(&identity, now, expires_at)?;
        let token = mint_session(&claims, &self.keys);
        let set_cookie = session_set_cookie(self.cookie_name.as_str(), &token, expires_at, now)?;
        Ok(Some(Reissued { token, set_cookie, expires_at }))
    }

    /// Step 3: filters a tool's response headers before the proxy relays
    /// them (SPEC §3.3), with this gate's session cookie name; see
    /// [`filter_response`]. Alert on [`ResponseReport::is_tampering`].
    ///
    /// ```
    /// use vendo_isolation::*;
    /// let gate = Gate::new(KeyRing::new(SessionKey::new("k1", &[42; 32])?));
    /// let mut response = http::Response::builder()
    ///     .header("set-cookie", "planted=1; Domain=vendo.run")
    ///     .header("set-cookie", "cart=3; Path=/; Secure")
    ///     .body(())?;
    /// let report = gate.filter_response(response.headers_mut());
    /// assert_eq!(response.headers()["set-cookie"], "cart=3; Path=/; Secure");
    /// assert_eq!(report.removed_cookies()[0].name(), "planted");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter_response(&self, headers: &mut HeaderMap) -> ResponseReport {
        filter_response(headers, self.cookie_name.as_str())
    }

    /// Everything that can refuse a request, in SPEC §5 `forward` order,
    /// reading the headers only.
    fn decide(
        &self,
        method: &Method,
        host: &str,
        headers: &HeaderMap,
        entry: Option<&RouteEntry>,
        now: Timestamp,
    ) -> Result<VerifiedSession, DenyReason> {
        let key = self.hosts.parse(host)?;
        let entry = entry.ok_or(DenyReason::NotFound)?;
        key.check_entry(entry).map_err(|_| DenyReason::RouteMismatch)?;
        check_request_site(method, host, headers)?;
        let session = verify_session_cookie(
            headers,
            self.cookie_name.as_str(),
            &self.keys,
            now,
            &entry.tenant_id,
            &entry.deployment_id,
            &self.verify,
        )?;
        Ok(session)
    }
}

/// A [`Gate`] that signs with a deployment key its caller keeps, from
/// [`Gate::with_deployment_key`]. Its admits are the gate's, in decision,
/// stripping and answer; only the attestation key's source differs.
#[derive(Debug, Clone, Copy)]
pub struct KeyedGate<'g> {
    gate: &'g Gate,
    key: Option<&'g DeploymentKey>,
}

/// The gate without a kept key, deriving as [`Gate::admit`] does: for a
/// caller whose key cache has no entry for the deployment.
impl<'g> From<&'g Gate> for KeyedGate<'g> {
    fn from(gate: &'g Gate) -> Self {
        KeyedGate { gate, key: None }
    }
}

impl KeyedGate<'_> {
    /// [`Gate::admit`], signing with the kept key.
    pub fn admit(&self, parts: &mut Parts, entry: Option<&RouteEntry>, now: Timestamp) -> Result<Admitted, Denial> {
        let gate = self.gate;
        let decision = {
            let parts = &*parts;
            request_authority(parts)
                .map_err(DenyReason::from)
                .and_then(|authority| gate.decide(&parts.method, authority, &parts.headers, entry, now))
        };
        let signer = self.signer(now);
        finish(decision, strip_request(parts, gate.cookie_name.as_str()), signer.as_ref())
    }

    /// [`Gate::admit_request`], signing with the kept key.
    pub fn admit_request(
        &self,
        method: &Method,
        target: &str,
        host: &str,
        headers: &mut HeaderMap,
        entry: Option<&RouteEntry>,
        now: Timestamp,
    ) -> Result<Admitted, Denial> {
        let gate = self.gate;
        let uri = target_uri(host, target);
        let decision = match &uri {
            Some(_) => host_header_agrees(host, headers).and_then(|()| gate.decide(method, host, headers, entry, now)),
            None => Err(DenyReason::Host(HostError::InvalidHost)),
        };
        let signer = self.signer(now);
        let stripped = strip(headers, gate.cookie_name.as_str());
        match &uri {
            Some(uri) => finish(decision, stripped.with_target(method, uri), signer.as_ref()),
            None => finish(decision, stripped, None),
        }
    }

    /// [`Gate::admit_request_to`], signing with the kept key.
    pub fn admit_request_to(
        &self,
        method: &Method,
        upstream: &Uri,
        host: &str,
        headers: &mut HeaderMap,
        entry: Option<&RouteEntry>,
        now: Timestamp,
    ) -> Result<Admitted, Denial> {
        let gate = self.gate;
        let cookie = gate.cookie_name.as_str();
        let Some(authority) = forwarded_host(upstream) else {
            return finish(Err(DenyReason::Host(HostError::InvalidHost)), strip(headers, cookie), None);
        };
        let decision = host_header_agrees(host, headers).and_then(|()| gate.decide(method, host, headers, entry, now));
        if decision.is_ok() {
            // Only an admitted request is forwarded, so only its map names
            // the upstream; the attestation then covers what the tool reads.
            headers.insert(http::header::HOST, authority);
        }
        let signer = self.signer(now);
        finish(decision, strip(headers, cookie).with_target(method, upstream), signer.as_ref())
    }

    fn signer(&self, now: Timestamp) -> Option<AttestationSigner<'_>> {
        let signer = self.gate.attestation.as_ref()?.signer(now);
        Some(match self.key {
            Some(key) => signer.with_deployment_key(key),
            None => signer,
        })
    }
}

/// At most one `Host` header, and equal to the host the caller routes on.
fn host_header_agrees(host: &str, headers: &HeaderMap) -> Result<(), DenyReason> {
    let mut values = headers.get_all(http::header::HOST).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(()),
        (Some(_), Some(_)) => Err(AuthorityError::DuplicateHost.into()),
        (Some(v), None) if v.as_bytes().eq_ignore_ascii_case(host.as_bytes()) => Ok(()),
        (Some(_), None) => Err(AuthorityError::Mismatch.into()),
    }
}

/// The `Host` value of a request forwarded to `upstream`: its authority,
/// when it has one without userinfo and a path; `None` otherwise.
fn forwarded_host(upstream: &Uri) -> Option<HeaderValue> {
    let authority = upstream.authority().filter(|a| !a.as_str().contains('@'))?;
    upstream.path_and_query().filter(|p| p.as_str().starts_with('/'))?;
    HeaderValue::from_str(authority.as_str()).ok()
}

/// `https://{host}{target}` for the attestation, which covers the host
/// routed on and the origin-form target forwarded; `None` when either is
/// not valid there.
fn target_uri(host: &str, target: &str) -> Option<Uri> {
    if !target.starts_with('/') {
        return None;
    }
    let authority = Authority::try_from(host).ok().filter(|a| !a.as_str().contains('@'))?;
    let path = PathAndQuery::try_from(target).ok()?;
    Uri::builder().scheme("https").authority(authority).path_and_query(path).build().ok()
}

/// The common tail of both admits: the request is already stripped, so a
/// denial forwards nothing in the namespace; an admission injects the
/// verified session's values.
fn finish(
    decision: Result<VerifiedSession, DenyReason>,
    stripped: Stripped<'_>,
    signer: Option<&AttestationSigner<'_>>,
) -> Result<Admitted, Denial> {
    let session = match decision {
        Ok(session) => session,
        Err(reason) => return Err(Denial { reason, report: stripped.into_report() }),
    };
    match stripped.inject_session(&session, signer) {
        Ok(report) => Ok(Admitted { session, report }),
        // The map is left stripped and without identity on error.
        Err(failure) => Err(Denial { reason: failure.error().into(), report: failure.into_report() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionCookieError;

    #[test]
    fn admit_headers_refuses_a_host_it_would_not_route_on() {
        let gate = Gate::new(KeyRing::new(crate::SessionKey::new("k1", &[1; 32]).unwrap()));
        let now = Timestamp::from_unix_seconds(1_700_000_000).unwrap();
        let code = |hosts: &[&'static str]| {
            let mut h = HeaderMap::new();
            for v in hosts {
                h.append(http::header::HOST, http::HeaderValue::from_static(v));
            }
            h.append("x-vendo-user-id", http::HeaderValue::from_static("forged"));
            let denial = gate.admit_headers(&Method::GET, "acme-crm.vendo.run", &mut h, None, now).unwrap_err();
            assert!(h.get("x-vendo-user-id").is_none(), "stripped on every denial");
            denial.code()
        };
        // Host confusion: the proxy routes on the URL, the tool reads Host.
        assert_eq!(code(&["globex-wiki.vendo.run"]), "host_mismatch");
        assert_eq!(code(&["acme-crm.vendo.run", "globex-wiki.vendo.run"]), "duplicate_host");
        assert_eq!(code(&["ACME-crm.vendo.run"]), "not_found");
        assert_eq!(code(&[]), "not_found");
    }

    #[test]
    fn every_reason_maps_to_its_status() {
        let rows: [(DenyReason, u16); 13] = [
            (AuthorityError::DuplicateHost.into(), 400),
            (HostError::InvalidHost.into(), 400),
            (HostError::TooDeep.into(), 400),
            (HostError::NotUnderApex.into(), 404),
            (HostError::Reserved.into(), 404),
            (DenyReason::NotFound, 404),
            (DenyReason::RouteMismatch, 404),
            (CrossSiteRequest::FetchSite.into(), 403),
            (CrossSiteRequest::Origin.into(), 403),
            (SessionRequestError::from(SessionCookieError::DuplicateSession).into(), 401),
            (SessionRequestError::from(VerifyError::Expired).into(), 401),
            (SessionRequestError::from(VerifyError::WrongTenant).into(), 403),
            (SessionRequestError::from(VerifyError::WrongDeployment).into(), 403),
        ];
        for (reason, status) in rows {
            assert_eq!(reason.status().as_u16(), status, "{}", reason.code());
        }
    }
}
