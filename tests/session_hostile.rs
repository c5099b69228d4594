//! Hostile session tokens, each row named after the attack or advisory it
//! comes from, plus the key-handling and error-hygiene rules around them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use vendo_isolation::session::{
    KeyError, KeyRingError, MAX_TOKEN_LEN, SessionClaims, VerifyError, VerifyOptions, mint_session, verify_session,
};
use vendo_isolation::{DeploymentId, KeyRing, SessionKey, TenantId, Timestamp};

const SECRET: [u8; 32] = [0x5a; 32];
const NOW: u64 = 1_700_000_000;

fn ts(s: u64) -> Timestamp {
    Timestamp::from_unix_seconds(s).unwrap()
}

fn ring() -> KeyRing {
    KeyRing::new(SessionKey::new("k1", &SECRET).unwrap())
}

fn tenant() -> TenantId {
    "t_1".parse().unwrap()
}

fn deployment() -> DeploymentId {
    "d_1".parse().unwrap()
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn mac(secret: &[u8], signed: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    m.update(signed);
    b64(&m.finalize().into_bytes())
}

/// A token whose payload text is signed exactly as SPEC §4 says.
fn signed_payload(kid: &str, payload: &str) -> String {
    let input = format!("vendo-session-v1\x00v1.{kid}.{payload}");
    format!("v1.{kid}.{payload}.{}", mac(&SECRET, input.as_bytes()))
}

fn signed(claims: &str) -> String {
    signed_payload("k1", &b64(claims.as_bytes()))
}

const CLAIMS: &str = "t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000";

/// Valid claims whose base64url has a `-`, so its standard base64 differs.
const TILDE_CLAIMS: &str = "t_1\nd_1\nu_1\n~~~?@b.io\n1699990000\n1700030000";

fn check(token: impl AsRef<[u8]>) -> Result<(), VerifyError> {
    verify_session(token, &ring(), ts(NOW), &tenant(), &deployment(), &VerifyOptions::default()).map(|_| ())
}

#[test]
fn the_baseline_token_verifies() {
    assert_eq!(check(signed(CLAIMS)), Ok(()));
    assert_eq!(check(signed(TILDE_CLAIMS)), Ok(()));
    assert!(b64(TILDE_CLAIMS.as_bytes()).contains('-'));
}

#[test]
fn hostile_tokens() {
    use VerifyError::*;
    let good = signed(CLAIMS);
    let (head, sig) = good.rsplit_once('.').unwrap();
    let payload = b64(CLAIMS.as_bytes());
    let jwt_claims = serde_json::json!({"sub": "u_1", "tid": "t_1", "exp": 1_700_030_000u64});
    let jwt_hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &jwt_claims,
        &jsonwebtoken::EncodingKey::from_secret(&SECRET),
    )
    .unwrap();
    let mut tag = URL_SAFE_NO_PAD.decode(sig).unwrap();
    tag.truncate(16);

    let rows: Vec<(String, VerifyError)> = vec![
        // CVE-2015-9235: a JWT with alg "none" and no signature.
        (format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(jwt_claims.to_string().as_bytes())), Malformed),
        // CVE-2022-23540 / algorithm confusion: a real HS256 JWT under the
        // same secret is a different format, never a session.
        (jwt_hs256, Malformed),
        // Algorithm confusion by version: no other version is accepted.
        (good.replacen("v1.", "v0.", 1), Malformed),
        (good.replacen("v1.", "v1.1.", 1), Malformed),
        // expressjs/cookie-parser#70: the unsigned value, stripped of its
        // signature, must not pass as a plain cookie.
        (head.to_owned(), Malformed),
        (format!("{head}."), Malformed),
        (format!("s:{good}"), Malformed),
        // GHSA-63x4-8g8c-vhww: a truncated MAC must not compare on its
        // prefix; 16 of 32 bytes is refused by length.
        (format!("{head}.{}", b64(&tag)), Malformed),
        (format!("{head}.{}", &sig[..1]), Malformed),
        // pallets/itsdangerous#28: second spellings of the same bytes.
        (format!("{head}.{sig}="), Malformed),
        (format!("v1.k1.{}.{sig}", URL_SAFE.encode(CLAIMS.as_bytes())), Malformed),
        // The standard alphabet, signed as sent: same bytes, other text.
        (signed_payload("k1", STANDARD.encode(TILDE_CLAIMS).trim_end_matches('=')), Malformed),
        // Fernet ttl=None: a session without expiry cannot exist.
        (signed("t_1\nd_1\nu_1\na@b.io\n1699990000"), BadClaims),
        (signed("t_1\nd_1\nu_1\na@b.io\n1699990000\n"), BadClaims),
        // branca#21: timestamps that overflow or wrap.
        (signed("t_1\nd_1\nu_1\na@b.io\n1699990000\n18446744073709551615"), BadClaims),
        (signed("t_1\nd_1\nu_1\na@b.io\n1699990000\n18446744073709551616"), BadClaims),
        (signed("t_1\nd_1\nu_1\na@b.io\n1699990000\n340282366920938463463374607431768211456"), BadClaims),
        (signed("t_1\nd_1\nu_1\na@b.io\n18446744073709551615\n1700030000"), BadClaims),
        // CVE-2025-62610: a session replayed to another audience.
        (signed("t_2\nd_1\nu_1\na@b.io\n1699990000\n1700030000"), WrongTenant),
        (signed("t_1\nd_2\nu_1\na@b.io\n1699990000\n1700030000"), WrongDeployment),
        // Header injection through claims: CR/LF or a NUL could split the
        // x-vendo-* headers the proxy writes from them.
        (signed("t_1\nd_1\nu_1\na@b.io\r\nx-vendo-tenant-id: t_2\n1699990000\n1700030000"), BadClaims),
        (signed("t_1\nd_1\nu_1\r\na@b.io\n1699990000\n1700030000"), BadClaims),
        (signed("t_1\nd_1\nu_1\x00\na@b.io\n1699990000\n1700030000"), BadClaims),
        // Field smuggling: a separator inside a field shifts every later one.
        (signed("t_1\nd_1\nu_1\na@b.io\n1699990000\n1700030000\nt_2"), BadClaims),
        // Kid tricks: path traversal, NUL, homoglyph, case.
        (signed_payload("../k1", &payload), Malformed),
        (signed_payload("k1\x00", &payload), Malformed),
        (signed_payload("k\u{0131}", &payload), Malformed),
        (signed_payload("K1", &payload), UnknownKey),
        // Cross-purpose key reuse: the same key's HMAC over the text
        // without the domain tag.
        (format!("v1.k1.{payload}.{}", mac(&SECRET, format!("v1.k1.{payload}").as_bytes())), BadSignature),
        // A MAC over the decoded claims instead of the payload text.
        (
            format!("v1.k1.{payload}.{}", mac(&SECRET, format!("vendo-session-v1\x00v1.k1.{CLAIMS}").as_bytes())),
            BadSignature,
        ),
        // Resource exhaustion: one byte over the limit, and far over.
        (format!("{}{}", good, "A".repeat(MAX_TOKEN_LEN - good.len() + 1)), Malformed),
        ("A".repeat(1 << 20), Malformed),
    ];
    for (i, (token, want)) in rows.iter().enumerate() {
        assert_eq!(check(token), Err(*want), "row {i}: {token:.80}");
    }
}

