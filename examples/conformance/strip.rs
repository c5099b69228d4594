//! The `strip` op (SPEC §5): SPEC §3 steps 1–3 on a header list.
//!
//! `session_cookie` defaults to SPEC §4's `__Host-vendo_session`. Output
//! names are lowercase; values are unchanged except the `Connection` and
//! `Cookie` values SPEC §3 rewrites. Header order across different names is
//! not significant; the order of one name's values, and of cookies within
//! a `Cookie` value, is kept.

use serde_json::{Value, json};
use vendo_isolation::session::SESSION_COOKIE_NAME;

use crate::Answer;
use crate::common::{header_list, header_map, opt_str_field};

/// Answers one `strip` request.
pub fn run(req: &Value) -> Answer {
    let mut headers = header_map(req, "headers")?;
    let cookie = opt_str_field(req, "session_cookie")?.unwrap_or(SESSION_COOKIE_NAME);
    // The report is for operators; the op answers only the headers.
    let _report = vendo_isolation::headers::strip(&mut headers, cookie).into_report();
    Ok(json!({ "headers": header_list(&headers) }))
}
