//! Session verification allocates nothing: on valid tokens, on every
//! error, at the size limits and through the cookie path. Building the
//! owned identity afterwards allocates at most once per id string.

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

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use counting_alloc::count as allocations;
use hmac::{Hmac, KeyInit, Mac};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;
use vendo_isolation::session::{
    SESSION_COOKIE_NAME, VerifiedSession, VerifyError, VerifyOptions, verify_session, verify_session_cookie,
};
use vendo_isolation::{DeploymentId, KeyRing, SessionKey, TenantId, Timestamp};

const SECRET: [u8; 32] = [0x33; 32];
const NOW: u64 = 1_700_000_000;
const MAX_TS: u64 = 253_402_300_799;

fn ts(s: u64) -> Timestamp {
    Timestamp::from_unix_seconds(s).unwrap()
}

fn sign_payload(secret: &[u8], kid: &str, payload: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    m.update(format!("vendo-session-v1\x00v1.{kid}.{payload}").as_bytes());
    format!("v1.{kid}.{payload}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

fn sign(claims: &str) -> String {
    sign_payload(&SECRET, "k1", &URL_SAFE_NO_PAD.encode(claims))
}

struct Fixture {
    ring: KeyRing,
    tenant: TenantId,
    deployment: DeploymentId,
    options: VerifyOptions,
}

impl Fixture {
    fn new() -> Self {
        let mut ring = KeyRing::new(SessionKey::new("k1", &SECRET).unwrap());
        ring.add_verify_only(SessionKey::new("old", &[7; 32]).unwrap(), Some(ts(NOW + 1))).unwrap();
        Self {
            ring,
            tenant: "t_1".parse().unwrap(),
            deployment: "d_1".parse().unwrap(),
            options: VerifyOptions::new().with_max_lifetime_secs(86_400).with_min_issued_at(ts(1_000)),
        }
    }

    /// Verifies and counts, keeping the result alive past the count so
    /// its drop is measured too.
    fn count(&self, token: &[u8], now: u64) -> (Result<VerifiedSession, VerifyError>, usize) {
        let now = ts(now);
        let (r, n) = allocations(|| {
            black_box(verify_session(black_box(token), &self.ring, now, &self.tenant, &self.deployment, &self.options))
        });
        (r, n)
    }
}

const CLAIMS: &str = "t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000";

#[test]
fn the_counter_counts() {
    let (_, n) = allocations(|| black_box(vec![1u8; 3]));
    assert_eq!(n, 1);
    let (_, n) = allocations(|| black_box(String::from("x")).repeat(1000));
    assert!(n >= 2);
}

#[test]
fn valid_tokens_allocate_nothing() {
    let f = Fixture::new();
    let t64 = "T".repeat(64);
    let email = format!("{}@{}", "e".repeat(126), "x".repeat(127));
    let max = sign(&format!("{t64}\n{}\n{}\n{email}\n{}\n{MAX_TS}", "D".repeat(64), "U".repeat(64), MAX_TS - 1));
    let big = Fixture { tenant: t64.parse().unwrap(), deployment: "D".repeat(64).parse().unwrap(), ..Fixture::new() };
    let old = sign_payload(&[7; 32], "old", &URL_SAFE_NO_PAD.encode(CLAIMS));
    for (fixture, token, now) in [(&f, sign(CLAIMS), NOW), (&big, max, MAX_TS), (&f, old, NOW)] {
        let (r, n) = fixture.count(token.as_bytes(), now);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(n, 0, "valid token allocated");
        let (_, n) = allocations(|| drop(black_box(r)));
        assert_eq!(n, 0);
    }
}

#[test]
fn every_error_allocates_nothing() {
    let f = Fixture::new();
    let good = sign(CLAIMS);
    let long = |n: usize| sign_payload(&SECRET, "k1", &"A".repeat(n));
    assert_eq!(long(4046).len(), 4096);
    let rows: Vec<(String, u64, VerifyError)> = vec![
        (String::new(), NOW, VerifyError::Malformed),
        (long(4047), NOW, VerifyError::Malformed),
        ("A".repeat(100_000), NOW, VerifyError::Malformed),
        (format!("{good}="), NOW, VerifyError::Malformed),
        (good.replacen("v1.", "v2.", 1), NOW, VerifyError::Malformed),
        (format!("v1.{}", &good[3..].replacen('k', "+", 1)), NOW, VerifyError::Malformed),
        (good.replacen("k1", "zz", 1), NOW, VerifyError::UnknownKey),
        (sign_payload(&[7; 32], "old", &URL_SAFE_NO_PAD.encode(CLAIMS)), NOW + 1, VerifyError::UnknownKey),
        (sign_payload(&[9; 32], "k1", &URL_SAFE_NO_PAD.encode(CLAIMS)), NOW, VerifyError::BadSignature),
        (long(4046), NOW, VerifyError::BadClaims),
        (sign("t_1\nd_1\nu_1\na@b.io\n1699990000"), NOW, VerifyError::BadClaims),
        (sign("t_1\nd_1\n\u{ff}\na@b.io\n1699990000\n1700030000"), NOW, VerifyError::BadClaims),
        (sign("t_1\nd_1\nu_1\na@b.io\n1600000000\n1700030000"), NOW, VerifyError::LifetimeTooLong),
        (good.clone(), 1_699_990_000 - 61, VerifyError::NotYetValid),
        (good.clone(), 1_700_030_060, VerifyError::Expired),
        (sign("t_1\nd_1\nu_1\na@b.io\n999\n1000"), 999, VerifyError::Revoked),
        (sign("t_2\nd_1\nu_1\na@b.io\n1699990000\n1700030000"), NOW, VerifyError::WrongTenant),
        (sign("t_1\nd_2\nu_1\na@b.io\n1699990000\n1700030000"), NOW, VerifyError::WrongDeployment),
    ];
    for (i, (token, now, want)) in rows.iter().enumerate() {
        let (r, n) = f.count(token.as_bytes(), *now);
        assert_eq!(r.err(), Some(*want), "row {i}");
        assert_eq!(n, 0, "row {i} ({want:?}) allocated");
    }
}

#[test]
fn every_single_bit_flip_allocates_nothing() {
    let f = Fixture::new();
    let good = sign(CLAIMS).into_bytes();
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut t = good.clone();
            t[i] ^= 1 << bit;
            let (r, n) = f.count(&t, NOW);
            assert!(r.is_err());
            assert_eq!(n, 0, "byte {i} bit {bit}");
        }
    }
}