#[test]
fn non_utf8_token_bytes_are_malformed() {
    let mut t = signed(CLAIMS).into_bytes();
    t[4] = 0xff;
    assert_eq!(check(&t), Err(VerifyError::Malformed));
    assert_eq!(check([0xc3u8, 0x28]), Err(VerifyError::Malformed));
}

#[test]
fn retired_and_removed_keys_stop_verifying() {
    let mut ring = KeyRing::new(SessionKey::new("new", &[1; 32]).unwrap());
    ring.add_verify_only(SessionKey::new("k1", &SECRET).unwrap(), Some(ts(NOW + 10))).unwrap();
    let token = signed(CLAIMS);
    let v = |ring: &KeyRing, now| {
        verify_session(&token, ring, ts(now), &tenant(), &deployment(), &VerifyOptions::default()).map(|_| ())
    };
    assert_eq!(v(&ring, NOW + 9), Ok(()));
    assert_eq!(v(&ring, NOW + 10), Err(VerifyError::UnknownKey));
    ring.retire("k1", ts(NOW + 5)).unwrap();
    assert_eq!(v(&ring, NOW + 5), Err(VerifyError::UnknownKey));
    ring.remove("k1").unwrap();
    assert_eq!(v(&ring, NOW), Err(VerifyError::UnknownKey));
    assert_eq!(ring.remove("new"), Err(KeyRingError::PrimaryKey));
}

