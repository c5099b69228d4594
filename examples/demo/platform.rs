//! The demo's platform: a reverse proxy that links the crate, in front of
//! one tool per deployment, with an in-memory routing table and credit
//! ledger.
//!
//! The scripted scenario (`scenario.rs`) starts it over plain HTTP; the
//! browser test (`tests/browser.rs`) starts it over TLS and points Chromium
//! at it. Everything listens on 127.0.0.1 with an ephemeral port and stops
//! with the runtime that started it. The proxy records what each request
//! carried and what it decided; the tools record what they received. A
//! caller proves what reached a tool from those records, not from what a
//! response says.

// The demo, its test and the browser test each use part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, LOCATION, SET_COOKIE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use vendo_isolation::attestation::AttestationVerifier;
use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion, ReserveRequest};
use vendo_isolation::headers::{CookieRemoval, ResponseReport};
use vendo_isolation::hosts::Upstream;
use vendo_isolation::model::{Ledger, Reserved, Route, RoutingTable};
use vendo_isolation::session::{SESSION_COOKIE_NAME, SessionClaims, mint_session, session_set_cookie};
use vendo_isolation::{
    AttestationSecret, DeploymentId, Gate, KeyRing, RouteEntry, RouteKey, SessionKey, TenantId, Timestamp,
};

#[path = "tools.rs"]
pub mod tools;
pub use tools::Visit;

/// One deployment of the demo: where it is served, and the user its
/// tenant's sign-in stands for.
#[derive(Debug)]
pub struct Site {
    pub tenant: &'static str,
    pub deployment: &'static str,
    pub tenant_slug: &'static str,
    pub deployment_slug: &'static str,
    /// `{deployment}.{tenant}.vendo.run` rather than `{tenant}-{deployment}`.
    pub legacy: bool,
    pub host: &'static str,
    pub user: &'static str,
    pub email: &'static str,
    pub credits_micros: u64,
    /// The host this deployment's tool attacks, if it is hostile.
    pub attacks: Option<&'static str>,
}

pub const ACME_HOST: &str = "acme-crm.vendo.run";
pub const GLOBEX_HOST: &str = "wiki.globex.vendo.run";
pub const EVIL_HOST: &str = "evil-x.vendo.run";

/// Three tenants, one deployment each. Evil's tool is the attacker: it
/// serves pages that send requests to Acme's host and answers with
/// cookies meant for every host under the apex.
pub const SITES: [Site; 3] = [
    Site {
        tenant: "t_acme",
        deployment: "d_acme_crm",
        tenant_slug: "acme",
        deployment_slug: "crm",
        legacy: false,
        host: ACME_HOST,
        user: "u_ada",
        email: "ada@acme.example",
        credits_micros: 5_000_000,
        attacks: None,
    },
    Site {
        tenant: "t_globex",
        deployment: "d_globex_wiki",
        tenant_slug: "globex",
        deployment_slug: "wiki",
        legacy: true,
        host: GLOBEX_HOST,
        user: "u_grace",
        email: "grace@globex.example",
        // Exactly one worst-case hold (450 micro-credits).
        credits_micros: 500,
        attacks: None,
    },
    Site {
        tenant: "t_evil",
        deployment: "d_evil_x",
        tenant_slug: "evil",
        deployment_slug: "x",
        legacy: false,
        host: EVIL_HOST,
        user: "u_mallory",
        email: "mallory@evil.example",
        credits_micros: 5_000_000,
        attacks: Some(ACME_HOST),
    },
];

/// The site of a deployment id.
pub fn site(deployment: &str) -> &'static Site {
    SITES.iter().find(|s| s.deployment == deployment).unwrap_or_else(|| panic!("no deployment {deployment}"))
}

/// The path on every host where the platform, not the tool, signs the
/// visitor in: the demo's stand-in for the platform's sign-in flow.
pub const LOGIN_PATH: &str = "/_vendo/login";

/// How to start the platform.
#[derive(Default)]
pub struct Options {
    /// Serve the proxy over TLS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Relay tools' responses as they are. Only the browser test's control
    /// run sets it, to show what the response filter stops.
    pub skip_response_filter: bool,
}

