//! The proxy's hot path, each group beside its floor or a peer a user would
//! reach for, in the same run, so the README can quote ratios.
//!
//! ```text
//! cargo bench --bench hot_path
//! cargo bench --bench hot_path -- --ratios
//! ```
//!
//! `--ratios` skips criterion and times the rows the targets compare in
//! interleaved rounds instead: each round runs every row once, for about
//! 2 ms, in an order that rotates, and a ratio is the median over rounds
//! of the two rows' times in the same round. A shared machine's slow and
//! fast stretches then fall on both sides of each ratio. It then prints
//! the attested admit (kept key) step by step, each step timed alone
//! beside the floor of what it does, and the budget that a third of the
//! composite peer leaves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group};
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use sha2::Sha256;
use vendo_isolation::attestation::DeploymentKey;
use vendo_isolation::headers::{check_request_site, filter_response, strip, strip_request};
use vendo_isolation::session::{
    SESSION_COOKIE_NAME, SessionClaims, SessionRequestError, VerifiedSession, VerifyOptions, mint_session,
    verify_session, verify_session_cookie,
};
use vendo_isolation::{
    AttestationSecret, DeploymentId, Email, Gate, HostPolicy, KeyRing, RouteEntry, SessionKey, TenantId, Timestamp,
    UserId,
};

const KEY: [u8; 32] = [0x42; 32];
const NOW: u64 = 1_700_000_000;

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(NOW).unwrap()
}

fn ring() -> KeyRing {
    KeyRing::new(SessionKey::new("k1", &KEY).unwrap())
}

fn claims() -> SessionClaims {
    SessionClaims::new(
        "t_01HZX3K9Q8".parse().unwrap(),
        "d_01HZX3M2RT".parse().unwrap(),
        "u_01HZX3P5VW".parse().unwrap(),
        "ada.lovelace@example.com".parse().unwrap(),
        Timestamp::from_unix_seconds(NOW - 3_600).unwrap(),
        Timestamp::from_unix_seconds(NOW + 20_000).unwrap(),
    )
    .unwrap()
}

fn entry() -> RouteEntry {
    RouteEntry {
        tenant_id: "t_01HZX3K9Q8".parse().unwrap(),
        deployment_id: "d_01HZX3M2RT".parse().unwrap(),
        tenant_slug: "acme".parse().unwrap(),
        deployment_slug: "crm".parse().unwrap(),
    }
}

/// The MAC input of a token: what the floor hashes.
fn mac_input(token: &str) -> Vec<u8> {
    let cut = token.rfind('.').unwrap();
    let mut m = b"vendo-session-v1\x00".to_vec();
    m.extend_from_slice(&token.as_bytes()[..cut]);
    m
}

/// A realistic browser request: 20 header fields.
fn browser_headers(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let rows: [(&str, String); 20] = [
        ("host", "acme-crm.vendo.run".into()),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into()),
        ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into()),
        ("accept-language", "en-GB,en;q=0.5".into()),
        ("accept-encoding", "gzip, deflate, br, zstd".into()),
        ("referer", "https://acme-crm.vendo.run/contacts?page=2".into()),
        ("connection", "keep-alive".into()),
        ("cookie", format!("{SESSION_COOKIE_NAME}={token}; theme=dark; _ga=GA1.2.1234567890.1700000000")),
        ("upgrade-insecure-requests", "1".into()),
        ("sec-fetch-dest", "document".into()),
        ("sec-fetch-mode", "navigate".into()),
        ("sec-fetch-site", "same-origin".into()),
        ("sec-fetch-user", "?1".into()),
        ("priority", "u=0, i".into()),
        ("pragma", "no-cache".into()),
        ("cache-control", "no-cache".into()),
        ("dnt", "1".into()),
        ("te", "trailers".into()),
        ("x-forwarded-for", "203.0.113.7".into()),
        ("x-request-id", "6f1c2a9e-5b1d-4c1e-9f5e-3a7b2c1d0e9f".into()),
    ];
    for (n, v) in rows {
        h.append(HeaderName::from_static(n), HeaderValue::from_str(&v).unwrap());
    }
    h
}

