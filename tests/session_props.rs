//! Properties the session README promises, over generated rings, claims
//! and tokens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use vendo_isolation::session::{
    ReissueReason, SESSION_COOKIE_NAME, SessionClaims, VerifiedSession, VerifyError, VerifyOptions, mint_session,
    session_set_cookie, verify_session, verify_session_cookie,
};
use vendo_isolation::testing::{kid_string, session_claims, signed_session};
use vendo_isolation::{DeploymentId, KeyRing, SessionKey, TenantId, Timestamp};

fn ts(s: u64) -> Timestamp {
    Timestamp::from_unix_seconds(s).unwrap()
}

/// A `now` inside the session, derived from a fraction so it shrinks well.
fn inside(claims: &SessionClaims, frac: f64) -> Timestamp {
    let iat = claims.issued_at().unix_seconds();
    let life = claims.expires_at().unix_seconds() - iat;
    ts(iat + ((life as f64 * frac) as u64).min(life - 1))
}

fn verify(
    token: impl AsRef<[u8]>,
    ring: &KeyRing,
    now: Timestamp,
    claims: &SessionClaims,
) -> Result<VerifiedSession, VerifyError> {
    verify_session(token, ring, now, claims.tenant_id(), claims.deployment_id(), &VerifyOptions::default())
}

