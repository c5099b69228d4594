//! The `schema` op: `{"id": …, "op": "schema"}` answers
//! `{"id": …, "ok": {"sql": "<DDL>", "parts": {"bindings": …, "credits": …, "routes": …}}}`:
//! every PostgreSQL DDL the crate ships, `sql` being all of them in one
//! script that loads into an empty database in one go.

use serde_json::{Value, json};
use vendo_isolation::credits::POSTGRES_CREDITS_SCHEMA;
use vendo_isolation::hosts::POSTGRES_ROUTES_SCHEMA;
use vendo_isolation::tenancy::POSTGRES_SCHEMA;

use crate::Answer;

/// Answers with the binding, credit-ledger and route DDL.
pub fn run(_req: &Value) -> Answer {
    let sql = format!("{POSTGRES_SCHEMA}\n{POSTGRES_CREDITS_SCHEMA}\n{POSTGRES_ROUTES_SCHEMA}");
    Ok(json!({
        "sql": sql,
        "parts": {"bindings": POSTGRES_SCHEMA, "credits": POSTGRES_CREDITS_SCHEMA, "routes": POSTGRES_ROUTES_SCHEMA},
    }))
}
