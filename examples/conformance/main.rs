//! Conformance runner (SPEC §5): JSON objects in, one per line, on standard
//! input; one JSON object per line out, in the same order, echoing `"id"`.
//!
//! ```text
//! cargo run --release --example conformance < tests/vectors/hosts.jsonl
//! ```
//!
//! A line it cannot understand answers `{"id": …, "error": "bad_request"}`;
//! the runner never stops early.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
mod forward;
mod hosts;
mod provider;
mod response;
mod schema;
mod session;
mod strip;

use std::io::{BufRead, Write};

use serde_json::{Map, Value, json};

/// What one op answers: `Ok` becomes `{"ok": …}`, `Err` becomes
/// `{"error": code}`.
pub type Answer = Result<Value, String>;

/// The error code for a request the runner cannot understand.
pub const BAD_REQUEST: &str = "bad_request";

/// Answers one request line.
pub fn answer(line: &str) -> Value {
    let req: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let result = match req.get("op").and_then(Value::as_str) {
        Some("parse_host") => hosts::run(&req),
        Some("strip") => strip::run(&req),
        Some("verify_session") => session::run(&req),
        Some("forward") => forward::run(&req),
        Some("schema") => schema::run(&req),
        Some("filter_response") => response::run(&req),
        Some("api_key") => provider::api_key(&req),
        Some("mint_api_key") => provider::mint_api_key(&req),
        Some("seal") => provider::seal(&req),
        Some("unseal") => provider::unseal(&req),
        Some("provider_forward") => provider::provider_forward(&req),
        _ => Err(BAD_REQUEST.to_owned()),
    };
    let mut out = Map::new();
    out.insert("id".to_owned(), id);
    match result {
        Ok(ok) => out.insert("ok".to_owned(), ok),
        Err(code) => out.insert("error".to_owned(), json!(code)),
    };
    Value::Object(out)
}

fn main() {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = answer(&line);
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
}
