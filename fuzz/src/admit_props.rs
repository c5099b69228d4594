//! `Gate::admit` and `Gate::admit_headers`: the decision is SPEC §5's
//! `forward` order over the components (the §3.2 site check between the
//! route and the session cookie), a forwarded request carries exactly the
//! verified session's identity, and a denied one carries nothing of the
//! namespace, no nomination of it and no session cookie.

use std::sync::OnceLock;

use http::header::HOST;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use vendo_isolation::attestation::AttestationVerifier;
use vendo_isolation::headers::{ATTESTATION_HEADER, IDENTITY_HEADERS};
use vendo_isolation::hosts::authority_of;
use vendo_isolation::session::SESSION_COOKIE_NAME;
use vendo_isolation::{AttestationSecret, Gate, HostPolicy, RouteEntry, Timestamp};

use super::fixture::{Fixture, options};
use super::reference::{self, Claims, Field, group};
use super::strip_props::{assert_clean, build_map, grouped};

const ATTESTATION_SECRET: [u8; 32] = [0x66; 32];

/// How the request reaches the gate.
#[derive(Debug, Clone)]
pub enum Via {
    /// `admit_headers(host, headers)`: no attestation.
    Headers,
    /// `admit(parts)`: `host` becomes a `Host` header in front of the
    /// others; `uri` is the request-target (origin or absolute form).
    Parts {
        /// Whether the gate signs an attestation.
        attest: bool,
        /// The request-target; `/` when `http` cannot parse it.
        uri: Vec<u8>,
    },
}

/// One request.
#[derive(Debug, Clone)]
pub struct AdmitCase {
    /// The method.
    pub method: Method,
    /// The host as sent.
    pub host: Vec<u8>,
    /// The entry the caller's store returned.
    pub route: Option<RouteEntry>,
    /// Fields in order (cookies, forged identity, `Connection`, others).
    pub fields: Vec<Field>,
    /// Unix seconds.
    pub now: u64,
    /// Index into [`super::fixture::options`].
    pub options: u8,
    /// How the gate is called.
    pub via: Via,
}

fn gates() -> &'static [[Gate; 2]; 4] {
    static G: OnceLock<[[Gate; 2]; 4]> = OnceLock::new();
    G.get_or_init(|| {
        std::array::from_fn(|o| {
            let gate = || Gate::new(Fixture::ring()).with_verify_options(options(o as u8).0);
            let secret = AttestationSecret::new("a1", &ATTESTATION_SECRET).unwrap();
            [gate(), gate().with_attestation(secret)]
        })
    })
}

/// The first refusal in SPEC §5 `forward` order, from the components:
/// authority and host parsing (the crate's, fuzzed on their own), the
/// route rebuild, the site check, the session cookie and verification
/// (the reference). `fields` are the request's header fields.
fn expected(case: &AdmitCase, host: &str, fields: &[Field], cookies: &[&[u8]]) -> Result<Claims, String> {
    let key = HostPolicy::default().parse(host).map_err(|e| e.code().to_owned())?;
    let entry = case.route.as_ref().ok_or("not_found")?;
    let (t, d) = (entry.tenant_slug.as_str(), entry.deployment_slug.as_str());
    let rebuilt = match key.legacy_parts() {
        Some(_) => format!("{d}.{t}"),
        None => format!("{t}-{d}"),
    };
    if rebuilt != key.as_str() {
        return Err("route_mismatch".into());
    }
    reference::site::check_site(case.method.as_str().as_bytes(), host.as_bytes(), fields)
        .map_err(|_| "cross_site_request")?;
    let token = reference::find_session(cookies, SESSION_COOKIE_NAME.as_bytes())?;
    let model = options(case.options).1;
    let f = Fixture::get();
    reference::verify(&token, &f.keys, case.now, entry.tenant_id.as_str(), entry.deployment_id.as_str(), &model)
        .map(|a| a.claims)
        .map_err(str::to_owned)
}

