//! Field readers shared by the ops.

use serde_json::Value;

use crate::BAD_REQUEST;

/// A required string field.
pub fn str_field<'a>(req: &'a Value, name: &str) -> Result<&'a str, String> {
    req.get(name).and_then(Value::as_str).ok_or_else(|| BAD_REQUEST.to_owned())
}

/// An optional string field: absent or null gives `None`; any other
/// non-string is a bad request.
pub fn opt_str_field<'a>(req: &'a Value, name: &str) -> Result<Option<&'a str>, String> {
    match req.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(BAD_REQUEST.to_owned()),
    }
}

/// An optional unsigned integer field with a default.
pub fn u64_field(req: &Value, name: &str, default: u64) -> Result<u64, String> {
    match req.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| BAD_REQUEST.to_owned()),
    }
}

/// `[[name, value], …]` as an `http::HeaderMap`, appending in order. A name
/// or value that `http` cannot represent is a bad request.
pub fn header_map(req: &Value, name: &str) -> Result<http::HeaderMap, String> {
    let bad = || BAD_REQUEST.to_owned();
    let list = req.get(name).and_then(Value::as_array).ok_or_else(bad)?;
    let mut map = http::HeaderMap::new();
    for pair in list {
        let pair = pair.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
        let n = pair[0].as_str().ok_or_else(bad)?;
        let v = pair[1].as_str().ok_or_else(bad)?;
        let n = http::HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad())?;
        let v = http::HeaderValue::from_str(v).map_err(|_| bad())?;
        map.append(n, v);
    }
    Ok(map)
}

/// A `HeaderMap` as `[[name, value], …]`, lowercase names, values as they
/// are (lossy only for bytes that are not UTF-8, which §5 inputs cannot
/// produce).
pub fn header_list(map: &http::HeaderMap) -> Value {
    Value::Array(
        map.iter()
            .map(|(n, v)| {
                Value::Array(vec![n.as_str().into(), String::from_utf8_lossy(v.as_bytes()).into_owned().into()])
            })
            .collect(),
    )
}
