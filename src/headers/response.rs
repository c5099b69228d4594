//! SPEC §3.3: what a tool's response may not carry to the browser.
//!
//! Every deployment's host is a child of the apex, so a `Set-Cookie` with
//! `Domain={apex}` from one tool reaches every other tenant's host
//! (cookie tossing), and a cookie under the session cookie's name could
//! shadow or fixate the platform's session. A tool's cookies are therefore
//! host-only and never named like the session; the proxy's own namespace
//! never leaves it either.

use http::header::{Entry, SET_COOKIE};
use http::{HeaderMap, HeaderName};

use super::is_managed_name;
use super::strip::{Rewrite, remove_managed, rewrite_values};
use crate::headers::cookies::{contains_ignore_ascii_case, trim_ows};

/// `Set-Cookie2` (RFC 2965, obsolete): no browser should act on it, and
/// none of the rules for `Set-Cookie` was written for its syntax.
pub const SET_COOKIE2: HeaderName = HeaderName::from_static("set-cookie2");

/// Why a `Set-Cookie` was removed from a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieRemoval {
    /// Its name contains the session cookie's name (SPEC §3.3 rule 2):
    /// an attempt to overwrite, shadow or fixate the platform's session.
    SessionName,
    /// It has a `Domain` attribute (rule 1), so it would reach other
    /// deployments' hosts. Checked after [`CookieRemoval::SessionName`].
    Domain,
}

/// One `Set-Cookie` the filter removed: the cookie's name (never its
/// value) and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedCookie {
    name: String,
    reason: CookieRemoval,
}

impl RemovedCookie {
    /// The cookie's name, trimmed; bytes that are not UTF-8 are shown as
    /// U+FFFD.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which rule removed it.
    pub const fn reason(&self) -> CookieRemoval {
        self.reason
    }
}

/// What [`filter_response`] removed, for alerting. Built without allocating
/// when nothing was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseReport {
    cookies: Vec<RemovedCookie>,
    headers: Vec<HeaderName>,
    header_fields: usize,
}

impl ResponseReport {
    /// The `Set-Cookie` fields removed, in the order the tool sent them.
    pub fn removed_cookies(&self) -> &[RemovedCookie] {
        &self.cookies
    }

    /// Distinct header names removed whole: `Set-Cookie2` and the
    /// `x-vendo-` namespace, in map order.
    pub fn removed_headers(&self) -> &[HeaderName] {
        &self.headers
    }

    /// How many fields of [`ResponseReport::removed_headers`] were removed.
    pub const fn removed_header_fields(&self) -> usize {
        self.header_fields
    }

    /// Whether the response passed unchanged.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty() && self.headers.is_empty()
    }

    /// Whether the tool tried to touch the platform's session or namespace.
    /// A `Domain` cookie alone may be a tool's honest mistake (it is still
    /// removed); these never are.
    pub fn is_tampering(&self) -> bool {
        !self.headers.iter().all(|h| *h == SET_COOKIE2)
            || self.cookies.iter().any(|c| c.reason == CookieRemoval::SessionName)
    }
}

/// Filters a tool's response headers before the proxy relays them (SPEC
/// §3.3), and says what it removed.
///
/// Removes every `Set-Cookie` whose name contains `session_cookie` (ASCII
/// case-insensitive) or that has a `Domain` attribute, every `Set-Cookie2`,
/// and every header whose collision key starts with `x-vendo-`. Everything
/// else passes unchanged; the remaining `Set-Cookie` values keep their
/// order.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use vendo_isolation::headers::{CookieRemoval, filter_response};
/// let mut h = HeaderMap::new();
/// h.append("set-cookie", HeaderValue::from_static("planted=1; Domain=vendo.run"));
/// h.append("set-cookie", HeaderValue::from_static("__HOST-Vendo_Session=x; Path=/; Secure"));
/// h.append("set-cookie", HeaderValue::from_static("theme=dark; Path=/; Secure; HttpOnly"));
/// h.append("x_vendo_user_id", HeaderValue::from_static("u_admin"));
///
/// let report = filter_response(&mut h, "__Host-vendo_session");
/// assert_eq!(h.get_all("set-cookie").iter().collect::<Vec<_>>(), ["theme=dark; Path=/; Secure; HttpOnly"]);
/// assert!(h.get("x_vendo_user_id").is_none());
/// let removed: Vec<_> = report.removed_cookies().iter().map(|c| (c.name(), c.reason())).collect();
/// assert_eq!(removed, [("planted", CookieRemoval::Domain), ("__HOST-Vendo_Session", CookieRemoval::SessionName)]);
/// assert!(report.is_tampering());
/// ```
pub fn filter_response(headers: &mut HeaderMap, session_cookie: &str) -> ResponseReport {
    let mut report = ResponseReport::default();
    let session = session_cookie.as_bytes();
    rewrite_values(
        headers,
        SET_COOKIE,
        |v| set_cookie_verdict(v.as_bytes(), session).is_some(),
        |v| match set_cookie_verdict(v.as_bytes(), session) {
            None => Rewrite::Keep,
            Some(reason) => {
                let name = String::from_utf8_lossy(set_cookie_name(v.as_bytes())).into_owned();
                report.cookies.push(RemovedCookie { name, reason });
                Rewrite::Drop
            }
        },
    );
    let (removed, fields) = remove_managed(headers);
    report.headers = removed;
    report.header_fields = fields;
    // `entry` may grow the map; a clean response must not allocate.
    if !headers.contains_key(SET_COOKIE2) {
        return report;
    }
    if let Entry::Occupied(entry) = headers.entry(SET_COOKIE2) {
        let (name, drain) = entry.remove_entry_mult();
        report.header_fields = report.header_fields.saturating_add(drain.count());
        report.headers.push(name);
    }
    report
}

