//! Replays every public vector in `tests/vectors/*.jsonl` through the
//! conformance runner binary (`examples/conformance`), exactly as a
//! TypeScript or Python implementation would replay them through theirs.
//!
//! Each vector line is a SPEC §5 request plus an `"expect"` object holding
//! the answer without its `"id"`. The runner must ignore the extra fields.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn runner() -> PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/conformance
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join("examples").join(format!("conformance{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is missing: `cargo test` builds examples before running tests", bin.display());
    bin
}

fn run(input: &str) -> Vec<Value> {
    let mut child = Command::new(runner()).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The order of fields with different names is not significant (RFC 9110
/// §5.3; SPEC §5 says so for `forward`, §10 for `provider_forward`); the
/// order of values of one name is, so a stable sort by name keeps it.
fn normalize(op: &str, mut answer: Value) -> Value {
    if matches!(op, "forward" | "strip" | "filter_response" | "provider_forward") {
        if let Some(headers) = answer.pointer_mut("/ok/headers").and_then(Value::as_array_mut) {
            headers.sort_by_key(|h| h[0].as_str().unwrap_or_default().to_owned());
        }
    }
    answer
}

fn replay(file: &Path) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let requests: Vec<Value> =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    let answers = run(&text);
    assert_eq!(answers.len(), requests.len(), "{}: one answer per line", file.display());
    let mut failures = Vec::new();
    for (req, mut got) in requests.iter().zip(answers) {
        assert_eq!(got["id"], req["id"], "answers come back in order, echoing the id");
        got.as_object_mut().unwrap().remove("id");
        let op = req["op"].as_str().unwrap_or_default();
        let want = req.get("expect").unwrap_or_else(|| panic!("{}: {} has no expect", file.display(), req["id"]));
        if normalize(op, got.clone()) != normalize(op, want.clone()) {
            failures.push(format!("{} {}: got {got}, want {want}", req["id"], req.get("why").unwrap_or(&Value::Null)));
        }
    }
    assert!(failures.is_empty(), "{}:\n{}", file.display(), failures.join("\n"));
    requests.len()
}

#[test]
fn every_vector_file_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let n = replay(&file);
        println!("{}: {n} vectors", file.file_name().unwrap().to_string_lossy());
    }
}

#[test]
fn hosts_vectors_meet_the_floor() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/hosts.jsonl")).unwrap();
    assert!(text.lines().count() >= 40);
}

