//! Heap allocations of the header boundary, counted.
//!
//! - stripping a clean request: none, report included;
//! - removing the session cookie: one (the re-joined `Cookie` value), none
//!   when it was the only cookie;
//! - injecting: one per identity value while `Identity` can only be read
//!   by reference, plus one for the attestation value;
//! - the tool-side verifier: none, on accept and on every rejection.

#![allow(missing_docs)]

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use sha2::Sha256;
use vendo_isolation::{
    AttestationError, AttestationSecret, AttestationVerifier, Identity, KeyRing, SESSION_COOKIE_NAME, SessionKey,
    Timestamp, VerifyOptions, strip, strip_request, verify_session_cookie,
};
use vendo_isolation_headers_zero_alloc::allocations;

const NOW: u64 = 1_700_000_000;

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(NOW).unwrap()
}

fn identity() -> Identity {
    Identity::for_tests(
        "t_1".parse().unwrap(),
        "d_1".parse().unwrap(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
    )
}

/// A browser-like request; `cookie` is the whole `Cookie` value.
fn browser(cookie: &str) -> Parts {
    let mut parts = Request::get("/api/items?page=2").body(()).unwrap().into_parts().0;
    parts.headers = HeaderMap::with_capacity(32);
    for (n, v) in [
        ("host", "acme-crm.vendo.run"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"),
        ("accept", "text/html,application/xhtml+xml"),
        ("accept-language", "en-GB,en;q=0.9"),
        ("accept-encoding", "gzip, deflate, br"),
        ("connection", "keep-alive"),
        ("x-vendor-id", "not ours"),
        ("cookie", cookie),
    ] {
        parts.headers.append(HeaderName::from_static(n), HeaderValue::from_str(v).unwrap());
    }
    parts
}

#[test]
fn the_counter_counts() {
    let (_, n) = allocations(|| black_box(vec![1u8; 3]));
    assert_eq!(n, 1);
}

#[test]
fn clean_request_strips_without_allocating() {
    let mut parts = browser("theme=dark; lang=en");
    let (report, n) = allocations(|| black_box(strip(&mut parts.headers, SESSION_COOKIE_NAME).into_report()));
    assert_eq!(n, 0, "strip allocated {n} times on a clean request");
    assert!(!report.is_spoofing());
    let (_, n) = allocations(|| drop(black_box(report)));
    assert_eq!(n, 0);
    // No headers at all.
    let mut empty = HeaderMap::new();
    let (_, n) = allocations(|| black_box(strip(&mut empty, SESSION_COOKIE_NAME).into_report()));
    assert_eq!(n, 0);
}

#[test]
fn session_cookie_removal_costs_one_value() {
    let mut parts = browser("theme=dark; __Host-vendo_session=v1.k1.p.m; lang=en");
    let (_, n) = allocations(|| black_box(strip(&mut parts.headers, SESSION_COOKIE_NAME).into_report()));
    assert_eq!(n, 1, "the re-joined Cookie value, exactly sized");
    assert_eq!(parts.headers["cookie"], "theme=dark; lang=en");

    let mut alone = browser("__Host-vendo_session=v1.k1.p.m");
    let (_, n) = allocations(|| black_box(strip(&mut alone.headers, SESSION_COOKIE_NAME).into_report()));
    assert_eq!(n, 0, "dropping the only Cookie header allocates nothing");
}

#[test]
fn injection_costs_one_per_value_and_one_for_the_attestation() {
    let secret = AttestationSecret::new("k1", &[7; 32]).unwrap();
    let mut parts = browser("theme=dark");
    let id = identity();
    let (r, n) = allocations(|| black_box(strip_request(&mut parts, SESSION_COOKIE_NAME).inject(id, None)));
    r.unwrap();
    assert_eq!(n, 4, "one copy per identity value");

    let mut parts = browser("theme=dark");
    let id = identity();
    let signer = secret.signer(now());
    let (r, n) = allocations(|| black_box(strip_request(&mut parts, SESSION_COOKIE_NAME).inject(id, Some(&signer))));
    r.unwrap();
    assert_eq!(n, 5, "four copies and the attestation value");
}

fn mint(secret: &[u8], claims: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    m.update(format!("vendo-session-v1\x00v1.k1.{payload}").as_bytes());
    format!("v1.k1.{payload}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

#[test]
fn whole_admit_path_is_counted() {
    // Verify the session cookie, strip, inject with an attestation: the
    // proxy's work for one admitted request, phase by phase.
    let token = mint(&[3; 32], "t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000");
    let mut parts = browser(&format!("theme=dark; {SESSION_COOKIE_NAME}={token}"));
    let ring = KeyRing::new(SessionKey::new("k1", &[3; 32]).unwrap());
    let (tenant, deployment) = ("t_1".parse().unwrap(), "d_1".parse().unwrap());
    let options = VerifyOptions::default();
    let secret = AttestationSecret::new("a1", &[7; 32]).unwrap();
    let signer = secret.signer(now());

    let (session, verify) = allocations(|| {
        black_box(verify_session_cookie(
            &parts.headers,
            SESSION_COOKIE_NAME,
            &ring,
            now(),
            &tenant,
            &deployment,
            &options,
        ))
    });
    let (id, identity) = allocations(|| black_box(session.unwrap().into_identity()));
    let target = &mut parts;
    let (stripped, strip_n) = allocations(move || black_box(strip_request(target, SESSION_COOKIE_NAME)));
    assert!(stripped.report().session_cookie_removed());
    let (r, inject) = allocations(move || black_box(stripped.inject(id, Some(&signer))));
    r.unwrap();
    let total = verify + identity + strip_n + inject;
    eprintln!("admit path: verify {verify}, identity {identity}, strip {strip_n}, inject {inject}, total {total}");
    // This crate's share: strip 1, inject 4 + 1. Moving the id strings out
    // of `Identity` instead of copying them would make inject 1 and the
    // whole path 6.
    assert_eq!(strip_n, 1);
    assert_eq!(inject, 5);
    assert!(total <= 10, "{total}");
}

#[test]
fn an_owned_id_moves_into_a_header_value_for_free() {
    // What `Identity::into_parts` would buy: an exactly sized id string
    // (as `FromStr` builds one) becomes a header value without a copy.
    let id: vendo_isolation::UserId = "u_1".parse().unwrap();
    let s = String::from(id);
    let (v, n) = allocations(move || black_box(HeaderValue::try_from(s)));
    assert_eq!(n, 0);
    assert_eq!(v.unwrap(), "u_1");
}

/// SPEC budget for the whole admit path: six allocations. Reached once the
/// identity's id strings can be moved into the header values instead of
/// copied (an `Identity::into_parts`).
#[test]
#[ignore = "needs Identity::into_parts: the budget is 6, today 10"]
fn admit_path_within_budget() {
    let token = mint(&[3; 32], "t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000");
    let mut parts = browser(&format!("theme=dark; {SESSION_COOKIE_NAME}={token}"));
    let ring = KeyRing::new(SessionKey::new("k1", &[3; 32]).unwrap());
    let (tenant, deployment) = ("t_1".parse().unwrap(), "d_1".parse().unwrap());
    let options = VerifyOptions::default();
    let secret = AttestationSecret::new("a1", &[7; 32]).unwrap();
    let signer = secret.signer(now());
    let (r, n) = allocations(|| {
        let session =
            verify_session_cookie(&parts.headers, SESSION_COOKIE_NAME, &ring, now(), &tenant, &deployment, &options)
                .map_err(|e| e.code())?;
        let id = session.into_identity();
        strip_request(&mut parts, SESSION_COOKIE_NAME).inject(id, Some(&signer)).map_err(|e| e.code())?;
        Ok::<_, &str>(())
    });
    assert!(r.is_ok());
    assert!(n <= 6, "{n} allocations");
}

#[test]
fn verifier_never_allocates() {
    let secret = AttestationSecret::new("k1", &[7; 32]).unwrap();
    let verifier = AttestationVerifier::new(secret.deployment_key(&"d_1".parse().unwrap()));
    let mut good = browser("theme=dark");
    strip_request(&mut good, SESSION_COOKIE_NAME).inject(identity(), Some(&secret.signer(now()))).unwrap();

    let (r, n) = allocations(|| black_box(verifier.verify(&good, now()).map(|w| w.user_id().len())));
    assert_eq!(r, Ok(3));
    assert_eq!(n, 0, "accept path");

    type Tamper = fn(&mut Parts);
    let rejects: &[(Tamper, AttestationError)] = &[
        (|p| drop(p.headers.remove("x-vendo-attestation")), AttestationError::Missing),
        (
            |p| drop(p.headers.insert("x_vendo_user_id", HeaderValue::from_static("u_2"))),
            AttestationError::UnexpectedHeader,
        ),
        (
            |p| drop(p.headers.insert("x-vendo-attestation", HeaderValue::from_static("v1.x"))),
            AttestationError::Malformed,
        ),
        (
            |p| drop(p.headers.insert("x-vendo-user-id", HeaderValue::from_static("u_2"))),
            AttestationError::BadSignature,
        ),
        (|p| p.uri = "/other".parse().unwrap(), AttestationError::BadSignature),
        (|p| drop(p.headers.remove("host")), AttestationError::MissingAuthority),
    ];
    for (tamper, want) in rejects {
        let mut p = good.clone();
        tamper(&mut p);
        let (r, n) = allocations(|| black_box(verifier.verify(&p, now()).map(|w| w.user_id().len())));
        assert_eq!(r, Err(*want));
        assert_eq!(n, 0, "reject path {want:?}");
    }
    let later = Timestamp::from_unix_seconds(NOW + 3600).unwrap();
    let (r, n) = allocations(|| black_box(verifier.verify(&good, later).map(|w| w.user_id().len())));
    assert_eq!((r, n), (Err(AttestationError::Expired), 0));
}
