//! Allocation budgets on the hot path, counted by a global allocator
//! (never timed: machines are noisy, allocation counts are not).
//!
//! - session verification: 0, valid or not (`tests/session_alloc.rs`);
//! - stripping a clean request: 0;
//! - the full two-step admit of a browser request: at most 6;
//! - filtering a clean tool response (SPEC §3.3): 0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::count;
use http::request::Parts;
use http::{HeaderName, HeaderValue};
use vendo_isolation::headers::{filter_response, strip};
use vendo_isolation::session::{SESSION_COOKIE_NAME, SessionClaims, mint_session};
use vendo_isolation::{AttestationSecret, Gate, KeyRing, RouteEntry, SessionKey, Timestamp};

const NOW: u64 = 1_700_000_000;

fn ring() -> KeyRing {
    KeyRing::new(SessionKey::new("k1", &[0x42; 32]).unwrap())
}

fn token() -> String {
    let claims = SessionClaims::new(
        "t_01HZX3K9Q8".parse().unwrap(),
        "d_01HZX3M2RT".parse().unwrap(),
        "u_01HZX3P5VW".parse().unwrap(),
        "ada.lovelace@example.com".parse().unwrap(),
        Timestamp::from_unix_seconds(NOW - 3_600).unwrap(),
        Timestamp::from_unix_seconds(NOW + 20_000).unwrap(),
    )
    .unwrap();
    mint_session(&claims, &ring())
}

fn entry() -> RouteEntry {
    RouteEntry {
        tenant_id: "t_01HZX3K9Q8".parse().unwrap(),
        deployment_id: "d_01HZX3M2RT".parse().unwrap(),
        tenant_slug: "acme".parse().unwrap(),
        deployment_slug: "crm".parse().unwrap(),
    }
}

fn browser_request(cookie: &str, spoof: bool) -> Parts {
    let (mut parts, ()) = http::Request::get("/contacts?page=3").body(()).unwrap().into_parts();
    let rows = [
        ("host", "acme-crm.vendo.run"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("accept-language", "en-GB,en;q=0.5"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("referer", "https://acme-crm.vendo.run/contacts?page=2"),
        ("connection", "keep-alive"),
        ("cookie", cookie),
        ("upgrade-insecure-requests", "1"),
        ("sec-fetch-dest", "document"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-user", "?1"),
        ("priority", "u=0, i"),
        ("pragma", "no-cache"),
        ("cache-control", "no-cache"),
        ("dnt", "1"),
        ("te", "trailers"),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-request-id", "6f1c2a9e-5b1d-4c1e-9f5e-3a7b2c1d0e9f"),
    ];
    for (n, v) in rows {
        parts.headers.append(HeaderName::from_static(n), HeaderValue::from_str(v).unwrap());
    }
    if spoof {
        for n in ["x-vendo-user-id", "x_vendo_user_id", "x.vendo.tenant.id"] {
            parts.headers.append(HeaderName::from_static(n), HeaderValue::from_static("evil"));
        }
    }
    parts
}

#[test]
fn stripping_a_clean_request_allocates_nothing() {
    // Clean: nothing in the namespace and no session cookie to cut out.
    let mut parts = browser_request("theme=dark; _ga=GA1.2.1234567890.1700000000", false);
    let (report, n) = count(|| strip(&mut parts.headers, SESSION_COOKIE_NAME).into_report());
    assert!(!report.is_spoofing());
    assert_eq!(n, 0);
}

#[test]
fn full_admit_stays_within_six_allocations() {
    let token = token();
    let now = Timestamp::from_unix_seconds(NOW).unwrap();
    let entry = entry();
    let cookie = format!("{SESSION_COOKIE_NAME}={token}; theme=dark; _ga=GA1.2.1234567890.1700000000");
    let plain = Gate::new(ring());
    let attesting = Gate::new(ring()).with_attestation(AttestationSecret::new("a1", &[7; 32]).unwrap());
    // Exact counts, so a new allocation shows up here before it eats the
    // budget: the re-joined Cookie value and one shared buffer (2) for the
    // injected values; with attestation the 20-header map grows (2); a
    // spoofed request adds the report of what was removed (1).
    let cases =
        [("plain", &plain, false, 3), ("attested", &attesting, false, 5), ("attested, spoofed", &attesting, true, 6)];
    for (label, gate, spoof, expected) in cases {
        let mut parts = browser_request(&cookie, spoof);
        let (admitted, n) = count(|| {
            let found = gate.route_key(&parts).map(|k| k.as_str() == "acme-crm").unwrap();
            gate.admit(&mut parts, found.then_some(&entry), now)
        });
        let admitted = admitted.unwrap();
        assert_eq!(admitted.report().is_spoofing(), spoof);
        assert_eq!(n, expected, "admit ({label}) allocations");
        assert!(n <= 6, "admit ({label}) made {n} allocations, budget 6");
        assert_eq!(parts.headers["x-vendo-user-id"], "u_01HZX3P5VW");
    }
}

#[test]
fn filtering_a_clean_response_allocates_nothing() {
    // What a tool typically answers: nothing in the namespace, no
    // Set-Cookie2, host-only cookies that do not name the session.
    let rows = [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "private, no-store"),
        ("set-cookie", "theme=dark; Path=/; Secure; HttpOnly; SameSite=Lax"),
        ("set-cookie", "__Host-cart=3; Path=/; Secure"),
        ("vary", "Cookie"),
        ("content-length", "5120"),
    ];
    let mut headers = http::HeaderMap::new();
    for (n, v) in rows {
        headers.append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    let before = headers.clone();
    let (report, n) = count(|| filter_response(&mut headers, SESSION_COOKIE_NAME));
    assert!(report.is_empty());
    assert_eq!(n, 0, "filter_response allocations on a clean response");
    let gate = Gate::new(ring());
    let (report, n) = count(|| gate.filter_response(&mut headers));
    assert!(report.is_empty());
    assert_eq!(n, 0, "Gate::filter_response allocations on a clean response");
    assert_eq!(headers, before);
}