fn vector_lines(file: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(file);
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn provider_vectors_meet_the_floor() {
    for (file, floor) in [("api_key.jsonl", 40), ("sealing.jsonl", 20), ("provider_forward.jsonl", 40)] {
        let n = vector_lines(file);
        assert!(n >= floor, "tests/vectors/{file}: {n} vectors, want at least {floor}");
    }
}

#[test]
fn runner_survives_garbage() {
    let answers = run(
        "not json\n{\"id\":7}\n{\"id\":8,\"op\":\"parse_host\",\"host\":5}\n[1,2]\n{\"id\":9,\"op\":\"parse_host\",\"host\":\"a-b.vendo.run\"}\n",
    );
    let codes: Vec<_> =
        answers.iter().map(|a| a.get("error").cloned().unwrap_or_else(|| a["ok"]["label"].clone())).collect();
    assert_eq!(codes, ["bad_request", "bad_request", "bad_request", "bad_request", "a-b"]);
    assert_eq!(answers[1]["id"], 7);
}

#[test]
fn provider_ops_answer_the_spec_worked_examples() {
    let hex = |bytes: std::ops::Range<u8>| bytes.map(|b| format!("{b:02x}")).collect::<String>();
    let (random, pepper, master) = (hex(0..42), hex(100..132), hex(0..32));
    let key = "vk1_aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijcemsckjrhfau7ce25v4";
    let verifier = "8c3996b174c21d007338d24434bd2ab5d9d5791c1567d4f65c7d48a2429bf706";
    let sealed = "v1.m1.AAAAAAAAAAAAAAAAxnIdISdINLwSPesCSUi6aoqVymdRKvzWsqIj";
    let record = |id: &str| serde_json::json!({"key_id": id, "tenant_id": "t_1", "deployment_id": "d_1", "verifier": verifier, "expires_at": null, "revoked_at": null});
    let api = |id: &str, headers: Value, record: Value| serde_json::json!({"id": id, "op": "api_key", "headers": headers, "pepper": pepper, "now": 1_700_000_000u64, "record": record});
    let unseal = |id: &str, tenant: &str| serde_json::json!({"id": id, "op": "unseal", "sealed": sealed, "masters": {"m1": master}, "tenant_id": tenant, "connection_id": "c_1", "provider": "openai"});
    let forward = |id: &str, binding_tenant: &str| {
        serde_json::json!({"id": id, "op": "provider_forward", "adapter": "openai", "method": "POST",
            "target": "/v1/chat/completions",
            "headers": [["authorization", format!("Bearer {key}")], ["x_vendo_user_id", "u_2"], ["accept", "*/*"]],
            "pepper": pepper, "now": 1_700_000_000u64, "record": record("aaaqeayeaudaocaj"),
            "binding": {"id": "b_1", "tenant_id": binding_tenant, "deployment_id": "d_1", "connection_id": "c_1"},
            "connection": {"id": "c_1", "tenant_id": "t_1", "provider": "openai", "sealed": sealed},
            "masters": {"m1": master},
            "call": {"model": "gpt-4o-mini", "body_bytes": 1234, "max_tokens": 500},
            "rates": [{"provider": "openai", "model": "gpt-4o-mini", "input": "150000", "output": "600000", "max_output": 16384}]})
    };
    let requests = [
        serde_json::json!({"id": "m1", "op": "mint_api_key", "random": random, "pepper": pepper}),
        api("k1", serde_json::json!([["authorization", format!("Bearer {key}")]]), record("aaaqeayeaudaocaj")),
        api("k2", serde_json::json!([["x-api-key", key]]), Value::Null),
        api("k3", serde_json::json!([["x-api-key", key]]), record("baaqeayeaudaocaj")),
        api(
            "k4",
            serde_json::json!([["x-api-key", key], ["authorization", format!("Bearer {key}")]]),
            record("aaaqeayeaudaocaj"),
        ),
        api("k5", serde_json::json!([]), Value::Null),
        serde_json::json!({"id": "k6", "op": "api_key", "headers": [], "pepper": "00", "now": 1, "record": null}),
        serde_json::json!({"id": "c1", "op": "seal", "credential": "sk-test-123", "kid": "m1", "master": master, "nonce": "000000000000000000000000", "tenant_id": "t_1", "connection_id": "c_1", "provider": "openai"}),
        unseal("c2", "t_1"),
        unseal("c3", "t_2"),
        forward("p1", "t_1"),
        forward("p2", "t_2"),
    ];
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let answers = run(&input);
    let expected = [
        serde_json::json!({"id": "m1", "ok": {"api_key": key, "key_id": "aaaqeayeaudaocaj", "verifier": verifier}}),
        serde_json::json!({"id": "k1", "ok": {"key_id": "aaaqeayeaudaocaj", "tenant_id": "t_1", "deployment_id": "d_1"}}),
        serde_json::json!({"id": "k2", "error": "unknown_api_key"}),
        serde_json::json!({"id": "k3", "error": "unknown_api_key"}),
        serde_json::json!({"id": "k4", "error": "duplicate_api_key"}),
        serde_json::json!({"id": "k5", "error": "no_api_key"}),
        serde_json::json!({"id": "k6", "error": "bad_request"}),
        serde_json::json!({"id": "c1", "ok": {"sealed": sealed}}),
        serde_json::json!({"id": "c2", "ok": {"credential": "sk-test-123"}}),
        serde_json::json!({"id": "c3", "error": "credential_unreadable"}),
        serde_json::json!({"id": "p1", "ok": {"tenant_id": "t_1", "deployment_id": "d_1", "reserve": "486",
            "target": "/v1/chat/completions", "headers": [["accept", "*/*"], ["authorization", "Bearer sk-test-123"]]}}),
        serde_json::json!({"id": "p2", "error": "binding_tenant_mismatch"}),
    ];
    let answers: Vec<Value> = answers.into_iter().map(|a| normalize("forward", a)).collect();
    assert_eq!(answers, expected);
}
