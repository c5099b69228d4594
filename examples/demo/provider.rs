//! The demo's provider path (SPEC §6–§9): a provider proxy on 127.0.0.1
//! that links the crate's `ProviderGate`, in front of a fake OpenAI-style
//! provider, and a scripted tool that calls it with its deployment's API
//! key. One row per call: what the proxy decided, what the provider
//! received, how the credit hold was settled, and each tenant's balance
//! after.
//!
//! The proxy's stores are in memory: API key records by key id (every
//! lookup is counted, to show a malformed key is refused before any),
//! bindings, connections and sealed credentials in maps keyed on the tenant
//! first, so a lookup under the key's tenant cannot find another tenant's
//! rows, and the crate's credit `Ledger`. The fake provider records every
//! request it receives; a row's "provider saw" is read from that record,
//! not from anything the proxy says.
//!
//! `examples/demo/main.rs` prints the rows; `tests/demo.rs` asserts them.

// The demo and its test each use part of this module.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{CONTENT_TYPE, HOST};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use vendo_isolation::api_keys::{ApiKey, ApiKeyId, ApiKeyPepper, ApiKeyRecord};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::credits::{
    MicroCredits, ModelPrice, RateTable, RateTableVersion, Reservation, ReserveError, TenantBalance,
};
use vendo_isolation::model::{Ledger, Reserved};
use vendo_isolation::provider::{Adapter, CallOutcome, Loaded, ProviderCall, ProviderDenial, ProviderGate, settle};
use vendo_isolation::tenancy::{Binding, Connection, Deployment, Provider, TenantLookup};
use vendo_isolation::{BindingId, ConnectionId, DeploymentId, TenantId, Timestamp};

/// Tenant A: its tool makes every call.
pub const ACME: &str = "t_acme";
/// Tenant B: its rows are what A's forged ids aim at. It never calls.
pub const GLOBEX: &str = "t_globex";
/// Each tenant's top-up before the first call, in micro-credits.
pub const STARTING: [(&str, u64); 2] = [(ACME, 1_000_000), (GLOBEX, 2_000_000)];

const ACME_CRM: &str = "d_acme_crm";
const GLOBEX_WIKI: &str = "d_globex_wiki";

/// The provider credentials sealed into the connections at setup.
pub const ACME_OPENAI_TOKEN: &str = "sk-acme-openai-demo";
pub const ACME_NOTION_TOKEN: &str = "secret_acme_notion_demo";
pub const GLOBEX_OPENAI_TOKEN: &str = "sk-globex-openai-demo";

/// `{adapter}-proxy.vendo.run`: the host names the adapter.
pub const PROXY_SUFFIX: &str = "-proxy.vendo.run";
pub const OPENAI_PROXY: &str = "openai-proxy.vendo.run";

/// The header a tool names one of its bindings with, when it has several.
/// It is in the platform's namespace, so the gate strips it before the
/// provider sees the request.
pub const BINDING_HEADER: &str = "x-vendo-binding";

/// How the scenario picks the fake provider's answer: `json`, `sse`,
/// `sse-cut` or `error`.
pub const ANSWER_HEADER: &str = "x-demo-answer";

/// The usage the fake provider reports: (prompt, completion) tokens.
pub const JSON_USAGE: (u64, u64) = (12, 85);
pub const STREAM_USAGE: (u64, u64) = (12, 40);

/// How long a hold lives before the ledger may expire it.
const HOLD_TTL_SECS: u32 = 60;

/// Connection headers a proxy never forwards (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 6] = ["connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"];

pub fn unix_now() -> Timestamp {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp::from_unix_seconds(secs).unwrap()
}

fn rates() -> RateTable {
    let mut b = RateTable::builder(RateTableVersion::new(1));
    let price = ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000))
        .with_max_output(16_384);
    b.insert("openai".parse().unwrap(), "gpt-4o-mini".parse().unwrap(), price).unwrap();
    b.build()
}

// ---------------------------------------------------------------------
// The HTTP plumbing: hyper over plain HTTP/1.1 on loopback, as the rest of
// the demo, with response bodies that can stream.

/// A response body that is either whole or streamed from a source.
pub enum Streamed<S> {
    Whole(Option<Bytes>),
    Source(S),
}

impl<S: Body<Data = Bytes, Error = io::Error> + Unpin> Body for Streamed<S> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Self::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Source(source) => Pin::new(source).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Whole(bytes) => bytes.is_none(),
            Self::Source(source) => source.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Whole(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Source(source) => source.size_hint(),
        }
    }
}

