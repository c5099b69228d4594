//! `Cookie` header parsing, exactly as SPEC §3 step 3 describes it.
//!
//! Both the stripping of the session cookie and the extraction of the
//! session token use this one parser, so the cookie the proxy verifies is
//! always the cookie it removes before forwarding.

/// One `name=value` pair of a `Cookie` header, trimmed per SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePair<'a> {
    /// The cookie name, trimmed of spaces and tabs. Empty when the pair
    /// has no name.
    pub name: &'a [u8],
    /// The value, trimmed of spaces and tabs; `None` for a pair without `=`.
    pub value: Option<&'a [u8]>,
    /// The whole pair, trimmed of spaces and tabs, as it is re-joined when
    /// another cookie is removed.
    pub raw: &'a [u8],
}

const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims spaces and tabs, and nothing else, from both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Whether `needle` occurs in `hay`, ASCII case-insensitively. An empty
/// needle occurs everywhere.
pub(crate) fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    let at = |i: usize| {
        hay.get(i.saturating_add(1)..).and_then(|t| t.get(..rest.len())).is_some_and(|t| t.eq_ignore_ascii_case(rest))
    };
    // Candidates are found with SIMD; only they are compared in full.
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), hay).any(at)
}

impl CookiePair<'_> {
    /// Whether the proxy removes this pair as a session cookie (SPEC §3
    /// step 3): its name is exactly `session`, or its name or value holds
    /// `session` anywhere, ASCII case-insensitively. Parsers that also split
    /// on `,` or whitespace (Python's `http.cookies`, RFC 2109) would read
    /// `a=1 __Host-vendo_session=x` as a session cookie the proxy never
    /// verified.
    pub fn mentions(&self, session: &[u8]) -> bool {
        self.name == session
            || contains_ignore_ascii_case(self.name, session)
            || self.value.is_some_and(|v| contains_ignore_ascii_case(v, session))
    }
}

/// Iterates over the pairs of one `Cookie` header value.
///
/// The value is split on `;`; each pair is trimmed of spaces and tabs;
/// pairs that are empty after trimming are skipped (they carry nothing and
/// are not re-joined).
///
/// ```
/// use vendo_isolation::headers::cookie_pairs;
/// let v: Vec<_> = cookie_pairs(b" a = 1 ;b=2; ;c").map(|p| (p.name, p.value)).collect();
/// assert_eq!(v, [(&b"a"[..], Some(&b"1"[..])), (b"b", Some(b"2")), (b"c", None)]);
/// ```
pub fn cookie_pairs(value: &[u8]) -> impl Iterator<Item = CookiePair<'_>> {
    let mut rest = Some(value);
    core::iter::from_fn(move || {
        loop {
            let current = rest?;
            let (pair, next) = match memchr::memchr(b';', current) {
                Some(semi) => {
                    let (pair, tail) = current.split_at_checked(semi)?;
                    (pair, tail.get(1..))
                }
                None => (current, None),
            };
            rest = next;
            let raw = trim_ows(pair);
            if raw.is_empty() {
                continue;
            }
            return Some(match memchr::memchr(b'=', raw) {
                Some(eq) => {
                    let (name, tail) = raw.split_at(eq);
                    CookiePair { name: trim_ows(name), value: Some(trim_ows(tail.get(1..).unwrap_or_default())), raw }
                }
                None => CookiePair { name: raw, value: None, raw },
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_spaces_and_tabs_only() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"\r a \n"), b"\r a \n");
        assert_eq!(trim_ows(b"   "), b"");
    }

    #[test]
    fn contains_ignores_ascii_case_only() {
        assert!(contains_ignore_ascii_case(b"a=1 __HOST-vendo_SESSION=x", b"__Host-vendo_session"));
        assert!(contains_ignore_ascii_case(b"abc", b"abc"));
        assert!(contains_ignore_ascii_case(b"abc", b""));
        assert!(!contains_ignore_ascii_case(b"ab", b"abc"));
        assert!(!contains_ignore_ascii_case(b"xabx", b"abc"));
        // Only ASCII letters fold: the Kelvin sign is not `k`.
        assert!(!contains_ignore_ascii_case("\u{212a}ey".as_bytes(), b"key"));
        // Either case of the first byte starts a match, at any offset; a
        // match cut short by the end of the hay is none.
        assert!(contains_ignore_ascii_case(b"xxKEY", b"key") && contains_ignore_ascii_case(b"kkey", b"KEY"));
        assert!(!contains_ignore_ascii_case(b"xxke", b"key"));
    }

    #[test]
    fn value_keeps_inner_equals() {
        let p: Vec<_> = cookie_pairs(b"s = a=b= ").collect();
        assert_eq!(p[0].name, b"s");
        assert_eq!(p[0].value, Some(&b"a=b="[..]));
        assert_eq!(p[0].raw, b"s = a=b=");
    }
}
