//! The `forward` op (SPEC §5): the whole proxy decision for one request.

use serde_json::{Value, json};
use vendo_isolation::session::SESSION_COOKIE_NAME;
use vendo_isolation::{Gate, RouteEntry};

use crate::common::{header_list, header_map, opt_str_field, str_field};
use crate::hosts::policy;
use crate::session::{key_ring, now, verify_options};
use crate::{Answer, BAD_REQUEST};

/// `{"host", "apex"?, "method"?, "route", "headers", "keys", "now",
/// "leeway_s"?, "max_lifetime_s"?, "session_cookie"?}` → `{"headers": […]}`,
/// or the first refusal's code. `method` defaults to `GET`. The op holds no
/// attestation secret.
pub fn run(req: &Value) -> Answer {
    let bad = |_| BAD_REQUEST.to_owned();
    let host = str_field(req, "host")?;
    let method = opt_str_field(req, "method")?.unwrap_or("GET");
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| BAD_REQUEST.to_owned())?;
    let route: Option<RouteEntry> = match req.get("route") {
        None => return Err(BAD_REQUEST.to_owned()),
        Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(bad)?),
    };
    let mut headers = header_map(req, "headers")?;
    let cookie = opt_str_field(req, "session_cookie")?.unwrap_or(SESSION_COOKIE_NAME);
    let gate = Gate::new(key_ring(req)?)
        .with_hosts(policy(req)?)
        .with_verify_options(verify_options(req)?)
        .with_session_cookie(cookie.parse().map_err(|_| BAD_REQUEST.to_owned())?);
    let now = now(req)?;
    match gate.admit_headers(&method, host, &mut headers, route.as_ref(), now) {
        Ok(_) => Ok(json!({"headers": header_list(&headers)})),
        Err(denial) => Err(denial.code().to_owned()),
    }
}
