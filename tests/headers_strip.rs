//! One named test per header-spoofing attack (SPEC §3), each naming the
//! advisory it comes from.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/reference.rs"]
mod reference;

use http::{HeaderMap, HeaderName, HeaderValue};
use reference::is_managed_name;
use vendo_isolation::headers::{Identity, StripReport, strip, strip_request};

const SESSION: &str = "__Host-vendo_session";

/// Builds a map from raw name bytes, the way a server parses the wire.
fn raw(pairs: &[(&[u8], &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(HeaderName::from_bytes(n).unwrap(), HeaderValue::from_bytes(v).unwrap());
    }
    h
}

fn values<'h>(h: &'h HeaderMap, name: &str) -> Vec<&'h [u8]> {
    h.get_all(name).iter().map(HeaderValue::as_bytes).collect()
}

fn no_managed(h: &HeaderMap) {
    for name in h.keys() {
        assert!(!is_managed_name(name.as_str().as_bytes()), "{name} survived");
    }
}

fn identity() -> Identity {
    Identity::for_tests(
        "t_1".parse().unwrap(),
        "d_1".parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
    )
}

fn strip_all(h: &mut HeaderMap) -> StripReport {
    strip(h, SESSION).into_report()
}

#[test]
fn underscore_alias_is_stripped() {
    // oauth2-proxy GHSA-vjrc-mh2v-45x6 / CVE-2025-64484: `X_Forwarded_Email`
    // passed the exact-name filter and the backend folded `_` into `-`.
    let mut h = raw(&[(b"X_Vendo_User_Id", b"victim"), (b"x_vendo_tenant_id", b"t_victim")]);
    let r = strip_all(&mut h);
    no_managed(&h);
    assert_eq!(r.removed_headers().len(), 2);
    assert!(r.is_spoofing());
}

#[test]
fn dot_alias_is_stripped() {
    // Traefik GHSA-rf44-j88r-hh8c: `.` in a header name folded to `-`
    // downstream.
    let mut h = raw(&[(b"X.Vendo.User.Id", b"victim"), (b"x-vendo.tenant_id", b"t")]);
    strip_all(&mut h);
    no_managed(&h);
    assert!(h.is_empty());
}

#[test]
fn mixed_spellings_are_all_stripped() {
    // Every spelling of one header at once: none may survive because a
    // sibling was removed first.
    let mut h = raw(&[
        (b"x-vendo-user-id", b"a"),
        (b"X_VENDO_USER_ID", b"b"),
        (b"x.vendo.user.id", b"c"),
        (b"x-vendo_user.id", b"d"),
        (b"accept", b"*/*"),
    ]);
    let r = strip_all(&mut h);
    no_managed(&h);
    assert_eq!(r.removed_headers().len(), 4);
    assert_eq!(r.removed_header_fields(), 4);
    assert_eq!(values(&h, "accept"), [b"*/*"]);
}

#[test]
fn upper_case_from_raw_bytes_is_stripped() {
    // Traefik GHSA-qr99-7898-vr7c: a case-sensitive comparison missed
    // `X-VENDO-…`. `http` lowercases names; this pins that the raw bytes
    // path gets there and is stripped.
    let mut h = raw(&[(b"X-VENDO-USER-ID", b"victim"), (b"X-Vendo-User-Email", b"v@x.io")]);
    assert!(h.contains_key("x-vendo-user-id"));
    let r = strip_all(&mut h);
    assert!(h.is_empty());
    assert_eq!(r.removed_headers(), ["x-vendo-user-id", "x-vendo-user-email"]);
}

#[test]
fn duplicate_values_are_all_stripped() {
    // A filter that removes only the first value (`HeaderMap::remove`
    // semantics misread) leaves the second for the backend to read.
    let mut h = raw(&[(b"x-vendo-user-id", b"a"), (b"x-vendo-user-id", b"b"), (b"x-vendo-user-id", b"c")]);
    let r = strip_all(&mut h);
    assert!(h.is_empty());
    assert_eq!(r.removed_headers().len(), 1);
    assert_eq!(r.removed_header_fields(), 3);
}