fn whole<S>(status: StatusCode, content_type: &'static str, body: String) -> Response<Streamed<S>> {
    let mut r = Response::new(Streamed::Whole(Some(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn denied<S>(status: StatusCode, code: &str) -> Response<Streamed<S>> {
    whole(status, "text/plain", format!("denied: {code}\n"))
}

async fn serve<F, Fut, B>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
    B: Body<Data = Bytes, Error = io::Error> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let http = hyper::server::conn::http1::Builder::new();
                let _ = http.serve_connection(TokioIo::new(stream), service_fn(handler)).await;
            });
        }
    });
    addr
}

/// Sends one request over a fresh HTTP/1.1 connection; the body is left
/// to the caller to read, as it arrives.
async fn open(addr: SocketAddr, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    sender.send_request(req).await
}

// ---------------------------------------------------------------------
// The fake provider.

/// One request as the fake provider received it.
#[derive(Debug, Clone)]
pub struct ProviderVisit {
    pub method: String,
    pub target: String,
    /// Every header, in order, as it arrived.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

type Visits = Arc<Mutex<Vec<ProviderVisit>>>;

/// Server-sent events, one every few milliseconds; `cut` ends the
/// connection after the last one, before the stream's end.
pub struct Events {
    events: VecDeque<Bytes>,
    cut: bool,
    pause: Option<Pin<Box<Sleep>>>,
}

impl Body for Events {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(pause) = this.pause.as_mut() {
            ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        match this.events.pop_front() {
            Some(event) => {
                this.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(5))));
                Poll::Ready(Some(Ok(Frame::data(event))))
            }
            // An error from the body makes hyper drop the connection without
            // the chunked encoding's last chunk: the client sees a cut.
            None if this.cut => Poll::Ready(Some(Err(io::Error::other("connection lost before the usage event")))),
            None => Poll::Ready(None),
        }
    }
}

fn sse(events: &[String], cut: bool) -> Response<Streamed<Events>> {
    let events = events.iter().map(|e| Bytes::from(format!("data: {e}\n\n"))).collect();
    let mut r = Response::new(Streamed::Source(Events { events, cut, pause: None }));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r
}

fn delta(text: &str) -> String {
    serde_json::json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]})
        .to_string()
}

fn usage_json((prompt, completion): (u64, u64)) -> serde_json::Value {
    serde_json::json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// Answers as an OpenAI-style chat completions endpoint would, in the
/// form the request's `x-demo-answer` asks for, and records the request.
async fn fake_provider(visits: Visits, req: Request<Incoming>) -> Result<Response<Streamed<Events>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let headers =
        parts.headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned())).collect();
    let answer = parts.headers.get(ANSWER_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("json").to_owned();
    visits.lock().unwrap().push(ProviderVisit {
        method: parts.method.to_string(),
        target: parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let words = ["Three", " unread", " invoices."];
    Ok(match answer.as_str() {
        "sse" => {
            let mut events: Vec<String> = words.iter().map(|w| delta(w)).collect();
            events.push(
                serde_json::json!({"object": "chat.completion.chunk", "choices": [], "usage": usage_json(STREAM_USAGE)})
                    .to_string(),
            );
            events.push("[DONE]".to_owned());
            sse(&events, false)
        }
        "sse-cut" => sse(&words[..2].iter().map(|w| delta(w)).collect::<Vec<_>>(), true),
        "error" => whole(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            serde_json::json!({"error": {"message": "The server had an error", "type": "server_error"}}).to_string(),
        ),
        _ => whole(
            StatusCode::OK,
            "application/json",
            serde_json::json!({
                "object": "chat.completion",
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"content": words.concat()}, "finish_reason": "stop"}],
                "usage": usage_json(JSON_USAGE),
            })
            .to_string(),
        ),
    })
}

// ---------------------------------------------------------------------
// The provider proxy's stores, in memory.

/// API key records, queried by key id only; every query is counted.
struct KeyStore {
    records: BTreeMap<ApiKeyId, ApiKeyRecord>,
    lookups: u64,
}

impl KeyStore {
    fn get(&mut self, id: &ApiKeyId) -> Option<ApiKeyRecord> {
        self.lookups += 1;
        self.records.get(id).cloned()
    }
}