/// What the proxy received and did with one request.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub host: String,
    pub method: String,
    pub target: String,
    /// Every cookie pair of every `Cookie` header, as the client sent them.
    pub cookies: Vec<(String, String)>,
    pub origin: Option<String>,
    pub sec_fetch_site: Option<String>,
    pub status: u16,
    /// `forwarded`, `signed in`, or the denial's code.
    pub decision: String,
    /// What the response filter removed from the tool's answer.
    pub removed: Vec<String>,
    /// The session token the sign-in set, if this was one.
    pub issued: Option<String>,
}

impl Arrival {
    /// The value of every cookie named `name` in this request.
    pub fn cookie(&self, name: &str) -> Vec<&str> {
        self.cookies.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

struct Proxy {
    gate: Gate,
    /// The sign-in's key ring; the gate holds its own copy to verify with.
    issuer: KeyRing,
    table: RoutingTable,
    ledger: Ledger,
    rates: RateTable,
    tools: BTreeMap<String, SocketAddr>,
    next_id: u64,
    filter: bool,
    log: Vec<Arrival>,
}

type Shared = Arc<Mutex<Proxy>>;

/// A running platform.
pub struct Platform {
    /// Where the proxy listens.
    pub addr: SocketAddr,
    state: Shared,
    visits: tools::Visits,
    tools: BTreeMap<String, SocketAddr>,
    keys: BTreeMap<String, RouteKey<'static>>,
    issuer: KeyRing,
}

pub fn unix_now() -> Timestamp {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap()
}

fn session_key() -> SessionKey {
    SessionKey::new("k2026", &[0x5e; 32]).unwrap()
}

fn attestation_secret() -> AttestationSecret {
    AttestationSecret::new("a1", &[0xa7; 32]).unwrap()
}

pub fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

/// Cookie pairs split the simplest way, independently of the crate's own
/// parser, so the record is evidence and not the code under test.
fn cookie_pairs(parts: &http::request::Parts) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for value in parts.headers.get_all(COOKIE) {
        for pair in String::from_utf8_lossy(value.as_bytes()).split(';') {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !n.trim().is_empty() {
                pairs.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
    }
    pairs
}

fn header(parts: &http::request::Parts, name: &str) -> Option<String> {
    parts.headers.get(name).and_then(|h| h.to_str().ok()).map(str::to_owned)
}

fn describe(report: &ResponseReport) -> Vec<String> {
    let cookies = report.removed_cookies().iter().map(|c| {
        let why = match c.reason() {
            CookieRemoval::Domain => "a Domain attribute",
            CookieRemoval::SessionName => "the session cookie's name",
            _ => "another rule",
        };
        format!("Set-Cookie {} ({why})", c.name())
    });
    let headers = report.removed_headers().iter().map(|h| format!("{h} header"));
    cookies.chain(headers).collect()
}

/// The platform's sign-in: a session for the host's deployment, stored
/// through the crate's `Set-Cookie` builder, then back to the tool's page.
fn login(s: &Proxy, route: Option<&Route>, now: Timestamp) -> (Response<Full<Bytes>>, Option<String>) {
    let Some(route) = route else {
        return (text(StatusCode::NOT_FOUND, "denied: not_found\n".to_owned()), None);
    };
    let site = site(route.deployment_id().as_str());
    let exp = now.saturating_add_secs(3_600);
    let token = mint_session(&claims(site, now, exp), &s.issuer);
    let mut r = text(StatusCode::SEE_OTHER, format!("signed in as {}\n", site.user));
    r.headers_mut().insert(SET_COOKIE, session_set_cookie(SESSION_COOKIE_NAME, &token, exp, now).unwrap());
    r.headers_mut().insert(LOCATION, http::HeaderValue::from_static("/"));
    (r, Some(token))
}

fn claims(site: &Site, iat: Timestamp, exp: Timestamp) -> SessionClaims {
    SessionClaims::new(
        site.tenant.parse().unwrap(),
        site.deployment.parse().unwrap(),
        site.user.parse().unwrap(),
        site.email.parse().unwrap(),
        iat,
        exp,
    )
    .unwrap()
}

type Held = (SocketAddr, vendo_isolation::credits::Reservation);

/// The crate's two request steps and a credit hold, under the lock.
fn decide(s: &mut Proxy, parts: &mut http::request::Parts, now: Timestamp) -> Result<Held, (StatusCode, String)> {
    // Step 1: the route key; the lookup is the caller's own.
    let route = s.gate.route_key(parts).ok().and_then(|key| s.table.resolve(&key).cloned());
    // Step 2: admit or deny; the map is stripped either way.
    match s.gate.admit(parts, route.as_ref().map(|r| r.entry()), now) {
        Err(denial) => Err((denial.status(), denial.code().to_owned())),
        Ok(_) => {
            let route = route.unwrap();
            // Reserve before forwarding, against the resolved tenant.
            s.next_id += 1;
            let id = format!("req_{}", s.next_id).parse().unwrap();
            let request = ReserveRequest::new("openai".parse().unwrap(), "gpt-4o-mini".parse().unwrap(), 1_000, 500);
            match s.ledger.reserve(route.tenant_id(), id, &s.rates, &request, now, 60) {
                Ok(Reserved::New(hold)) => Ok((s.tools[route.deployment_id().as_str()], hold)),
                Ok(_) => Err((StatusCode::CONFLICT, "replayed".to_owned())),
                Err(e) => Err((StatusCode::PAYMENT_REQUIRED, e.code().to_owned())),
            }
        }
    }
}

/// The proxy: sign-in, or the crate's request steps, a real forward over
/// a fresh HTTP/1.1 connection to the tool, and the crate's response step.
async fn proxy(state: Shared, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let now = unix_now();
    let mut arrival = Arrival {
        host: header(&parts, "host").unwrap_or_default(),
        method: parts.method.to_string(),
        target: parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned(),
        cookies: cookie_pairs(&parts),
        origin: header(&parts, "origin"),
        sec_fetch_site: header(&parts, "sec-fetch-site"),
        status: 0,
        decision: String::new(),
        removed: Vec::new(),
        issued: None,
    };
    let decision = {
        let mut s = state.lock().unwrap();
        let s = &mut *s;
        if parts.method == Method::GET && parts.uri.path() == LOGIN_PATH {
            let route = s.gate.route_key(&parts).ok().and_then(|key| s.table.resolve(&key).cloned());
            let (r, issued) = login(s, route.as_ref(), now);
            arrival.status = r.status().as_u16();
            arrival.decision = if issued.is_some() { "signed in" } else { "not_found" }.to_owned();
            arrival.issued = issued;
            s.log.push(arrival);
            return Ok(r);
        }
        decide(s, &mut parts, now)
    };
    let (addr, hold) = match decision {
        Ok(go) => go,
        Err((status, code)) => {
            arrival.status = status.as_u16();
            arrival.decision.clone_from(&code);
            state.lock().unwrap().log.push(arrival);
            return Ok(text(status, format!("denied: {code}\n")));
        }
    };
    let mut forward = Request::from_parts(parts, Full::new(body));
    *forward.uri_mut() = forward.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").parse().unwrap();
    let mut answer = match send(addr, forward).await {
        Ok(r) => r,
        Err(e) => text(StatusCode::BAD_GATEWAY, format!("upstream: {e}\n")),
    };
    let mut s = state.lock().unwrap();
    // Step 3: the tool's cookies stay host-only and off the session.
    if s.filter {
        arrival.removed = describe(&s.gate.filter_response(answer.headers_mut()));
    }
    // Settle the hold: the actual usage, debited from the hold's tenant.
    let actual = s.rates.cost(&"openai".parse().unwrap(), &"gpt-4o-mini".parse().unwrap(), 1_000, 120).unwrap();
    s.ledger.post(hold, actual, now).unwrap();
    arrival.status = answer.status().as_u16();
    arrival.decision = "forwarded".to_owned();
    s.log.push(arrival);
    Ok(answer)
}

/// One request over a fresh plain HTTP/1.1 connection.
pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let resp = sender.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(bytes)))
}

