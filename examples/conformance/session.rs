//! The `verify_session` op (SPEC §5), and the request readers the
//! `forward` op shares with it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vendo_isolation::session::{
    DEFAULT_LEEWAY_SECS, DEFAULT_MAX_LIFETIME_SECS, VerifiedSession, VerifyOptions, verify_session,
};
use vendo_isolation::{DeploymentId, KeyRing, SessionKey, TenantId, Timestamp};

use crate::common::{str_field, u64_field};
use crate::{Answer, BAD_REQUEST};

fn bad<E>(_: E) -> String {
    BAD_REQUEST.to_owned()
}

pub fn hex(s: &str) -> Result<Vec<u8>, String> {
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(()));
    }
    pairs
        .map(|p| std::str::from_utf8(p).ok().and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(|| bad(())))
        .collect()
}

/// `"keys": {kid: hex, …}` as a ring. A key shorter than 32 bytes, a bad
/// kid, bad hex, no keys or more than the ring holds is a bad request.
/// Which key is primary does not change verification; the first kid in
/// sorted order is.
pub fn key_ring(req: &Value) -> Result<KeyRing, String> {
    let map = req.get("keys").and_then(Value::as_object).ok_or_else(|| bad(()))?;
    let sorted: BTreeMap<&str, &Value> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut ring: Option<KeyRing> = None;
    for (kid, secret) in sorted {
        let secret = hex(secret.as_str().ok_or_else(|| bad(()))?)?;
        let key = SessionKey::new(kid, &secret).map_err(bad)?;
        match ring.as_mut() {
            None => ring = Some(KeyRing::new(key)),
            Some(r) => r.add_verify_only(key, None).map_err(bad)?,
        }
    }
    ring.ok_or_else(|| bad(()))
}

/// `leeway_s` (default 60) and `max_lifetime_s` (default 604800).
pub fn verify_options(req: &Value) -> Result<VerifyOptions, String> {
    Ok(VerifyOptions::new()
        .with_leeway_secs(u64_field(req, "leeway_s", DEFAULT_LEEWAY_SECS)?)
        .with_max_lifetime_secs(u64_field(req, "max_lifetime_s", DEFAULT_MAX_LIFETIME_SECS)?))
}

/// The required `now`, in range.
pub fn now(req: &Value) -> Result<Timestamp, String> {
    let secs = req.get("now").and_then(Value::as_u64).ok_or_else(|| bad(()))?;
    Timestamp::from_unix_seconds(secs).map_err(bad)
}

/// A verified session as the `ok` object.
pub fn session_json(s: &VerifiedSession) -> Value {
    json!({
        "tenant_id": s.tenant_id(),
        "deployment_id": s.deployment_id(),
        "user_id": s.user_id(),
        "email": s.email(),
        "iat": s.issued_at().unix_seconds(),
        "exp": s.expires_at().unix_seconds(),
    })
}

/// Verifies `token` for `tenant_id`/`deployment_id` at `now`; every
/// malformed request field is checked before the token is looked at.
pub fn run(req: &Value) -> Answer {
    let ring = key_ring(req)?;
    let options = verify_options(req)?;
    let now = now(req)?;
    let token = str_field(req, "token")?;
    let tenant: TenantId = str_field(req, "tenant_id")?.parse().map_err(bad)?;
    let deployment: DeploymentId = str_field(req, "deployment_id")?.parse().map_err(bad)?;
    match verify_session(token, &ring, now, &tenant, &deployment, &options) {
        Ok(session) => Ok(session_json(&session)),
        Err(e) => Err(e.code().to_owned()),
    }
}
