//! Hostile requests and responses between tenants that share the apex,
//! each row naming the attack it stops (SPEC §3.2, §3.3). The expected
//! outcomes are written here by hand; every row is also checked against
//! the reference in `tests/support/site_reference.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/site_reference.rs"]
mod site_reference;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use site_reference::{Field, Refusal, Removal};
use vendo_isolation::headers::{
    CookieRemoval, CrossSiteRequest, check_request_site, filter_response, response_header_verdict,
};
use vendo_isolation::session::{SessionClaims, mint_session};
use vendo_isolation::{Gate, KeyRing, RouteEntry, SessionKey, Timestamp};

const HOST: &str = "acme-crm.vendo.run";
const SESSION: &str = "__Host-vendo_session";
const NOW: u64 = 1_700_000_000;

use CrossSiteRequest::{FetchSite, Origin};

type Row = (&'static str, &'static [(&'static str, &'static str)], Result<(), CrossSiteRequest>);

#[rustfmt::skip]
const REQUESTS: &[Row] = &[
    // Cross-tenant CSRF via a form evil-x.vendo.run auto-submits: same
    // site to the browser, so SameSite=Lax sends Acme's session (measured
    // in Chromium 156).
    ("POST", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document"), ("origin", "https://evil-x.vendo.run")], Err(FetchSite)),
    // The same form as GET is a navigation and opens the tool; a
    // well-behaved tool changes nothing on GET.
    ("GET", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")], Ok(())),
    // fetch() with credentials from a sibling reads the victim's data
    // when the tool answers CORS loosely.
    ("GET", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty"), ("origin", "https://evil-x.vendo.run")], Err(FetchSite)),
    ("POST", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty")], Err(FetchSite)),
    // A sibling frames the tool to click-jack it.
    ("GET", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "iframe")], Err(FetchSite)),
    // <img src> and <script src> GETs that trigger state changes.
    ("GET", &[("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "image")], Err(FetchSite)),
    ("GET", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "script")], Err(FetchSite)),
    // A navigation is GET or HEAD only: a method override is not one.
    ("PUT", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")], Err(FetchSite)),
    // Values a parser might fold into a trusted one.
    ("POST", &[("sec-fetch-site", "same-origin"), ("sec-fetch-site", "same-site")], Err(FetchSite)),
    ("POST", &[("sec-fetch-site", "same-origin, same-site")], Err(FetchSite)),
    ("POST", &[("sec-fetch-site", "same_origin")], Err(FetchSite)),
    ("POST", &[("sec-fetch-site", "")], Err(FetchSite)),
    ("GET", &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document"), ("sec-fetch-dest", "iframe")], Err(FetchSite)),
    // The tool's own pages and typed URLs.
    ("POST", &[("sec-fetch-site", "same-origin")], Ok(())),
    ("POST", &[("sec-fetch-site", "\tSAME-ORIGIN ")], Ok(())),
    ("GET", &[("sec-fetch-site", "none")], Ok(())),
    // Older browsers: the Origin of a sibling's page.
    ("POST", &[("origin", "https://evil-x.vendo.run")], Err(Origin)),
    ("DELETE", &[("origin", "https://evil-x.vendo.run")], Err(Origin)),
    // A sandboxed iframe (or data: URL) on a sibling sends Origin: null.
    ("POST", &[("origin", "null")], Err(Origin)),
    // Userinfo: a naive "host after ://" reads acme-crm.vendo.run.
    ("POST", &[("origin", "https://acme-crm.vendo.run@evil-x.vendo.run")], Err(Origin)),
    // Look-alike hosts that start or end with the tool's host.
    ("POST", &[("origin", "https://acme-crm.vendo.run.evil-x.vendo.run")], Err(Origin)),
    ("POST", &[("origin", "https://evil-acme-crm.vendo.run")], Err(Origin)),
    ("POST", &[("origin", "https://crm.acme-crm.vendo.run")], Err(Origin)),
    // The apex itself is another host.
    ("POST", &[("origin", "https://vendo.run")], Err(Origin)),
    // A URL with a path is not an origin; two origins are not one.
    ("POST", &[("origin", "https://acme-crm.vendo.run/evil")], Err(Origin)),
    ("POST", &[("origin", "https://acme-crm.vendo.run"), ("origin", "https://evil-x.vendo.run")], Err(Origin)),
    // A trailing-dot trick in the Origin that only one dot may cover.
    ("POST", &[("origin", "https://acme-crm.vendo.run..")], Err(Origin)),
    // The tool's own origin, however spelled.
    ("POST", &[("origin", "https://ACME-CRM.vendo.run.:443")], Ok(())),
    ("POST", &[("origin", "http://acme-crm.vendo.run:8080")], Ok(())),
    // Safe methods and preflights pass; non-browser clients send no Origin.
    ("GET", &[("origin", "https://evil-x.vendo.run")], Ok(())),
    ("OPTIONS", &[("origin", "null")], Ok(())),
    ("POST", &[], Ok(())),
];

fn fields(h: &[(&str, &str)]) -> Vec<Field> {
    h.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

fn map(h: &[(&str, &str)]) -> HeaderMap {
    let mut m = HeaderMap::new();
    for (n, v) in h {
        m.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    m
}

fn to_refusal(e: CrossSiteRequest) -> Refusal {
    match e {
        FetchSite => Refusal::FetchSite,
        Origin => Refusal::Origin,
        _ => unreachable!(),
    }
}

#[test]
fn hostile_requests() {
    for (method, headers, want) in REQUESTS {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        assert_eq!(check_request_site(&m, HOST, &map(headers)), *want, "{method} {headers:?}");
        let reference = site_reference::check_site(method.as_bytes(), HOST.as_bytes(), &fields(headers));
        assert_eq!(reference, want.map_err(to_refusal), "reference: {method} {headers:?}");
    }
}

/// The same rows end to end: with a valid session for the route, the gate
/// admits exactly the rows the check passes, and a refused one forwards no
/// identity (forged or real) and no session cookie.
#[test]
fn hostile_requests_through_the_gate() {
    let ring = KeyRing::new(SessionKey::new("k1", &[0x42; 32]).unwrap());
    let now = Timestamp::from_unix_seconds(NOW).unwrap();
    let claims = SessionClaims::new(
        "t_1".parse().unwrap(),
        "d_1".parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
        now,
        now.checked_add_secs(3_600).unwrap(),
    )
    .unwrap();
    let token = mint_session(&claims, &ring);
    let gate = Gate::new(ring);
    let entry = RouteEntry {
        tenant_id: "t_1".parse().unwrap(),
        deployment_id: "d_1".parse().unwrap(),
        tenant_slug: "acme".parse().unwrap(),
        deployment_slug: "crm".parse().unwrap(),
    };
    for (method, headers, want) in REQUESTS {
        let (mut parts, ()) = Request::builder()
            .method(*method)
            .uri("/contacts/42")
            .header("host", HOST)
            .header("cookie", format!("{SESSION}={token}; theme=dark"))
            .header("x-vendo-user-id", "u_admin")
            .body(())
            .unwrap()
            .into_parts();
        for (n, v) in &map(headers) {
            parts.headers.append(n, v.clone());
        }
        match (gate.admit(&mut parts, Some(&entry), now), want) {
            (Ok(_), Ok(())) => assert_eq!(parts.headers["x-vendo-user-id"], "u_1"),
            (Err(denial), Err(_)) => {
                assert_eq!((denial.code(), denial.status().as_u16()), ("cross_site_request", 403));
                assert!(parts.headers.get("x-vendo-user-id").is_none(), "forged identity forwarded");
                assert_eq!(parts.headers["cookie"], "theme=dark", "session forwarded on a denial");
            }
            (got, _) => panic!("{method} {headers:?}: {:?}", got.map(|_| ()).map_err(|d| d.code())),
        }
    }
}

/// `None`: relayed. Names are matched as the tool sent them.
type ResponseRow = (&'static str, &'static str, Option<Removal>);

#[rustfmt::skip]
const RESPONSES: &[ResponseRow] = &[
    // Cookie tossing: one deployment plants a cookie every other tenant's
    // host receives (measured in Chromium 156, HTTP and HTTPS).
    ("set-cookie", "planted=1; Domain=.vendo.run; Path=/", Some(Removal::Domain)),
    ("set-cookie", "planted=1; Domain=vendo.run", Some(Removal::Domain)),
    ("Set-Cookie", "planted=1; domain =VENDO.RUN", Some(Removal::Domain)),
    ("set-cookie", "planted=1;Path=/;\tDOMAIN\t=vendo.run", Some(Removal::Domain)),
    // A sibling's host as Domain reaches it too (and its children).
    ("set-cookie", "planted=1; Domain=evil-x.vendo.run", Some(Removal::Domain)),
    // Quotes do not protect: browsers split attributes on ';' regardless.
    ("set-cookie", "a=\"1; Domain=vendo.run\"", Some(Removal::Domain)),
    // A Domain without a value is ignored by browsers, and removed here.
    ("set-cookie", "a=1; Domain", Some(Removal::Domain)),
    // Session fixation: the tool writes the platform's session cookie.
    ("set-cookie", "__Host-vendo_session=v1.k1.attacker.mac; Path=/; Secure; HttpOnly", Some(Removal::SessionName)),
    // Lower case: servers and older parsers that fold cookie names.
    ("set-cookie", "__host-vendo_session=x; Path=/; Secure", Some(Removal::SessionName)),
    // Shadowing through a name that holds the session's (parsers that
    // split on spaces, RFC 2109 ones).
    ("set-cookie", "x __Host-vendo_session=x", Some(Removal::SessionName)),
    ("set-cookie", "__Host-vendo_session2=x", Some(Removal::SessionName)),
    // Both at once: the graver reason is reported.
    ("set-cookie", "__Host-vendo_session=x; Domain=vendo.run", Some(Removal::SessionName)),
    // RFC 2965 cookies: whatever still parses them must not get any.
    ("Set-Cookie2", "a=1; Version=1; Domain=.vendo.run", Some(Removal::Header)),
    ("set-cookie2", "", Some(Removal::Header)),
    // Identity headers planted for a downstream cache or the browser.
    ("X-Vendo-User-Id", "u_admin", Some(Removal::Header)),
    ("x_vendo_tenant_id", "t_victim", Some(Removal::Header)),
    ("x.vendo.attestation", "v1.a1.0.forged", Some(Removal::Header)),
    // Host-only cookies are the tool's own and pass, __Host- ones too.
    ("set-cookie", "theme=dark; Path=/; Secure; HttpOnly; SameSite=Lax", None),
    ("set-cookie", "__Host-cart=3; Path=/; Secure", None),
    // A cookie named Domain is not the attribute.
    ("set-cookie", "Domain=vendo.run; Path=/", None),
    ("set-cookie", "a=1; Path=/domain=vendo.run", None),
    // The session's name in the value is the tool's business.
    ("set-cookie", "last=__Host-vendo_session", None),
    // Near misses of the namespace and of Set-Cookie pass.
    ("x-vendor-id", "1", None),
    ("set-cookies", "a=1; Domain=vendo.run", None),
    ("content-type", "text/html; charset=utf-8", None),
    ("location", "https://evil-x.vendo.run/?c=__Host-vendo_session", None),
];

fn verdict_of(r: Option<Removal>) -> vendo_isolation::headers::ResponseVerdict {
    use vendo_isolation::headers::ResponseVerdict::{DropCookie, DropHeader, Keep};
    match r {
        None => Keep,
        Some(Removal::SessionName) => DropCookie(CookieRemoval::SessionName),
        Some(Removal::Domain) => DropCookie(CookieRemoval::Domain),
        Some(Removal::Header) => DropHeader,
    }
}

#[test]
fn hostile_responses() {
    for (name, value, want) in RESPONSES {
        let (n, v) = (name.as_bytes(), value.as_bytes());
        assert_eq!(response_header_verdict(n, v, SESSION), verdict_of(*want), "{name}: {value}");
        assert_eq!(site_reference::response_verdict(n, v, SESSION.as_bytes()), *want, "reference: {name}: {value}");
    }
    // All rows in one response: exactly the relayed ones survive, in order.
    let all: Vec<(&str, &str)> = RESPONSES.iter().map(|(n, v, _)| (*n, *v)).collect();
    let mut h = map(&all);
    let report = filter_response(&mut h, SESSION);
    let kept: Vec<(String, &str)> =
        RESPONSES.iter().filter(|r| r.2.is_none()).map(|(n, v, _)| (n.to_ascii_lowercase(), *v)).collect();
    for name in kept.iter().map(|(n, _)| n.as_str()) {
        let want: Vec<&str> = kept.iter().filter(|(n, _)| n == name).map(|(_, v)| *v).collect();
        assert_eq!(h.get_all(name).iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>(), want, "{name}");
    }
    assert_eq!(h.len(), kept.len());
    assert!(report.is_tampering());
    let cookies = RESPONSES.iter().filter(|r| matches!(r.2, Some(Removal::Domain | Removal::SessionName))).count();
    assert_eq!(report.removed_cookies().len(), cookies);
    assert_eq!(report.removed_header_fields(), RESPONSES.iter().filter(|r| r.2 == Some(Removal::Header)).count());
}

/// A tool's honest mistake (a Domain cookie) is removed but is not
/// tampering; touching the session or the namespace is.
#[test]
fn tampering_is_told_apart_from_a_mistake() {
    let rows: [(&[(&str, &str)], bool); 4] = [
        (&[("set-cookie", "a=1; Domain=vendo.run")], false),
        (&[("set-cookie2", "a=1")], false),
        (&[("set-cookie", "__Host-vendo_session=x")], true),
        (&[("x-vendo-user-id", "u")], true),
    ];
    for (headers, tampering) in rows {
        let mut h = map(headers);
        let report = filter_response(&mut h, SESSION);
        assert!(h.is_empty(), "{headers:?}");
        assert_eq!(report.is_tampering(), tampering, "{headers:?}");
    }
}