async fn serve<F, Fut>(handler: F, tls: Option<TlsAcceptor>) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service_fn(handler)).await;
                    }
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service_fn(handler)).await;
                        }
                    }
                }
            });
        }
    });
    addr
}

impl Platform {
    /// Starts every tool, then the proxy in front of them.
    pub async fn start(options: Options) -> Platform {
        let platform = attestation_secret();
        let visits = tools::Visits::default();

        // Each tool holds only its own deployment's attestation key.
        let mut tools = BTreeMap::new();
        for site in &SITES {
            let id: DeploymentId = site.deployment.parse().unwrap();
            let verifier = Arc::new(AttestationVerifier::new(platform.deployment_key(&id)));
            let visits = visits.clone();
            let addr = serve(move |req| tools::tool(site, verifier.clone(), visits.clone(), req), None).await;
            tools.insert(site.deployment.to_owned(), addr);
        }

        let mut table = RoutingTable::default();
        let mut keys = BTreeMap::new();
        let mut ledger = Ledger::new();
        for site in &SITES {
            let entry = RouteEntry {
                tenant_id: site.tenant.parse().unwrap(),
                deployment_id: site.deployment.parse().unwrap(),
                tenant_slug: site.tenant_slug.parse().unwrap(),
                deployment_slug: site.deployment_slug.parse().unwrap(),
            };
            let upstream: Upstream = format!("http://{}", tools[site.deployment]).parse().unwrap();
            let key = if site.legacy { table.restore_legacy(entry, upstream) } else { table.assign(entry, upstream) }
                .unwrap();
            keys.insert(site.deployment.to_owned(), key);
            let tenant: TenantId = site.tenant.parse().unwrap();
            let credits = MicroCredits::from_micros(site.credits_micros);
            ledger.top_up(&tenant, "topup_1".parse().unwrap(), credits).unwrap();
        }

        let mut rates = RateTable::builder(RateTableVersion::new(1));
        rates
            .insert(
                "openai".parse().unwrap(),
                "gpt-4o-mini".parse().unwrap(),
                ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000)),
            )
            .unwrap();

        let gate = Gate::new(KeyRing::new(session_key())).with_attestation(attestation_secret());
        let state: Shared = Arc::new(Mutex::new(Proxy {
            gate,
            issuer: KeyRing::new(session_key()),
            table,
            ledger,
            rates: rates.build(),
            tools: tools.clone(),
            next_id: 0,
            filter: !options.skip_response_filter,
            log: Vec::new(),
        }));
        let addr = {
            let state = state.clone();
            serve(move |req| proxy(state.clone(), req), options.tls.map(TlsAcceptor::from)).await
        };
        Platform { addr, state, visits, tools, keys, issuer: KeyRing::new(session_key()) }
    }

    /// Where a deployment's tool listens, to go around the proxy.
    pub fn tool_addr(&self, deployment: &str) -> SocketAddr {
        self.tools[deployment]
    }

    /// A `Cookie` pair holding a session for `deployment`'s user, signed
    /// with the platform's key, valid from `iat` to `exp`.
    pub fn session_cookie(&self, deployment: &str, iat: Timestamp, exp: Timestamp) -> String {
        format!("{SESSION_COOKIE_NAME}={}", mint_session(&claims(site(deployment), iat, exp), &self.issuer))
    }

    /// Renames a deployment's single-level host: the old hostname stops
    /// resolving at once.
    pub fn rename(&mut self, deployment: &str, new_slug: &str) {
        let site = site(deployment);
        let renamed = RouteEntry {
            tenant_id: site.tenant.parse().unwrap(),
            deployment_id: site.deployment.parse().unwrap(),
            tenant_slug: site.tenant_slug.parse().unwrap(),
            deployment_slug: new_slug.parse().unwrap(),
        };
        let key = self.state.lock().unwrap().table.rename(&self.keys[deployment], renamed).unwrap();
        self.keys.insert(deployment.to_owned(), key);
    }

    /// Everything the proxy received, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.lock().unwrap().log.clone()
    }

    /// Everything the tools received, in order.
    pub fn visits(&self) -> Vec<Visit> {
        self.visits.0.lock().unwrap().clone()
    }

    /// Fails if the ledger broke an invariant.
    pub fn check_ledger(&self) {
        self.state.lock().unwrap().ledger.check_invariants().unwrap();
    }
}
