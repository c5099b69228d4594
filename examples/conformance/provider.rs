//! The SPEC §10 ops for API keys (§6) and sealed credentials (§8):
//! `api_key`, `mint_api_key`, `seal`, `unseal`.

use serde_json::{Map, Value, json};
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord, ApiKeyVerifier, find_api_key};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};

use crate::common::{header_map, opt_str_field, str_field};
use crate::session::{hex, now};
use crate::{Answer, BAD_REQUEST};

fn bad<E>(_: E) -> String {
    BAD_REQUEST.to_owned()
}

fn hex_field(req: &Value, name: &str) -> Result<Vec<u8>, String> {
    hex(str_field(req, name)?)
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn opt_time(record: &Value, name: &str) -> Result<Option<Timestamp>, String> {
    match record.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Timestamp::from_unix_seconds(v.as_u64().ok_or_else(|| bad(()))?).map(Some).map_err(bad),
    }
}

fn pepper(req: &Value) -> Result<ApiKeyPepper, String> {
    ApiKeyPepper::new(&hex_field(req, "pepper")?).map_err(bad)
}

/// `{"headers", "pepper", "now", "record"}` → `{"key_id", "tenant_id",
/// "deployment_id"}` or the first §6 code.
pub fn api_key(req: &Value) -> Answer {
    let headers = header_map(req, "headers")?;
    let pepper = pepper(req)?;
    let now = now(req)?;
    let record = match req.get("record") {
        None => return Err(bad(())),
        Some(Value::Null) => None,
        Some(r) => {
            let verifier: [u8; 32] = hex(str_field(r, "verifier")?)?.try_into().map_err(bad)?;
            let record = ApiKeyRecord {
                tenant_id: str_field(r, "tenant_id")?.parse().map_err(bad)?,
                deployment_id: opt_str_field(r, "deployment_id")?.map(str::parse).transpose().map_err(bad)?,
                verifier: ApiKeyVerifier::from_bytes(verifier),
                expires_at: opt_time(r, "expires_at")?,
                revoked_at: opt_time(r, "revoked_at")?,
            };
            Some((str_field(r, "key_id")?.to_owned(), record))
        }
    };
    let key = find_api_key(&headers).map_err(|e| e.code().to_owned())?;
    // A record stored under another id is not this key's: the caller's
    // lookup went wrong, and the key is unknown.
    let record = record.filter(|(id, _)| key.id() == id.as_str()).map(|(_, r)| r);
    let scope = pepper.verify(&key, record.as_ref(), now).map_err(|e| e.code().to_owned())?;
    Ok(json!({
        "key_id": key.id().as_str(),
        "tenant_id": scope.tenant_id().as_str(),
        "deployment_id": scope.deployment_id().map(|d| d.as_str()),
    }))
}

/// `{"random": 84 hex, "pepper"}` → `{"api_key", "key_id", "verifier"}`.
pub fn mint_api_key(req: &Value) -> Answer {
    let random: [u8; 42] = hex_field(req, "random")?.try_into().map_err(bad)?;
    let pepper = pepper(req)?;
    let key = ApiKey::mint(&random);
    Ok(json!({
        "api_key": key.expose().as_str(),
        "key_id": key.id().as_str(),
        "verifier": hex_string(pepper.verifier(&key).as_bytes()),
    }))
}

fn connection(req: &Value) -> Result<Connection, String> {
    Ok(Connection::new(
        str_field(req, "connection_id")?.parse().map_err(bad)?,
        str_field(req, "tenant_id")?.parse().map_err(bad)?,
        str_field(req, "provider")?.parse().map_err(bad)?,
    ))
}

/// `{"credential", "kid", "master", "nonce", "tenant_id",
/// "connection_id", "provider"}` → `{"sealed"}`.
pub fn seal(req: &Value) -> Answer {
    let ring = MasterKeyRing::new(MasterKey::new(str_field(req, "kid")?, &hex_field(req, "master")?).map_err(bad)?);
    let nonce: [u8; 12] = hex_field(req, "nonce")?.try_into().map_err(bad)?;
    let credential = Credential::new(str_field(req, "credential")?).map_err(bad)?;
    Ok(json!({ "sealed": ring.seal(&connection(req)?, &nonce, &credential) }))
}

/// `{"sealed", "masters": {kid: hex}, "tenant_id", "connection_id",
/// "provider"}` → `{"credential"}` or `credential_unreadable`.
pub fn unseal(req: &Value) -> Answer {
    let masters: &Map<String, Value> = req.get("masters").and_then(Value::as_object).ok_or_else(|| bad(()))?;
    let mut keys =
        masters.iter().map(|(kid, key)| MasterKey::new(kid, &hex(key.as_str().ok_or_else(|| bad(()))?)?).map_err(bad));
    let mut ring = MasterKeyRing::new(keys.next().ok_or_else(|| bad(()))??);
    for key in keys {
        ring.add_open_only(key?).map_err(bad)?;
    }
    let sealed = str_field(req, "sealed")?;
    let conn = connection(req)?;
    // The only way to open is through a grant: build the one the proxy's
    // checks would give for this connection.
    let deployment = Deployment::new("d_conformance".parse().map_err(bad)?, conn.tenant_id().clone());
    let binding = Binding::new("b_conformance".parse().map_err(bad)?, &deployment, &conn).map_err(bad)?;
    let scope = KeyScope::deployment(conn.tenant_id().clone(), deployment.id().clone());
    let granted = check_connection_use(&scope, &binding, &conn, conn.provider()).map_err(bad)?;
    let credential = ring.open(&granted, sealed).map_err(|e| e.code().to_owned())?;
    Ok(json!({ "credential": credential.expose() }))
}
