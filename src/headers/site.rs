//! SPEC §3.2: refuse requests that another deployment's page started.
//!
//! Every deployment lives under one apex, so to a browser all of them are
//! one *site*. `SameSite=Lax` therefore does not stop a page on
//! `evil-x.vendo.run` from sending a form POST to `acme-crm.vendo.run`
//! that carries Acme's user's session cookie (cross-tenant request
//! forgery). The proxy treats every other host under the apex as foreign:
//! Fetch Metadata first, `Origin` for browsers that do not send it.

use http::header::ORIGIN;
use http::{HeaderMap, HeaderName, Method};

use crate::headers::cookies::trim_ows;

/// `Sec-Fetch-Site` (Fetch Metadata): who started the request.
pub const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
/// `Sec-Fetch-Mode`: `navigate` for a top-level or framed navigation.
pub const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");
/// `Sec-Fetch-Dest`: `document` for a top-level navigation.
pub const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// A request that another deployment's page (or an opaque origin) started;
/// the proxy answers 403 (`cross_site_request`).
///
/// The variant says which rule refused it, for logs; a client sees only the
/// code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrossSiteRequest {
    /// `Sec-Fetch-Site` is `same-site`, `cross-site`, repeated or unknown,
    /// and the request is not a top-level navigation.
    #[error("request started by another site's page")]
    FetchSite,
    /// No `Sec-Fetch-Site`, an unsafe method, and an `Origin` that is
    /// `null`, malformed, repeated or names another host.
    #[error("request from another origin")]
    Origin,
}

impl CrossSiteRequest {
    /// Stable machine-readable code: `cross_site_request` (SPEC §3.2).
    pub const fn code(&self) -> &'static str {
        "cross_site_request"
    }
}

/// Checks that the request was not started by another deployment's page
/// (SPEC §3.2). `host` is the request's authority, as routed.
///
/// - With `Sec-Fetch-Site`: exactly one value, `same-origin` or `none`
///   (ASCII case-insensitive, spaces and tabs trimmed), passes; anything
///   else passes only as a top-level navigation (`GET` or `HEAD` with
///   exactly one `Sec-Fetch-Mode: navigate` and one `Sec-Fetch-Dest:
///   document`), so a link from another deployment still opens.
/// - Without it: `GET`, `HEAD` and `OPTIONS` pass; any other method passes
///   when there is no `Origin`, or one `Origin` whose host equals the
///   request's host (ASCII case-insensitive, port and one trailing `.`
///   ignored). `null`, a malformed or a repeated `Origin` is foreign.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// use vendo_isolation::headers::{CrossSiteRequest, check_request_site};
/// let mut h = HeaderMap::new();
/// h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
/// h.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
/// h.insert("sec-fetch-dest", HeaderValue::from_static("document"));
/// // A link from evil-x.vendo.run opens acme-crm.vendo.run...
/// assert_eq!(check_request_site(&Method::GET, "acme-crm.vendo.run", &h), Ok(()));
/// // ...but its auto-submitting form does not reach the tool.
/// assert_eq!(check_request_site(&Method::POST, "acme-crm.vendo.run", &h), Err(CrossSiteRequest::FetchSite));
///
/// let mut old = HeaderMap::new();
/// old.insert("origin", HeaderValue::from_static("https://evil-x.vendo.run"));
/// assert_eq!(check_request_site(&Method::POST, "acme-crm.vendo.run", &old), Err(CrossSiteRequest::Origin));
/// old.insert("origin", HeaderValue::from_static("https://ACME-crm.vendo.run."));
/// assert_eq!(check_request_site(&Method::POST, "acme-crm.vendo.run:443", &old), Ok(()));
/// ```
pub fn check_request_site(method: &Method, host: &str, headers: &HeaderMap) -> Result<(), CrossSiteRequest> {
    let mut sites = headers.get_all(SEC_FETCH_SITE).iter();
    if let Some(site) = sites.next() {
        let site = trim_ows(site.as_bytes());
        let trusted =
            sites.next().is_none() && (site.eq_ignore_ascii_case(b"same-origin") || site.eq_ignore_ascii_case(b"none"));
        return if trusted || is_top_level_navigation(method, headers) {
            Ok(())
        } else {
            Err(CrossSiteRequest::FetchSite)
        };
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let mut origins = headers.get_all(ORIGIN).iter();
    let Some(origin) = origins.next() else { return Ok(()) };
    let same = origins.next().is_none()
        && origin_host(origin.as_bytes()).is_some_and(|h| h.eq_ignore_ascii_case(bare_host(host.as_bytes())));
    if same { Ok(()) } else { Err(CrossSiteRequest::Origin) }
}

/// `GET`/`HEAD` with one `Sec-Fetch-Mode: navigate` and one
/// `Sec-Fetch-Dest: document`: a link followed or a URL typed, which can
/// change nothing on a well-behaved tool.
fn is_top_level_navigation(method: &Method, headers: &HeaderMap) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
        && single_value_is(headers, &SEC_FETCH_MODE, b"navigate")
        && single_value_is(headers, &SEC_FETCH_DEST, b"document")
}

