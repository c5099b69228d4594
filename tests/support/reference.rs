//! SPEC §3's collision key, written here independently of the library so
//! the tests that use it do not share the library's bugs.
//!
//! Include with `#[path = "support/reference.rs"] mod reference;`.

/// Whether a header name or `Connection` token is in the proxy's
/// namespace: lowercased, with `_` and `.` mapped to `-`, it starts with
/// `x-vendo-`.
pub fn is_managed_name(name: &[u8]) -> bool {
    let key: Vec<u8> = name
        .iter()
        .map(|&b| match b {
            b'_' | b'.' => b'-',
            _ => b.to_ascii_lowercase(),
        })
        .collect();
    key.starts_with(b"x-vendo-")
}