struct Stored {
    connection: Connection,
    /// The credential, sealed to the connection's tenant, id and provider.
    sealed: String,
}

#[derive(Default)]
struct TenantRows {
    bindings: BTreeMap<BindingId, Binding>,
    connections: BTreeMap<ConnectionId, Stored>,
}

/// Bindings and connections under their tenant: every read names the
/// tenant first, so another tenant's ids find nothing.
#[derive(Default)]
struct Tenancy(BTreeMap<TenantId, TenantRows>);

impl TenantLookup for Tenancy {
    type Error = Infallible;

    fn binding(&self, tenant_id: &TenantId, binding_id: &BindingId) -> Result<Option<Binding>, Infallible> {
        Ok(self.0.get(tenant_id).and_then(|t| t.bindings.get(binding_id)).cloned())
    }

    fn connection(&self, tenant_id: &TenantId, connection_id: &ConnectionId) -> Result<Option<Connection>, Infallible> {
        Ok(self.0.get(tenant_id).and_then(|t| t.connections.get(connection_id)).map(|s| s.connection.clone()))
    }
}

impl Tenancy {
    fn sealed(&self, tenant_id: &TenantId, connection_id: &ConnectionId) -> Option<&str> {
        self.0.get(tenant_id)?.connections.get(connection_id).map(|s| s.sealed.as_str())
    }

    /// The tenant's binding of `deployment` to a connection of `provider`:
    /// the lookup when the tool names no binding.
    fn bound(&self, tenant_id: &TenantId, deployment: &DeploymentId, provider: &Provider) -> Option<BindingId> {
        let rows = self.0.get(tenant_id)?;
        rows.bindings
            .values()
            .find(|b| {
                b.deployment_id() == deployment
                    && rows.connections.get(b.connection_id()).is_some_and(|s| s.connection.provider() == provider)
            })
            .map(|b| b.id().clone())
    }

    /// Stores a connection with its credential sealed at setup, and binds
    /// it to the deployment (refused if the two are of different tenants).
    fn connect(
        &mut self,
        ring: &MasterKeyRing,
        deployment: &Deployment,
        ids: (&str, &str),
        provider: &str,
        token: &str,
    ) {
        let (binding_id, connection_id) = ids;
        let connection =
            Connection::new(connection_id.parse().unwrap(), deployment.tenant_id().clone(), provider.parse().unwrap());
        // Twelve fixed bytes stand in for a CSPRNG's nonce; each seal here
        // is under its own connection key.
        let sealed = ring.seal(&connection, &[0x5a; 12], &Credential::new(token).unwrap());
        let binding = Binding::new(binding_id.parse().unwrap(), deployment, &connection).unwrap();
        let rows = self.0.entry(deployment.tenant_id().clone()).or_default();
        rows.bindings.insert(binding.id().clone(), binding);
        rows.connections.insert(connection.id().clone(), Stored { connection, sealed });
    }
}

// ---------------------------------------------------------------------
// The provider proxy.

/// How a hold was settled after the provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// `posted`, `voided` or `expired`.
    pub kind: &'static str,
    /// What was debited from the tenant.
    pub debit: MicroCredits,
    /// What the proxy read from the provider's answer.
    pub outcome: String,
    /// The ledger's settlement equals what `provider::settle` gives for
    /// the same hold and outcome.
    pub matches_settle: bool,
}

/// What the proxy decided for one call.
#[derive(Debug, Clone)]
pub struct Call {
    pub status: u16,
    /// `forwarded`, or the denial's code.
    pub decision: String,
    /// Queries of the key store this call made.
    pub key_lookups: u64,
    /// The worst case held before forwarding.
    pub held: Option<MicroCredits>,
    pub settled: Option<Settled>,
}

struct Proxy {
    gate: ProviderGate,
    /// The same table the gate prices with, for the ledger's holds.
    rates: RateTable,
    keys: KeyStore,
    tenancy: Tenancy,
    ledger: Ledger,
    /// A second account of each balance, settled through
    /// `provider::settle`, which the ledger's own settlement is compared to.
    reference: BTreeMap<TenantId, TenantBalance>,
    provider: SocketAddr,
    next_id: u64,
    log: Vec<Call>,
}

type Shared = Arc<Mutex<Proxy>>;

/// A hold waiting for the provider's answer.
struct Pending {
    state: Shared,
    hold: Reservation,
    reference: Reservation,
    price: ModelPrice,
    call: usize,
}

