//! The demo's scenario: a real HTTP reverse proxy on loopback that links
//! the crate, two tool upstreams that echo what they received and verify
//! the proxy's attestation, and a scripted client.
//!
//! `examples/demo/main.rs` prints the rows; `tests/demo.rs` asserts them.
//! Everything listens on 127.0.0.1 with an ephemeral port and stops when
//! the scenario returns.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use vendo_isolation::{
    AttestationSecret, AttestationVerifier, DeploymentId, Gate, KeyRing, Ledger, MicroCredits, ModelPrice, RateTable,
    RateTableVersion, ReserveRequest, Reserved, RouteEntry, RoutingTable, SESSION_COOKIE_NAME, SessionClaims,
    SessionKey, TenantId, Timestamp, Upstream, mint_session,
};

/// One scripted request and what happened to it.
#[derive(Debug, Clone)]
pub struct Row {
    /// What the request tries.
    pub scenario: &'static str,
    /// The `Host` it was sent with.
    pub host: String,
    /// Where it was sent: `proxy` or `upstream` (straight to a tool).
    pub via: &'static str,
    /// The status the client got.
    pub status: u16,
    /// The proxy's denial code, or the tool's verdict.
    pub decision: String,
    /// The `x-vendo-*` and `cookie` headers the tool received, in order.
    pub upstream_saw: Vec<(String, String)>,
}

/// Fixed identities of the demo.
pub const ACME: &str = "t_acme";
/// The second tenant.
pub const GLOBEX: &str = "t_globex";
const ACME_CRM: &str = "d_acme_crm";
const GLOBEX_WIKI: &str = "d_globex_wiki";

fn unix_now() -> Timestamp {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap()
}

struct Proxy {
    gate: Gate,
    table: RoutingTable,
    ledger: Ledger,
    rates: RateTable,
    upstreams: BTreeMap<String, SocketAddr>,
    next_id: u64,
}

type Shared = Arc<Mutex<Proxy>>;

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

/// The tool: echoes the `x-vendo-*` and `cookie` headers it received as
/// `name: value` lines, after checking the proxy's attestation with its
/// own deployment key.
async fn tool(verifier: Arc<AttestationVerifier>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, _) = req.into_parts();
    let verdict = match verifier.verify(&parts, unix_now()) {
        Ok(_) => "attested".to_owned(),
        Err(e) => format!("refused: {}", e.code()),
    };
    let mut body = format!("verdict: {verdict}\n");
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if n.starts_with("x-vendo-") || n.starts_with("x_vendo") || n.starts_with("x.vendo") || n == "cookie" {
            let v = if n == "x-vendo-attestation" { "(signed)" } else { value.to_str().unwrap_or("?") };
            body.push_str(&format!("{n}: {v}\n"));
        }
    }
    let status = if verdict == "attested" { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    Ok(text(status, body))
}

/// The proxy: the crate's two steps, a credit hold per request, then a
/// real forward over a fresh HTTP/1.1 connection to the tool.
async fn proxy(state: Shared, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let now = unix_now();
    let decision = {
        let mut s = state.lock().unwrap();
        let s = &mut *s;
        // Step 1: the route key; the lookup is the caller's own.
        let route = s.gate.route_key(&parts).ok().and_then(|key| s.table.resolve(&key).cloned());
        // Step 2: admit or deny; the map is stripped either way.
        match s.gate.admit(&mut parts, route.as_ref().map(|r| r.entry()), now) {
            Err(denial) => Err((denial.status(), denial.code().to_owned())),
            Ok(_) => {
                let route = route.unwrap();
                // Reserve before forwarding, against the resolved tenant.
                s.next_id += 1;
                let id = format!("req_{}", s.next_id).parse().unwrap();
                let request =
                    ReserveRequest::new("openai".parse().unwrap(), "gpt-4o-mini".parse().unwrap(), 1_000, 500);
                match s.ledger.reserve(route.tenant_id(), id, &s.rates, &request, now, 60) {
                    Ok(Reserved::New(hold)) => {
                        Ok((s.upstreams[route.deployment_id().as_str()], route.upstream().clone(), hold))
                    }
                    Ok(_) => Err((StatusCode::CONFLICT, "replayed".to_owned())),
                    Err(e) => Err((StatusCode::PAYMENT_REQUIRED, e.code().to_owned())),
                }
            }
        }
    };
    let (addr, _upstream, hold) = match decision {
        Ok(go) => go,
        Err((status, code)) => return Ok(text(status, format!("denied: {code}\n"))),
    };
    let mut forward = Request::from_parts(parts, Full::new(body));
    *forward.uri_mut() = forward.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").parse().unwrap();
    let answer = match send(addr, forward).await {
        Ok(r) => r,
        Err(e) => text(StatusCode::BAD_GATEWAY, format!("upstream: {e}\n")),
    };
    // Settle the hold: the actual usage, debited from the hold's tenant.
    let mut s = state.lock().unwrap();
    let actual = s.rates.cost(&"openai".parse().unwrap(), &"gpt-4o-mini".parse().unwrap(), 1_000, 120).unwrap();
    s.ledger.post(hold, actual, now).unwrap();
    Ok(answer)
}