fn mac_with(secret: &[u8], kid: &str, payload: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    m.update(b"vendo-session-v1\x00");
    m.update(format!("v1.{kid}.{payload}").as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

proptest! {
    // A fixed seed keeps every run identical; change it to explore.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5e55_1017),
        ..ProptestConfig::default()
    })]

    /// mint -> verify returns the claims, for any valid claims and ring.
    #[test]
    fn round_trip((ring, token, claims) in signed_session(), frac in 0.0f64..1.0) {
        let now = inside(&claims, frac);
        let s = verify(&token, &ring, now, &claims).unwrap();
        prop_assert_eq!(s.tenant_id(), claims.tenant_id().as_str());
        prop_assert_eq!(s.deployment_id(), claims.deployment_id().as_str());
        prop_assert_eq!(s.user_id(), claims.user_id().as_str());
        prop_assert_eq!(s.email(), claims.email().as_str());
        prop_assert_eq!(s.issued_at(), claims.issued_at());
        prop_assert_eq!(s.expires_at(), claims.expires_at());
        prop_assert_eq!(s.kid(), ring.primary_kid());
        prop_assert_eq!(s.reissue(), None);
        let id = s.into_identity();
        prop_assert_eq!(id.user_id(), claims.user_id());
        prop_assert_eq!(id.email(), claims.email());
        prop_assert!(token.len() <= 714);
        prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    }

    /// Valid exactly when `iat - L <= now < exp + L`.
    #[test]
    fn validity_window(claims in session_claims(), leeway in 0u64..1_000, offset in -3_000i64..3_000, at_end in any::<bool>()) {
        let ring = KeyRing::new(SessionKey::new("k", &[5; 32]).unwrap());
        let token = mint_session(&claims, &ring);
        let (iat, exp) = (claims.issued_at().unix_seconds() as i64, claims.expires_at().unix_seconds() as i64);
        let now = (if at_end { exp } else { iat }) + offset;
        prop_assume!((0..=253_402_300_799).contains(&now));
        let opts = VerifyOptions::new().with_leeway_secs(leeway);
        let got = verify_session(&token, &ring, ts(now as u64), claims.tenant_id(), claims.deployment_id(), &opts);
        let l = leeway as i64;
        let want = if now < iat - l {
            Err(VerifyError::NotYetValid)
        } else if now >= exp + l {
            Err(VerifyError::Expired)
        } else {
            Ok(())
        };
        prop_assert_eq!(got.map(|_| ()), want);
    }

    /// Changing any single bit, or any byte to any other value, breaks
    /// the token.
    #[test]
    fn any_single_bit_or_byte_change_fails(
        (ring, token, claims) in signed_session(),
        frac in 0.0f64..1.0,
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
        replacement in any::<u8>(),
    ) {
        let now = inside(&claims, frac);
        let i = pos.index(token.len());
        let mut flipped = token.clone().into_bytes();
        flipped[i] ^= 1 << bit;
        prop_assert!(verify(&flipped, &ring, now, &claims).is_err(), "bit {} of byte {}", bit, i);
        let mut replaced = token.into_bytes();
        prop_assume!(replaced[i] != replacement);
        replaced[i] = replacement;
        prop_assert!(verify(&replaced, &ring, now, &claims).is_err(), "byte {} -> {}", i, replacement);
    }

    /// Every strict prefix, and the token with anything appended, fails.
    #[test]
    fn truncation_and_extension_fail((ring, token, claims) in signed_session(), frac in 0.0f64..1.0, cut in any::<prop::sample::Index>(), tail in "[A-Za-z0-9_.=-]{1,8}") {
        let now = inside(&claims, frac);
        let cut = cut.index(token.len());
        prop_assert!(verify(&token[..cut], &ring, now, &claims).is_err());
        let extended = format!("{token}{tail}");
        prop_assert!(verify(&extended, &ring, now, &claims).is_err());
    }

    /// Arbitrary bytes never panic and never verify.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..5_000), now in 0u64..=253_402_300_799) {
        let ring = KeyRing::new(SessionKey::new("k1", &[1; 32]).unwrap());
        let t: TenantId = "t".parse().unwrap();
        let d: DeploymentId = "d".parse().unwrap();
        prop_assert!(verify_session(&bytes, &ring, ts(now), &t, &d, &VerifyOptions::default()).is_err());
    }

    /// Token-shaped garbage never panics and never verifies.
    #[test]
    fn token_shaped_garbage_never_panics(body in "v1\\.[A-Za-z0-9_-]{0,34}(\\.[A-Za-z0-9_=+/-]{0,700}){0,3}") {
        let ring = KeyRing::new(SessionKey::new("k1", &[1; 32]).unwrap());
        let t: TenantId = "t".parse().unwrap();
        let d: DeploymentId = "d".parse().unwrap();
        prop_assert!(verify_session(&body, &ring, ts(1_700_000_000), &t, &d, &VerifyOptions::default()).is_err());
    }

    /// A signed payload is `malformed` exactly when it is not the one
    /// canonical unpadded base64url spelling of its bytes: a lenient
    /// decoder plus re-encoding is the reference (pallets/itsdangerous#28).
    #[test]
    fn payload_canonical_iff_reencoding_round_trips(payload in prop_oneof![
        "[A-Za-z0-9_=+/-]{0,64}",
        "[A-Za-z0-9_-]{0,64}",
        prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
    ]) {
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let canonical = !payload.is_empty()
            && lenient.decode(&payload).is_ok_and(|bytes| URL_SAFE_NO_PAD.encode(bytes) == payload);
        let ring = KeyRing::new(SessionKey::new("k1", &[1; 32]).unwrap());
        let token = format!("v1.k1.{payload}.{}", mac_with(&[1; 32], "k1", &payload));
        let t: TenantId = "t".parse().unwrap();
        let d: DeploymentId = "d".parse().unwrap();
        let got = verify_session(&token, &ring, ts(1_700_000_000), &t, &d, &VerifyOptions::default());
        prop_assert_eq!(got.err() == Some(VerifyError::Malformed), !canonical, "{}", payload);
    }

    /// Under a wrong key the answer is `bad_signature` whatever the
    /// payload decodes to: valid claims, garbage, or claims that are
    /// expired, too long or for another tenant. Nothing about the claims
    /// leaks before the MAC verifies.
    #[test]
    fn mac_failure_never_depends_on_claims(
        kid in kid_string(),
        claims in prop::collection::vec(any::<u8>(), 0..600),
        right in prop::collection::vec(any::<u8>(), 32..48),
        wrong in prop::collection::vec(any::<u8>(), 32..48),
        now in 0u64..=253_402_300_799,
        leeway in any::<u64>(),
    ) {
        prop_assume!(right != wrong);
        prop_assume!(!claims.is_empty());
        let ring = KeyRing::new(SessionKey::new(&kid, &right).unwrap());
        let payload = URL_SAFE_NO_PAD.encode(&claims);
        let token = format!("v1.{kid}.{payload}.{}", mac_with(&wrong, &kid, &payload));
        let t: TenantId = "t".parse().unwrap();
        let d: DeploymentId = "d".parse().unwrap();
        let opts = VerifyOptions::new().with_leeway_secs(leeway).with_max_lifetime_secs(0);
        prop_assert_eq!(verify_session(&token, &ring, ts(now), &t, &d, &opts).err(), Some(VerifyError::BadSignature));
    }

    /// Only the primary signs, however the ring was built or rotated
    /// (CVE-2025-47278), and a session under a demoted key asks to be
    /// re-issued until its key retires.
    #[test]
    fn only_the_primary_signs(claims in session_claims(), n in 2usize..=8, promote in any::<prop::sample::Index>(), frac in 0.0f64..1.0) {
        let kids: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let mut ring = KeyRing::new(SessionKey::new(&kids[0], &[0; 32]).unwrap());
        for (i, kid) in kids.iter().enumerate().skip(1) {
            ring.add_verify_only(SessionKey::new(kid, &[i as u8; 32]).unwrap(), None).unwrap();
        }
        let before = mint_session(&claims, &ring);
        prop_assert!(before.starts_with("v1.k0."));
        let new = &kids[promote.index(n)];
        let now = inside(&claims, frac);
        let retire = now.saturating_add_secs(1);
        ring.promote(new, Some(retire)).unwrap();
        let after = mint_session(&claims, &ring);
        let prefix = format!("v1.{new}.");
        prop_assert!(after.starts_with(&prefix));
        let old = verify(&before, &ring, now, &claims).unwrap();
        if new == "k0" {
            prop_assert_eq!(old.reissue(), None);
        } else {
            prop_assert_eq!(old.reissue(), Some(ReissueReason::NonPrimaryKey));
            if retire > now {
                prop_assert_eq!(verify(&before, &ring, retire, &claims).err(), Some(VerifyError::UnknownKey));
            }
        }
    }

    /// `NearExpiry` exactly when fewer than the threshold's seconds remain.
    #[test]
    fn near_expiry_threshold(claims in session_claims(), frac in 0.0f64..1.0, within in 0u64..700_000) {
        let ring = KeyRing::new(SessionKey::new("k", &[5; 32]).unwrap());
        let token = mint_session(&claims, &ring);
        let now = inside(&claims, frac);
        let opts = VerifyOptions::new().with_reissue_within_secs(within);
        let s = verify_session(&token, &ring, now, claims.tenant_id(), claims.deployment_id(), &opts).unwrap();
        let left = claims.expires_at().unix_seconds() - now.unix_seconds();
        prop_assert_eq!(s.reissue(), (left < within).then_some(ReissueReason::NearExpiry));
    }

    /// The cookie path verifies the same token the same way, among other
    /// cookies, and the `Set-Cookie` it came from carries `exp - now`.
    #[test]
    fn cookie_round_trip((ring, token, claims) in signed_session(), frac in 0.0f64..1.0) {
        let now = inside(&claims, frac);
        let set = session_set_cookie(SESSION_COOKIE_NAME, &token, claims.expires_at(), now).unwrap();
        let set = set.to_str().unwrap();
        let max_age = claims.expires_at().unix_seconds() - now.unix_seconds();
        let want = format!("{SESSION_COOKIE_NAME}={token}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax");
        prop_assert_eq!(set, want.as_str());
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_str(&format!("theme=dark; {SESSION_COOKIE_NAME}={token}; lang=en")).unwrap());
        let s = verify_session_cookie(&headers, SESSION_COOKIE_NAME, &ring, now, claims.tenant_id(), claims.deployment_id(), &VerifyOptions::default()).unwrap();
        prop_assert_eq!(s.user_id(), claims.user_id().as_str());
        headers.append(COOKIE, HeaderValue::from_str(&format!("{SESSION_COOKIE_NAME}={token}")).unwrap());
        let dup = verify_session_cookie(&headers, SESSION_COOKIE_NAME, &ring, now, claims.tenant_id(), claims.deployment_id(), &VerifyOptions::default());
        prop_assert_eq!(dup.unwrap_err().code(), "duplicate_session");
    }
}
