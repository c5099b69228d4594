//! The session cookie: read from a request and verified, or written in a
//! `Set-Cookie` response header.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use super::{KeyRing, MAX_TOKEN_LEN, VerifiedSession, VerifyError, VerifyOptions, verify_session};
use crate::headers::cookie_pairs;
use crate::ids::{DeploymentId, TenantId};
use crate::time::Timestamp;

/// Why no single session cookie was found (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionCookieError {
    /// No cookie with the session cookie's name.
    #[error("no session cookie")]
    NoSession,
    /// More than one cookie with the session cookie's name, in one or
    /// several `Cookie` headers. Which one a server would pick is
    /// ambiguous, so none is used (cookie tossing).
    #[error("more than one session cookie")]
    DuplicateSession,
}

impl SessionCookieError {
    /// Stable machine-readable code (SPEC §4, §5).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NoSession => "no_session",
            Self::DuplicateSession => "duplicate_session",
        }
    }
}

/// Finds the one session cookie's value across every `Cookie` header.
///
/// The name is compared exactly, case-sensitive. A pair with the name but
/// no `=` counts as a session cookie with an empty value, so it can neither
/// hide nor duplicate-mask a real one.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::COOKIE};
/// use vendo_isolation::session::{find_session_cookie, SessionCookieError};
/// let mut h = HeaderMap::new();
/// h.append(COOKIE, HeaderValue::from_static("theme=dark; sid=abc"));
/// assert_eq!(find_session_cookie(&h, "sid"), Ok(&b"abc"[..]));
/// h.append(COOKIE, HeaderValue::from_static("sid=evil"));
/// assert_eq!(find_session_cookie(&h, "sid"), Err(SessionCookieError::DuplicateSession));
/// ```
pub fn find_session_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h [u8], SessionCookieError> {
    let mut found = None;
    for value in headers.get_all(COOKIE) {
        for pair in cookie_pairs(value.as_bytes()) {
            if pair.name == name.as_bytes() {
                if found.is_some() {
                    return Err(SessionCookieError::DuplicateSession);
                }
                found = Some(pair.value.unwrap_or_default());
            }
        }
    }
    found.ok_or(SessionCookieError::NoSession)
}

/// Why a request carries no valid session: no single session cookie
/// (SPEC §4 `no_session`, `duplicate_session`), or its token failed
/// verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionRequestError {
    /// No cookie, or more than one, with the session cookie's name.
    #[error(transparent)]
    Cookie(#[from] SessionCookieError),
    /// The one session cookie's token was refused.
    #[error(transparent)]
    Token(#[from] VerifyError),
}

impl SessionRequestError {
    /// Stable machine-readable code (SPEC §4, §5).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Cookie(e) => e.code(),
            Self::Token(e) => e.code(),
        }
    }
}

/// Finds the request's one session cookie (SPEC §3's parser, shared with
/// header stripping) and verifies its token with [`verify_session`].
///
/// Two cookies with the session name, in one `Cookie` header or several,
/// are `duplicate_session` whatever their tokens: a sibling subdomain
/// tossing a second cookie cannot choose which one is used. Allocates
/// nothing.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::COOKIE};
/// use vendo_isolation::*;
/// use vendo_isolation::session::{SESSION_COOKIE_NAME, VerifyOptions, verify_session_cookie};
/// let ring = KeyRing::new(SessionKey::new("k1", &[9u8; 32])?);
/// let (tenant, deployment): (TenantId, DeploymentId) = ("t_1".parse()?, "d_1".parse()?);
/// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
/// let headers = HeaderMap::new();
/// let err = verify_session_cookie(&headers, SESSION_COOKIE_NAME, &ring, now, &tenant, &deployment, &VerifyOptions::default());
/// assert_eq!(err.unwrap_err().code(), "no_session");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_session_cookie(
    headers: &HeaderMap,
    cookie_name: &str,
    ring: &KeyRing,
    now: Timestamp,
    tenant: &TenantId,
    deployment: &DeploymentId,
    options: &VerifyOptions,
) -> Result<VerifiedSession, SessionRequestError> {
    let token = find_session_cookie(headers, cookie_name)?;
    Ok(verify_session(token, ring, now, tenant, deployment, options)?)
}

