//! The `filter_response` op (SPEC §3.3): a tool's response headers as the
//! proxy relays them.
//!
//! `session_cookie` defaults to `__Host-vendo_session`. Output names are
//! lowercase, values unchanged; the order of one name's values is kept.

use serde_json::{Value, json};
use vendo_isolation::session::SESSION_COOKIE_NAME;

use crate::Answer;
use crate::common::{header_list, header_map, opt_str_field};

/// Answers one `filter_response` request.
pub fn run(req: &Value) -> Answer {
    let mut headers = header_map(req, "headers")?;
    let cookie = opt_str_field(req, "session_cookie")?.unwrap_or(SESSION_COOKIE_NAME);
    // The report is for operators; the op answers only the headers.
    let _report = vendo_isolation::headers::filter_response(&mut headers, cookie);
    Ok(json!({ "headers": header_list(&headers) }))
}
