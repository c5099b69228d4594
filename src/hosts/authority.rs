//! The one authority of a request (RFC 9112 §3.2.2, RFC 9110 §7.2).
//!
//! A request names its target host in the `Host` header and, in
//! absolute-form, in the request-target too. When the two disagree, a proxy
//! that routes on one while the upstream trusts the other can be steered to
//! another tenant's deployment (request smuggling by host confusion), so a
//! disagreement, a repeated `Host`, or a missing host is refused here.
//!
//! This is the one authority rule of the crate: the proxy routes on it
//! ([`request_authority`]) and the attestation covers it, on both the
//! proxy's and the tool's side (`RequestTarget`), so what is routed, signed
//! and verified is always the same string (SPEC §3.1: the URI's authority
//! when the request has one, else the single `Host` value, byte for byte).

use http::header::HOST;
use http::request::Parts;
use http::{HeaderMap, Uri};

/// Why a request has no single authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// Neither a `Host` header nor an absolute-form authority.
    #[error("request has no host")]
    Missing,
    /// More than one `Host` header (RFC 9112 §3.2: a 400).
    #[error("request has more than one host header")]
    DuplicateHost,
    /// The `Host` header and the request-target's authority differ.
    #[error("host header and request target disagree")]
    Mismatch,
    /// The authority carries userinfo, or the `Host` value is empty or
    /// not visible ASCII.
    #[error("request host is malformed")]
    Malformed,
}

impl AuthorityError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_host",
            Self::DuplicateHost => "duplicate_host",
            Self::Mismatch => "host_mismatch",
            Self::Malformed => "invalid_host",
        }
    }
}

/// Returns the one authority of a request: the request-target's authority
/// when it has one (absolute-form, HTTP/2 `:authority`), else the `Host`
/// value. When both are present they must be equal, ASCII case aside; a
/// second `Host`, userinfo in the target, or an empty or non-visible-ASCII
/// `Host` is refused.
///
/// ```
/// use vendo_isolation::hosts::{request_authority, AuthorityError};
/// let (parts, ()) = http::Request::get("/x").header("host", "acme-crm.vendo.run").body(())?.into_parts();
/// assert_eq!(request_authority(&parts), Ok("acme-crm.vendo.run"));
///
/// let (parts, ()) = http::Request::get("http://Acme-CRM.vendo.run/x")
///     .header("host", "acme-crm.vendo.run").body(())?.into_parts();
/// assert_eq!(request_authority(&parts), Ok("Acme-CRM.vendo.run"));
///
/// let (parts, ()) = http::Request::get("http://other-app.vendo.run/x")
///     .header("host", "acme-crm.vendo.run").body(())?.into_parts();
/// assert_eq!(request_authority(&parts), Err(AuthorityError::Mismatch));
/// # Ok::<(), http::Error>(())
/// ```
pub fn request_authority(parts: &Parts) -> Result<&str, AuthorityError> {
    authority_of(&parts.uri, &parts.headers)
}

/// [`request_authority`] over a URI and a header map.
pub fn authority_of<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Result<&'a str, AuthorityError> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(AuthorityError::DuplicateHost);
    }
    let host = match host {
        Some(v) => {
            let s = v.to_str().map_err(|_| AuthorityError::Malformed)?;
            if s.is_empty() {
                return Err(AuthorityError::Malformed);
            }
            Some(s)
        }
        None => None,
    };
    let target = match uri.authority() {
        Some(a) if a.as_str().contains('@') => return Err(AuthorityError::Malformed),
        Some(a) => Some(a.as_str()),
        None => None,
    };
    match (host, target) {
        (Some(h), Some(t)) if h.eq_ignore_ascii_case(t) => Ok(t),
        (Some(_), Some(_)) => Err(AuthorityError::Mismatch),
        (Some(h), None) => Ok(h),
        // HTTP/2 and HTTP/3 carry the host in `:authority` only.
        (None, Some(t)) => Ok(t),
        (None, None) => Err(AuthorityError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, hosts: &[&[u8]]) -> Parts {
        let mut b = http::Request::get(uri);
        for h in hosts {
            b = b.header(HOST, http::HeaderValue::from_bytes(h).unwrap());
        }
        b.body(()).unwrap().into_parts().0
    }

    type Row<'a> = (&'a str, &'a [&'a [u8]], Result<&'a str, AuthorityError>);

    #[test]
    fn authority_table() {
        let rows: &[Row<'_>] = &[
            ("/", &[b"a.vendo.run"], Ok("a.vendo.run")),
            ("http://a.vendo.run/", &[], Ok("a.vendo.run")),
            // Both present and equal but for case: the target's, byte for
            // byte, as the attestation covers it (SPEC §3.1).
            ("http://A.vendo.run/", &[b"a.vendo.run"], Ok("A.vendo.run")),
            // Host confusion: route on one, upstream reads the other.
            ("http://b.vendo.run/", &[b"a.vendo.run"], Err(AuthorityError::Mismatch)),
            // Port is part of the authority: a differing port is a mismatch.
            ("http://a.vendo.run:8080/", &[b"a.vendo.run"], Err(AuthorityError::Mismatch)),
            // Two Host headers: which one a hop honours is undefined.
            ("/", &[b"a.vendo.run", b"b.vendo.run"], Err(AuthorityError::DuplicateHost)),
            ("/", &[b"a.vendo.run", b"a.vendo.run"], Err(AuthorityError::DuplicateHost)),
            ("/", &[], Err(AuthorityError::Missing)),
            ("/", &[b""], Err(AuthorityError::Malformed)),
            // obs-text in Host.
            ("/", &[b"a\xffb"], Err(AuthorityError::Malformed)),
            // Userinfo in the target hides the real host from naive parsers.
            ("http://evil@a.vendo.run/", &[b"a.vendo.run"], Err(AuthorityError::Malformed)),
        ];
        for (uri, hosts, want) in rows {
            let p = parts(uri, hosts);
            assert_eq!(request_authority(&p), *want, "{uri} {hosts:?}");
        }
    }
}