#[test]
fn empty_values_are_stripped() {
    // An empty `X-Vendo-User-Id:` must not survive to be read as "" (some
    // frameworks treat present-but-empty as anonymous-but-trusted).
    let mut h = raw(&[(b"x-vendo-user-id", b""), (b"X_Vendo_Tenant_Id", b"")]);
    strip_all(&mut h);
    assert!(h.is_empty());
}

#[test]
fn connection_nomination_alone_is_removed() {
    // Fabio GHSA-q7p4-7xjv-j3wf: `Connection: X-Forwarded-Host` made a hop
    // delete the header the proxy had set.
    let mut h = raw(&[(b"connection", b"X-Vendo-User-Id")]);
    let r = strip_all(&mut h);
    assert!(h.get("connection").is_none(), "a Connection header left empty is dropped");
    assert_eq!(r.removed_connection_tokens(), ["X-Vendo-User-Id"]);
    assert!(r.is_spoofing());
}

#[test]
fn connection_nomination_mixed_with_keep_alive() {
    // Fabio GHSA-fq95-v8xc-jm3v (the incomplete fix): the nomination hidden
    // among legitimate tokens, with alias spellings and OWS.
    let mut h = raw(&[(b"connection", b"keep-alive ,\tx_vendo_user_id , Upgrade,X.Vendo.Tenant.Id")]);
    let r = strip_all(&mut h);
    assert_eq!(values(&h, "connection"), [b"keep-alive, Upgrade"]);
    assert_eq!(r.removed_connection_tokens(), ["x_vendo_user_id", "X.Vendo.Tenant.Id"]);
}

#[test]
fn connection_nomination_across_several_headers() {
    // GHSA-fq95-v8xc-jm3v: the fix read only the first Connection header.
    let mut h = raw(&[
        (b"connection", b"keep-alive"),
        (b"connection", b"x-vendo-user-id"),
        (b"connection", b"upgrade, X-VENDO-USER-EMAIL"),
    ]);
    let r = strip_all(&mut h);
    assert_eq!(values(&h, "connection"), [&b"keep-alive"[..], b"upgrade"]);
    assert_eq!(r.removed_connection_tokens().len(), 2);
    for v in h.get_all("connection") {
        assert!(!v.as_bytes().split(|&b| b == b',').any(|t| is_managed_name(t.trim_ascii())));
    }
}

#[test]
fn connection_other_nominations_are_kept() {
    // SPEC §3 step 1 touches only namespace tokens; others are the hop's
    // business.
    let mut h = raw(&[(b"connection", b"close, x-vendor-id, cookie")]);
    let r = strip_all(&mut h);
    assert_eq!(values(&h, "connection"), [b"close, x-vendor-id, cookie"]);
    assert!(!r.is_spoofing());
}

#[test]
fn session_cookie_in_one_of_several_cookie_headers() {
    // HTTP/2 splits cookies into several `cookie` fields (RFC 9113
    // §8.2.3); the session cookie can be in any of them and must leave the
    // request whichever it is.
    let mut h = raw(&[
        (b"cookie", b"theme=dark"),
        (b"cookie", b"__Host-vendo_session=v1.k.p.m"),
        (b"cookie", b"lang=en; __Host-vendo_session=v1.k.q.n; z=1"),
    ]);
    let r = strip_all(&mut h);
    assert_eq!(values(&h, "cookie"), [&b"theme=dark"[..], b"lang=en; z=1"]);
    assert_eq!(r.session_cookies_removed(), 2);
    assert!(!r.is_spoofing(), "a session cookie is expected, not spoofing");
}

#[test]
fn session_cookie_with_spaces_around_equals() {
    // Cookie parsers that trim (most servers) read ` __Host-vendo_session =
    // x` as the session cookie; a stripper that does not trim leaves the
    // token for the tool to read (session theft by the tool).
    let mut h = raw(&[(b"cookie", b"a=1;  __Host-vendo_session\t=\tv1.k.p.m ; b=2")]);
    strip_all(&mut h);
    assert_eq!(values(&h, "cookie"), [b"a=1; b=2"]);
}