/// Why a `Set-Cookie` value cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetCookieError {
    /// The name lacks the `__Host-` prefix or has a byte outside an
    /// RFC 6265 token.
    #[error("cookie name must start with __Host- and be an RFC 6265 token")]
    InvalidName,
    /// The token is empty, longer than 4096 bytes, or has a byte outside
    /// `[A-Za-z0-9_.-]`.
    #[error("session token has a byte outside [A-Za-z0-9_.-] or a bad length")]
    InvalidToken,
}

impl SetCookieError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidName => "invalid_cookie_name",
            Self::InvalidToken => "invalid_token",
        }
    }
}

const HOST_PREFIX: &str = "__Host-";

/// RFC 6265 §4.1.1 cookie-name: an RFC 9110 token.
const fn is_token(name: &[u8]) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut rest = name;
    while let [b, tail @ ..] = rest {
        let ok = b.is_ascii_alphanumeric()
            || matches!(
                *b,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if !ok {
            return false;
        }
        rest = tail;
    }
    true
}

/// The session cookie's name, validated once at configuration: an RFC 6265
/// cookie-name (a token: no `=`, `;`, `,`, spaces or controls), so every
/// comparison and `Set-Cookie` built from it means what it says. The
/// default is `__Host-vendo_session` (SPEC §4); a name without the
/// `__Host-` prefix is accepted, but [`crate::Gate::reissue`] and
/// [`session_set_cookie`] refuse to set it, since a sibling host could
/// then plant one.
///
/// ```
/// use vendo_isolation::session::SessionCookieName;
/// assert_eq!(SessionCookieName::default().as_str(), "__Host-vendo_session");
/// assert!("__Host-staging_session".parse::<SessionCookieName>().is_ok());
/// assert_eq!("a=b".parse::<SessionCookieName>().unwrap_err().code(), "invalid_cookie_name");
/// assert!("".parse::<SessionCookieName>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionCookieName(std::borrow::Cow<'static, str>);

impl SessionCookieName {
    /// `__Host-vendo_session`, SPEC §4's default.
    pub const DEFAULT: Self = Self(std::borrow::Cow::Borrowed(crate::session::SESSION_COOKIE_NAME));