/// Reads the usage from a provider's answer as it passes: from a JSON
/// body once whole, or from the last server-sent event that carries one.
struct UsageReader {
    stream: bool,
    buf: Vec<u8>,
    usage: Option<(u64, u64)>,
}

fn usage_of(v: &serde_json::Value) -> Option<(u64, u64)> {
    let u = v.get("usage")?;
    Some((u.get("prompt_tokens")?.as_u64()?, u.get("completion_tokens")?.as_u64()?))
}

impl UsageReader {
    fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if !self.stream {
            return;
        }
        while let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.buf.drain(..end + 2).collect();
            for line in String::from_utf8_lossy(&event).lines() {
                let Some(data) = line.strip_prefix("data:").map(str::trim) else { continue };
                if let Some(usage) = serde_json::from_str(data).ok().as_ref().and_then(usage_of) {
                    self.usage = Some(usage);
                }
            }
        }
    }

    /// The usage, once the answer ended (or was cut).
    fn finish(&mut self) -> Option<(u64, u64)> {
        if !self.stream {
            self.usage = serde_json::from_slice(&self.buf).ok().as_ref().and_then(usage_of);
        }
        self.usage
    }
}

/// The provider's answer relayed to the tool as it arrives; the hold is
/// settled when it ends, before the tool sees the end.
pub struct Relay {
    inner: Option<Incoming>,
    usage: UsageReader,
    success: bool,
    pending: Option<Pending>,
}

fn outcome(success: bool, usage: Option<(u64, u64)>) -> CallOutcome {
    match (success, usage) {
        (false, _) => CallOutcome::ProviderError,
        (true, Some((input_tokens, output_tokens))) => CallOutcome::Usage { input_tokens, output_tokens },
        (true, None) => CallOutcome::UsageMissing,
    }
}

impl Relay {
    fn finish(&mut self) {
        self.inner = None;
        if let Some(pending) = self.pending.take() {
            let usage = self.usage.finish();
            settle_call(pending, outcome(self.success, usage));
        }
    }
}

impl Body for Relay {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else { return Poll::Ready(None) };
        match ready!(Pin::new(inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.usage.feed(data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                this.finish();
                Poll::Ready(Some(Err(io::Error::other(e))))
            }
            None => {
                this.finish();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none()
    }
}

impl Drop for Relay {
    /// The tool went away before the answer ended: keep reading the
    /// provider's stream to its usage (SPEC §9), then settle.
    fn drop(&mut self) {
        let (Some(mut inner), Some(pending)) = (self.inner.take(), self.pending.take()) else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let empty = UsageReader { stream: false, buf: Vec::new(), usage: None };
        let mut usage = std::mem::replace(&mut self.usage, empty);
        let success = self.success;
        runtime.spawn(async move {
            while let Some(Ok(frame)) = inner.frame().await {
                if let Some(data) = frame.data_ref() {
                    usage.feed(data);
                }
            }
            let usage = usage.finish();
            settle_call(pending, outcome(success, usage));
        });
    }
}

fn describe(outcome: CallOutcome) -> String {
    match outcome {
        CallOutcome::Usage { input_tokens, output_tokens } => format!("usage {input_tokens}+{output_tokens}"),
        CallOutcome::ProviderError => "provider error".to_owned(),
        CallOutcome::UsageMissing => "usage missing".to_owned(),
        other => format!("{other:?}"),
    }
}

/// SPEC §9 settlement of one hold in the ledger, exactly as
/// `provider::settle` decides it: usage posts its cost (capped at the
/// hold), a provider error voids, a 2xx without usage posts the whole hold.
/// `settle` resolves a `Reservation` it is given, and the ledger resolves
/// only through its own `post` and `void`; so the ledger is told the same
/// decision and its settlement is compared with `settle`'s on the
/// reference balance.
fn settle_call(pending: Pending, outcome: CallOutcome) {
    let Pending { state, hold, reference, price, call } = pending;
    let now = unix_now();
    let mut s = state.lock().unwrap();
    let s = &mut *s;
    let settlement = match outcome {
        CallOutcome::Usage { input_tokens, output_tokens } => {
            let cost = price.cost(input_tokens, output_tokens).unwrap_or(MicroCredits::MAX);
            s.ledger.post(hold, cost, now)
        }
        CallOutcome::ProviderError => s.ledger.void(hold, now),
        CallOutcome::UsageMissing => {
            let whole = hold.amount();
            s.ledger.post(hold, whole, now)
        }
        other => panic!("no settlement rule for {other:?}"),
    }
    .unwrap();
    let expected = settle(reference, price, outcome, now);
    s.reference.get_mut(expected.tenant()).unwrap().apply(&expected).unwrap();
    s.log[call].settled = Some(Settled {
        kind: settlement.kind().code(),
        debit: settlement.debit(),
        outcome: describe(outcome),
        matches_settle: settlement == expected,
    });
}

/// What a call that passed every check carries to the provider.
struct Admitted {
    target: String,
    hold: Reservation,
    reference: Reservation,
    price: ModelPrice,
}

type Refusal = (StatusCode, String);

fn refuse(d: ProviderDenial) -> Refusal {
    (d.status(), d.code().to_owned())
}

fn header<'p>(parts: &'p Parts, name: &str) -> Option<&'p str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// What the request body asks for, as far as pricing goes (SPEC §9).
fn priced_call(body: &[u8]) -> Option<ProviderCall> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(ProviderCall {
        model: json.get("model")?.as_str()?.parse().ok()?,
        body_bytes: body.len() as u64,
        max_tokens: json.get("max_tokens").and_then(serde_json::Value::as_u64),
    })
}

