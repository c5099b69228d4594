//! The `Gate` for each of its users: the Rust proxy holding
//! `http::request::Parts`, the Worker holding a method, a URL and a header
//! list, and the proxy re-issuing a session through the gate that verified
//! it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use vendo_isolation::attestation::AttestationVerifier;
use vendo_isolation::session::{ReissueReason, SessionClaims, VerifyOptions, mint_session, verify_session};
use vendo_isolation::{AttestationSecret, Gate, KeyRing, RouteEntry, SessionKey, Timestamp};

const NOW: u64 = 1_700_000_000;
const HOST: &str = "acme-crm.vendo.run";

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(NOW).unwrap()
}

fn entry() -> RouteEntry {
    RouteEntry {
        tenant_id: "t_1".parse().unwrap(),
        deployment_id: "d_1".parse().unwrap(),
        tenant_slug: "acme".parse().unwrap(),
        deployment_slug: "crm".parse().unwrap(),
    }
}

fn token(ring: &KeyRing, iat: u64, exp: u64) -> String {
    let claims = SessionClaims::new(
        "t_1".parse().unwrap(),
        "d_1".parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
        Timestamp::from_unix_seconds(iat).unwrap(),
        Timestamp::from_unix_seconds(exp).unwrap(),
    )
    .unwrap();
    mint_session(&claims, ring)
}

fn ring() -> KeyRing {
    KeyRing::new(SessionKey::new("k1", &[0x42; 32]).unwrap())
}

fn secret() -> AttestationSecret {
    AttestationSecret::new("a1", &[7; 32]).unwrap()
}

