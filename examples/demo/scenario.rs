//! The demo's scenario: scripted requests over plain HTTP against the
//! platform of `platform.rs` (a reverse proxy that links the crate, in
//! front of one tool per deployment), one row each.
//!
//! `examples/demo/main.rs` prints the rows; `tests/demo.rs` asserts them.
//! What a tool saw is read from the tools' own records, so "nothing" means
//! the request never reached one.

use http::header::SET_COOKIE;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use crate::platform::{ACME_HOST, EVIL_HOST, GLOBEX_HOST, Options, Platform, send, unix_now};

/// One scripted request and what happened to it.
#[derive(Debug, Clone)]
pub struct Row {
    /// What the request tries.
    pub scenario: &'static str,
    pub method: Method,
    /// The `Host` it was sent with.
    pub host: String,
    /// Where it was sent: `proxy` or `upstream` (straight to a tool).
    pub via: &'static str,
    /// The `origin` and `sec-fetch-*` headers sent: where a browser would
    /// say the request came from.
    pub context: Vec<(String, String)>,
    /// The status the client got.
    pub status: u16,
    /// The proxy's denial code, or the tool's verdict.
    pub decision: String,
    /// The `x-vendo-*` and `cookie` headers the tool received, in order.
    pub upstream_saw: Vec<(String, String)>,
    /// The `Set-Cookie` values the client received.
    pub set_cookies: Vec<String>,
    /// What the proxy's response filter removed from the tool's answer.
    pub filtered: Vec<String>,
}

const ACME_CRM: &str = "d_acme_crm";
const GLOBEX_WIKI: &str = "d_globex_wiki";
const EVIL_X: &str = "d_evil_x";
const INBOX: &str = "/inbox?page=1";