/// The crate's three steps with the proxy's lookups between them, then
/// the hold: under the lock, before anything is forwarded.
fn decide(s: &mut Proxy, parts: &mut Parts, body: &[u8], now: Timestamp) -> Result<Admitted, Refusal> {
    let adapter = header(parts, "host")
        .and_then(|h| h.strip_suffix(PROXY_SUFFIX))
        .and_then(Adapter::for_name)
        .ok_or((StatusCode::NOT_FOUND, "not_found".to_owned()))?;
    // Step 1: the one key, parsed and its checksum checked; nothing is
    // looked up for a key that fails here.
    let key = s.gate.key(&parts.headers).map_err(refuse)?;
    // Step 2: the record under its key id, checked.
    let record = s.keys.get(key.id());
    let scope = s.gate.scope(&key, record.as_ref(), now).map_err(refuse)?;
    // Step 3, the lookups: the binding and connection, under the key's tenant
    // only: the binding the tool names, or its deployment's for this
    // adapter's provider.
    let tenant = scope.tenant_id();
    let provider: Provider = adapter.name().parse().unwrap();
    let binding_id = match header(parts, BINDING_HEADER) {
        Some(named) => named.parse().ok(),
        None => scope.deployment_id().and_then(|d| s.tenancy.bound(tenant, d, &provider)),
    };
    let binding = binding_id.and_then(|id| s.tenancy.binding(tenant, &id).unwrap_or(None));
    let connection = binding.as_ref().and_then(|b| s.tenancy.connection(tenant, b.connection_id()).unwrap_or(None));
    let sealed = connection.as_ref().and_then(|c| s.tenancy.sealed(tenant, c.id()));
    let loaded = match (&binding, &connection, sealed) {
        (Some(binding), Some(connection), Some(sealed)) => Some(Loaded { binding, connection, sealed }),
        _ => None,
    };
    let call = priced_call(body).ok_or((StatusCode::BAD_REQUEST, "bad_request".to_owned()))?;
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    // Step 3, the gate: the checks, the credential opened, the worst case
    // priced, the headers rewritten for the provider.
    let forward = s.gate.forward(adapter, &scope, loaded, &call, &target, &mut parts.headers).map_err(refuse)?;
    // SPEC §7 step 4: hold the worst case against the key's tenant, in
    // the ledger, before anything is forwarded.
    s.next_id += 1;
    let id: vendo_isolation::credits::ReservationId = format!("call_{}", s.next_id).parse().unwrap();
    let tenant = forward.tenant_id().clone();
    let request = forward.reserve_request();
    let hold = match s.ledger.reserve(&tenant, id.clone(), &s.rates, request, now, HOLD_TTL_SECS) {
        Ok(Reserved::New(hold)) => hold,
        Ok(_) => return Err((StatusCode::CONFLICT, "replayed".to_owned())),
        Err(e) => {
            let status = match e {
                ReserveError::InsufficientCredits { .. } => StatusCode::PAYMENT_REQUIRED,
                ReserveError::UnknownModel => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return Err((status, e.code().to_owned()));
        }
    };
    let reference = s.reference.get_mut(&tenant).unwrap().reserve(id, &s.rates, request, now, HOLD_TTL_SECS).unwrap();
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    parts.headers.insert(HOST, HeaderValue::from_str(&s.provider.to_string()).unwrap());
    Ok(Admitted { target: forward.target().to_owned(), hold, reference, price: forward.price() })
}

async fn proxy(state: Shared, req: Request<Incoming>) -> Result<Response<Streamed<Relay>>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let (admitted, call, provider) = {
        let mut s = state.lock().unwrap();
        let s = &mut *s;
        let before = s.keys.lookups;
        let decided = decide(s, &mut parts, &body, unix_now());
        let key_lookups = s.keys.lookups - before;
        match decided {
            Err((status, code)) => {
                s.log.push(Call {
                    status: status.as_u16(),
                    decision: code.clone(),
                    key_lookups,
                    held: None,
                    settled: None,
                });
                return Ok(denied(status, &code));
            }
            Ok(a) => {
                let held = Some(a.hold.amount());
                s.log.push(Call { status: 0, decision: "forwarded".to_owned(), key_lookups, held, settled: None });
                (a, s.log.len() - 1, s.provider)
            }
        }
    };
    let Admitted { target, hold, reference, price } = admitted;
    let pending = Pending { state: state.clone(), hold, reference, price, call };
    let mut forward = Request::from_parts(parts, Full::new(body));
    *forward.uri_mut() = target.parse().unwrap();
    let answer = match open(provider, forward).await {
        Ok(answer) => answer,
        Err(_) => {
            settle_call(pending, CallOutcome::ProviderError);
            state.lock().unwrap().log[call].status = 502;
            return Ok(denied(StatusCode::BAD_GATEWAY, "provider_unreachable"));
        }
    };
    let (answer, inner) = answer.into_parts();
    let stream = answer.headers.get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let usage = UsageReader { stream, buf: Vec::new(), usage: None };
    let relay = Relay { inner: Some(inner), usage, success: answer.status.is_success(), pending: Some(pending) };
    let mut r = Response::new(Streamed::Source(relay));
    *r.status_mut() = answer.status;
    if let Some(ct) = answer.headers.get(CONTENT_TYPE) {
        r.headers_mut().insert(CONTENT_TYPE, ct.clone());
    }
    state.lock().unwrap().log[call].status = answer.status.as_u16();
    Ok(r)
}