#[test]
fn session_cookie_alone_drops_the_cookie_header() {
    let mut h = raw(&[(b"cookie", b"__Host-vendo_session=v1.k.p.m")]);
    strip_all(&mut h);
    assert!(h.get("cookie").is_none());
}

#[test]
fn session_cookie_lookalikes_are_removed() {
    // SPEC §3 step 3: the session is looked up by exact name only, but a
    // pair whose name or value holds the name in any case is removed too;
    // a framework that folds case or splits on spaces or `,` (Python's
    // `http.cookies`) would read it as a session the proxy never verified.
    let mut h = raw(&[(
        b"cookie",
        b"__host-vendo_session=x; __Host-vendo_session_2=y; a=1 __Host-vendo_session=z; b=2, __HOST-VENDO_SESSION=w; keep=1",
    )]);
    let r = strip_all(&mut h);
    assert_eq!(values(&h, "cookie"), [b"keep=1"]);
    assert_eq!(r.session_cookies_removed(), 4);
}

#[test]
fn managed_header_left_over_on_a_denied_path() {
    // A proxy that strips and injects in one step forwards the client's
    // headers when it denies after stripping began. Here dropping the
    // `Stripped` (the deny path) must leave no namespace header at all.
    let mut h = raw(&[(b"x-vendo-user-id", b"victim"), (b"x_vendo_attestation", b"v1.k.1.x"), (b"a", b"1")]);
    {
        let stripped = strip(&mut h, SESSION);
        drop(stripped);
    }
    no_managed(&h);
    assert_eq!(h.len(), 1);
}

#[test]
fn injection_replaces_and_marks_sensitive() {
    let mut h = raw(&[(b"X_Vendo_User_Id", b"victim"), (b"x-vendo-user-id", b"victim2")]);
    let r = strip(&mut h, SESSION).inject(identity(), None).unwrap();
    assert!(r.is_spoofing());
    assert_eq!(values(&h, "x-vendo-user-id"), [b"u_1"]);
    assert_eq!(values(&h, "x-vendo-tenant-id"), [b"t_1"]);
    assert_eq!(values(&h, "x-vendo-deployment-id"), [b"d_1"]);
    assert_eq!(values(&h, "x-vendo-user-email"), [b"a@b.io"]);
    assert!(h.get("x-vendo-attestation").is_none());
    assert!(h.iter().filter(|(n, _)| is_managed_name(n.as_str().as_bytes())).all(|(_, v)| v.is_sensitive()));
    assert_eq!(h.len(), 4);
}

