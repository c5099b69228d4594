//! The crate inside Cloudflare's Workers runtime: builds the wasm module
//! (`examples/worker`, release, `wasm32-unknown-unknown`) and runs the
//! Worker's own suite there with Node's test runner (`node --test test/*.test.mjs`):
//! the JavaScript API and garbage through every entry point, every public
//! vector through `conformance.mjs`, and the reference app proxy served by
//! workerd (miniflare, pinned by `examples/worker/package-lock.json`)
//! end to end over real HTTP against a tool that checks attestations with
//! its own WebCrypto implementation of SPEC §3.1.
//!
//! Without node, the wasm target, or `examples/worker/node_modules` (`npm
//! ci` there) the test prints one `skipped:` line and passes; with
//! `CI=true` it fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn worker_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/worker")
}

/// Why the Worker suite cannot run here, if it cannot.
fn missing() -> Option<&'static str> {
    if Command::new("node").arg("--version").stdout(Stdio::null()).status().is_err() {
        return Some("no node on PATH");
    }
    if !worker_dir().join("node_modules/miniflare").is_dir() {
        return Some("no examples/worker/node_modules; run npm ci in examples/worker");
    }
    let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if !targets.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l == "wasm32-unknown-unknown")) {
        return Some("no wasm32-unknown-unknown target; rustup target add wasm32-unknown-unknown");
    }
    None
}

#[test]
fn the_worker_suite_passes_in_workerd() {
    if let Some(why) = missing() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "the Worker suite must run in CI: {why}");
        println!("skipped: Worker runtime suite ({why})");
        return;
    }
    // Both modules: the app proxy's and the provider proxy's.
    for dir in [worker_dir(), worker_dir().join("provider")] {
        let build = Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "--target", "wasm32-unknown-unknown"])
            .current_dir(&dir)
            // The outer build's settings are for the host, not this module.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .unwrap();
        assert!(build.success(), "building the wasm module in {} failed", dir.display());
    }
    let mut suites: Vec<String> = std::fs::read_dir(worker_dir().join("test"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("test/{name}"))
        .collect();
    suites.sort();
    assert!(suites.len() >= 3, "{suites:?}");
    let out = Command::new("node").arg("--test").args(&suites).current_dir(worker_dir()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The summary lines, so a passing run still says what it ran.
    for line in stdout.lines().filter(|l| l.starts_with("# ")) {
        println!("{line}");
    }
    assert!(out.status.success(), "node --test failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}