fn spoofed(mut h: HeaderMap) -> HeaderMap {
    for (n, v) in [
        ("x-vendo-user-id", "admin"),
        ("x_vendo_user_id", "admin"),
        ("x.vendo.tenant.id", "t_other"),
        ("x-vendo-user-email", "boss@example.com"),
        ("x_vendo.deployment-id", "d_other"),
    ] {
        h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    h
}

fn hosts(c: &mut Criterion) {
    let policy = HostPolicy::default();
    let mut g = c.benchmark_group("host");
    g.bench_function("ours/single_level", |b| b.iter(|| policy.parse(black_box("acme-crm.vendo.run")).is_ok()));
    g.bench_function("ours/legacy", |b| b.iter(|| policy.parse(black_box("crm.acme.vendo.run:443")).is_ok()));
    g.bench_function("ours/rejected", |b| b.iter(|| policy.parse(black_box("acme-crm.evilvendo.run")).is_err()));
    // Peer: what a proxy would otherwise call to read the host.
    g.bench_function("http_authority/single_level", |b| {
        b.iter(|| black_box("acme-crm.vendo.run").parse::<http::uri::Authority>().is_ok())
    });
    g.finish();
}

fn headers(c: &mut Criterion) {
    let token = mint_session(&claims(), &ring());
    let clean = browser_headers(&token);
    let attacked = spoofed(clean.clone());
    let mut g = c.benchmark_group("strip");
    g.bench_function("ours/clean_20", |b| {
        b.iter_batched_ref(
            || clean.clone(),
            |h| strip(h, SESSION_COOKIE_NAME).into_report(),
            BatchSize::NumIterations(32),
        )
    });
    g.bench_function("ours/spoofed_25", |b| {
        b.iter_batched_ref(
            || attacked.clone(),
            |h| strip(h, SESSION_COOKIE_NAME).into_report(),
            BatchSize::NumIterations(32),
        )
    });
    // Peer: the exact-name removal that shipped the advisories.
    g.bench_function("naive_exact_names/spoofed_25", |b| {
        b.iter_batched_ref(
            || attacked.clone(),
            |h| {
                for n in ["x-vendo-tenant-id", "x-vendo-deployment-id", "x-vendo-user-id", "x-vendo-user-email"] {
                    h.remove(n);
                }
            },
            BatchSize::NumIterations(32),
        )
    });
    g.bench_function("clone_only/spoofed_25", |b| {
        b.iter_batched_ref(|| attacked.clone(), |h| black_box(h.len()), BatchSize::NumIterations(32))
    });
    g.finish();
}

#[derive(serde::Serialize, serde::Deserialize)]
struct JwtClaims {
    tid: String,
    did: String,
    sub: String,
    email: String,
    iat: u64,
    exp: u64,
}

/// The same claims as an HS256 JWT, for the peers.
fn jwt_claims() -> JwtClaims {
    let c = claims();
    JwtClaims {
        tid: c.tenant_id().to_string(),
        did: c.deployment_id().to_string(),
        sub: "u_01HZX3P5VW".into(),
        email: "ada.lovelace@example.com".into(),
        iat: NOW - 3_600,
        exp: 4_000_000_000,
    }
}

fn jwt() -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &jwt_claims(),
        &jsonwebtoken::EncodingKey::from_secret(&KEY),
    )
    .unwrap()
}

/// The session group's inputs, shared by its criterion rows and `--ratios`.
struct SessionCase {
    ring: KeyRing,
    token: String,
    forged: String,
    tenant: TenantId,
    deployment: DeploymentId,
    opts: VerifyOptions,
    input: Vec<u8>,
    keyed: Hmac<Sha256>,
    tag: hmac::digest::Output<Sha256>,
    tag_text: String,
    payload_text: String,
    jwt: String,
    jwt_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
    cookie_key: cookie::Key,
    jar: cookie::CookieJar,
}

fn session_case() -> SessionCase {
    let ring = ring();
    let token = mint_session(&claims(), &ring);
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    // The floors hash the token's MAC input with a pre-keyed HMAC.
    let input = mac_input(&token);
    let keyed = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();
    let tag = {
        let mut m = keyed.clone();
        m.update(&input);
        m.finalize().into_bytes()
    };
    let (signed, tag_text) = token.rsplit_once('.').unwrap();
    let payload_text = signed.rsplit_once('.').unwrap().1.to_owned();
    let tag_text = tag_text.to_owned();
    // Peer: the cookie crate's signed jar (HMAC-SHA256) holding the same claims.
    let cookie_key = cookie::Key::from(&[0x42; 64]);
    let mut signer = cookie::CookieJar::new();
    signer.signed_mut(&cookie_key).add(cookie::Cookie::new("s", serde_json::to_string(&jwt_claims()).unwrap()));
    let signed_value = signer.get("s").unwrap().value().to_owned();
    let mut jar = cookie::CookieJar::new();
    jar.add_original(cookie::Cookie::new("s", signed_value));
    SessionCase {
        ring,
        token,
        forged,
        tenant: claims().tenant_id().clone(),
        deployment: claims().deployment_id().clone(),
        opts: VerifyOptions::default(),
        input,
        keyed,
        tag,
        tag_text,
        payload_text,
        // Peer: jsonwebtoken HS256 with the same claims.
        jwt: jwt(),
        jwt_key: jsonwebtoken::DecodingKey::from_secret(&KEY),
        jwt_validation: jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        cookie_key,
        jar,
    }
}

impl SessionCase {
    /// One HMAC-SHA256 over the same bytes, pre-keyed, compared.
    fn hmac_floor(&self) -> bool {
        let mut m = self.keyed.clone();
        m.update(black_box(&self.input));
        m.verify_slice(black_box(&self.tag)).is_ok()
    }

