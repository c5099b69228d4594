//! The `parse_host` op (SPEC §5).

use serde_json::{Value, json};
use vendo_isolation::HostPolicy;
use vendo_isolation::hosts::HostForm;

use crate::common::{opt_str_field, str_field};
use crate::{Answer, BAD_REQUEST};

/// `{"host", "apex"?, "reserved"?}` → `{"form", "label"}` or
/// `{"form", "deployment", "tenant"}`.
pub fn run(req: &Value) -> Answer {
    let host = str_field(req, "host")?;
    let policy = policy(req)?;
    let key = policy.parse(host).map_err(|e| e.code().to_owned())?;
    Ok(match (key.form(), key.legacy_parts()) {
        (HostForm::Legacy, Some((deployment, tenant))) => {
            json!({"form": "legacy", "deployment": deployment, "tenant": tenant})
        }
        _ => json!({"form": "single_level", "label": key.as_str()}),
    })
}

/// The host policy a request names: `apex` (default `vendo.run`) and
/// `reserved` (default the SPEC's list).
pub fn policy(req: &Value) -> Result<HostPolicy, String> {
    let bad = |_| BAD_REQUEST.to_owned();
    let policy = match opt_str_field(req, "apex")? {
        Some(apex) => HostPolicy::new(apex).map_err(bad)?,
        None => HostPolicy::default(),
    };
    match req.get("reserved") {
        None | Some(Value::Null) => Ok(policy),
        Some(Value::Array(list)) => {
            let labels: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
            policy.with_reserved(labels.ok_or_else(|| BAD_REQUEST.to_owned())?).map_err(bad)
        }
        Some(_) => Err(BAD_REQUEST.to_owned()),
    }
}