    /// Validates `name` as a cookie-name token.
    pub fn new(name: &str) -> Result<Self, SetCookieError> {
        if is_token(name.as_bytes()) {
            Ok(Self(std::borrow::Cow::Owned(name.to_owned())))
        } else {
            Err(SetCookieError::InvalidName)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SessionCookieName {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl core::str::FromStr for SessionCookieName {
    type Err = SetCookieError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl core::fmt::Display for SessionCookieName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cookie-name a response may set for the session: `__Host-` prefixed.
fn is_cookie_name(name: &str) -> bool {
    name.starts_with(HOST_PREFIX) && is_token(name.as_bytes())
}

/// Restricting values to the token alphabet keeps `;`, `,`, spaces, CR
/// and LF out, so a value can never add an attribute or a header.
fn is_token_value(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn header(name: &str, value: &str, max_age: u64) -> Result<HeaderValue, SetCookieError> {
    let s = format!("{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax");
    let mut v = HeaderValue::try_from(s).map_err(|_| SetCookieError::InvalidToken)?;
    v.set_sensitive(true);
    Ok(v)
}

/// The `Set-Cookie` value that stores a session token:
/// `<name>=<token>; Max-Age=<exp - now>; Path=/; Secure; HttpOnly; SameSite=Lax`.
///
/// No `Domain`: with the required `__Host-` prefix the browser then keeps
/// the cookie to the exact host, so a session for one deployment is never
/// sent to another. `Max-Age` is `expires_at - now`, or `0` for an
/// already expired session. The value is marked sensitive.
///
/// ```
/// use vendo_isolation::Timestamp;
/// use vendo_isolation::session::{SESSION_COOKIE_NAME, session_set_cookie};
/// let now = Timestamp::from_unix_seconds(1_000)?;
/// let exp = Timestamp::from_unix_seconds(4_600)?;
/// let v = session_set_cookie(SESSION_COOKIE_NAME, "v1.k1.YQ.x", exp, now)?;
/// assert_eq!(v.to_str()?, "__Host-vendo_session=v1.k1.YQ.x; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax");
/// assert!(v.is_sensitive());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn session_set_cookie(
    name: &str,
    token: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<HeaderValue, SetCookieError> {
    if !is_cookie_name(name) {
        return Err(SetCookieError::InvalidName);
    }
    if !is_token_value(token) {
        return Err(SetCookieError::InvalidToken);
    }
    header(name, token, expires_at.secs_since(now).unwrap_or(0))
}

/// The `Set-Cookie` value that deletes the session cookie (log out):
/// empty value, `Max-Age=0`, the same attributes as
/// [`session_set_cookie`] so the browser matches it.
///
/// ```
/// use vendo_isolation::session::{SESSION_COOKIE_NAME, session_clear_cookie};
/// let v = session_clear_cookie(SESSION_COOKIE_NAME)?;
/// assert_eq!(v.to_str()?, "__Host-vendo_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn session_clear_cookie(name: &str) -> Result<HeaderValue, SetCookieError> {
    if !is_cookie_name(name) {
        return Err(SetCookieError::InvalidName);
    }
    header(name, "", 0)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    #[test]
    fn session_cookie_lookup() {
        let mut h = HeaderMap::new();
        assert_eq!(find_session_cookie(&h, "s"), Err(SessionCookieError::NoSession));
        h.append(COOKIE, HeaderValue::from_static("S=upper; s2=x"));
        assert_eq!(find_session_cookie(&h, "s"), Err(SessionCookieError::NoSession));
        h.append(COOKIE, HeaderValue::from_static("\ts\t=\tv\t"));
        assert_eq!(find_session_cookie(&h, "s"), Ok(&b"v"[..]));
        h.append(COOKIE, HeaderValue::from_static("s"));
        assert_eq!(find_session_cookie(&h, "s"), Err(SessionCookieError::DuplicateSession));
    }

    use super::*;

    fn ts(s: u64) -> Timestamp {
        Timestamp::from_unix_seconds(s).unwrap()
    }

    #[test]
    fn max_age_uses_checked_arithmetic() {
        let v =
            |exp, now| session_set_cookie(crate::session::SESSION_COOKIE_NAME, "v1.k.a.b", ts(exp), ts(now)).unwrap();
        assert!(v(10, 10).to_str().unwrap().contains("Max-Age=0;"));
        assert!(v(10, 11).to_str().unwrap().contains("Max-Age=0;"));
        assert!(v(0, crate::time::MAX_UNIX_SECONDS).to_str().unwrap().contains("Max-Age=0;"));
        assert!(v(crate::time::MAX_UNIX_SECONDS, 0).to_str().unwrap().contains("Max-Age=253402300799;"));
    }

    #[test]
    fn session_cookie_names_are_tokens() {
        // Each would make the proxy compare, strip or set something other
        // than one cookie: a pair split (`=`, `;`), a list split (`,`,
        // space), a header split (CR/LF), or a name no browser sends.
        for bad in ["", "a=b", "a;b", "a,b", "a b", "a\tb", "a\r\nb", "é", "a\"b", "(a)", "a/b", "a@b"] {
            assert_eq!(SessionCookieName::new(bad), Err(SetCookieError::InvalidName), "{bad:?}");
        }
        for good in ["__Host-vendo_session", "sid", "a.b-c_d~!#$%&'*+^`|"] {
            assert_eq!(SessionCookieName::new(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn refuses_injection() {
        let set = |name, token| session_set_cookie(name, token, ts(10), ts(0)).err();
        // Attribute injection through the value.
        assert_eq!(set("__Host-s", "a; Domain=evil.example"), Some(SetCookieError::InvalidToken));
        // Header splitting.
        assert_eq!(set("__Host-s", "a\r\nSet-Cookie: x=y"), Some(SetCookieError::InvalidToken));
        assert_eq!(set("__Host-s", ""), Some(SetCookieError::InvalidToken));
        let long = "a".repeat(4097);
        assert_eq!(set("__Host-s", &long), Some(SetCookieError::InvalidToken));
        // A name without __Host- could be set for a parent domain.
        assert_eq!(set("session", "a"), Some(SetCookieError::InvalidName));
        assert_eq!(set("__host-s", "a"), Some(SetCookieError::InvalidName));
        assert_eq!(set("__Host-s=x", "a"), Some(SetCookieError::InvalidName));
        assert_eq!(set("__Host-s;", "a"), Some(SetCookieError::InvalidName));
        assert_eq!(session_clear_cookie("x").err(), Some(SetCookieError::InvalidName));
    }
}
