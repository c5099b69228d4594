//! The `schema` op: `{"id": …, "op": "schema"}` answers
//! `{"id": …, "ok": {"sql": "<DDL>"}}`, the PostgreSQL DDL the crate ships.

use serde_json::{Value, json};

use crate::Answer;

/// Answers with [`vendo_isolation::tenancy::POSTGRES_SCHEMA`].
pub fn run(_req: &Value) -> Answer {
    Ok(json!({ "sql": vendo_isolation::tenancy::POSTGRES_SCHEMA }))
}
