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
/// §5.3; SPEC §5 says so for `forward`); the order of values of one name
/// is, so a stable sort by name keeps it.
fn normalize(op: &str, mut answer: Value) -> Value {
    if matches!(op, "forward" | "strip" | "filter_response") {
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