// ---------------------------------------------------------------------
// Setup and the scenario.

/// The keys the platform minted and showed the tools' owners once.
struct Keys {
    acme: String,
    acme_revoked: String,
    globex: String,
}

struct Running {
    addr: SocketAddr,
    state: Shared,
    visits: Visits,
    keys: Keys,
}

fn mint(store: &mut KeyStore, pepper: &ApiKeyPepper, seed: u8, tenant: &str, deployment: &str) -> (ApiKeyId, String) {
    // Fixed bytes stand in for a CSPRNG's 42.
    let key = ApiKey::mint(&[seed; 42]);
    let record = ApiKeyRecord::new(tenant.parse().unwrap(), Some(deployment.parse().unwrap()), pepper.verifier(&key));
    store.records.insert(*key.id(), record);
    (*key.id(), key.expose().as_str().to_owned())
}

async fn start() -> Running {
    let visits = Visits::default();
    let provider = {
        let visits = visits.clone();
        serve(move |req| fake_provider(visits.clone(), req)).await
    };

    let pepper = ApiKeyPepper::new(&[0x70; 32]).unwrap();
    let ring = MasterKeyRing::new(MasterKey::new("m2026", &[0x3c; 32]).unwrap());
    let now = unix_now();

    let mut store = KeyStore { records: BTreeMap::new(), lookups: 0 };
    let (_, acme) = mint(&mut store, &pepper, 0x11, ACME, ACME_CRM);
    let (revoked_id, acme_revoked) = mint(&mut store, &pepper, 0x22, ACME, ACME_CRM);
    store.records.get_mut(&revoked_id).unwrap().revoked_at = Some(now.saturating_sub_secs(3_600));
    let (_, globex) = mint(&mut store, &pepper, 0x33, GLOBEX, GLOBEX_WIKI);

    let mut tenancy = Tenancy::default();
    let crm = Deployment::new(ACME_CRM.parse().unwrap(), ACME.parse().unwrap());
    let wiki = Deployment::new(GLOBEX_WIKI.parse().unwrap(), GLOBEX.parse().unwrap());
    tenancy.connect(&ring, &crm, ("b_acme_openai", "c_acme_openai"), "openai", ACME_OPENAI_TOKEN);
    tenancy.connect(&ring, &crm, ("b_acme_notion", "c_acme_notion"), "notion", ACME_NOTION_TOKEN);
    tenancy.connect(&ring, &wiki, ("b_globex_openai", "c_globex_openai"), "openai", GLOBEX_OPENAI_TOKEN);

    let mut ledger = Ledger::new();
    let mut reference = BTreeMap::new();
    for (tenant, micros) in STARTING {
        let tenant: TenantId = tenant.parse().unwrap();
        let amount = MicroCredits::from_micros(micros);
        ledger.top_up(&tenant, "topup_1".parse().unwrap(), amount).unwrap();
        let mut balance = TenantBalance::new(tenant.clone());
        balance.top_up(amount).unwrap();
        reference.insert(tenant, balance);
    }

    let state: Shared = Arc::new(Mutex::new(Proxy {
        gate: ProviderGate::new(pepper, ring, rates()),
        rates: rates(),
        keys: store,
        tenancy,
        ledger,
        reference,
        provider,
        next_id: 0,
        log: Vec::new(),
    }));
    let addr = {
        let state = state.clone();
        serve(move |req| proxy(state.clone(), req)).await
    };
    Running { addr, state, visits, keys: Keys { acme, acme_revoked, globex } }
}