#[test]
fn stale_rotation_key_never_signs() {
    // CVE-2025-47278: a fallback key was picked to sign. Here the old key
    // is added after the new primary, sorts first and is listed first in
    // kids(); none of that makes it sign.
    let mut ring = KeyRing::new(SessionKey::new("z-new", &[1; 32]).unwrap());
    ring.add_verify_only(SessionKey::new("a-old", &SECRET).unwrap(), None).unwrap();
    let claims = SessionClaims::new(
        tenant(),
        deployment(),
        "u_1".parse().unwrap(),
        "a@b.io".parse().unwrap(),
        ts(NOW),
        ts(NOW + 60),
    )
    .unwrap();
    assert!(mint_session(&claims, &ring).starts_with("v1.z-new."));
    ring.promote("a-old", None).unwrap();
    assert!(mint_session(&claims, &ring).starts_with("v1.a-old."));
}

#[test]
fn revoked_sits_between_expired_and_wrong_tenant() {
    let token = signed("t_2\nd_1\nu_1\na@b.io\n1699990000\n1700030000");
    let opts = VerifyOptions::new().with_min_issued_at(ts(1_699_990_001));
    let v = |now| verify_session(&token, &ring(), ts(now), &tenant(), &deployment(), &opts).map(|_| ());
    assert_eq!(v(NOW), Err(VerifyError::Revoked));
    assert_eq!(v(1_700_030_060), Err(VerifyError::Expired));
    let same = VerifyOptions::new().with_min_issued_at(ts(1_699_990_000));
    assert_eq!(
        verify_session(&token, &ring(), ts(NOW), &tenant(), &deployment(), &same).map(|_| ()),
        Err(VerifyError::WrongTenant),
        "a session issued exactly at the minimum is not revoked"
    );
}

#[test]
fn zero_max_lifetime_refuses_everything() {
    let opts = VerifyOptions::new().with_max_lifetime_secs(0);
    let got = verify_session(signed(CLAIMS), &ring(), ts(NOW), &tenant(), &deployment(), &opts);
    assert_eq!(got.map(|_| ()), Err(VerifyError::LifetimeTooLong));
}

#[test]
fn keys_shorter_than_32_bytes_are_refused() {
    assert_eq!(SessionKey::new("k", b"password").err(), Some(KeyError::TooShort { len: 8 }));
    assert_eq!(SessionKey::new("k", &[0; 31]).err(), Some(KeyError::TooShort { len: 31 }));
    assert!(SessionKey::new("k", &[0; 32]).is_ok());
}

#[test]
fn nothing_secret_is_printed() {
    let secret = [0x42u8; 40];
    let mut printed = KeyRing::new(SessionKey::new("k1", &secret).unwrap());
    printed.add_verify_only(SessionKey::new("k2", &secret).unwrap(), Some(ts(5))).unwrap();
    let dbg = format!("{printed:?} {:?}", SessionKey::new("k3", &secret).unwrap());
    for needle in ["66", "0x42", "42, 42", "Hmac", "Sha256"] {
        assert!(!dbg.contains(needle), "{needle} in {dbg}");
    }
    let token = signed(CLAIMS);
    let session =
        verify_session(&token, &ring(), ts(NOW), &tenant(), &deployment(), &VerifyOptions::default()).unwrap();
    let dbg = format!("{session:?}");
    assert!(!dbg.contains(token.rsplit_once('.').unwrap().1), "no MAC in Debug");
}

#[test]
fn error_messages_are_quiet() {
    use VerifyError::*;
    let all = [
        Malformed,
        UnknownKey,
        BadSignature,
        BadClaims,
        LifetimeTooLong,
        NotYetValid,
        Expired,
        Revoked,
        WrongTenant,
        WrongDeployment,
    ];
    let mut codes = std::collections::BTreeSet::new();
    for e in all {
        let msg = e.to_string();
        assert_eq!(msg, msg.to_lowercase());
        assert!(!msg.ends_with('.'));
        assert!(codes.insert(e.code()));
    }
    let k = KeyError::TooShort { len: 3 }.to_string();
    assert!(!k.ends_with('.') && k == k.to_lowercase());
}

