//! SPEC §3.2 `forward` vectors (requests another deployment's page
//! started) and SPEC §3.3 `filter_response` vectors, generated here and
//! checked in at `tests/vectors/cross_site.jsonl` and
//! `tests/vectors/filter_response.jsonl`; `tests/conformance.rs` replays
//! them through the runner.
//!
//! ```text
//! REGENERATE_VECTORS=1 cargo test --all-features --test site_vectors
//! ```
//!
//! rewrites the files; without the variable, a test fails if a file and
//! the generator disagree. The expected answers come from the SPEC
//! reference in `tests/support/site_reference.rs`, never from the crate;
//! the host, route and session outcomes around the site check are written
//! out by hand from SPEC §2 and §4, and tokens are signed by an HMAC
//! written here from SPEC §4.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "support/site_reference.rs"]
mod site_reference;
#[path = "support/vectors.rs"]
mod vectors;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use site_reference::{Field, check_site, collision_key, filter_response};

const NOW: u64 = 1_700_000_000;
const IAT: u64 = 1_699_990_000;
const EXP: u64 = 1_700_030_000;
const COOKIE: &str = "__Host-vendo_session";
const HOST: &str = "acme-crm.vendo.run";
const EVIL: &str = "https://evil-x.vendo.run";

fn k1() -> Vec<u8> {
    (0u8..32).map(|i| i.wrapping_mul(11).wrapping_add(3)).collect()
}
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SPEC §4, independently of the crate.
fn token(t: &str, d: &str, iat: u64, exp: u64) -> String {
    let claims = format!("{t}\n{d}\nu_1\na@b.io\n{iat}\n{exp}");
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let mut m = Hmac::<Sha256>::new_from_slice(&k1()).unwrap();
    m.update(format!("vendo-session-v1\x00v1.k1.{payload}").as_bytes());
    format!("v1.k1.{payload}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

fn session() -> (&'static str, String) {
    ("cookie", format!("{COOKIE}={}", token("t_1", "d_1", IAT, EXP)))
}

fn route() -> Value {
    json!({"tenant_id": "t_1", "deployment_id": "d_1", "tenant_slug": "acme", "deployment_slug": "crm"})
}

/// What a request is made of, besides the defaults.
struct Req<'a> {
    method: &'a str,
    headers: Vec<(&'a str, String)>,
    over: Value,
}

fn req<'a>(method: &'a str, headers: &[(&'a str, &str)]) -> Req<'a> {
    let mut all = vec![session()];
    all.extend(headers.iter().map(|(n, v)| (*n, (*v).to_owned())));
    Req { method, headers: all, over: json!({}) }
}

fn fields(headers: &[(&str, String)]) -> Vec<Field> {
    headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

/// SPEC §3 steps 1-3 for the only shapes these vectors send: a `Cookie`
/// header that is exactly one session pair goes, the namespace goes,
/// everything else stays.
fn forwarded(headers: &[(&str, String)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (n, v) in headers {
        let name = n.to_ascii_lowercase();
        if collision_key(name.as_bytes()).starts_with(b"x-vendo-") {
            continue;
        }
        if name == "cookie" {
            assert!(!v.contains(';'), "the generator only strips whole session Cookie headers");
            if v.starts_with(&format!("{COOKIE}=")) {
                continue;
            }
        }
        out.push(json!([name, v]));
    }
    out.extend([
        json!(["x-vendo-tenant-id", "t_1"]),
        json!(["x-vendo-deployment-id", "d_1"]),
        json!(["x-vendo-user-id", "u_1"]),
        json!(["x-vendo-user-email", "a@b.io"]),
    ]);
    out
}

struct Forward(Vec<Value>);

impl Forward {
    /// `before`: the refusal SPEC §5 reaches before the site check (host
    /// or route), if any. `after`: the session check's refusal, if any.
    fn add(&mut self, why: &str, r: Req<'_>, before: Option<&str>, after: Option<&str>) {
        let mut line = json!({
            "id": format!("c{}", self.0.len() + 1),
            "op": "forward",
            "method": r.method,
            "host": HOST,
            "apex": "vendo.run",
            "route": route(),
            "headers": r.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "keys": {"k1": hex(&k1())},
            "now": NOW,
            "leeway_s": 60,
            "max_lifetime_s": 86_400,
            "session_cookie": COOKIE,
        });
        for (k, v) in r.over.as_object().unwrap() {
            line[k] = v.clone();
        }
        let host = line["host"].as_str().unwrap().to_owned();
        let site = check_site(r.method.as_bytes(), host.as_bytes(), &fields(&r.headers));
        line["expect"] = match (before, site, after) {
            (Some(code), _, _) => json!({ "error": code }),
            (None, Err(_), _) => json!({"error": "cross_site_request"}),
            (None, Ok(()), Some(code)) => json!({ "error": code }),
            (None, Ok(()), None) => json!({"ok": {"headers": forwarded(&r.headers)}}),
        };
        line["why"] = json!(why);
        self.0.push(line);
    }
}

fn with(mut r: Req<'_>, over: Value) -> Req<'_> {
    r.over = over;
    r
}

const NAV: [(&str, &str); 2] = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")];

fn site(value: &str, more: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut h = vec![("sec-fetch-site", value.to_owned())];
    h.extend(more.iter().map(|(n, v)| (*n, (*v).to_owned())));
    h
}

fn fetch<'a>(method: &'a str, headers: Vec<(&'a str, String)>) -> Req<'a> {
    let mut all = vec![session()];
    all.extend(headers);
    Req { method, headers: all, over: json!({}) }
}

fn forward() -> Vec<Value> {
    let mut v = Forward(Vec::new());
    let evil = [("origin", EVIL)];

    // Fetch Metadata present.
    v.add(
        "the tool's own page posts a form: same-origin passes",
        fetch("POST", site("same-origin", &[("origin", "https://acme-crm.vendo.run")])),
        None,
        None,
    );
    v.add("a typed URL or bookmark: none passes", fetch("GET", site("none", &NAV)), None, None);
    v.add(
        "cross-tenant CSRF measured in Chromium 156: evil-x's form POSTs with the victim's session, same-site",
        fetch(
            "POST",
            site("same-site", &[("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document"), ("origin", EVIL)]),
        ),
        None,
        None,
    );
    v.add(
        "a page on another site posts a form: cross-site",
        fetch("POST", site("cross-site", &[("origin", "https://attacker.example")])),
        None,
        None,
    );
    v.add(
        "a link from a sibling deployment still opens: top-level GET navigation",
        fetch("GET", site("same-site", &NAV)),
        None,
        None,
    );
    v.add("a top-level HEAD navigation from another site passes", fetch("HEAD", site("cross-site", &NAV)), None, None);
    v.add(
        "a sibling frames the tool (clickjacking): navigate with dest iframe is refused",
        fetch("GET", site("same-site", &[("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "iframe")])),
        None,
        None,
    );
    v.add(
        "fetch() with credentials from a sibling: mode cors is refused even for GET",
        fetch("GET", site("same-site", &[("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty"), ("origin", EVIL)])),
        None,
        None,
    );
    v.add(
        "an <img> GET from a sibling: no-cors image is refused",
        fetch("GET", site("same-site", &[("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "image")])),
        None,
        None,
    );
    v.add(
        "values compare ASCII case-insensitively: Same-Site is foreign",
        fetch("POST", site("Same-Site", &[])),
        None,
        None,
    );
    v.add(
        "values compare ASCII case-insensitively: SAME-ORIGIN passes",
        fetch("POST", site("SAME-ORIGIN", &[])),
        None,
        None,
    );
    v.add(
        "values are trimmed of spaces and tabs: padded same-origin passes",
        fetch("DELETE", site(" same-origin\t", &[])),
        None,
        None,
    );
    v.add(
        "navigation values are trimmed and case-insensitive too",
        fetch("GET", site("cross-site", &[("sec-fetch-mode", " Navigate"), ("sec-fetch-dest", "DOCUMENT\t")])),
        None,
        None,
    );
    v.add("an unknown value counts as foreign", fetch("POST", site("same-tenant", &[])), None, None);
    v.add(
        "several Sec-Fetch-Site fields count as foreign, even when both say same-origin",
        fetch("POST", vec![("sec-fetch-site", "same-origin".into()), ("sec-fetch-site", "same-origin".into())]),
        None,
        None,
    );
    v.add(
        "a comma-joined list is several values: foreign",
        fetch("PUT", site("same-origin, cross-site", &[])),
        None,
        None,
    );
    v.add("an empty Sec-Fetch-Site is present and unknown: foreign", fetch("POST", site("", &[])), None, None);
    v.add(
        "a repeated Sec-Fetch-Mode is not a navigation (SPEC silent: exactly once)",
        fetch(
            "GET",
            site(
                "same-site",
                &[("sec-fetch-mode", "navigate"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")],
            ),
        ),
        None,
        None,
    );
    v.add(
        "Sec-Fetch-Site decides alone: same-origin passes whatever Origin says",
        fetch("POST", site("same-origin", &[("origin", EVIL)])),
        None,
        None,
    );

    // No Fetch Metadata: Origin, for unsafe methods only.
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        v.add(
            &format!("older browser, {method} from a sibling's page: foreign Origin"),
            req(method, &evil),
            None,
            None,
        );
    }
    v.add("a sandboxed iframe or data: URL sends Origin null", req("POST", &[("origin", "null")]), None, None);
    v.add(
        "the tool's own origin with its port passes",
        req("POST", &[("origin", "https://acme-crm.vendo.run:443")]),
        None,
        None,
    );
    v.add(
        "the tool's own origin with a trailing dot passes",
        req("POST", &[("origin", "https://acme-crm.vendo.run.")]),
        None,
        None,
    );
    v.add(
        "the tool's own origin in upper case passes",
        req("PATCH", &[("origin", "https://ACME-CRM.Vendo.Run")]),
        None,
        None,
    );
    v.add(
        "another port of the same host passes: hosts are compared without port",
        req("POST", &[("origin", "https://acme-crm.vendo.run:8443")]),
        None,
        None,
    );
    v.add(
        "a request host with port and FQDN dot matches its origin",
        with(req("POST", &[("origin", "https://acme-crm.vendo.run")]), json!({"host": "ACME-CRM.vendo.run.:443"})),
        None,
        None,
    );
    v.add("a GET with a foreign Origin passes: safe method", req("GET", &evil), None, None);
    v.add("a CORS preflight OPTIONS with a foreign Origin passes", req("OPTIONS", &evil), None, None);
    v.add("a HEAD with a foreign Origin passes", req("HEAD", &evil), None, None);
    v.add("a non-browser client POSTs without Origin or Fetch Metadata", req("POST", &[]), None, None);
    v.add("methods are case-sensitive: `get` is not GET and is checked", req("get", &evil), None, None);
    v.add(
        "Origin with userinfo is a URL, not an origin: foreign",
        req("POST", &[("origin", "https://acme-crm.vendo.run@evil-x.vendo.run")]),
        None,
        None,
    );
    v.add(
        "a look-alike host that starts with the tool's host is foreign",
        req("POST", &[("origin", "https://acme-crm.vendo.run.evil-x.vendo.run")]),
        None,
        None,
    );
    v.add(
        "Origin with a path is not an origin: foreign",
        req("POST", &[("origin", "https://acme-crm.vendo.run/")]),
        None,
        None,
    );
    v.add(
        "two Origin headers count as foreign",
        req("POST", &[("origin", "https://acme-crm.vendo.run"), ("origin", "https://acme-crm.vendo.run")]),
        None,
        None,
    );
    v.add(
        "a legacy host's sibling under the same tenant slug is foreign",
        with(req("POST", &[("origin", "https://wiki.acme.vendo.run")]), json!({"host": "crm.acme.vendo.run"})),
        None,
        None,
    );

    // SPEC §5 order around the site check.
    let cross = || fetch("POST", site("same-site", &[("origin", EVIL)]));
    v.add("the host is parsed before the site check", with(cross(), json!({"host": "vendo.run"})), Some("apex"), None);
    v.add(
        "a missing route answers before the site check",
        with(cross(), json!({"route": null})),
        Some("not_found"),
        None,
    );
    v.add(
        "route_mismatch answers before the site check",
        with(
            cross(),
            json!({"route": {"tenant_id": "t_1", "deployment_id": "d_1", "tenant_slug": "acme", "deployment_slug": "sales"}}),
        ),
        Some("route_mismatch"),
        None,
    );
    let no_cookie = |h: Vec<(&'static str, String)>| Req { method: "POST", headers: h, over: json!({}) };
    v.add(
        "cross_site_request answers before no_session",
        no_cookie(site("same-site", &[("origin", EVIL)])),
        None,
        Some("no_session"),
    );
    v.add("cross_site_request answers before expired", with(cross(), json!({"now": EXP + 60})), None, Some("expired"));
    let mut other_tenant = cross();
    other_tenant.headers[0].1 = format!("{COOKIE}={}", token("t_2", "d_1", IAT, EXP));
    v.add("cross_site_request answers before wrong_tenant", other_tenant, None, Some("wrong_tenant"));
    v.add(
        "a request that passes the site check reaches the session check",
        no_cookie(site("same-origin", &[])),
        None,
        Some("no_session"),
    );
    v.0
}

fn response(id: usize, why: &str, headers: &[(&str, &str)], session: Option<&str>) -> Value {
    let list: Vec<Field> = headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
    let kept = filter_response(&list, session.unwrap_or(COOKIE).as_bytes());
    let kept: Vec<Value> = kept
        .iter()
        .map(|(n, v)| json!([String::from_utf8(n.clone()).unwrap(), String::from_utf8(v.clone()).unwrap()]))
        .collect();
    let mut line = json!({
        "id": format!("r{id}"),
        "op": "filter_response",
        "headers": headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
    });
    if let Some(s) = session {
        line["session_cookie"] = json!(s);
    }
    line["expect"] = json!({"ok": {"headers": kept}});
    line["why"] = json!(why);
    line
}

/// `(why, headers, session_cookie)`; `None` leaves the op's default.
type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);

fn responses() -> Vec<Value> {
    let ct = ("content-type", "text/html; charset=utf-8");
    let rows: Vec<Row<'_>> = vec![
        (
            "SPEC example: cookie tossing with Domain={apex}",
            vec![("Set-Cookie", "a=1; Domain=vendo.run"), ("content-type", "text/html")],
            Some(COOKIE),
        ),
        (
            "Domain=.vendo.run reaches every deployment's host (measured in Chromium 156)",
            vec![("set-cookie", "planted=1; Path=/; Domain=.vendo.run; Secure"), ct],
            None,
        ),
        (
            "attribute names compare case-insensitively and are trimmed: domain =VENDO.RUN",
            vec![("set-cookie", "a=1; domain =VENDO.RUN"), ct],
            None,
        ),
        ("no space after ;", vec![("set-cookie", "a=1;DOMAIN=vendo.run"), ct], None),
        ("tabs around the attribute", vec![("set-cookie", "a=1; Path=/;\tDoMaIn\t=\tvendo.run\t"), ct], None),
        (
            "a Domain attribute without a value is still one (SPEC silent: removed)",
            vec![("set-cookie", "a=1; Secure; Domain"), ct],
            None,
        ),
        (
            "even the tool's own host: a tool's cookies are host-only",
            vec![("set-cookie", "a=1; Domain=acme-crm.vendo.run"), ct],
            None,
        ),
        (
            "a quoted value does not hide a Domain attribute: browsers split on ; too",
            vec![("set-cookie", "a=\"x; Domain=vendo.run\""), ct],
            None,
        ),
        (
            "a cookie named Domain is host-only and kept",
            vec![("set-cookie", "Domain=vendo.run; Path=/; Secure"), ct],
            None,
        ),
        (
            "attributes that merely contain the word are not Domain",
            vec![("set-cookie", "a=1; Path=/domain; xdomain=vendo.run; Domains=x"), ct],
            None,
        ),
        (
            "session fixation: the tool sets the platform's session cookie",
            vec![("set-cookie", "__Host-vendo_session=v1.k1.attacker.mac; Path=/; Secure; HttpOnly"), ct],
            None,
        ),
        (
            "the session name in lower case (__host-vendo_session) is removed",
            vec![("set-cookie", "__host-vendo_session=x; Path=/; Secure"), ct],
            None,
        ),
        ("the session name in upper case", vec![("set-cookie", "__HOST-VENDO_SESSION=x; Path=/; Secure"), ct], None),
        (
            "the session name as a substring of a longer name",
            vec![("set-cookie", "x__Host-vendo_sessionx=1; Path=/"), ct],
            None,
        ),
        ("the session name padded with spaces before =", vec![("set-cookie", " __Host-vendo_session =x"), ct], None),
        ("a bare pair without = is its own name", vec![("set-cookie", "__Host-vendo_session; Path=/"), ct], None),
        (
            "the session name in a cookie's value does not make it the session cookie",
            vec![("set-cookie", "ref=__Host-vendo_session; Path=/"), ct],
            None,
        ),
        (
            "a tool's own __Host- cookie is host-only by construction and kept",
            vec![("set-cookie", "__Host-theme=dark; Path=/; Secure"), ct],
            None,
        ),
        (
            "__Secure-vendo_session does not contain the session name: kept",
            vec![("set-cookie", "__Secure-vendo_session=x; Secure"), ct],
            None,
        ),
        ("Set-Cookie2 (RFC 2965) is removed whatever it says", vec![("Set-Cookie2", "a=1; Version=1"), ct], None),
        (
            "X-Vendo-User-Id planted for a downstream cache or the browser is removed",
            vec![("X-Vendo-User-Id", "u_admin"), ("x_vendo_tenant_id", "t_2"), ("x.vendo.attestation", "v1.x"), ct],
            None,
        ),
        ("near misses of the namespace pass", vec![("x-vendor-id", "1"), ("x-vendo", "2"), ("xx-vendo-a", "3")], None),
        (
            "the kept Set-Cookie values keep their order",
            vec![
                ("set-cookie", "a=1; Path=/"),
                ("set-cookie", "b=2; Domain=vendo.run"),
                ("set-cookie", "c=3; HttpOnly"),
                ("set-cookie", "__Host-vendo_session=x"),
                ("set-cookie", "d=4"),
            ],
            None,
        ),
        (
            "other headers pass unchanged, even when they mention Domain or the session",
            vec![
                ("Cache-Control", "no-store"),
                ("Location", "/login?next=__Host-vendo_session; Domain=vendo.run"),
                ("Vary", "Cookie"),
                ("link", "<https://evil-x.vendo.run>; rel=preconnect"),
                ("set-cookie", "ok=1; SameSite=Lax"),
            ],
            None,
        ),
        (
            "a custom session cookie: its name in any case goes, the default name is an ordinary cookie",
            vec![
                ("set-cookie", "sid=1"),
                ("set-cookie", "SID=2"),
                ("set-cookie", "__Host-vendo_session=3"),
                ("set-cookie", "xsidx=4"),
            ],
            Some("sid"),
        ),
        (
            "SPEC's name is the text before the first '=', past a ';': a session name there goes too",
            vec![
                ("set-cookie", "a; __Host-vendo_session=1"),
                ("set-cookie", "b; Path=/"),
                ("content-type", "text/html"),
            ],
            None,
        ),
        ("an empty response passes empty", vec![], None),
    ];
    rows.into_iter().enumerate().map(|(i, (why, h, s))| response(i + 1, why, &h, s)).collect()
}

#[test]
fn cross_site_vectors_match_generator() {
    vectors::check_or_regenerate("cross_site.jsonl", &forward());
}

#[test]
fn filter_response_vectors_match_generator() {
    vectors::check_or_regenerate("filter_response.jsonl", &responses());
}

#[test]
fn vectors_reach_every_outcome() {
    let f = forward();
    let r = responses();
    assert!(f.len() >= 25 && r.len() >= 25, "{} forward, {} filter_response", f.len(), r.len());
    let codes: std::collections::BTreeSet<&str> =
        f.iter().map(|l| l["expect"]["error"].as_str().unwrap_or("ok")).collect();
    for code in ["ok", "cross_site_request", "apex", "not_found", "route_mismatch", "no_session"] {
        assert!(codes.contains(code), "no forward vector answers {code}");
    }
    // Both §3.2 rules refuse, and both let something through.
    let rule = |l: &Value| {
        let site = l["headers"].as_array().unwrap().iter().any(|h| h[0] == "sec-fetch-site");
        (site, l["expect"]["error"] == "cross_site_request")
    };
    for want in [(true, true), (true, false), (false, true), (false, false)] {
        assert!(f.iter().any(|l| rule(l) == want), "no vector for (fetch metadata, refused) = {want:?}");
    }
    // Every filter_response vector but the empty one keeps or drops something.
    let dropped = r
        .iter()
        .filter(|l| l["expect"]["ok"]["headers"].as_array().unwrap().len() < l["headers"].as_array().unwrap().len());
    assert!(dropped.count() >= 15);
}