    /// The floor of any verifier of this format: the HMAC plus the strict
    /// decoding of the tag and the payload (into stack buffers, no
    /// allocation), and nothing else.
    fn decode_floor(&self) -> bool {
        let (mut t, mut p) = ([0u8; 48], [0u8; 512]);
        let t = URL_SAFE_NO_PAD.decode_slice(black_box(&self.tag_text), &mut t).map(|n| n == 32);
        let p = URL_SAFE_NO_PAD.decode_slice(black_box(&self.payload_text), &mut p);
        let mut m = self.keyed.clone();
        m.update(black_box(&self.input));
        matches!((t, p), (Ok(true), Ok(n)) if n > 0) && m.verify_slice(black_box(&self.tag)).is_ok()
    }

    /// The decode floor plus the SPEC §4 claims check written plainly with
    /// the crate's public validators: six fields on `\n`, the ids, the
    /// email, canonical times, `iat < exp`, the expected tenant and
    /// deployment. What any verifier of this format must also do; ours
    /// additionally checks lifetime, leeway and the re-issue window.
    fn claims_floor(&self) -> bool {
        let (mut t, mut p) = ([0u8; 48], [0u8; 512]);
        let t = URL_SAFE_NO_PAD.decode_slice(black_box(&self.tag_text), &mut t).map(|n| n == 32);
        let Ok(n) = URL_SAFE_NO_PAD.decode_slice(black_box(&self.payload_text), &mut p) else { return false };
        let mut m = self.keyed.clone();
        m.update(black_box(&self.input));
        if !(matches!(t, Ok(true)) && m.verify_slice(black_box(&self.tag)).is_ok()) {
            return false;
        }
        let Ok(text) = core::str::from_utf8(&p[..n]) else { return false };
        let mut f = text.split('\n');
        let (Some(tn), Some(d), Some(u), Some(e), Some(iat), Some(exp), None) =
            (f.next(), f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return false;
        };
        let secs = |s: &str| (!s.starts_with('0') || s == "0").then(|| s.parse::<u64>().ok()).flatten();
        TenantId::validate(tn).is_ok()
            && DeploymentId::validate(d).is_ok()
            && UserId::validate(u).is_ok()
            && Email::validate(e).is_ok()
            && matches!((secs(iat), secs(exp)), (Some(i), Some(x)) if i < x)
            && tn == self.tenant.as_str()
            && d == self.deployment.as_str()
    }

    fn ours(&self, token: &str) -> bool {
        verify_session(black_box(token), &self.ring, now(), &self.tenant, &self.deployment, &self.opts).is_ok()
    }

    fn jsonwebtoken(&self) -> bool {
        jsonwebtoken::decode::<JwtClaims>(black_box(&self.jwt), &self.jwt_key, &self.jwt_validation).is_ok()
    }

    /// The `cookie` crate's signed jar `get`, which checks no claims.
    fn signed_jar(&self) -> bool {
        self.jar.signed(&self.cookie_key).get(black_box("s")).is_some()
    }
}

fn sessions(c: &mut Criterion) {
    let s = session_case();
    let mut g = c.benchmark_group("session");
    g.bench_function("floor/hmac_sha256", |b| b.iter(|| s.hmac_floor()));
    g.bench_function("floor/hmac_and_strict_decode", |b| b.iter(|| s.decode_floor()));
    g.bench_function("floor/hmac_decode_and_claims", |b| b.iter(|| s.claims_floor()));
    g.bench_function("ours/valid", |b| b.iter(|| s.ours(&s.token)));
    g.bench_function("ours/bad_signature", |b| b.iter(|| !s.ours(&s.forged)));
    g.bench_function("ours/malformed", |b| b.iter(|| !s.ours("v1.k1.not base64.x")));
    g.bench_function("jsonwebtoken/hs256_valid", |b| b.iter(|| s.jsonwebtoken()));
    g.bench_function("cookie/signed_jar_valid", |b| b.iter(|| s.signed_jar()));
    g.finish();
}

fn request(token: &str, spoof: bool) -> Parts {
    let mut h = browser_headers(token);
    if spoof {
        h = spoofed(h);
    }
    let (mut parts, ()) = http::Request::get("/contacts?page=3").body(()).unwrap().into_parts();
    parts.headers = h;
    parts
}

/// The attesting gate's secret.
fn attestation_secret() -> AttestationSecret {
    AttestationSecret::new("a1", &[7; 32]).unwrap()
}

/// The admit's session step: `p`'s session cookie found and verified for `entry`.
fn verify_cookie(p: &Parts, ring: &KeyRing, entry: &RouteEntry) -> Result<VerifiedSession, SessionRequestError> {
    let (tenant, deployment) = (&entry.tenant_id, &entry.deployment_id);
    verify_session_cookie(&p.headers, SESSION_COOKIE_NAME, ring, now(), tenant, deployment, &VerifyOptions::default())
}

/// The admit group's inputs, shared by its criterion rows and `--ratios`.
struct AdmitCase {
    gate: Gate,
    attesting: Gate,
    kept: DeploymentKey,
    /// The attesting gate's secret and ring again, for timing its steps alone.
    secret: AttestationSecret,
    ring: KeyRing,
    /// The clean request's session, verified once, for timing the injection alone.
    session: VerifiedSession,
    entry: RouteEntry,
    input: Vec<u8>,
    keyed: Hmac<Sha256>,
    attest_key: Hmac<Sha256>,
    clean: Parts,
    attacked: Parts,
    jwt_request: Parts,
    jwt_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
    injected: [(HeaderName, HeaderValue); 5],
}

