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

/// SPEC §3 step 3: whether a `Cookie` pair is removed as a session cookie:
/// its name is exactly `session`, or its name or value holds `session`
/// anywhere, ASCII case-insensitively.
#[allow(dead_code)] // not every test file that includes this uses it
pub fn names_session(name: &[u8], value: Option<&[u8]>, session: &[u8]) -> bool {
    let holds = |hay: &[u8]| {
        let (hay, needle) = (hay.to_ascii_lowercase(), session.to_ascii_lowercase());
        needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_slice())
    };
    name == session || holds(name) || value.is_some_and(holds)
}