fn headers(rows: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in rows {
        h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn a_worker_admits_with_an_attestation_the_tool_accepts() {
    let gate = Gate::new(ring()).with_attestation(secret());
    let cookie = format!("__Host-vendo_session={}; theme=dark", token(&ring(), NOW - 60, NOW + 3600));
    let mut h = headers(&[("host", HOST), ("cookie", &cookie), ("x_vendo_user_id", "u_admin")]);
    let key = gate.route_key_for_host(HOST).unwrap();
    assert_eq!(key.as_str(), "acme-crm");
    let admitted = gate.admit_request(&Method::POST, "/api/items?page=2", HOST, &mut h, Some(&entry()), now()).unwrap();
    assert!(admitted.report().is_spoofing());

    // What the Worker forwards, as the tool receives it.
    let mut forwarded = Request::post("/api/items?page=2").body(()).unwrap();
    *forwarded.headers_mut() = h;
    let (parts, ()) = forwarded.into_parts();
    let verifier = AttestationVerifier::new(secret().deployment_key(&"d_1".parse().unwrap()));
    let who = verifier.verify(&parts, now()).unwrap();
    assert_eq!((who.user_id(), who.tenant_id()), ("u_1", "t_1"));
    assert_eq!(parts.headers["cookie"], "theme=dark");
}

#[test]
fn a_worker_path_denies_as_admit_does() {
    let gate = Gate::new(ring()).with_attestation(secret());
    let cookie = format!("__Host-vendo_session={}", token(&ring(), NOW - 60, NOW + 3600));
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case<'_>; 6] = [
        // Host confusion: the Worker routes on the URL, the tool reads Host.
        ("/", HOST, vec![("host", "globex-wiki.vendo.run")], "host_mismatch"),
        ("/", HOST, vec![("host", HOST), ("host", HOST)], "duplicate_host"),
        // An absolute-form or empty target would be attested as something
        // other than what is forwarded.
        ("http://globex-wiki.vendo.run/", HOST, vec![], "invalid_host"),
        ("", HOST, vec![], "invalid_host"),
        ("/", "evil@acme-crm.vendo.run", vec![], "invalid_host"),
        // A sibling deployment's page.
        (
            "/",
            HOST,
            vec![("sec-fetch-site", "same-site"), ("origin", "https://evil-x.vendo.run")],
            "cross_site_request",
        ),
    ];
    for (target, host, rows, code) in cases {
        let mut rows = rows.clone();
        rows.push(("cookie", &cookie));
        rows.push(("x-vendo-tenant-id", "t_forged"));
        let mut h = headers(&rows);
        let denial = gate.admit_request(&Method::POST, target, host, &mut h, Some(&entry()), now()).unwrap_err();
        assert_eq!(denial.code(), code, "{target} {host} {rows:?}");
        assert!(h.get("x-vendo-tenant-id").is_none() && h.get("x-vendo-attestation").is_none(), "{code}");
        assert!(h.get_all("cookie").iter().all(|v| !v.to_str().unwrap().contains("__Host-vendo_session")), "{code}");
    }
}

#[test]
fn a_worker_forwarding_to_an_upstream_attests_what_the_tool_receives() {
    let gate = Gate::new(ring()).with_attestation(secret());
    let cookie = format!("__Host-vendo_session={}; theme=dark", token(&ring(), NOW - 60, NOW + 3600));
    let mut h = headers(&[("host", HOST), ("cookie", &cookie), ("x.vendo.user.id", "u_admin")]);
    let upstream: Uri = "http://127.0.0.1:9001/api/items?page=2".parse().unwrap();
    gate.admit_request_to(&Method::POST, &upstream, HOST, &mut h, Some(&entry()), now()).unwrap();
    assert_eq!(h["host"], "127.0.0.1:9001");

    // The tool sees its own authority, in origin form, as a fetch sends it.
    let verifier = AttestationVerifier::new(secret().deployment_key(&"d_1".parse().unwrap()));
    let origin_form: Uri = "/api/items?page=2".parse().unwrap();
    let who = verifier.verify_request(&Method::POST, &origin_form, &h, now()).unwrap();
    assert_eq!((who.user_id(), who.tenant_id()), ("u_1", "t_1"));
    assert_eq!(verifier.verify_request(&Method::POST, &upstream, &h, now()).unwrap().user_id(), "u_1");

    // Attested over the upstream, so the public host does not verify: a
    // tool must expect its backend authority.
    let mut public = h.clone();
    public.insert("host", HeaderValue::from_static(HOST));
    assert_eq!(
        verifier.verify_request(&Method::POST, &origin_form, &public, now()).unwrap_err().code(),
        "bad_signature"
    );
    // Nor another path or method.
    let other: Uri = "/api/items?page=3".parse().unwrap();
    assert_eq!(verifier.verify_request(&Method::POST, &other, &h, now()).unwrap_err().code(), "bad_signature");
    assert_eq!(verifier.verify_request(&Method::GET, &origin_form, &h, now()).unwrap_err().code(), "bad_signature");
}

#[test]
fn a_worker_forwarding_to_an_upstream_denies_as_admit_request_does() {
    let gate = Gate::new(ring()).with_attestation(secret());
    let good = format!("__Host-vendo_session={}", token(&ring(), NOW - 60, NOW + 3600));
    let expired = format!("__Host-vendo_session={}", token(&ring(), NOW - 7200, NOW - 3600));
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);
    let cases: [Case<'_>; 8] = [
        ("http://127.0.0.1:9001/", vec![("cookie", &good)], None),
        ("http://127.0.0.1:9001/", vec![("cookie", &expired)], Some("expired")),
        ("http://127.0.0.1:9001/", vec![], Some("no_session")),
        ("http://127.0.0.1:9001/", vec![("host", "globex-wiki.vendo.run"), ("cookie", &good)], Some("host_mismatch")),
        (
            "http://127.0.0.1:9001/",
            vec![("sec-fetch-site", "cross-site"), ("cookie", &good)],
            Some("cross_site_request"),
        ),
        // An upstream that cannot carry the attestation's authority.
        ("/relative", vec![("cookie", &good)], Some("invalid_host")),
        ("http://user@127.0.0.1:9001/", vec![("cookie", &good)], Some("invalid_host")),
        ("*", vec![("cookie", &good)], Some("invalid_host")),
    ];
    for (upstream, rows, code) in cases {
        let upstream: Uri = upstream.parse().unwrap();
        let mut rows = rows.clone();
        rows.push(("x-vendo-tenant-id", "t_forged"));
        let mut h = headers(&rows);
        let mut same = h.clone();
        let to = gate.admit_request_to(&Method::POST, &upstream, HOST, &mut h, Some(&entry()), now());
        assert_eq!(to.as_ref().err().map(|d| d.code()), code, "{upstream} {rows:?}");
        if code.is_none() || code == Some("invalid_host") {
            continue;
        }
        // Every other answer is admit_request's, and so is the stripping.
        let plain = gate.admit_request(&Method::POST, "/", HOST, &mut same, Some(&entry()), now());
        assert_eq!(plain.err().map(|d| d.code()), code);
        assert_eq!(h, same, "{code:?}");
        assert!(h.get("x-vendo-tenant-id").is_none());
    }
}

