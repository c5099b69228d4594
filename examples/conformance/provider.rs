//! The SPEC §10 ops for API keys (§6), sealed credentials (§8) and the
//! provider decision (§7, §9): `api_key`, `mint_api_key`, `seal`, `unseal`,
//! `provider_forward`.

use serde_json::{Map, Value, json};
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{ApiKey, ApiKeyPepper, ApiKeyRecord, ApiKeyVerifier, find_api_key};
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::credits::{MicroCredits, ModelPrice, RateTable, RateTableVersion};
use vendo_isolation::provider::{Adapter, Loaded, ProviderCall, ProviderDenial, ProviderGate};
use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};

use crate::common::{header_list, header_map, opt_str_field, str_field};
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

/// `"record"`: null, or a stored key record with its key id.
fn record(req: &Value) -> Result<Option<(String, ApiKeyRecord)>, String> {
    match req.get("record") {
        None => Err(bad(())),
        Some(Value::Null) => Ok(None),
        Some(r) => {
            let verifier: [u8; 32] = hex(str_field(r, "verifier")?)?.try_into().map_err(bad)?;
            let record = ApiKeyRecord {
                tenant_id: str_field(r, "tenant_id")?.parse().map_err(bad)?,
                deployment_id: opt_str_field(r, "deployment_id")?.map(str::parse).transpose().map_err(bad)?,
                verifier: ApiKeyVerifier::from_bytes(verifier),
                expires_at: opt_time(r, "expires_at")?,
                revoked_at: opt_time(r, "revoked_at")?,
            };
            Ok(Some((str_field(r, "key_id")?.to_owned(), record)))
        }
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
    let record = record(req)?;
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

/// `"masters": {kid: hex, …}` as a ring (the first seals).
fn masters(req: &Value) -> Result<MasterKeyRing, String> {
    let masters: &Map<String, Value> = req.get("masters").and_then(Value::as_object).ok_or_else(|| bad(()))?;
    let mut keys =
        masters.iter().map(|(kid, key)| MasterKey::new(kid, &hex(key.as_str().ok_or_else(|| bad(()))?)?).map_err(bad));
    let mut ring = MasterKeyRing::new(keys.next().ok_or_else(|| bad(()))??);
    for key in keys {
        ring.add_open_only(key?).map_err(bad)?;
    }
    Ok(ring)
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

fn micros(v: &Value) -> Result<MicroCredits, String> {
    let n = match v {
        Value::String(s) => s.parse::<u64>().map_err(bad)?,
        v => v.as_u64().ok_or_else(|| bad(()))?,
    };
    Ok(MicroCredits::from_micros(n))
}

/// `"rates": [{"provider", "model", "input", "output", "max_output"?}]`.
fn rates(req: &Value) -> Result<RateTable, String> {
    let mut table = RateTable::builder(RateTableVersion::new(1));
    for row in req.get("rates").and_then(Value::as_array).ok_or_else(|| bad(()))? {
        let mut price = ModelPrice::per_million_tokens(
            micros(row.get("input").ok_or_else(|| bad(()))?)?,
            micros(row.get("output").ok_or_else(|| bad(()))?)?,
        );
        if let Some(max) = row.get("max_output").filter(|v| !v.is_null()) {
            price = price.with_max_output(max.as_u64().ok_or_else(|| bad(()))?);
        }
        table
            .insert(
                str_field(row, "provider")?.parse().map_err(bad)?,
                str_field(row, "model")?.parse().map_err(bad)?,
                price,
            )
            .map_err(bad)?;
    }
    Ok(table.build())
}

/// The whole provider decision for one call (SPEC §10 `provider_forward`).
pub fn provider_forward(req: &Value) -> Answer {
    let code = |e: ProviderDenial| e.code().to_owned();
    let adapter = Adapter::for_name(str_field(req, "adapter")?).ok_or_else(|| bad(()))?;
    let target = str_field(req, "target")?;
    let mut headers = header_map(req, "headers")?;
    let now = now(req)?;
    let record = record(req)?;
    let gate = ProviderGate::new(pepper(req)?, masters(req)?, rates(req)?);
    let c = req.get("call").ok_or_else(|| bad(()))?;
    let call = ProviderCall {
        model: str_field(c, "model")?.parse().map_err(bad)?,
        body_bytes: c.get("body_bytes").and_then(Value::as_u64).ok_or_else(|| bad(()))?,
        max_tokens: match c.get("max_tokens") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| bad(()))?),
        },
    };
    let binding = match req.get("binding") {
        None => return Err(bad(())),
        Some(Value::Null) => None,
        Some(b) => Some(Binding::from_stored(
            str_field(b, "id")?.parse().map_err(bad)?,
            str_field(b, "tenant_id")?.parse().map_err(bad)?,
            str_field(b, "deployment_id")?.parse().map_err(bad)?,
            str_field(b, "connection_id")?.parse().map_err(bad)?,
        )),
    };
    let connection = match req.get("connection") {
        None => return Err(bad(())),
        Some(Value::Null) => None,
        Some(c) => Some((
            Connection::new(
                str_field(c, "id")?.parse().map_err(bad)?,
                str_field(c, "tenant_id")?.parse().map_err(bad)?,
                str_field(c, "provider")?.parse().map_err(bad)?,
            ),
            str_field(c, "sealed")?.to_owned(),
        )),
    };
    let key = gate.key(&headers).map_err(code)?;
    let record = record.filter(|(id, _)| key.id() == id.as_str()).map(|(_, r)| r);
    let scope = gate.scope(&key, record.as_ref(), now).map_err(code)?;
    let loaded = match (&binding, &connection) {
        (Some(binding), Some((connection, sealed))) => Some(Loaded { binding, connection, sealed }),
        _ => None,
    };
    let forward = gate.forward(adapter, &scope, loaded, &call, target, &mut headers).map_err(code)?;
    Ok(json!({
        "tenant_id": forward.tenant_id().as_str(),
        "deployment_id": forward.deployment_id().as_str(),
        "reserve": forward.reserve().micros().to_string(),
        "target": forward.target(),
        "headers": header_list(&headers),
    }))
}