/// The session boundary's error codes are stable strings that logs,
/// dashboards and the Worker read; a rotation script matches on the key
/// ring's.
#[test]
fn session_error_codes_are_stable() {
    use vendo_isolation::session::{ClaimsError, KeyRingError, SetCookieError};
    assert_eq!(ClaimsError::NotBeforeExpiry.code(), "bad_claims");
    let ring = [
        (KeyRingError::DuplicateKid, "duplicate_kid"),
        (KeyRingError::Full, "ring_full"),
        (KeyRingError::UnknownKid, "unknown_kid"),
        (KeyRingError::PrimaryKey, "primary_key"),
    ];
    for (error, code) in ring {
        assert_eq!(error.code(), code);
    }
    assert_eq!(SetCookieError::InvalidName.code(), "invalid_cookie_name");
    assert_eq!(SetCookieError::InvalidToken.code(), "invalid_token");
}

/// A session cookie name is parsed with the same rules as `new` (an
/// RFC 6265 token), and
/// shown as itself.
#[test]
fn a_session_cookie_name_parses_and_shows_as_itself() {
    use vendo_isolation::session::SessionCookieName;
    let name: SessionCookieName = "__Host-acme_session".parse().unwrap();
    assert_eq!(name.to_string(), "__Host-acme_session");
    assert_eq!(name.as_str(), "__Host-acme_session");
    for bad in ["__Host-a b", "__Host-a;b", "", "a=b", "a,b"] {
        assert_eq!(bad.parse::<SessionCookieName>().unwrap_err().code(), "invalid_cookie_name", "{bad:?}");
    }
}

/// The options a gate was configured with read back as set: a proxy's
/// start-up log prints them, and the Worker module copies them.
#[test]
fn verify_options_read_back_as_set() {
    let defaults = VerifyOptions::default();
    assert_eq!(defaults, VerifyOptions::new());
    assert_eq!(defaults.min_issued_at(), None);
    assert_eq!(defaults.reissue_within_secs(), 0);
    let set = VerifyOptions::new()
        .with_leeway_secs(7)
        .with_max_lifetime_secs(86_400)
        .with_min_issued_at(ts(1_699_000_000))
        .with_reissue_within_secs(600);
    assert_eq!(set.leeway_secs(), 7);
    assert_eq!(set.max_lifetime_secs(), 86_400);
    assert_eq!(set.min_issued_at(), Some(ts(1_699_000_000)));
    assert_eq!(set.reissue_within_secs(), 600);
    assert!(defaults.leeway_secs() > 1 && defaults.max_lifetime_secs() > 1);
}

/// A verified session's `Debug` is what a proxy logs: the identity, the
/// times, the key id and the re-issue hint, and never the token or a key.
#[test]
fn a_verified_session_debugs_its_identity_only() {
    use vendo_isolation::session::ReissueReason;
    let token = signed(CLAIMS);
    let session =
        verify_session(&token, &ring(), ts(NOW), &tenant(), &deployment(), &VerifyOptions::default()).unwrap();
    let shown = format!("{session:?}");
    for part in ["VerifiedSession {", "t_1", "d_1", "u_1", "a@b.io", "k1", "reissue: None"] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
    assert!(!shown.contains(&token[token.len() - 43..]), "no MAC in {shown}");
    assert_eq!(ReissueReason::NonPrimaryKey.code(), "non_primary_key");
    assert_eq!(ReissueReason::NearExpiry.code(), "near_expiry");
}

/// The near-expiry hint starts strictly inside the window: a session with
/// exactly `reissue_within_secs` left is not yet due, one with a second
/// less is.
#[test]
fn the_reissue_window_is_strict_at_its_edge() {
    use vendo_isolation::session::ReissueReason;
    // CLAIMS expire at 1_700_030_000.
    let token = signed(CLAIMS);
    let hint = |now: u64| {
        let options = VerifyOptions::new().with_reissue_within_secs(600);
        verify_session(&token, &ring(), ts(now), &tenant(), &deployment(), &options).unwrap().reissue()
    };
    assert_eq!(hint(1_700_030_000 - 600), None, "exactly the window left");
    assert_eq!(hint(1_700_030_000 - 599), Some(ReissueReason::NearExpiry));
}
