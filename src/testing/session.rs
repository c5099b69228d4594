//! Strategies for the session boundary.

use proptest::prelude::*;

use super::{deployment_id, email, tenant_id, user_id};
use crate::headers::Identity;
use crate::session::{DEFAULT_MAX_LIFETIME_SECS, MAX_KID_LEN, MAX_RING_KEYS, MIN_KEY_LEN, SessionClaims, mint_session};
use crate::time::MAX_UNIX_SECONDS;
use crate::{KeyRing, SessionKey, Timestamp};

/// Any valid key id (SPEC §4): 1–32 bytes of `[A-Za-z0-9_-]`.
pub fn kid_string() -> impl Strategy<Value = String> {
    const _: () = assert!(MAX_KID_LEN == 32, "update the regex below");
    "[A-Za-z0-9_-]{1,32}"
}

/// Any valid secret: 32 to 64 arbitrary bytes.
pub fn key_secret() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), MIN_KEY_LEN..=64)
}

/// Any valid (`issued_at`, `expires_at`) pair within the default maximum
/// lifetime, anywhere in the [`Timestamp`] range.
pub fn session_times() -> impl Strategy<Value = (Timestamp, Timestamp)> {
    (0..MAX_UNIX_SECONDS, 1..=DEFAULT_MAX_LIFETIME_SECS).prop_map(|(iat, life)| {
        let iat = Timestamp::from_unix_seconds(iat).unwrap_or(Timestamp::EPOCH);
        // Clamped at the top of the range; iat < MAX keeps exp > iat.
        (iat, iat.saturating_add_secs(life))
    })
}

/// Any valid [`SessionClaims`] whose lifetime is within the default
/// maximum, so it verifies under `VerifyOptions::default()` at any `now`
/// in `issued_at..expires_at`.
pub fn session_claims() -> impl Strategy<Value = SessionClaims> {
    (tenant_id(), deployment_id(), user_id(), email(), session_times())
        .prop_filter_map("invalid claims", |(t, d, u, e, (iat, exp))| SessionClaims::new(t, d, u, e, iat, exp).ok())
}

/// Any valid [`Identity`]: what a verified session yields and what header
/// injection and attestation take, built with [`Identity::for_tests`].
pub fn identity() -> impl Strategy<Value = Identity> {
    (tenant_id(), deployment_id(), user_id(), email()).prop_map(|(t, d, u, e)| Identity::for_tests(t, d, u, e))
}

/// A ring of 1 to [`MAX_RING_KEYS`] keys with distinct ids, none retired;
/// the first is primary.
pub fn key_ring() -> impl Strategy<Value = KeyRing> {
    prop::collection::btree_map(kid_string(), key_secret(), 1..=MAX_RING_KEYS).prop_filter_map("invalid ring", |keys| {
        let mut keys = keys.into_iter().map(|(kid, secret)| SessionKey::new(&kid, &secret));
        let mut ring = KeyRing::new(keys.next()?.ok()?);
        for key in keys {
            ring.add_verify_only(key.ok()?, None).ok()?;
        }
        Some(ring)
    })
}

/// A ring, a token minted by it, and the claims in the token.
pub fn signed_session() -> impl Strategy<Value = (KeyRing, String, SessionClaims)> {
    (key_ring(), session_claims()).prop_map(|(ring, claims)| {
        let token = mint_session(&claims, &ring);
        (ring, token, claims)
    })
}