fn single_value_is(headers: &HeaderMap, name: &HeaderName, want: &[u8]) -> bool {
    let mut values = headers.get_all(name).iter();
    values.next().is_some_and(|v| trim_ows(v.as_bytes()).eq_ignore_ascii_case(want)) && values.next().is_none()
}

/// The host of a serialized origin, `scheme "://" host [ ":" port ]`
/// (RFC 6454 §6.2), without the port and one trailing `.`; `None` for
/// `null` or anything else that is not an origin.
fn origin_host(origin: &[u8]) -> Option<&[u8]> {
    let origin = trim_ows(origin);
    let sep = origin.windows(3).position(|w| w == b"://")?;
    let scheme = origin.get(..sep)?;
    let authority = origin.get(sep.checked_add(3)?..)?;
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    // A path, query, fragment or userinfo makes it a URL, not an origin.
    let authority_ok = !authority.iter().any(|&b| matches!(b, b'/' | b'?' | b'#' | b'@' | b' ' | b'\t'));
    let host = bare_host(authority);
    (scheme_ok && authority_ok && !host.is_empty()).then_some(host)
}

/// A host without its `:port` (digits only) and one trailing `.`.
fn bare_host(authority: &[u8]) -> &[u8] {
    let host = match authority.iter().rposition(|&b| b == b':') {
        Some(colon) if authority.get(colon.saturating_add(1)..).is_some_and(|p| p.iter().all(u8::is_ascii_digit)) => {
            authority.get(..colon).unwrap_or_default()
        }
        _ => authority,
    };
    host.strip_suffix(b".").unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_host_table() {
        let rows: [(&[u8], Option<&[u8]>); 12] = [
            (b"https://acme-crm.vendo.run", Some(b"acme-crm.vendo.run")),
            (b"https://acme-crm.vendo.run:8443", Some(b"acme-crm.vendo.run")),
            (b"https://acme-crm.vendo.run.", Some(b"acme-crm.vendo.run")),
            (b"http://A.vendo.run.:80", Some(b"A.vendo.run")),
            // Sandboxed iframes, data: URLs and file pages send `null`.
            (b"null", None),
            (b"https://", None),
            (b"://a.vendo.run", None),
            // A URL is not an origin: refuse rather than guess its host.
            (b"https://a.vendo.run/path", None),
            (b"https://evil@a.vendo.run", None),
            (b"https://a.vendo.run?x", None),
            (b"1https://a.vendo.run", None),
            (b"https://a.vendo.run:8x", Some(b"a.vendo.run:8x")),
        ];
        for (origin, want) in rows {
            assert_eq!(origin_host(origin), want, "{}", String::from_utf8_lossy(origin));
        }
    }

    #[test]
    fn bare_host_drops_only_a_numeric_port_and_one_dot() {
        assert_eq!(bare_host(b"a.vendo.run:443"), b"a.vendo.run");
        assert_eq!(bare_host(b"a.vendo.run.:443"), b"a.vendo.run");
        assert_eq!(bare_host(b"a.vendo.run.."), b"a.vendo.run.");
        assert_eq!(bare_host(b"a.vendo.run:"), b"a.vendo.run");
        assert_eq!(bare_host(b""), b"");
    }
}
