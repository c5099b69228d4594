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

/// Offset of the first `needle` in `hay`, eight bytes at a time.
///
/// A session token makes the `Cookie` header a few hundred bytes long and
/// every request splits it; a word-at-a-time scan keeps that off the
/// profile without `unsafe` or a dependency.
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(needle));
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0usize;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])) ^ pattern;
        // A byte of `word` is zero where `hay` holds `needle`; the lowest
        // set bit of `found` marks the first such byte exactly (borrows
        // only create false positives above a true zero).
        let found = word.wrapping_sub(LO) & !word & HI;
        if found != 0 {
            let byte = usize::try_from(found.trailing_zeros() >> 3).unwrap_or(0);
            return Some(offset.saturating_add(byte));
        }
        offset = offset.saturating_add(8);
    }
    chunks.remainder().iter().position(|&b| b == needle).map(|i| offset.saturating_add(i))
}

/// Whether `needle` occurs in `hay`, ASCII case-insensitively. An empty
/// needle occurs everywhere.
pub(crate) fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some((first, rest)) = needle.split_first() else { return true };
    hay.iter().enumerate().any(|(i, b)| {
        b.eq_ignore_ascii_case(first)
            && hay
                .get(i.saturating_add(1)..)
                .and_then(|t| t.get(..rest.len()))
                .is_some_and(|t| t.eq_ignore_ascii_case(rest))
    })
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
            let (pair, next) = match find_byte(current, b';') {
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
            return Some(match raw.iter().position(|&b| b == b'=') {
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
    fn find_byte_agrees_with_a_plain_scan() {
        let hay: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for start in 0..40 {
            for needle in [0u8, 1, b';', 0x7f, 0x80, 0xff] {
                let h = &hay[start..start + 300];
                assert_eq!(find_byte(h, needle), h.iter().position(|&b| b == needle), "{start} {needle}");
            }
        }
        assert_eq!(find_byte(b"", b';'), None);
        assert_eq!(find_byte(b"aaaaaaaa;", b';'), Some(8));
        // A byte just above the needle must not be taken for it (borrow).
        assert_eq!(find_byte(&[0x3c, 0x3b, 0, 0, 0, 0, 0, 0], b';'), Some(1));
        assert_eq!(find_byte(&[0x01, 0x00, 0x3b, 0x3b, 0, 0, 0, 0], 0), Some(1));
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
    }

    #[test]
    fn value_keeps_inner_equals() {
        let p: Vec<_> = cookie_pairs(b"s = a=b= ").collect();
        assert_eq!(p[0].name, b"s");
        assert_eq!(p[0].value, Some(&b"a=b="[..]));
        assert_eq!(p[0].raw, b"s = a=b=");
    }
}
