//! SPEC §3.2 (requests another deployment's page started) and §3.3 (what
//! a tool's response may carry), written from the SPEC's text over plain
//! byte lists, independently of the crate: the tests and the fuzz
//! targets compare the crate against it.
//!
//! Include with `#[path = "support/site_reference.rs"] mod site_reference;`
//! (the fuzz crate includes it from `fuzz/src/reference.rs`, so the fuzzers
//! and the tests hold the crate to one definition).
//!
//! Where SPEC is silent the crate's documented choice is followed and
//! marked `SPEC silent` here.

// Each including test uses a part of it.
#![allow(dead_code)]

/// One header field: name and value, as sent (any case).
pub type Field = (Vec<u8>, Vec<u8>);

/// Which §3.2 rule refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Sec-Fetch-Site` is present and not `same-origin` or `none`, and
    /// the request is not a top-level navigation.
    FetchSite,
    /// No `Sec-Fetch-Site`, an unsafe method, and a foreign `Origin`.
    Origin,
}

/// Spaces and tabs only (the OWS of RFC 9110 §5.6.3).
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn lower(s: &[u8]) -> Vec<u8> {
    s.to_ascii_lowercase()
}

/// Every value of the header `name` (compared case-insensitively), in order.
fn values<'a>(headers: &'a [Field], name: &str) -> Vec<&'a [u8]> {
    headers.iter().filter(|(n, _)| lower(n) == name.as_bytes()).map(|(_, v)| v.as_slice()).collect()
}

/// SPEC silent on repeats and spelling: the one value of `name`, trimmed
/// and lowercased; `None` when the header is absent or repeated.
fn single(headers: &[Field], name: &str) -> Option<Vec<u8>> {
    match values(headers, name).as_slice() {
        [one] => Some(lower(trim(one))),
        _ => None,
    }
}

/// §3.2: a top-level navigation is method `GET` or `HEAD` (methods are
/// case-sensitive, RFC 9110 §9.1), `Sec-Fetch-Mode: navigate` and
/// `Sec-Fetch-Dest: document`. SPEC silent: each must appear exactly once.
fn top_level_navigation(method: &[u8], headers: &[Field]) -> bool {
    (method == b"GET" || method == b"HEAD")
        && single(headers, "sec-fetch-mode").as_deref() == Some(b"navigate")
        && single(headers, "sec-fetch-dest").as_deref() == Some(b"document")
}

/// §3.2 "without port or one trailing `.`": the port is what follows the
/// last `:` when it is all digits (RFC 3986 `port = *DIGIT`), then one
/// trailing dot goes.
pub fn bare_host(authority: &[u8]) -> &[u8] {
    let mut host = authority;
    if let Some(colon) = authority.iter().rposition(|b| *b == b':') {
        if authority[colon + 1..].iter().all(u8::is_ascii_digit) {
            host = &authority[..colon];
        }
    }
    host.strip_suffix(b".").unwrap_or(host)
}

/// The host of an `Origin` value (RFC 6454 §7: `null` or
/// `scheme "://" host [ ":" port ]`), without port and one trailing dot.
///
/// SPEC silent: anything that is not that shape (a path, query, fragment,
/// userinfo, whitespace inside, no host, a bad scheme) has no host, and
/// so counts as foreign like `null`. The value is trimmed first (RFC 9110
/// §5.5: surrounding whitespace is not part of a field value).
pub fn origin_host(value: &[u8]) -> Option<Vec<u8>> {
    let value = trim(value);
    let sep = value.windows(3).position(|w| w == b"://")?;
    let (scheme, authority) = (&value[..sep], &value[sep + 3..]);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b));
    if !scheme_ok || authority.iter().any(|b| b"/?#@ \t".contains(b)) {
        return None;
    }
    let host = bare_host(authority);
    (!host.is_empty()).then(|| host.to_vec())
}

