//! Replays tests/vectors/strip.jsonl through the conformance runner's
//! `strip` op (the very module the runner uses) and through the library
//! directly.
//!
//! Answers compare as SPEC §5 allows: header order across different names
//! is not significant; the order of one name's values is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs, dead_code)]

#[path = "../examples/conformance/common.rs"]
mod common;
#[path = "../examples/conformance/strip.rs"]
mod strip_op;

#[path = "support/reference.rs"]
mod reference;

use reference::is_managed_name;
use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use vendo_isolation::headers::strip;

/// What the runner's ops answer (mirrors examples/conformance/main.rs).
pub type Answer = Result<Value, String>;
/// The runner's code for a request it cannot understand.
pub const BAD_REQUEST: &str = "bad_request";

const VECTORS: &str = include_str!("vectors/strip.jsonl");

/// `[[name, value], …]` grouped by name, values in order.
fn grouped(list: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in list.as_array().unwrap() {
        out.entry(pair[0].as_str().unwrap().to_owned()).or_default().push(pair[1].as_str().unwrap().to_owned());
    }
    out
}

fn answer_of(result: Answer) -> Value {
    match result {
        Ok(ok) => serde_json::json!({ "ok": ok }),
        Err(code) => serde_json::json!({ "error": code }),
    }
}

fn same_answer(got: &Value, want: &Value) -> bool {
    match (got.get("ok"), want.get("ok")) {
        (Some(g), Some(w)) => grouped(&g["headers"]) == grouped(&w["headers"]),
        (None, None) => got.get("error") == want.get("error"),
        _ => false,
    }
}

fn vectors() -> Vec<Value> {
    VECTORS.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn vectors_are_many_and_well_formed() {
    let v = vectors();
    assert!(v.len() >= 25, "{} vectors", v.len());
    let mut ids: Vec<_> = v.iter().map(|x| x["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), v.len(), "ids are unique");
    for x in &v {
        assert_eq!(x["op"], "strip");
        assert!(x["expect"].get("ok").is_some() ^ x["expect"].get("error").is_some(), "{x}");
        assert!(x["why"].as_str().is_some_and(|w| !w.is_empty()), "{x}");
    }
}

#[test]
fn runner_op_answers_every_vector() {
    for v in vectors() {
        let got = answer_of(strip_op::run(&v));
        assert!(same_answer(&got, &v["expect"]), "{}: got {got}, want {}", v["id"], v["expect"]);
    }
}

#[test]
fn library_answers_every_vector() {
    for v in vectors() {
        let Some(want) = v["expect"].get("ok") else { continue };
        let mut h = HeaderMap::new();
        for pair in v["headers"].as_array().unwrap() {
            let n = HeaderName::from_bytes(pair[0].as_str().unwrap().as_bytes()).unwrap();
            h.append(n, HeaderValue::from_str(pair[1].as_str().unwrap()).unwrap());
        }
        let cookie = v["session_cookie"].as_str().unwrap_or("__Host-vendo_session");
        strip(&mut h, cookie).into_report();
        let got: Vec<Value> = h.iter().map(|(n, val)| serde_json::json!([n.as_str(), val.to_str().unwrap()])).collect();
        assert_eq!(grouped(&Value::Array(got)), grouped(&want["headers"]), "{}", v["id"]);
        assert!(h.keys().all(|n| !is_managed_name(n.as_str().as_bytes())), "{}", v["id"]);
    }
}