#[test]
fn a_proxy_reissues_through_the_gate_for_both_reasons() {
    // Rotation: the session was signed by a key now verify-only.
    let mut rotated = KeyRing::new(SessionKey::new("k2", &[0x43; 32]).unwrap());
    rotated.add_verify_only(SessionKey::new("k1", &[0x42; 32]).unwrap(), None).unwrap();
    let gate = Gate::new(rotated);
    let old = token(&ring(), NOW - 600, NOW + 3000);
    let cookie = format!("__Host-vendo_session={old}");
    let admit = |gate: &Gate, cookie: &str| {
        let (mut parts, ()) =
            Request::get("/").header("host", HOST).header("cookie", cookie).body(()).unwrap().into_parts();
        gate.admit(&mut parts, Some(&entry()), now()).unwrap()
    };
    let admitted = admit(&gate, &cookie);
    assert_eq!(admitted.reissue(), Some(ReissueReason::NonPrimaryKey));
    let fresh = gate.reissue(&admitted, now()).unwrap().unwrap();
    assert!(fresh.token().starts_with("v1.k2."));
    assert_eq!(fresh.expires_at().unix_seconds(), NOW + 3600, "same lifetime as the session it replaces");
    let set = fresh.set_cookie().to_str().unwrap();
    assert_eq!(
        set,
        format!("__Host-vendo_session={}; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax", fresh.token())
    );
    assert!(fresh.set_cookie().is_sensitive());
    let debug = format!("{fresh:?}");
    assert!(!debug.contains(fresh.token()), "Debug never prints the token");
    assert!(
        debug.starts_with("Reissued") && debug.contains(&format!("expires_at: {:?}", fresh.expires_at())),
        "{debug}"
    );
    // The replacement verifies, for the same identity, with no hint left.
    let again = verify_session(
        fresh.token().as_bytes(),
        &{
            let mut r = KeyRing::new(SessionKey::new("k2", &[0x43; 32]).unwrap());
            r.add_verify_only(SessionKey::new("k1", &[0x42; 32]).unwrap(), None).unwrap();
            r
        },
        now(),
        &"t_1".parse().unwrap(),
        &"d_1".parse().unwrap(),
        &VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!((again.user_id(), again.reissue()), ("u_1", None));

    // Near expiry, with the primary key.
    let gate = Gate::new(ring()).with_verify_options(VerifyOptions::default().with_reissue_within_secs(600));
    let admitted = admit(&gate, &format!("__Host-vendo_session={}", token(&ring(), NOW - 3000, NOW + 300)));
    assert_eq!(admitted.reissue(), Some(ReissueReason::NearExpiry));
    assert_eq!(gate.reissue(&admitted, now()).unwrap().unwrap().expires_at().unix_seconds(), NOW + 3300);

    // Nothing due: nothing minted.
    let admitted = admit(&gate, &format!("__Host-vendo_session={}", token(&ring(), NOW - 60, NOW + 3600)));
    assert!(gate.reissue(&admitted, now()).unwrap().is_none());

    // A gate whose cookie name cannot be set by a response refuses to mint.
    let gate = Gate::new(ring()).with_verify_options(VerifyOptions::default().with_reissue_within_secs(600));
    let gate = gate.with_session_cookie("sid".parse().unwrap());
    let admitted = admit(&gate, &format!("sid={}", token(&ring(), NOW - 3000, NOW + 300)));
    assert_eq!(gate.reissue(&admitted, now()).unwrap_err().code(), "invalid_cookie_name");
}

/// `m` restricted to the names `keep` accepts, sorted by name with each
/// name's values in their order (the order across names means nothing).
fn restricted(m: &HeaderMap, keep: impl Fn(&[u8]) -> bool) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = m
        .iter()
        .filter(|(n, _)| keep(n.as_str().as_bytes()))
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A caller may copy only the headers `Gate::reads_header` names into
    /// the map it admits: the decision and the changes are those of the
    /// whole map, and every other header is left exactly as it came.
    #[test]
    fn admitting_only_the_headers_the_gate_reads_changes_nothing(
        hostile in vendo_isolation::testing::hostile_header_map(),
        site in proptest::sample::select(vec!["same-origin", "same-site", "cross-site", "none"]),
        origin in proptest::option::of(proptest::sample::select(vec!["https://acme-crm.vendo.run", "https://evil-x.vendo.run", "null"])),
        post in proptest::bool::ANY,
        upstream in proptest::bool::ANY,
    ) {
        let f = vendo_isolation::testing::fixture().unwrap();
        let mut full = f.request.headers.clone();
        full.insert("sec-fetch-site", HeaderValue::from_static(site));
        if let Some(origin) = origin {
            full.append("origin", HeaderValue::from_static(origin));
        }
        full.append("sec-fetch-user", HeaderValue::from_static("?1"));
        for (n, v) in &hostile {
            full.append(n.clone(), v.clone());
        }
        let mut part = HeaderMap::new();
        for (n, v) in &full {
            if Gate::reads_header(n.as_str().as_bytes()) {
                part.append(n.clone(), v.clone());
            }
        }
        let before = full.clone();
        let method = if post { Method::POST } else { Method::GET };
        let host = "acme-crm.vendo.run";
        let uri: Uri = "http://127.0.0.1:9001/inbox?page=1".parse().unwrap();
        let admit = |m: &mut HeaderMap| match upstream {
            true => f.gate.admit_request_to(&method, &uri, host, m, Some(&f.entry), f.now),
            false => f.gate.admit_request(&method, "/inbox?page=1", host, m, Some(&f.entry), f.now),
        }
        .map(|a| a.session().user_id().to_owned())
        .map_err(|d| d.code());
        proptest::prop_assert_eq!(admit(&mut full), admit(&mut part));
        proptest::prop_assert_eq!(restricted(&full, Gate::reads_header), restricted(&part, |_| true));
        let others = |n: &[u8]| !Gate::reads_header(n);
        proptest::prop_assert_eq!(restricted(&full, others), restricted(&before, others));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A deployment key the caller keeps changes no admit: the decision
    /// and every forwarded header, the attestation included, are those of
    /// the gate deriving the key itself, whichever key is kept. A key of
    /// another deployment, or of another secret under another kid, is not
    /// used (it would sign an attestation the tool refuses).
    #[test]
    fn a_kept_deployment_key_changes_no_admit(
        hostile in vendo_isolation::testing::hostile_header_map(),
        post in proptest::bool::ANY,
        path in proptest::sample::select(vec![0usize, 1, 2]),
        kept in proptest::sample::select(vec![0usize, 1, 2]),
    ) {
        let f = vendo_isolation::testing::fixture().unwrap();
        let own = f.gate.deployment_key(&f.entry.deployment_id).unwrap();
        let other_deployment = f.gate.deployment_key(&"d_2".parse().unwrap()).unwrap();
        let rotated = AttestationSecret::new("a-next", &[9; 32]).unwrap().deployment_key(&f.entry.deployment_id);
        let key = [&own, &other_deployment, &rotated][kept];
        let mut headers = f.request.headers.clone();
        for (n, v) in &hostile {
            headers.append(n.clone(), v.clone());
        }
        let method = if post { Method::POST } else { Method::GET };
        let uri: Uri = "http://127.0.0.1:9001/inbox?page=1".parse().unwrap();
        let run = |keyed: bool| {
            let mut parts = f.request.clone();
            parts.method = method.clone();
            parts.headers = headers.clone();
            let gate = f.gate.with_deployment_key(key);
            let answer = match (path, keyed) {
                (0, true) => gate.admit(&mut parts, Some(&f.entry), f.now),
                (0, false) => f.gate.admit(&mut parts, Some(&f.entry), f.now),
                (1, true) => gate.admit_request(&method, "/inbox?page=1", HOST, &mut parts.headers, Some(&f.entry), f.now),
                (1, false) => f.gate.admit_request(&method, "/inbox?page=1", HOST, &mut parts.headers, Some(&f.entry), f.now),
                (_, true) => gate.admit_request_to(&method, &uri, HOST, &mut parts.headers, Some(&f.entry), f.now),
                (_, false) => f.gate.admit_request_to(&method, &uri, HOST, &mut parts.headers, Some(&f.entry), f.now),
            };
            (answer.map(|a| a.session().user_id().to_owned()).map_err(|d| d.code()), restricted(&parts.headers, |_| true))
        };
        let (keyed, derived) = (run(true), run(false));
        proptest::prop_assert_eq!(&keyed, &derived);
        if keyed.0.is_ok() {
            proptest::prop_assert!(keyed.1.iter().any(|(n, _)| n == "x-vendo-attestation"));
        }
    }
}

/// The one key a signer trusts without checking is one of its own kid
/// and deployment: built from other bytes, it signs what no tool verifies,
/// and the gate's own key is the one that verifies.
#[test]
fn a_kept_key_of_the_gates_kid_and_deployment_is_the_one_used() {
    use vendo_isolation::attestation::DeploymentKey;
    use vendo_isolation::testing::TEST_ATTESTATION_KID;
    let f = vendo_isolation::testing::fixture().unwrap();
    let forged = DeploymentKey::new(TEST_ATTESTATION_KID, f.entry.deployment_id.clone(), &[0; 32]).unwrap();
    let own = f.gate.deployment_key(&f.entry.deployment_id).unwrap();
    let attest = |key: &DeploymentKey| {
        let mut parts = f.request.clone();
        f.gate.with_deployment_key(key).admit(&mut parts, Some(&f.entry), f.now).unwrap();
        parts
    };
    let verify = |key: DeploymentKey, parts: &http::request::Parts| {
        AttestationVerifier::new(key).verify_request(&parts.method, &parts.uri, &parts.headers, f.now).map(|_| ())
    };
    let with_forged = attest(&forged);
    let with_own = attest(&own);
    assert_ne!(with_forged.headers["x-vendo-attestation"], with_own.headers["x-vendo-attestation"]);
    let own_again = || f.gate.deployment_key(&f.entry.deployment_id).unwrap();
    assert!(verify(own_again(), &with_own).is_ok());
    assert!(verify(own_again(), &with_forged).is_err(), "the tool refuses what a wrong key signed");
    assert!(Gate::new(ring()).deployment_key(&f.entry.deployment_id).is_none(), "a gate without a secret has no key");
}

/// A denial prints its reason and its status, which is what a proxy logs.
#[test]
fn a_denial_displays_its_reason_and_status() {
    let gate = Gate::new(ring());
    let (mut parts, ()) = Request::get("/").header("host", HOST).body(()).unwrap().into_parts();
    let denial = gate.admit(&mut parts, Some(&entry()), now()).unwrap_err();
    assert_eq!(denial.code(), "no_session");
    let shown = denial.to_string();
    assert!(shown.ends_with(&format!("({})", denial.status())), "{shown}");
    assert!(shown.len() > format!("({})", denial.status()).len() + 1, "the reason comes first: {shown}");
}

/// The headers the gate reads are exactly these, in any case: a caller
/// that copies only them (a Worker) loses nothing, and copies nothing
/// else. Each row not read is a near miss of one that is.
#[test]
fn the_gate_reads_exactly_its_headers() {
    for name in [
        "host",
        "Cookie",
        "CONNECTION",
        "origin",
        "sec-fetch-site",
        "Sec-Fetch-Mode",
        "sec-fetch-dest",
        "x-vendo-user-id",
        "X_Vendo_Anything",
        // Managed names at the fixed names' lengths.
        "x_vendo_ab",
        "x-vendo-a12345",
    ] {
        assert!(Gate::reads_header(name.as_bytes()), "{name}");
    }
    for name in [
        "hosts",
        "hos",
        "cookie2",
        "connectio",
        "origins",
        "sec-fetch-user",
        "sec-fetch-sitE2",
        // The fixed names' lengths with one byte changed.
        "hast",
        "cookey",
        "origen",
        "connectiom",
        "sec-fetch-desk",
        "user-agent",
        "referer",
        "x-vendor-id",
        "accept",
        "",
    ] {
        assert!(!Gate::reads_header(name.as_bytes()), "{name}");
    }
}

/// The gate filters responses with its own session cookie's name, not the
/// default one.
#[test]
fn the_gate_filters_responses_with_its_cookie_name() {
    let gate = Gate::new(ring()).with_session_cookie("__Host-sid".parse().unwrap());
    let mut h = headers(&[
        ("set-cookie", "__Host-sid=forged; Path=/; Secure"),
        ("set-cookie", "planted=1; Domain=vendo.run"),
        ("set-cookie", "cart=3; Path=/; Secure"),
    ]);
    let report = gate.filter_response(&mut h);
    let removed: Vec<&str> = report.removed_cookies().iter().map(|c| c.name()).collect();
    assert_eq!(removed, ["__Host-sid", "planted"]);
    assert_eq!(h.get_all("set-cookie").iter().collect::<Vec<_>>(), ["cart=3; Path=/; Secure"]);
    assert!(report.is_tampering());
}
