//! Checked-in vector files that a test regenerates on request.
//!
//! Include with `#[path = "support/vectors.rs"] mod vectors;`.

use std::path::PathBuf;

use serde_json::Value;

/// The path of `tests/vectors/{file}`.
pub fn path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(file)
}

/// Fails unless `tests/vectors/{file}` holds exactly `lines`, one JSON
/// object per line; with `REGENERATE_VECTORS=1`, rewrites the file first.
pub fn check_or_regenerate(file: &str, lines: &[Value]) {
    let path = path(file);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if std::env::var_os("REGENERATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(on_disk == text, "tests/vectors/{file} is stale: rerun with REGENERATE_VECTORS=1");
}