/// SPEC §3.2 over the method, the request's host and its header fields in
/// order: `Ok` when the request may go on to the session check.
pub fn check_site(method: &[u8], host: &[u8], headers: &[Field]) -> Result<(), Refusal> {
    let sites = values(headers, "sec-fetch-site");
    if !sites.is_empty() {
        // "several values or an unknown value count as foreign"
        let trusted = match sites.as_slice() {
            [one] => {
                let v = lower(trim(one));
                v == b"same-origin" || v == b"none"
            }
            _ => false,
        };
        return if trusted || top_level_navigation(method, headers) { Ok(()) } else { Err(Refusal::FetchSite) };
    }
    if method == b"GET" || method == b"HEAD" || method == b"OPTIONS" {
        return Ok(());
    }
    let origins = values(headers, "origin");
    let same = match origins.as_slice() {
        [] => return Ok(()),
        // `null` has no host; SPEC silent on repeats: foreign.
        [one] => origin_host(one).is_some_and(|h| lower(&h) == lower(bare_host(host))),
        _ => false,
    };
    if same { Ok(()) } else { Err(Refusal::Origin) }
}

/// SPEC §3: the collision key of a header name.
pub fn collision_key(name: &[u8]) -> Vec<u8> {
    name.iter()
        .map(|b| match b {
            b'_' | b'.' => b'-',
            b => b.to_ascii_lowercase(),
        })
        .collect()
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let (hay, needle) = (lower(hay), lower(needle));
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// Why §3.3 removes one response field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Rule 2: a `Set-Cookie` whose name contains the session cookie's.
    SessionName,
    /// Rule 1: a `Set-Cookie` with a `Domain` attribute.
    Domain,
    /// Rule 3: `Set-Cookie2` or the `x-vendo-` namespace.
    Header,
}

/// The cookie's name as a report shows it: the text before the first `;`,
/// then before the first `=`, trimmed (RFC 6265 §5.2; the whole pair
/// without `=`).
pub fn set_cookie_name(value: &[u8]) -> &[u8] {
    let pair = value.split(|b| *b == b';').next().unwrap_or_default();
    trim(pair.split(|b| *b == b'=').next().unwrap_or_default())
}

/// §3.3 rule 2, to the letter: the cookie name is the value "before the
/// first `=`, trimmed" (the whole value without one). This is what the
/// session name is searched in; `set_cookie_name` is only what a report
/// shows.
pub fn set_cookie_name_text(value: &[u8]) -> &[u8] {
    trim(value.split(|b| *b == b'=').next().unwrap_or_default())
}

/// §3.3 rule 1: attributes are what follows the first `;`, split on `;`,
/// each trimmed; an attribute's name (before its `=`, trimmed: RFC 6265
/// §5.2) is `Domain`, ASCII case-insensitively. SPEC silent on `Domain`
/// without `=` or with an empty value: still the attribute, so removed.
pub fn has_domain(value: &[u8]) -> bool {
    value.split(|b| *b == b';').skip(1).any(|attr| {
        let attr = trim(attr);
        let name = trim(attr.split(|b| *b == b'=').next().unwrap_or_default());
        lower(name) == b"domain"
    })
}

/// SPEC §3.3 for one field. SPEC silent on which rule a `Set-Cookie`
/// breaking both is reported under: the session name, the graver one.
pub fn response_verdict(name: &[u8], value: &[u8], session: &[u8]) -> Option<Removal> {
    let n = lower(name);
    if n == b"set-cookie" {
        if contains_ci(set_cookie_name_text(value), session) {
            return Some(Removal::SessionName);
        }
        return has_domain(value).then_some(Removal::Domain);
    }
    if n == b"set-cookie2" || collision_key(name).starts_with(b"x-vendo-") {
        return Some(Removal::Header);
    }
    None
}

/// SPEC §3.3 over a response's fields in order: what the proxy relays,
/// names lowercased, values unchanged, order kept.
pub fn filter_response(headers: &[Field], session: &[u8]) -> Vec<Field> {
    headers
        .iter()
        .filter(|(n, v)| response_verdict(n, v, session).is_none())
        .map(|(n, v)| (lower(n), v.clone()))
        .collect()
}