/// Whether one response header field (name and value) may be relayed, and
/// if not, why: the per-field form of [`filter_response`], for callers that
/// hold a header list rather than a map (a Worker's `Headers`).
///
/// ```
/// use vendo_isolation::headers::{CookieRemoval, ResponseVerdict, response_header_verdict};
/// let session = "__Host-vendo_session";
/// assert_eq!(response_header_verdict(b"Content-Type", b"text/html", session), ResponseVerdict::Keep);
/// assert_eq!(
///     response_header_verdict(b"Set-Cookie", b"a=1; domain=acme-crm.vendo.run", session),
///     ResponseVerdict::DropCookie(CookieRemoval::Domain),
/// );
/// assert_eq!(response_header_verdict(b"X-Vendo-Tenant-Id", b"t_1", session), ResponseVerdict::DropHeader);
/// ```
pub fn response_header_verdict(name: &[u8], value: &[u8], session_cookie: &str) -> ResponseVerdict {
    if name.eq_ignore_ascii_case(SET_COOKIE.as_str().as_bytes()) {
        return set_cookie_verdict(value, session_cookie.as_bytes())
            .map_or(ResponseVerdict::Keep, ResponseVerdict::DropCookie);
    }
    if name.eq_ignore_ascii_case(SET_COOKIE2.as_str().as_bytes()) || is_managed_name(name) {
        return ResponseVerdict::DropHeader;
    }
    ResponseVerdict::Keep
}

/// What [`response_header_verdict`] decided for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseVerdict {
    /// Relay the field unchanged.
    Keep,
    /// Drop this `Set-Cookie` field, for this reason.
    DropCookie(CookieRemoval),
    /// Drop the field: `Set-Cookie2` or the `x-vendo-` namespace.
    DropHeader,
}

/// The cookie's name: before the first `;`, then before the first `=`
/// (the whole pair when it has no `=`, which browsers store as a nameless
/// cookie whose value is that text), trimmed of spaces and tabs.
fn set_cookie_name(value: &[u8]) -> &[u8] {
    let pair = value.split(|&b| b == b';').next().unwrap_or_default();
    trim_ows(pair.split(|&b| b == b'=').next().unwrap_or_default())
}

/// SPEC §3.3 rule 2's text: the value before its first `=` (all of it
/// without one), trimmed. It holds [`set_cookie_name`] and, when a `;`
/// comes first, more; matching on it follows the SPEC to the letter and
/// can only remove more than a browser's reading of the name would.
fn set_cookie_name_text(value: &[u8]) -> &[u8] {
    trim_ows(value.split(|&b| b == b'=').next().unwrap_or_default())
}

fn set_cookie_verdict(value: &[u8], session: &[u8]) -> Option<CookieRemoval> {
    if contains_ignore_ascii_case(set_cookie_name_text(value), session) {
        return Some(CookieRemoval::SessionName);
    }
    // Attributes follow the first `;`; each is trimmed, and its name (before
    // `=`, trimmed) is compared ASCII case-insensitively (RFC 6265 §5.2).
    let has_domain = value.split(|&b| b == b';').skip(1).any(|attribute| {
        let name = trim_ows(attribute.split(|&b| b == b'=').next().unwrap_or_default());
        name.eq_ignore_ascii_case(b"domain")
    });
    has_domain.then_some(CookieRemoval::Domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_name_rules() {
        assert_eq!(set_cookie_name(b" a = 1 ; Path=/"), b"a");
        assert_eq!(set_cookie_name(b"noequals; Domain=x"), b"noequals");
        assert_eq!(set_cookie_name(b"=v"), b"");
        assert_eq!(set_cookie_name(b""), b"");
        // SPEC §3.3's "before the first `=`" reaches past a `;`.
        assert_eq!(set_cookie_name_text(b"a; __Host-vendo_session=1"), b"a; __Host-vendo_session");
        assert_eq!(
            set_cookie_verdict(b"a; __Host-vendo_session=1", b"__Host-vendo_session"),
            Some(CookieRemoval::SessionName)
        );
    }

    #[test]
    fn domain_attribute_spellings() {
        let s = b"__Host-vendo_session";
        for v in [&b"a=1; Domain=vendo.run"[..], b"a=1;domain=", b"a=1; DOMAIN", b"a=1; Path=/;\tDoMaIn \t= .vendo.run"]
        {
            assert_eq!(set_cookie_verdict(v, s), Some(CookieRemoval::Domain), "{}", String::from_utf8_lossy(v));
        }
        // A cookie *named* Domain is host-only; an attribute merely
        // containing the word is not the Domain attribute.
        for v in [&b"Domain=vendo.run; Path=/"[..], b"a=1; Path=/domain", b"a=1; xdomain=y", b"a=1"] {
            assert_eq!(set_cookie_verdict(v, s), None, "{}", String::from_utf8_lossy(v));
        }
    }
}