#[test]
fn attestation_needs_the_request_target() {
    let secret = vendo_isolation::AttestationSecret::new("k", &[1; 32]).unwrap();
    let now = vendo_isolation::Timestamp::from_unix_seconds(1).unwrap();
    let mut h = raw(&[(b"host", b"a.vendo.run")]);
    let err = strip(&mut h, SESSION).inject(identity(), Some(&secret.signer(now))).unwrap_err();
    assert_eq!(err.code(), "no_target");
    no_managed(&h);

    // No authority at all: refused, and nothing injected (fail closed).
    let (mut parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
    let err = strip_request(&mut parts, SESSION).inject(identity(), Some(&secret.signer(now))).unwrap_err();
    assert_eq!(err.code(), "missing_authority");
    no_managed(&parts.headers);
}

#[test]
fn hop_by_hop_headers_are_not_invented() {
    // SPEC specifies only namespace nominations: `Proxy-Connection`,
    // `Keep-Alive` and nominated non-namespace headers stay.
    let mut h = raw(&[(b"proxy-connection", b"x-vendo-user-id"), (b"keep-alive", b"timeout=5"), (b"te", b"trailers")]);
    let r = strip_all(&mut h);
    assert_eq!(h.len(), 3);
    assert!(!r.is_spoofing());
}

#[test]
fn a_failed_injection_keeps_what_the_strip_removed() {
    // An attestation asked of a map stripped without its request's target
    // fails; the spoofing report must still reach the operator, and the map
    // must hold nothing of the namespace.
    let mut h = raw(&[(b"x_vendo_user_id", b"u_admin"), (b"cookie", b"__Host-vendo_session=v1.k.p.m; a=1")]);
    let secret = vendo_isolation::AttestationSecret::new("a1", &[7; 32]).unwrap();
    let signer = secret.signer(vendo_isolation::Timestamp::from_unix_seconds(1_700_000_000).unwrap());
    let identity = Identity::for_tests(
        "t_1".parse().unwrap(),
        "d_1".parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
    );
    let failure = strip(&mut h, SESSION).inject(identity, Some(&signer)).unwrap_err();
    assert_eq!(failure.code(), "no_target");
    assert!(failure.report().is_spoofing());
    assert_eq!(failure.report().removed_headers(), ["x_vendo_user_id"]);
    assert_eq!(failure.report().session_cookies_removed(), 1);
    assert!(h.keys().all(|n| !is_managed_name(n.as_str().as_bytes())));
}

/// What an operator reads of a strip: the session cookie counted only
/// when one was there, the stripped map, and a `Debug` that names the
/// report but never prints the map (it may hold other credentials).
#[test]
fn the_strip_reports_what_it_did_and_hides_the_map() {
    let mut clean = raw(&[(b"cookie", b"theme=dark"), (b"authorization", b"Bearer secret-token")]);
    let stripped = strip(&mut clean, SESSION);
    assert!(!stripped.report().session_cookie_removed(), "no session cookie was sent");
    assert_eq!(stripped.headers()["cookie"], "theme=dark");
    let shown = format!("{stripped:?}");
    assert!(shown.starts_with("Stripped { report: StripReport {"), "{shown}");
    assert!(!shown.contains("secret-token") && !shown.contains("theme"), "{shown}");

    let mut one = raw(&[(b"cookie", b"__Host-vendo_session=a; b=1")]);
    let report = strip_all(&mut one);
    assert!(report.session_cookie_removed());
    assert_eq!(report.session_cookies_removed(), 1);
}

/// An injection that fails still hands back what the strip removed, so
/// the spoofing alert is raised even when the request is refused.
#[test]
fn a_failed_injection_keeps_the_strip_report() {
    let secret = vendo_isolation::AttestationSecret::new("a1", &[7; 32]).unwrap();
    let now = vendo_isolation::Timestamp::from_unix_seconds(1_700_000_000).unwrap();
    let mut h = raw(&[(b"x_vendo_user_id", b"admin"), (b"host", b"acme-crm.vendo.run")]);
    // No target recorded: an attestation cannot be signed.
    let failure = strip(&mut h, SESSION).inject(identity(), Some(&secret.signer(now))).unwrap_err();
    assert_eq!(failure.code(), "no_target");
    assert_eq!(failure.report().removed_headers(), ["x_vendo_user_id"]);
    let report = failure.into_report();
    assert!(report.is_spoofing());
    assert_eq!(report.removed_header_fields(), 1);
    no_managed(&h);
}

/// The response filter's report names what it removed, and is empty
/// only when nothing was.
#[test]
fn the_response_report_names_what_it_removed() {
    use vendo_isolation::headers::filter_response;
    let mut clean = raw(&[(b"set-cookie", b"cart=1; Path=/")]);
    let report = filter_response(&mut clean, SESSION);
    assert!(report.is_empty() && !report.is_tampering());

    let mut cookie_only = raw(&[(b"set-cookie", b"planted=1; Domain=vendo.run")]);
    let report = filter_response(&mut cookie_only, SESSION);
    assert!(!report.is_empty(), "a removed cookie alone");
    assert_eq!(report.removed_cookies()[0].name(), "planted");
    assert!(report.removed_headers().is_empty());

    let mut header_only = raw(&[(b"x-vendo-user-id", b"u_admin")]);
    let report = filter_response(&mut header_only, SESSION);
    assert!(!report.is_empty(), "a removed header alone");
    assert_eq!(report.removed_headers(), ["x-vendo-user-id"]);
    assert!(report.removed_cookies().is_empty());
}