fn admit_case() -> AdmitCase {
    let ring = ring();
    let token = mint_session(&claims(), &ring);
    let attesting = Gate::new(self::ring()).with_attestation(attestation_secret());
    let entry = entry();
    // The deployment's attestation key, kept beside its entry by a caller
    // instead of derived per request.
    let kept = attesting.deployment_key(&entry.deployment_id).unwrap();
    let clean = request(&token, false);
    let session = verify_cookie(&clean, &ring, &entry).unwrap();
    AdmitCase {
        gate: Gate::new(ring),
        attesting,
        kept,
        secret: attestation_secret(),
        ring: self::ring(),
        session,
        entry,
        input: mac_input(&token),
        keyed: Hmac::<Sha256>::new_from_slice(&KEY).unwrap(),
        attest_key: Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap(),
        clean,
        attacked: request(&token, true),
        // The composite peer's request carries a JWT as the session cookie.
        jwt_request: request(&jwt(), false),
        jwt_key: jsonwebtoken::DecodingKey::from_secret(&KEY),
        jwt_validation: jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        injected: [
            (HeaderName::from_static("x-vendo-tenant-id"), HeaderValue::from_static("t_01HZX3K9Q8")),
            (HeaderName::from_static("x-vendo-deployment-id"), HeaderValue::from_static("d_01HZX3M2RT")),
            (HeaderName::from_static("x-vendo-user-id"), HeaderValue::from_static("u_01HZX3P5VW")),
            (HeaderName::from_static("x-vendo-user-email"), HeaderValue::from_static("ada.lovelace@example.com")),
            (
                HeaderName::from_static("x-vendo-attestation"),
                HeaderValue::from_static("v1.a1.1700000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ),
        ],
    }
}

impl AdmitCase {
    fn hmac_floor(&self) -> hmac::digest::Output<Sha256> {
        let mut m = self.keyed.clone();
        m.update(black_box(&self.input));
        m.finalize().into_bytes()
    }

    /// The attested admit's floor: the session's HMAC and the
    /// attestation's, over the same bytes.
    fn two_hmac_floor(&self) -> [hmac::digest::Output<Sha256>; 2] {
        let mut m = self.attest_key.clone();
        m.update(black_box(&self.input));
        [self.hmac_floor(), m.finalize().into_bytes()]
    }

    /// And the five header inserts alone, into a map of the request's size.
    fn five_inserts(&self, h: &mut HeaderMap) {
        for (n, v) in &self.injected {
            h.insert(n.clone(), v.clone());
        }
    }

    /// The admit's steps one at a time, as `KeyedGate::admit` runs them
    /// (`--ratios` only): the route key and its entry, ...
    fn step_route(&self, p: &Parts) -> bool {
        self.attesting.route_key(p).is_ok_and(|k| k.check_entry(&self.entry).is_ok())
    }

    /// ... the site rule (SPEC §3.2), ...
    fn step_site(&self, p: &Parts) -> bool {
        check_request_site(&p.method, "acme-crm.vendo.run", &p.headers).is_ok()
    }

    /// ... the session cookie found and verified, ...
    fn step_session(&self, p: &Parts) -> bool {
        verify_cookie(p, &self.ring, &self.entry).is_ok()
    }

    /// ... the strip (SPEC §3 steps 1–3), ...
    fn step_strip(&self, p: &mut Parts) -> bool {
        !strip_request(p, SESSION_COOKIE_NAME).into_report().is_spoofing()
    }

    /// ... and the strip followed by the injection, attested with the kept key.
    fn step_strip_and_inject(&self, p: &mut Parts) -> bool {
        let signer = self.secret.signer(now()).with_deployment_key(&self.kept);
        strip_request(p, SESSION_COOKIE_NAME).inject_session(&self.session, Some(&signer)).is_ok()
    }

    /// A strip's floor: the names with the exact `x-vendo-` prefix
    /// removed (no other spelling, no `Connection`), and the `Cookie`
    /// value rebuilt without the session's pair.
    fn strip_floor(&self, h: &mut HeaderMap) -> bool {
        let spoofed: Vec<HeaderName> = h.keys().filter(|n| n.as_str().starts_with("x-vendo-")).cloned().collect();
        for n in &spoofed {
            h.remove(n);
        }
        let Some(cookie) = h.get(http::header::COOKIE).and_then(|v| v.to_str().ok()) else { return false };
        let kept: Vec<&str> = cookie.split("; ").filter(|p| !p.starts_with("__Host-vendo_session=")).collect();
        let value = HeaderValue::from_str(&kept.join("; ")).unwrap();
        h.insert(http::header::COOKIE, value);
        spoofed.is_empty()
    }

    /// Both steps: route key, (lookup is the caller's), admit.
    fn both_steps(&self, gate: &Gate, p: &mut Parts) -> bool {
        let found = gate.route_key(p).map(|k| k.as_str() == "acme-crm").unwrap_or(false);
        gate.admit(p, found.then_some(&self.entry), now()).is_ok()
    }

    /// The same, attesting with the kept key.
    fn both_steps_kept(&self, p: &mut Parts) -> bool {
        let found = self.attesting.route_key(p).map(|k| k.as_str() == "acme-crm").unwrap_or(false);
        self.attesting.with_deployment_key(&self.kept).admit(p, found.then_some(&self.entry), now()).is_ok()
    }

    /// The peer a proxy engineer would write with popular crates: `http`'s
    /// Authority for the host, exact-prefix stripping of `x-vendo-`,
    /// `cookie`'s split_parse for the session, `jsonwebtoken` to verify it,
    /// four inserts and an HMAC attestation.
    fn peer(&self, p: &mut Parts) -> bool {
        peer_admit(p, &self.entry, &self.jwt_key, &self.jwt_validation, &self.attest_key).is_some()
    }
}

fn admit(c: &mut Criterion) {
    let a = admit_case();
    let batch = BatchSize::NumIterations(32);
    let mut g = c.benchmark_group("admit");
    g.bench_function("floor/two_hmac_sha256", |b| b.iter(|| a.two_hmac_floor()));
    g.bench_function("floor/five_inserts_20", |b| {
        b.iter_batched_ref(|| a.clean.headers.clone(), |h| a.five_inserts(h), batch)
    });
    g.bench_function("peer/http_cookie_jwt_hmac_attested", |b| {
        b.iter_batched_ref(|| a.jwt_request.clone(), |p| a.peer(p), batch)
    });
    g.bench_function("floor/hmac_sha256", |b| b.iter(|| a.hmac_floor()));
    g.bench_function("ours/two_steps", |b| b.iter_batched_ref(|| a.clean.clone(), |p| a.both_steps(&a.gate, p), batch));
    g.bench_function("ours/two_steps_attested", |b| {
        b.iter_batched_ref(|| a.clean.clone(), |p| a.both_steps(&a.attesting, p), batch)
    });
    g.bench_function("ours/two_steps_attested_kept_key", |b| {
        b.iter_batched_ref(|| a.clean.clone(), |p| a.both_steps_kept(p), batch)
    });
    g.bench_function("ours/two_steps_spoofed", |b| {
        b.iter_batched_ref(|| a.attacked.clone(), |p| a.both_steps(&a.gate, p), batch)
    });
    g.finish();
}

fn peer_admit(
    p: &mut Parts,
    entry: &RouteEntry,
    key: &jsonwebtoken::DecodingKey,
    validation: &jsonwebtoken::Validation,
    attest: &Hmac<Sha256>,
) -> Option<()> {
    let host = p.headers.get(http::header::HOST)?.to_str().ok()?;
    let authority: http::uri::Authority = host.parse().ok()?;
    let label = authority.host().strip_suffix(".vendo.run")?;
    if label != "acme-crm" {
        return None;
    }
    let spoofed: Vec<HeaderName> = p.headers.keys().filter(|n| n.as_str().starts_with("x-vendo-")).cloned().collect();
    for n in spoofed {
        p.headers.remove(&n);
    }
    let cookies = p.headers.get(http::header::COOKIE)?.to_str().ok()?;
    let session =
        cookie::Cookie::split_parse(cookies).filter_map(Result::ok).find(|c| c.name() == SESSION_COOKIE_NAME)?;
    let claims = jsonwebtoken::decode::<JwtClaims>(session.value(), key, validation).ok()?.claims;
    if claims.tid != entry.tenant_id.as_str() || claims.did != entry.deployment_id.as_str() {
        return None;
    }
    let mut m = attest.clone();
    for part in [p.method.as_str(), p.uri.path(), &claims.tid, &claims.did, &claims.sub, &claims.email] {
        m.update(part.as_bytes());
        m.update(b"\n");
    }
    let attestation = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    p.headers.insert("x-vendo-tenant-id", HeaderValue::from_str(&claims.tid).ok()?);
    p.headers.insert("x-vendo-deployment-id", HeaderValue::from_str(&claims.did).ok()?);
    p.headers.insert("x-vendo-user-id", HeaderValue::from_str(&claims.sub).ok()?);
    p.headers.insert("x-vendo-user-email", HeaderValue::from_str(&claims.email).ok()?);
    p.headers.insert("x-vendo-attestation", HeaderValue::from_str(&attestation).ok()?);
    Some(())
}

/// A tool's typical response: 12 fields, two host-only cookies.
fn tool_response(hostile: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut rows = vec![
        ("content-type", "text/html; charset=utf-8"),
        ("content-length", "18231"),
        ("cache-control", "private, no-store"),
        ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
        ("etag", "\"33a64df551425fcc55e4d42a148795d9f25f89d4\""),
        ("vary", "Accept-Encoding, Cookie"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
        ("strict-transport-security", "max-age=63072000"),
        ("set-cookie", "crm_csrf=Zm9vYmFyYmF6; Path=/; Secure; HttpOnly; SameSite=Strict"),
        ("set-cookie", "crm_prefs=compact; Path=/; Max-Age=31536000; Secure; SameSite=Lax"),
    ];
    if hostile {
        rows.extend([
            ("set-cookie", "planted=1; Domain=vendo.run; Path=/"),
            ("set-cookie", "__Host-vendo_session=v1.k1.forged.mac; Path=/; Secure"),
            ("x-vendo-user-id", "u_admin"),
        ]);
    }
    for (n, v) in rows {
        h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    h
}

/// SPEC §3.2 and §3.3: the browser-side rules, beside what a user would
/// write with the `cookie` crate (parse every `Set-Cookie`, look at its
/// domain and name).
fn browser(c: &mut Criterion) {
    let token = mint_session(&claims(), &ring());
    let navigation = browser_headers(&token);
    let mut forged = browser_headers(&token);
    forged.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
    forged.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
    forged.insert("origin", HeaderValue::from_static("https://evil-x.vendo.run"));
    let mut g = c.benchmark_group("site");
    g.bench_function("ours/same_origin_get", |b| {
        b.iter(|| check_request_site(&Method::GET, black_box("acme-crm.vendo.run"), black_box(&navigation)).is_ok())
    });
    g.bench_function("ours/cross_site_post", |b| {
        b.iter(|| check_request_site(&Method::POST, black_box("acme-crm.vendo.run"), black_box(&forged)).is_err())
    });
    g.finish();

    let clean = tool_response(false);
    let hostile = tool_response(true);
    let mut g = c.benchmark_group("response");
    g.bench_function("ours/clean_12", |b| {
        b.iter_batched_ref(
            || clean.clone(),
            |h| filter_response(h, SESSION_COOKIE_NAME).is_empty(),
            BatchSize::NumIterations(32),
        )
    });
    g.bench_function("ours/hostile_15", |b| {
        b.iter_batched_ref(
            || hostile.clone(),
            |h| filter_response(h, SESSION_COOKIE_NAME).is_empty(),
            BatchSize::NumIterations(32),
        )
    });
    g.bench_function("cookie_crate/hostile_15", |b| {
        b.iter_batched_ref(
            || hostile.clone(),
            |h| {
                let keep: Vec<HeaderValue> = h
                    .get_all("set-cookie")
                    .iter()
                    .filter(|v| {
                        v.to_str().ok().and_then(|s| cookie::Cookie::parse(s).ok()).is_some_and(|c| {
                            c.domain().is_none() && !c.name().to_ascii_lowercase().contains("__host-vendo_session")
                        })
                    })
                    .cloned()
                    .collect();
                h.remove("set-cookie");
                for v in keep {
                    h.append("set-cookie", v);
                }
                h.len()
            },
            BatchSize::NumIterations(32),
        )
    });
    g.bench_function("clone_only/hostile_15", |b| {
        b.iter_batched_ref(|| hostile.clone(), |h| h.len(), BatchSize::NumIterations(32))
    });
    g.finish();
}

/// The provider proxy: key verification beside one HMAC, unsealing beside
/// raw AES-256-GCM, and the whole decision.
fn provider(c: &mut Criterion) {
    use aes_gcm::aead::{Aead, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord, find_api_key};
    use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
    use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion};
    use vendo_isolation::provider::{Adapter, Loaded, ProviderCall, ProviderGate};
    use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};

    let pepper = ApiKeyPepper::new(&[5; 32]).unwrap();
    let key = ApiKey::mint(&[1; 42]);
    let record = ApiKeyRecord::new("t_acme".parse().unwrap(), Some("d_crm".parse().unwrap()), pepper.verifier(&key));
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {}", key.expose().as_str()).parse().unwrap());
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("accept", HeaderValue::from_static("text/event-stream"));
    headers.insert("user-agent", HeaderValue::from_static("OpenAI/Python 1.54.0"));
    let masters = MasterKeyRing::new(MasterKey::new("m1", &[3; 32]).unwrap());
    let conn = Connection::new("c_1".parse().unwrap(), "t_acme".parse().unwrap(), "openai".parse().unwrap());
    let sealed = masters.seal(&conn, &[9; 12], &Credential::new("sk-live-0123456789abcdef0123456789").unwrap());
    let deployment = Deployment::new("d_crm".parse().unwrap(), "t_acme".parse().unwrap());
    let binding = Binding::new("b_1".parse().unwrap(), &deployment, &conn).unwrap();
    let scope = KeyScope::deployment("t_acme".parse().unwrap(), "d_crm".parse().unwrap());
    let granted = check_connection_use(&scope, &binding, &conn, &"openai".parse().unwrap()).unwrap();
    let mut rates = RateTable::builder(RateTableVersion::new(1));
    let price = ModelPrice::per_million_tokens(MicroCredits::from_micros(150_000), MicroCredits::from_micros(600_000));
    rates.insert("openai".parse().unwrap(), "gpt-4o-mini".parse().unwrap(), price).unwrap();
    let gate = ProviderGate::new(pepper.clone(), masters.clone(), rates.build());
    let call = ProviderCall { model: "gpt-4o-mini".parse().unwrap(), body_bytes: 1234, max_tokens: Some(500) };
    let now = now();

    // The floors: one HMAC-SHA256 over what the verifier covers, and one
    // AES-256-GCM open of the same ciphertext with a ready cipher.
    let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&[5; 32]).unwrap();
    let payload = [7u8; 59];
    let tag = keyed.clone().chain_update(payload).finalize().into_bytes();
    let cipher = <Aes256Gcm as aes_gcm::KeyInit>::new(&[4u8; 32].into());
    let nonce = Nonce::from([9u8; 12]);
    let aad = [1u8; 60];
    let ciphertext = cipher.encrypt(&nonce, Payload { msg: &[b'x'; 34], aad: &aad }).unwrap();

    let mut g = c.benchmark_group("provider");
    g.bench_function("floor/hmac_sha256", |b| {
        b.iter(|| keyed.clone().chain_update(black_box(&payload)).verify_slice(black_box(&tag)).is_ok())
    });
    g.bench_function("ours/api_key_find_and_verify", |b| {
        b.iter(|| {
            let k = find_api_key(black_box(&headers)).unwrap();
            pepper.verify(&k, Some(black_box(&record)), now).is_ok()
        })
    });
    g.bench_function("floor/aes_256_gcm_open", |b| {
        b.iter(|| cipher.decrypt(&nonce, Payload { msg: black_box(&ciphertext), aad: &aad }).is_ok())
    });
    g.bench_function("ours/unseal", |b| b.iter(|| masters.open(&granted, black_box(&sealed)).is_ok()));
    g.bench_function("ours/whole_decision", |b| {
        b.iter_batched_ref(
            || headers.clone(),
            |h| {
                let k = gate.key(h).unwrap();
                let scope = gate.scope(&k, Some(&record), now).unwrap();
                let loaded = Loaded { binding: &binding, connection: &conn, sealed: &sealed };
                gate.forward(Adapter::OpenAi, &scope, Some(loaded), &call, "/v1/chat/completions", h).is_ok()
            },
            BatchSize::NumIterations(32),
        )
    });
    g.finish();
}

criterion_group!(benches, hosts, headers, sessions, admit, browser, provider);

/// One row of `--ratios`: runs its case `n` times and answers the time.
struct Row<'a> {
    name: &'static str,
    run: Box<dyn FnMut(u64) -> Duration + 'a>,
    iterations: u64,
    ns: Vec<f64>,
}