#[test]
fn the_cookie_path_allocates_nothing() {
    let f = Fixture::new();
    let mut headers = HeaderMap::new();
    let cookie = format!("theme=dark; {SESSION_COOKIE_NAME}={}; lang=en", sign(CLAIMS));
    headers.append(COOKIE, HeaderValue::from_str(&cookie).unwrap());
    let run = |h: &HeaderMap| {
        allocations(|| {
            black_box(verify_session_cookie(
                h,
                SESSION_COOKIE_NAME,
                &f.ring,
                ts(NOW),
                &f.tenant,
                &f.deployment,
                &f.options,
            ))
        })
    };
    let (r, n) = run(&headers);
    assert!(r.is_ok());
    assert_eq!(n, 0);
    headers.append(COOKIE, HeaderValue::from_static("__Host-vendo_session=x"));
    let (r, n) = run(&headers);
    assert_eq!(r.unwrap_err().code(), "duplicate_session");
    assert_eq!(n, 0);
    let (r, n) = run(&HeaderMap::new());
    assert_eq!(r.unwrap_err().code(), "no_session");
    assert_eq!(n, 0);
}

#[test]
fn identity_allocates_once_per_id() {
    let f = Fixture::new();
    let (r, _) = f.count(sign(CLAIMS).as_bytes(), NOW);
    let session = r.unwrap();
    let (id, n) = allocations(|| black_box(session.clone().into_identity()));
    assert_eq!(id.user_id().as_str(), "u_1");
    assert!(n <= 4, "{n} allocations");
}