/// One scripted call and what came of it.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: &'static str,
    /// The headers the tool sent, in order.
    pub sent: Vec<(String, String)>,
    /// The status the tool got.
    pub status: u16,
    /// `forwarded`, or the proxy's denial code.
    pub decision: String,
    /// Whether the answer the tool got ended early (the provider's stream
    /// was cut, and the proxy passed the cut on).
    pub cut: bool,
    /// Queries of the key store the call made.
    pub key_lookups: u64,
    pub held: Option<MicroCredits>,
    pub settled: Option<Settled>,
    /// What the provider received: nothing if the call never reached it.
    pub provider_saw: Option<ProviderVisit>,
    /// Each tenant's available balance after the call, as `STARTING` orders them.
    pub balances: Vec<(&'static str, MicroCredits)>,
}

/// A header name with `_` and `.` read as `-`, lowercased: how a lenient
/// server might read it.
fn folded(name: &str) -> String {
    name.chars().map(|c| if c == '_' || c == '.' { '-' } else { c.to_ascii_lowercase() }).collect()
}

impl Row {
    /// A header the provider received.
    pub fn provider_header(&self, name: &str) -> Option<&str> {
        let visit = self.provider_saw.as_ref()?;
        visit.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Everything of the tool's own the provider saw: a `vk1_` key
    /// anywhere, an `x-vendo-*` header in any spelling, a cookie.
    pub fn leaks(&self) -> Vec<String> {
        let Some(visit) = &self.provider_saw else { return Vec::new() };
        let mut leaks = Vec::new();
        if visit.target.to_ascii_lowercase().contains("vk1_") || visit.body.to_ascii_lowercase().contains("vk1_") {
            leaks.push("vk1_ in the request".to_owned());
        }
        for (n, v) in &visit.headers {
            let name = folded(n);
            if v.to_ascii_lowercase().contains("vk1_") {
                leaks.push(format!("vk1_ in {n}"));
            }
            if name.starts_with("x-vendo") {
                leaks.push(format!("header {n}"));
            }
            if name == "cookie" {
                leaks.push("cookie".to_owned());
            }
        }
        leaks
    }

    /// A tenant's available balance after the call.
    pub fn balance(&self, tenant: &str) -> MicroCredits {
        self.balances.iter().find(|(t, _)| *t == tenant).map(|(_, b)| *b).unwrap()
    }
}

impl Running {
    async fn call(
        &self,
        scenario: &'static str,
        key: (&str, &str),
        answer: &str,
        extra: &[(&str, &str)],
        body: &str,
    ) -> Row {
        let (key_header, key_value) = key;
        let mut sent = vec![
            ("host".to_owned(), OPENAI_PROXY.to_owned()),
            (key_header.to_owned(), key_value.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            (ANSWER_HEADER.to_owned(), answer.to_owned()),
        ];
        // As on the wire: HTTP/1.1 names in lower case.
        sent.extend(extra.iter().map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned())));
        let mut req = Request::post("/v1/chat/completions").body(Full::new(Bytes::from(body.to_owned()))).unwrap();
        for (n, v) in &sent {
            req.headers_mut().append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        let seen = self.visits.lock().unwrap().len();
        let calls = self.state.lock().unwrap().log.len();
        let answer = open(self.addr, req).await.unwrap();
        let status = answer.status().as_u16();
        let mut body = answer.into_body();
        let mut cut = false;
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                cut = true;
                break;
            }
        }
        let provider_saw = self.visits.lock().unwrap().get(seen).cloned();
        let s = self.state.lock().unwrap();
        assert_eq!(s.log.len(), calls + 1, "{scenario}: one call logged");
        let call = s.log[calls].clone();
        let balances = STARTING
            .iter()
            .map(|(t, _)| (*t, s.ledger.balance(&t.parse().unwrap()).map(|b| b.available()).unwrap_or_default()))
            .collect();
        Row {
            scenario,
            sent,
            status,
            decision: call.decision,
            cut,
            key_lookups: call.key_lookups,
            held: call.held,
            settled: call.settled,
            provider_saw,
            balances,
        }
    }

    /// Fails if the ledger broke an invariant, holds anything, or differs
    /// from the balances settled through `provider::settle`.
    fn check_ledger(&self) {
        let s = self.state.lock().unwrap();
        s.ledger.check_invariants().unwrap();
        for (tenant, reference) in &s.reference {
            let balance = s.ledger.balance(tenant).unwrap();
            assert_eq!(balance, reference, "{tenant}");
            assert!(balance.pending().is_zero(), "{tenant}: every hold was settled");
        }
    }
}