impl<'a> Row<'a> {
    fn plain<T>(name: &'static str, mut f: impl FnMut() -> T + 'a) -> Self {
        let run = Box::new(move |n: u64| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(f());
            }
            t.elapsed()
        });
        Self { name, run, iterations: 1, ns: Vec::new() }
    }

    /// A case that changes its input: clones of `input` made in batches of
    /// 32 outside the timing, as criterion's `iter_batched_ref` does.
    fn batched<I: Clone + 'a, T>(name: &'static str, input: &'a I, mut f: impl FnMut(&mut I) -> T + 'a) -> Self {
        let run = Box::new(move |n: u64| {
            let mut total = Duration::ZERO;
            let mut left = n;
            while left > 0 {
                let k = left.min(32);
                let mut batch: Vec<I> = (0..k).map(|_| input.clone()).collect();
                let t = Instant::now();
                for x in &mut batch {
                    black_box(f(x));
                }
                total += t.elapsed();
                drop(batch);
                left -= k;
            }
            total
        });
        Self { name, run, iterations: 1, ns: Vec::new() }
    }

    fn median(&self) -> f64 {
        median(self.ns.clone())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `--ratios`: the rows the hot path's targets compare, interleaved.
fn ratios() {
    const ROUNDS: usize = 41;
    let per_round = Duration::from_millis(2);
    let s = session_case();
    let a = admit_case();
    let policy = HostPolicy::default();
    let mut rows = vec![
        Row::plain("session/floor/hmac_and_strict_decode", || s.decode_floor()),
        Row::plain("session/floor/hmac_decode_and_claims", || s.claims_floor()),
        Row::plain("session/ours/valid", || s.ours(&s.token)),
        Row::plain("session/jsonwebtoken/hs256_valid", || s.jsonwebtoken()),
        Row::plain("session/cookie/signed_jar_valid", || s.signed_jar()),
        Row::plain("admit/floor/two_hmac_sha256", || a.two_hmac_floor()),
        Row::batched("admit/floor/five_inserts_20", &a.clean.headers, |h| a.five_inserts(h)),
        Row::batched("admit/ours/two_steps_attested", &a.clean, |p| a.both_steps(&a.attesting, p)),
        Row::batched("admit/ours/two_steps_attested_kept_key", &a.clean, |p| a.both_steps_kept(p)),
        Row::batched("admit/peer/http_cookie_jwt_hmac_attested", &a.jwt_request, |p| a.peer(p)),
        Row::plain("admit/floor/hmac_sha256", || a.hmac_floor()),
        Row::batched("admit/floor/strip_prefix_and_cookie", &a.clean.headers, |h| a.strip_floor(h)),
        Row::plain("admit/step/route", || a.step_route(black_box(&a.clean))),
        Row::plain("admit/step/site", || a.step_site(black_box(&a.clean))),
        Row::plain("admit/step/session", || a.step_session(black_box(&a.clean))),
        Row::batched("admit/step/strip", &a.clean, |p| a.step_strip(p)),
        Row::batched("admit/step/strip_and_inject", &a.clean, |p| a.step_strip_and_inject(p)),
        Row::plain("host/ours/single_level", || policy.parse(black_box("acme-crm.vendo.run")).is_ok()),
        Row::plain("host/http_authority/single_level", || {
            black_box("acme-crm.vendo.run").parse::<http::uri::Authority>().is_ok()
        }),
    ];
    // Calibrate (and warm up): double each row's iterations until a run
    // lasts a round's share.
    for row in &mut rows {
        while (row.run)(row.iterations) < per_round {
            row.iterations *= 2;
        }
    }
    for round in 0..ROUNDS {
        let len = rows.len();
        for i in 0..len {
            let row = &mut rows[(round + i) % len];
            let took = (row.run)(row.iterations);
            row.ns.push(took.as_nanos() as f64 / row.iterations as f64);
        }
    }
    println!("| row | median ns/iteration |");
    println!("|---|---:|");
    for row in &rows {
        println!("| {} | {:.1} |", row.name, row.median());
    }
    let by_name = |name: &str| rows.iter().find(|r| r.name == name).unwrap();
    let ratio = |num: &str, den: &str| {
        let (n, d) = (by_name(num), by_name(den));
        median(n.ns.iter().zip(&d.ns).map(|(a, b)| a / b).collect())
    };
    println!();
    println!("| ratio (median over {ROUNDS} rounds of the same round's times) | value |");
    println!("|---|---:|");
    for (label, num, den) in [
        ("verify / HMAC+decode floor", "session/ours/valid", "session/floor/hmac_and_strict_decode"),
        ("verify / floor with the claims check", "session/ours/valid", "session/floor/hmac_decode_and_claims"),
        ("signed jar / verify", "session/cookie/signed_jar_valid", "session/ours/valid"),
        ("jsonwebtoken / verify", "session/jsonwebtoken/hs256_valid", "session/ours/valid"),
        ("attested admit / two-HMAC floor", "admit/ours/two_steps_attested", "admit/floor/two_hmac_sha256"),
        (
            "attested admit, kept key / two-HMAC floor",
            "admit/ours/two_steps_attested_kept_key",
            "admit/floor/two_hmac_sha256",
        ),
        ("five inserts / two-HMAC floor", "admit/floor/five_inserts_20", "admit/floor/two_hmac_sha256"),
        ("peer / attested admit", "admit/peer/http_cookie_jwt_hmac_attested", "admit/ours/two_steps_attested"),
        (
            "peer / attested admit, kept key",
            "admit/peer/http_cookie_jwt_hmac_attested",
            "admit/ours/two_steps_attested_kept_key",
        ),
        ("host parse / http Authority", "host/ours/single_level", "host/http_authority/single_level"),
    ] {
        println!("| {label} | {:.2}× |", ratio(num, den));
    }
    steps(&by_name);
}

/// The kept-key admit's steps, each timed alone beside its floor, and the
/// budget the "three times faster than the composite peer" target leaves.
fn steps<'r>(by_name: &dyn Fn(&str) -> &'r Row<'r>) {
    let m = |name: &str| by_name(name).median();
    let inject = m("admit/step/strip_and_inject") - m("admit/step/strip");
    let rows = [
        (
            "route key and entry",
            m("admit/step/route"),
            "`http::uri::Authority` parse",
            m("host/http_authority/single_level"),
        ),
        ("site rule (SPEC §3.2)", m("admit/step/site"), "–", 0.0),
        (
            "session cookie verified",
            m("admit/step/session"),
            "HMAC + strict decode",
            m("session/floor/hmac_and_strict_decode"),
        ),
        (
            "strip (SPEC §3 steps 1–3)",
            m("admit/step/strip"),
            "exact-prefix removal + `Cookie` rebuilt",
            m("admit/floor/strip_prefix_and_cookie"),
        ),
        (
            "inject and attest (kept key)",
            inject,
            "five inserts + one HMAC",
            m("admit/floor/five_inserts_20") + m("admit/floor/hmac_sha256"),
        ),
    ];
    println!();
    println!("| attested admit (kept key), step by step | ours ns | floor | floor ns |");
    println!("|---|---:|---|---:|");
    for (step, ours, floor, floor_ns) in rows {
        println!("| {step} | {ours:.1} | {floor} | {floor_ns:.1} |");
    }
    let (ours, floors): (f64, f64) = rows.iter().map(|r| (r.1, r.3)).fold((0.0, 0.0), |a, r| (a.0 + r.0, a.1 + r.1));
    println!("| sum of the steps | {ours:.1} | sum of the floors | {floors:.1} |");
    let whole = m("admit/ours/two_steps_attested_kept_key");
    println!("| the whole admit | {whole:.1} | | |");
    println!();
    println!(
        "A third of the composite peer is {:.1} ns; the floors above sum to {floors:.1} ns.",
        m("admit/peer/http_cookie_jwt_hmac_attested") / 3.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--ratios") {
        ratios();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