async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let resp = sender.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(bytes)))
}

async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handler))
                    .await;
            });
        }
    });
    addr
}

fn session(ring: &KeyRing, tenant: &str, deployment: &str, iat: Timestamp, exp: Timestamp) -> String {
    let (user, email) =
        if tenant == ACME { ("u_ada", "ada@acme.example") } else { ("u_grace", "grace@globex.example") };
    let claims = SessionClaims::new(
        tenant.parse().unwrap(),
        deployment.parse().unwrap(),
        user.parse().unwrap(),
        email.parse().unwrap(),
        iat,
        exp,
    )
    .unwrap();
    format!("{SESSION_COOKIE_NAME}={}", mint_session(&claims, ring))
}

/// Sends one request and reads the tool's echo back into a row.
async fn call(
    target: SocketAddr,
    via: &'static str,
    scenario: &'static str,
    host: &str,
    headers: &[(&str, &str)],
) -> Row {
    let mut req = Request::get("/inbox?page=1").body(Full::new(Bytes::new())).unwrap();
    req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
    for (n, v) in headers {
        req.headers_mut().append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    let resp = send(target, req).await.unwrap();
    let status = resp.status().as_u16();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let mut decision = String::new();
    let mut upstream_saw = Vec::new();
    for line in body.lines() {
        if let Some(code) = line.strip_prefix("denied: ") {
            decision = code.to_owned();
        } else if let Some(v) = line.strip_prefix("verdict: ") {
            decision = v.to_owned();
        } else if let Some((n, v)) = line.split_once(": ") {
            upstream_saw.push((n.to_owned(), v.to_owned()));
        }
    }
    Row { scenario, host: host.to_owned(), via, status, decision, upstream_saw }
}

/// Runs the whole scenario and returns one row per scripted request.
pub async fn run() -> Vec<Row> {
    let now = unix_now();
    let hour_ago = now.saturating_sub_secs(3_600);
    let in_a_day = now.saturating_add_secs(86_400);
    let ring = KeyRing::new(SessionKey::new("k2026", &[0x5e; 32]).unwrap());
    let sign = KeyRing::new(SessionKey::new("k2026", &[0x5e; 32]).unwrap());
    let platform = AttestationSecret::new("a1", &[0xa7; 32]).unwrap();

    // Each tool holds only its own deployment's attestation key.
    let mut upstreams = BTreeMap::new();
    for deployment in [ACME_CRM, GLOBEX_WIKI] {
        let id: DeploymentId = deployment.parse().unwrap();
        let verifier = Arc::new(AttestationVerifier::new(platform.deployment_key(&id)));
        let addr = serve(move |req| tool(verifier.clone(), req)).await;
        upstreams.insert(deployment.to_owned(), addr);
    }

    let mut table = RoutingTable::default();
    let acme_crm = RouteEntry {
        tenant_id: ACME.parse().unwrap(),
        deployment_id: ACME_CRM.parse().unwrap(),
        tenant_slug: "acme".parse().unwrap(),
        deployment_slug: "crm".parse().unwrap(),
    };
    let globex_wiki = RouteEntry {
        tenant_id: GLOBEX.parse().unwrap(),
        deployment_id: GLOBEX_WIKI.parse().unwrap(),
        tenant_slug: "globex".parse().unwrap(),
        deployment_slug: "wiki".parse().unwrap(),
    };
    let up = |d: &str| -> Upstream { format!("http://{}", upstreams[d]).parse().unwrap() };
    let crm_key = table.assign(acme_crm.clone(), up(ACME_CRM)).unwrap();
    table.restore_legacy(globex_wiki, up(GLOBEX_WIKI)).unwrap();

    let mut rates = RateTable::builder(RateTableVersion::new(1));
    rates
        .insert(
            "openai".parse().unwrap(),
            "gpt-4o-mini".parse().unwrap(),
            ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000)),
        )
        .unwrap();
    let rates = rates.build();
    let mut ledger = Ledger::new();
    let acme: TenantId = ACME.parse().unwrap();
    let globex: TenantId = GLOBEX.parse().unwrap();
    ledger.top_up(&acme, "topup_1".parse().unwrap(), MicroCredits::from_credits(5).unwrap()).unwrap();
    // Globex can afford exactly one worst-case hold (450 micro-credits).
    ledger.top_up(&globex, "topup_1".parse().unwrap(), MicroCredits::from_micros(500)).unwrap();

    let gate = Gate::new(ring).with_attestation(AttestationSecret::new("a1", &[0xa7; 32]).unwrap());
    let state: Shared =
        Arc::new(Mutex::new(Proxy { gate, table, ledger, rates, upstreams: upstreams.clone(), next_id: 0 }));
    let proxy_addr = {
        let state = state.clone();
        serve(move |req| proxy(state.clone(), req)).await
    };

    let acme_cookie = session(&sign, ACME, ACME_CRM, hour_ago, in_a_day);
    let globex_cookie = session(&sign, GLOBEX, GLOBEX_WIKI, hour_ago, in_a_day);
    let expired = session(&sign, ACME, ACME_CRM, now.saturating_sub_secs(7_200), now.saturating_sub_secs(3_600));
    let with_theme = format!("{acme_cookie}; theme=dark");
    let crm = "acme-crm.vendo.run";
    let p = proxy_addr;

    let mut rows = vec![
        call(p, "proxy", "valid session", crm, &[("cookie", &with_theme)]).await,
        call(
            p,
            "proxy",
            "forged identity in every spelling",
            crm,
            &[
                ("cookie", &acme_cookie),
                ("X-Vendo-User-Id", "u_admin"),
                ("X_Vendo_User_Id", "u_admin"),
                ("x.vendo.tenant.id", GLOBEX),
                ("X-VENDO-USER-EMAIL", "ceo@acme.example"),
            ],
        )
        .await,
        call(
            p,
            "proxy",
            "Connection nominates x-vendo-user-id",
            crm,
            &[("cookie", &acme_cookie), ("connection", "keep-alive, X-Vendo-User-Id"), ("x-vendo-user-id", "u_admin")],
        )
        .await,
        call(p, "proxy", "another tenant's session", crm, &[("cookie", &globex_cookie)]).await,
        call(p, "proxy", "expired session", crm, &[("cookie", &expired)]).await,
        call(p, "proxy", "no session, forged header", crm, &[("x-vendo-user-id", "u_admin")]).await,
        call(p, "proxy", "reserved host", "admin.vendo.run", &[("cookie", &acme_cookie)]).await,
        call(
            p,
            "proxy",
            "legacy host, its own tenant's session",
            "wiki.globex.vendo.run",
            &[("cookie", &globex_cookie)],
        )
        .await,
        call(
            p,
            "proxy",
            "credits exhausted for that tenant only",
            "wiki.globex.vendo.run",
            &[("cookie", &globex_cookie)],
        )
        .await,
    ];

    // Rename acme's crm to sales: the old hostname stops resolving at once.
    {
        let mut s = state.lock().unwrap();
        let renamed = RouteEntry { deployment_slug: "sales".parse().unwrap(), ..acme_crm };
        s.table.rename(&crm_key, renamed).unwrap();
    }
    rows.push(call(p, "proxy", "old host after rename", crm, &[("cookie", &acme_cookie)]).await);
    rows.push(call(p, "proxy", "new host after rename", "acme-sales.vendo.run", &[("cookie", &acme_cookie)]).await);

    // Straight to the tool, around the proxy, with forged headers.
    let direct = upstreams[ACME_CRM];
    rows.push(
        call(
            direct,
            "upstream",
            "straight to the tool, no attestation",
            "acme-crm.vendo.run",
            &[("x-vendo-user-id", "u_admin"), ("x-vendo-tenant-id", ACME)],
        )
        .await,
    );

    let s = state.lock().unwrap();
    s.ledger.check_invariants().unwrap();
    rows
}