/// Where a scripted request goes.
#[derive(Clone, Copy)]
enum Via {
    Proxy,
    /// Straight to a deployment's tool, around the proxy.
    Tool(&'static str),
}

/// Sends one request and reads what the client got and what the tool
/// and the proxy recorded into a row.
async fn call(
    p: &Platform,
    via: Via,
    scenario: &'static str,
    method: Method,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
) -> Row {
    let (target, via_name) = match via {
        Via::Proxy => (p.addr, "proxy"),
        Via::Tool(deployment) => (p.tool_addr(deployment), "upstream"),
    };
    let body = if method == Method::POST { "amount=5&to=bob" } else { "" };
    let mut req = Request::builder().method(method.clone()).uri(path).body(Full::new(Bytes::from(body))).unwrap();
    req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
    for (n, v) in headers {
        req.headers_mut().append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    let (visits, arrivals) = (p.visits().len(), p.arrivals().len());
    let resp = send(target, req).await.unwrap();
    let status = resp.status().as_u16();
    let set_cookies = resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let seen = p.visits().split_off(visits);
    let decision = match seen.first() {
        Some(visit) => visit.verdict.clone(),
        None => body.lines().find_map(|line| line.strip_prefix("denied: ")).unwrap_or("").to_owned(),
    };
    let upstream_saw = seen.into_iter().flat_map(|v| v.headers).collect();
    let filtered = p.arrivals().split_off(arrivals).into_iter().flat_map(|a| a.removed).collect();
    let context = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("origin") || n.to_ascii_lowercase().starts_with("sec-fetch-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
        .collect();
    Row {
        scenario,
        method,
        host: host.to_owned(),
        via: via_name,
        context,
        status,
        decision,
        upstream_saw,
        set_cookies,
        filtered,
    }
}

async fn get(p: &Platform, scenario: &'static str, host: &str, headers: &[(&str, &str)]) -> Row {
    call(p, Via::Proxy, scenario, Method::GET, INBOX, host, headers).await
}

/// Runs the whole scenario and returns one row per scripted request.
pub async fn run() -> Vec<Row> {
    let mut p = Platform::start(Options::default()).await;
    let now = unix_now();
    let hour_ago = now.saturating_sub_secs(3_600);
    let in_a_day = now.saturating_add_secs(86_400);
    let acme_cookie = p.session_cookie(ACME_CRM, hour_ago, in_a_day);
    let globex_cookie = p.session_cookie(GLOBEX_WIKI, hour_ago, in_a_day);
    let evil_cookie = p.session_cookie(EVIL_X, hour_ago, in_a_day);
    let expired = p.session_cookie(ACME_CRM, now.saturating_sub_secs(7_200), now.saturating_sub_secs(3_600));
    let with_theme = format!("{acme_cookie}; theme=dark");
    let crm = ACME_HOST;
    // What Chromium sends with a form that another deployment's page
    // submits (SPEC §3.2), and with a click on a link there.
    let evil_origin = format!("https://{EVIL_HOST}");
    let own_origin = format!("https://{ACME_HOST}");
    let navigate = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")];
    let from_evil = [("cookie", acme_cookie.as_str()), ("sec-fetch-site", "same-site"), navigate[0], navigate[1]];

    let mut rows = vec![
        get(&p, "valid session", crm, &[("cookie", &with_theme)]).await,
        get(
            &p,
            "forged identity in every spelling",
            crm,
            &[
                ("cookie", &acme_cookie),
                ("X-Vendo-User-Id", "u_admin"),
                ("X_Vendo_User_Id", "u_admin"),
                ("x.vendo.tenant.id", "t_globex"),
                ("X-VENDO-USER-EMAIL", "ceo@acme.example"),
            ],
        )
        .await,
        get(
            &p,
            "Connection nominates x-vendo-user-id",
            crm,
            &[("cookie", &acme_cookie), ("connection", "keep-alive, X-Vendo-User-Id"), ("x-vendo-user-id", "u_admin")],
        )
        .await,
        get(&p, "another tenant's session", crm, &[("cookie", &globex_cookie)]).await,
        get(&p, "expired session", crm, &[("cookie", &expired)]).await,
        get(&p, "no session, forged header", crm, &[("x-vendo-user-id", "u_admin")]).await,
        get(&p, "reserved host", "admin.vendo.run", &[("cookie", &acme_cookie)]).await,
        get(&p, "legacy host, its own tenant's session", GLOBEX_HOST, &[("cookie", &globex_cookie)]).await,
        get(&p, "credits exhausted for that tenant only", GLOBEX_HOST, &[("cookie", &globex_cookie)]).await,
        call(
            &p,
            Via::Proxy,
            "form POST from its own page",
            Method::POST,
            "/transfer",
            crm,
            &[
                ("cookie", &acme_cookie),
                ("sec-fetch-site", "same-origin"),
                navigate[0],
                navigate[1],
                ("origin", &own_origin),
            ],
        )
        .await,
        call(
            &p,
            Via::Proxy,
            "form POST from another tenant's page",
            Method::POST,
            "/transfer",
            crm,
            &[from_evil[0], from_evil[1], from_evil[2], from_evil[3], ("origin", &evil_origin)],
        )
        .await,
        call(
            &p,
            Via::Proxy,
            "form POST from another tenant's page, no Sec-Fetch-*",
            Method::POST,
            "/transfer",
            crm,
            &[("cookie", &acme_cookie), ("origin", &evil_origin)],
        )
        .await,
        get(&p, "link from another tenant's page (top-level GET)", crm, &from_evil).await,
        call(
            &p,
            Via::Proxy,
            "another tenant's tool sets cookies for every host",
            Method::GET,
            "/set-cookies",
            EVIL_HOST,
            &[("cookie", &evil_cookie)],
        )
        .await,
    ];

    // Rename acme's crm to sales: the old hostname stops resolving at once.
    p.rename(ACME_CRM, "sales");
    rows.push(get(&p, "old host after rename", crm, &[("cookie", &acme_cookie)]).await);
    rows.push(get(&p, "new host after rename", "acme-sales.vendo.run", &[("cookie", &acme_cookie)]).await);

    // Straight to the tool, around the proxy, with forged headers.
    rows.push(
        call(
            &p,
            Via::Tool(ACME_CRM),
            "straight to the tool, no attestation",
            Method::GET,
            INBOX,
            ACME_HOST,
            &[("x-vendo-user-id", "u_admin"), ("x-vendo-tenant-id", "t_acme")],
        )
        .await,
    );

    p.check_ledger();
    rows
}
