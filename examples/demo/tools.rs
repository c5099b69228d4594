//! The tool every deployment runs: it checks the proxy's attestation with
//! its own deployment key, records what it received, and serves a few
//! pages. A hostile deployment's tool also serves the attacks on another
//! tenant's host: a page that posts a form there, and an answer that tries
//! to plant cookies on every host under the apex.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use vendo_isolation::attestation::AttestationVerifier;
use vendo_isolation::headers::SET_COOKIE2;

use super::{Site, text, unix_now};

/// What a tool received: one request, as it arrived from the proxy (or
/// from whoever reached the tool directly).
#[derive(Debug, Clone)]
pub struct Visit {
    pub deployment: &'static str,
    pub method: String,
    pub target: String,
    /// `attested`, or why the attestation was refused.
    pub verdict: String,
    /// The `x-vendo-*` (any spelling) and `cookie` headers, in order; the
    /// attestation's value is shown as `(signed)`.
    pub headers: Vec<(String, String)>,
    pub sec_fetch_site: Option<String>,
    pub origin: Option<String>,
    pub body: String,
}

impl Visit {
    /// The value of a recorded header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Visits(pub Arc<Mutex<Vec<Visit>>>);

/// What a hostile tool answers on `/set-cookies`: a cookie for the whole
/// apex (cookie tossing), a session cookie of its own, and a harmless
/// host-only cookie that must pass.
pub const PLANTED: [&str; 3] =
    ["planted=1; Domain=vendo.run", "__Host-vendo_session=forged; Path=/; Secure", "pref=1; Path=/"];

/// Added on `/set-cookies?every-spelling`: the same attempts spelled the
/// ways a filter matching exact strings would miss.
pub const EVERY_SPELLING: [&str; 3] = [
    // A session cookie for every host; a browser refuses `__Host-` with a
    // Domain, but the proxy must not count on it.
    "__Host-vendo_session=forged; Domain=vendo.run; Path=/; Secure",
    // Another case, without the prefix's constraints.
    "__host-VENDO_SESSION=forged; Path=/",
    // The attribute's name and value in other cases, a leading dot.
    "planted2=1; path=/; domain=.VENDO.RUN",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html(body: String) -> Response<Full<Bytes>> {
    let mut r = text(StatusCode::OK, format!("<!doctype html><meta charset=utf-8>{body}"));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

/// The `name: value` lines of what the tool received, after its verdict.
fn echo(verdict: &str, headers: &[(String, String)]) -> String {
    let mut body = format!("verdict: {verdict}\n");
    for (n, v) in headers {
        body.push_str(&format!("{n}: {v}\n"));
    }
    body
}

fn form_field<'b>(body: &'b str, name: &str) -> &'b str {
    body.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).unwrap_or("")
}

pub async fn tool(
    site: &'static Site,
    verifier: Arc<AttestationVerifier>,
    visits: Visits,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let who = verifier.verify(&parts, unix_now());
    let verdict = match &who {
        Ok(_) => "attested".to_owned(),
        Err(e) => format!("refused: {}", e.code()),
    };
    let mut headers = Vec::new();
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if n.starts_with("x-vendo-") || n.starts_with("x_vendo") || n.starts_with("x.vendo") || n == "cookie" {
            let v = if n == "x-vendo-attestation" { "(signed)" } else { value.to_str().unwrap_or("?") };
            headers.push((n.to_owned(), v.to_owned()));
        }
    }
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    visits.0.lock().unwrap().push(Visit {
        deployment: site.deployment,
        method: parts.method.to_string(),
        target: target.clone(),
        verdict: verdict.clone(),
        headers: headers.clone(),
        sec_fetch_site: header("sec-fetch-site"),
        origin: header("origin"),
        body: body.clone(),
    });
    let Ok(who) = who else {
        return Ok(text(StatusCode::UNAUTHORIZED, echo(&verdict, &headers)));
    };
    let user = escape(who.user_id());
    let path = parts.uri.path();
    Ok(match (&parts.method, path, site.attacks) {
        (&Method::GET, "/", attacks) => {
            let link = attacks
                .map(|host| format!("<p><a id=go href=\"https://{host}/?from={}\">Open {host}</a>", site.host))
                .unwrap_or_default();
            html(format!(
                "<title>{host}</title><h1>{host}</h1><p id=who>{user} of {tenant}</p>\
                 <form method=post action=/transfer><input name=amount value=5><input name=to value=bob>\
                 <button id=send>Send 5 credits to bob</button></form>{link}",
                host = site.host,
                tenant = escape(who.tenant_id()),
            ))
        }
        (&Method::POST, "/transfer", _) => html(format!(
            "<p id=done>{user} sent {} to {}</p>",
            escape(form_field(&body, "amount")),
            escape(form_field(&body, "to")),
        )),
        // Loads, then posts a form to the other tenant's host at once.
        (&Method::GET, "/attack", Some(host)) => html(format!(
            "<body onload=\"document.forms[0].submit()\"><form method=post action=\"https://{host}/transfer\">\
             <input type=hidden name=amount value=1000><input type=hidden name=to value=mallory></form>"
        )),
        (&Method::GET, "/set-cookies", Some(_)) => {
            let mut r = text(StatusCode::OK, echo(&verdict, &headers));
            let every = parts.uri.query() == Some("every-spelling");
            let extra = if every { &EVERY_SPELLING[..] } else { &[] };
            for c in PLANTED.iter().chain(extra) {
                r.headers_mut().append(SET_COOKIE, HeaderValue::from_static(c));
            }
            if every {
                r.headers_mut().append(SET_COOKIE2, HeaderValue::from_static("planted3=1; Domain=vendo.run"));
                r.headers_mut().append("X_Vendo_User_Id", HeaderValue::from_static("u_admin"));
            }
            r
        }
        _ => text(StatusCode::OK, echo(&verdict, &headers)),
    })
}