/// The property. Returns `admitted` or the denial's code.
pub fn check(case: &AdmitCase) -> String {
    let (headers, mut fields) = build_map(&case.fields);
    let now = Timestamp::from_unix_seconds(case.now).unwrap();
    let attest = matches!(case.via, Via::Parts { attest: true, .. });
    let gate = &gates()[usize::from(case.options % 4)][usize::from(attest)];

    let (result, after, parts) = match &case.via {
        Via::Headers => {
            let host = String::from_utf8_lossy(&case.host).into_owned();
            let cookies: Vec<&[u8]> = headers.get_all("cookie").iter().map(HeaderValue::as_bytes).collect();
            // A `Host` field in the map must be single and equal the host
            // routed on (the tool reads it), before anything else.
            let hosts: Vec<&Field> = fields.iter().filter(|(n, _)| n.as_slice() == b"host").collect();
            let want = match hosts.as_slice() {
                [_, _, ..] => Err("duplicate_host".to_owned()),
                [(_, v)] if !v.eq_ignore_ascii_case(host.as_bytes()) => Err("host_mismatch".to_owned()),
                _ => expected(case, &host, &fields, &cookies),
            };
            let mut map = headers.clone();
            let got = gate.admit_headers(&case.method, &host, &mut map, case.route.as_ref(), now);
            ((got, want), map, None)
        }
        Via::Parts { uri, .. } => {
            let mut req = Request::builder().method(case.method.clone());
            req = req.uri(Uri::try_from(uri.as_slice()).unwrap_or_else(|_| Uri::from_static("/")));
            let (mut parts, ()) = req.body(()).unwrap().into_parts();
            if let Ok(h) = HeaderValue::from_bytes(&case.host) {
                parts.headers.append(HOST, h);
                fields.insert(0, (b"host".to_vec(), case.host.clone()));
            }
            for (n, v) in &headers {
                parts.headers.append(n, v.clone());
            }
            let cookies: Vec<&[u8]> = headers.get_all("cookie").iter().map(HeaderValue::as_bytes).collect();
            let want = match authority_of(&parts.uri, &parts.headers) {
                Err(e) => Err(e.code().to_owned()),
                Ok(host) => expected(case, host, &fields, &cookies),
            };
            let got = gate.admit(&mut parts, case.route.as_ref(), now);
            let map = parts.headers.clone();
            ((got, want), map, Some(parts))
        }
    };
    let (got, want) = result;
    let cookie = SESSION_COOKIE_NAME.as_bytes();
    let mut expected_map = group(&reference::strip(&fields, cookie).fields);

    match (&got, &want) {
        (Ok(admitted), Ok(claims)) => {
            let s = admitted.session();
            let entry = case.route.as_ref().unwrap();
            assert_eq!((s.tenant_id(), s.deployment_id()), (entry.tenant_id.as_str(), entry.deployment_id.as_str()));
            assert_eq!((s.user_id(), s.email()), (claims.user.as_str(), claims.email.as_str()));
            let values = [&claims.tenant, &claims.deployment, &claims.user, &claims.email];
            for (name, value) in IDENTITY_HEADERS.iter().zip(values) {
                let all: Vec<_> = after.get_all(name).iter().collect();
                assert_eq!(all.len(), 1, "{name} not exactly once");
                assert!(all[0].is_sensitive(), "{name} not sensitive");
                expected_map.insert(name.as_str().as_bytes().to_vec(), vec![value.as_bytes().to_vec()]);
            }
            let mut allowed = IDENTITY_HEADERS.to_vec();
            if attest {
                allowed.push(ATTESTATION_HEADER);
                let parts: &Parts = parts.as_ref().unwrap();
                let secret = AttestationSecret::new("a1", &ATTESTATION_SECRET).unwrap();
                let verifier = AttestationVerifier::new(secret.deployment_key(&entry.deployment_id));
                let who = verifier.verify(parts, now).unwrap_or_else(|e| panic!("attestation refused: {}", e.code()));
                assert_eq!((who.user_id(), who.deployment_id()), (claims.user.as_str(), claims.deployment.as_str()));
                let attestation = after.get(ATTESTATION_HEADER).unwrap().as_bytes().to_vec();
                expected_map.insert(ATTESTATION_HEADER.as_str().as_bytes().to_vec(), vec![attestation]);
            }
            assert_clean(&after, cookie, &allowed);
        }
        (Err(denial), Err(code)) => {
            assert_eq!(denial.code(), code, "first refusal differs");
            let status = denial.status();
            match code.as_str() {
                "wrong_tenant" | "wrong_deployment" | "cross_site_request" => {
                    assert_eq!(status, StatusCode::FORBIDDEN);
                }
                "not_found" | "route_mismatch" | "not_under_apex" | "apex" | "reserved" => {
                    assert_eq!(status, StatusCode::NOT_FOUND);
                }
                "no_session" | "duplicate_session" | "malformed" | "unknown_key" | "bad_signature" | "bad_claims"
                | "lifetime_too_long" | "not_yet_valid" | "expired" | "revoked" => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED);
                }
                _ => assert_eq!(status, StatusCode::BAD_REQUEST, "{code}"),
            }
            assert_clean(&after, cookie, &[]);
        }
        _ => panic!(
            "gate {:?} vs components {:?}",
            got.as_ref().map(|a| a.session().user_id().to_owned()).map_err(|d| d.code()),
            want.as_ref().map(|c| c.user.clone()),
        ),
    }
    // Whatever the outcome, everything outside the namespace, the session
    // cookie and the nominations survives exactly.
    assert_eq!(grouped(&after), expected_map, "forwarded fields differ from SPEC §3");
    got.map_or_else(|d| d.code().to_owned(), |_| "admitted".to_owned())
}

/// Names a forged identity header may be spelled with: every fold a
/// framework applies (`_`, `.`, case), and near misses that must survive.
pub const FORGED_NAMES: [&str; 12] = [
    "x-vendo-user-id",
    "X-Vendo-Tenant-Id",
    "x_vendo_user_id",
    "X.VENDO.DEPLOYMENT.ID",
    "x-vendo_user.email",
    "x-vendo-attestation",
    "x-vendo-",
    "x_vendo_role",
    "x-vendor-id",
    "x-vendo",
    "xx-vendo-user-id",
    "x-vendo--user-id",
];

/// The host choices a request may carry.
pub fn host(index: u8, raw: &[u8]) -> Vec<u8> {
    let fixed: &[&str] = &[
        "acme-crm.vendo.run",
        "ACME-CRM.Vendo.Run",
        "acme-crm.vendo.run.",
        "acme-crm.vendo.run:443",
        "crm.acme.vendo.run",
        "acme-crm-x.vendo.run",
        "admin.vendo.run",
        "vendo.run",
        "acme-crm.evilvendo.run",
        "a.crm.acme.vendo.run",
        "127.0.0.1",
        "[::1]:443",
        "acme-crm.vendo.run:0",
        "acme_crm.vendo.run",
        "xn--acme.vendo.run",
        "acme-crm.vendo.run\u{0}",
    ];
    match fixed.get(usize::from(index)) {
        Some(h) => h.as_bytes().to_vec(),
        None => raw.to_vec(),
    }
}

/// A field name from [`FORGED_NAMES`].
pub fn forged_name(index: u8) -> HeaderName {
    HeaderName::from_bytes(FORGED_NAMES[usize::from(index) % FORGED_NAMES.len()].as_bytes()).unwrap()
}