fn chat(max_tokens: u64, stream: bool) -> String {
    let mut body = serde_json::json!({
        "model": "gpt-4o-mini",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "Summarise my inbox"}],
    });
    if stream {
        body["stream"] = true.into();
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    body.to_string()
}

/// A one-character typo in the key's secret: the checksum no longer
/// matches, and the key is refused offline.
fn typo(key: &str) -> String {
    let mut chars: Vec<char> = key.chars().collect();
    chars[40] = if chars[40] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

/// Runs the provider scenario and returns one row per call.
pub async fn run() -> Vec<Row> {
    let p = start().await;
    let bearer = |key: &str| format!("Bearer {key}");
    let acme = bearer(&p.keys.acme);
    let auth = ("authorization", acme.as_str());
    // What a careless or hostile tool adds: identity in the platform's
    // namespace, in another spelling, and a session cookie.
    let hostile = [
        ("x-vendo-tenant-id", GLOBEX),
        ("X_Vendo_User_Id", "u_admin"),
        ("cookie", "__Host-vendo_session=v1.k2026.forged.mac; theme=dark"),
    ];
    let stream_accept = [("accept", "text/event-stream")];
    let revoked = bearer(&p.keys.acme_revoked);
    let malformed = bearer(&typo(&p.keys.acme));
    assert!(!p.keys.globex.is_empty(), "tenant B has a key of its own; it never calls");

    let rows = vec![
        p.call("valid JSON call", auth, "json", &hostile, &chat(500, false)).await,
        // Anthropic-style SDKs present the key in x-api-key.
        p.call("valid streamed call", ("x-api-key", &p.keys.acme), "sse", &stream_accept, &chat(500, true)).await,
        p.call(
            "another tenant's binding id forged",
            auth,
            "json",
            &[(BINDING_HEADER, "b_globex_openai"), ("x-vendo-tenant-id", GLOBEX)],
            &chat(500, false),
        )
        .await,
        p.call(
            "provider mismatch (notion behind openai)",
            auth,
            "json",
            &[(BINDING_HEADER, "b_acme_notion")],
            &chat(500, false),
        )
        .await,
        p.call("revoked key", ("authorization", &revoked), "json", &[], &chat(500, false)).await,
        p.call("key with a bad checksum", ("authorization", &malformed), "json", &[], &chat(500, false)).await,
        p.call("insufficient credits", auth, "json", &[], &chat(2_000_000, false)).await,
        p.call("stream cut before usage", auth, "sse-cut", &stream_accept, &chat(500, true)).await,
        p.call("provider 500", auth, "error", &[], &chat(500, false)).await,
    ];
    p.check_ledger();
    rows
}
