//! SPEC §3 steps 1–3: Connection nominations, the namespace, the session
//! cookie. Each step scans first and mutates only when something matches,
//! so a clean request costs no allocation.

use core::fmt;

use http::header::{CONNECTION, COOKIE, Entry};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::is_managed_name;
use crate::headers::cookies::cookie_pairs;
use crate::wire::connection_tokens;

/// What [`strip`] removed, so an operator can alert on spoofing.
///
/// Built without allocating when nothing was removed: its vectors stay
/// empty. Names are as `http` holds them (lowercase), with the `_` and `.`
/// the client sent, so `X_Vendo_User_Id` is reported as `x_vendo_user_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StripReport {
    headers: Vec<HeaderName>,
    header_fields: usize,
    connection_tokens: Vec<String>,
    session_cookies: usize,
}

impl StripReport {
    /// Distinct header names removed from the namespace, in map order.
    pub fn removed_headers(&self) -> &[HeaderName] {
        &self.headers
    }

    /// How many header fields (name and value) were removed from the
    /// namespace; duplicates count once each.
    pub const fn removed_header_fields(&self) -> usize {
        self.header_fields
    }

    /// `Connection` tokens removed, trimmed, in the order they were sent.
    /// Bytes that are not UTF-8 are shown as U+FFFD.
    pub fn removed_connection_tokens(&self) -> &[String] {
        &self.connection_tokens
    }

    /// How many cookie pairs were removed from `Cookie` headers as session
    /// cookies: the exact name, or a name or value that holds it anywhere
    /// (ASCII case-insensitive, SPEC §3 step 3).
    pub const fn session_cookies_removed(&self) -> usize {
        self.session_cookies
    }

    /// Whether a session cookie was removed. Expected on every
    /// authenticated request; not a sign of spoofing by itself.
    pub const fn session_cookie_removed(&self) -> bool {
        self.session_cookies > 0
    }

    /// Whether the client sent anything in the proxy's namespace, as a
    /// header or a `Connection` nomination. Browsers never do: treat it as
    /// an attempt to impersonate.
    pub fn is_spoofing(&self) -> bool {
        !self.headers.is_empty() || !self.connection_tokens.is_empty()
    }
}

/// A header map stripped of the proxy's namespace (SPEC §3 steps 1–3).
///
/// Holding one is the proof that [`strip`] ran on the map it borrows; the
/// only way to add identity headers is [`Stripped::inject`]. Dropping it
/// without injecting leaves the map with no `x-vendo-*` header, which is
/// what a denied request must forward, if anything.
#[must_use = "a stripped map carries no identity until `inject` runs"]
pub struct Stripped<'a> {
    pub(super) headers: &'a mut HeaderMap,
    pub(super) target: Option<(&'a Method, &'a Uri)>,
    pub(super) report: StripReport,
}

impl fmt::Debug for Stripped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The map is left out: it may still hold credentials of other kinds.
        f.debug_struct("Stripped").field("report", &self.report).finish_non_exhaustive()
    }
}

impl<'a> Stripped<'a> {
    /// What was removed.
    pub const fn report(&self) -> &StripReport {
        &self.report
    }

    /// The map as it is now: stripped, nothing injected.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// Records the method and URI of the request the map belongs to, which
    /// an attestation covers. [`strip_request`] does this for you.
    pub const fn with_target(mut self, method: &'a Method, uri: &'a Uri) -> Self {
        self.target = Some((method, uri));
        self
    }

    /// Gives up the map without injecting; returns what was removed.
    pub fn into_report(self) -> StripReport {
        self.report
    }
}

/// Strips a header map (SPEC §3 steps 1–3) and returns it ready for
/// injection.
///
/// `session_cookie` is the session cookie's exact name (SPEC §4 default:
/// `__Host-vendo_session`). Steps run in SPEC order: `Connection`
/// nominations, the `x-vendo-` namespace by collision key, the session
/// cookie.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use vendo_isolation::headers::strip;
/// let mut h = HeaderMap::new();
/// h.append("connection", HeaderValue::from_static("keep-alive, X-Vendo-User-Id"));
/// h.append("x.vendo.tenant.id", HeaderValue::from_static("t_victim"));
/// h.append("accept", HeaderValue::from_static("*/*"));
/// let report = strip(&mut h, "__Host-vendo_session").into_report();
/// assert_eq!(h["connection"], "keep-alive");
/// assert!(h.get("x.vendo.tenant.id").is_none());
/// assert_eq!(report.removed_connection_tokens(), ["X-Vendo-User-Id"]);
/// assert_eq!(report.removed_headers(), ["x.vendo.tenant.id"]);
/// ```
pub fn strip<'a>(headers: &'a mut HeaderMap, session_cookie: &str) -> Stripped<'a> {
    let mut report = StripReport::default();
    strip_connection(headers, &mut report);
    strip_namespace(headers, &mut report);
    strip_session_cookie(headers, session_cookie.as_bytes(), &mut report);
    Stripped { headers, target: None, report }
}

/// [`strip`] on a request's headers, keeping its method and URI for the
/// attestation.
///
/// ```
/// use vendo_isolation::headers::strip_request;
/// let (mut parts, ()) = http::Request::get("/a?b").header("X-Vendo-User-Id", "evil").body(()).unwrap().into_parts();
/// let stripped = strip_request(&mut parts, "__Host-vendo_session");
/// assert!(stripped.headers().is_empty());
/// ```
pub fn strip_request<'a>(parts: &'a mut Parts, session_cookie: &str) -> Stripped<'a> {
    let Parts { method, uri, headers, .. } = parts;
    strip(headers, session_cookie).with_target(method, uri)
}

/// What to do with one value of a multi-valued header.
pub(super) enum Rewrite {
    Keep,
    Replace(HeaderValue),
    Drop,
}

/// Applies `rewrite` to every value of `name`, keeping the order of the
/// values that remain. `dirty` must return true for every value `rewrite`
/// would not keep, so clean maps are only read.
pub(super) fn rewrite_values(
    headers: &mut HeaderMap,
    name: HeaderName,
    dirty: impl Fn(&HeaderValue) -> bool,
    mut rewrite: impl FnMut(&HeaderValue) -> Rewrite,
) {
    // One value, the common case: `rewrite` itself keeps a clean one, so it
    // runs once, in place, without the `dirty` pass.
    let mut values = headers.get_all(&name).iter();
    if let (Some(_), None) = (values.next(), values.next()) {
        let Some(value) = headers.get_mut(&name) else { return };
        match rewrite(value) {
            Rewrite::Keep => {}
            Rewrite::Replace(new) => *value = new,
            Rewrite::Drop => drop(headers.remove(&name)),
        }
        return;
    }
    if !headers.get_all(&name).iter().any(dirty) {
        return;
    }
    let Entry::Occupied(entry) = headers.entry(name) else { return };
    // Several values and at least one may go: the map cannot remove one
    // value of many, so take them all out and put back what remains, in
    // order. Rare (a client splitting `Cookie` or `Connection`), so the
    // temporary vector is acceptable.
    let (name, drain) = entry.remove_entry_mult();
    let values: Vec<HeaderValue> = drain.collect();
    for value in values {
        let keep = match rewrite(&value) {
            Rewrite::Keep => value,
            Rewrite::Replace(new) => new,
            Rewrite::Drop => continue,
        };
        // INVARIANT: the map held these values a moment ago, so it has
        // room for them; on failure the value is dropped, which only ever
        // removes data.
        let _ = headers.try_append(name.clone(), keep);
    }
}

fn nominates_managed(value: &HeaderValue) -> bool {
    connection_tokens(value.as_bytes()).any(is_managed_name)
}

/// SPEC §3 step 1.
fn strip_connection(headers: &mut HeaderMap, report: &mut StripReport) {
    rewrite_values(headers, CONNECTION, nominates_managed, |value| {
        if !nominates_managed(value) {
            return Rewrite::Keep;
        }
        let (mut len, mut kept) = (0usize, 0usize);
        for token in connection_tokens(value.as_bytes()) {
            if is_managed_name(token) {
                report.connection_tokens.push(String::from_utf8_lossy(token).into_owned());
            } else {
                let sep = if kept == 0 { 0 } else { 2 };
                len = len.saturating_add(token.len()).saturating_add(sep);
                kept = kept.saturating_add(1);
            }
        }
        if kept == 0 {
            return Rewrite::Drop;
        }
        let mut joined = Vec::with_capacity(len);
        for token in connection_tokens(value.as_bytes()).filter(|t| !is_managed_name(t)) {
            if !joined.is_empty() {
                joined.extend_from_slice(b", ");
            }
            joined.extend_from_slice(token);
        }
        // INVARIANT: the tokens are slices of a valid value, joined by ", ",
        // so the result is valid; if not, dropping the header is safe.
        HeaderValue::try_from(joined).map_or(Rewrite::Drop, Rewrite::Replace)
    });
}

/// SPEC §3 step 2.
fn strip_namespace(headers: &mut HeaderMap, report: &mut StripReport) {
    (report.headers, report.header_fields) = remove_managed(headers);
}

/// Removes every header whose collision key starts with `x-vendo-`;
/// returns the distinct names removed, in map order, and how many fields
/// they had. Reads only, and allocates nothing, when there is none.
pub(super) fn remove_managed(headers: &mut HeaderMap) -> (Vec<HeaderName>, usize) {
    if !headers.keys().any(|n| is_managed_name(n.as_str().as_bytes())) {
        return (Vec::new(), 0);
    }
    let names: Vec<HeaderName> = headers.keys().filter(|n| is_managed_name(n.as_str().as_bytes())).cloned().collect();
    let mut fields = 0usize;
    for name in &names {
        if let Entry::Occupied(entry) = headers.entry(name) {
            let (_, drain) = entry.remove_entry_mult();
            fields = fields.saturating_add(drain.count());
        }
    }
    (names, fields)
}

fn has_session_cookie(value: &HeaderValue, name: &[u8]) -> bool {
    cookie_pairs(value.as_bytes()).any(|p| p.mentions(name))
}

/// How many kept cookie pairs a rewrite notes on the stack; a browser
/// rarely sends more.
const KEPT_ON_STACK: usize = 16;

/// SPEC §3 step 3.
fn strip_session_cookie(headers: &mut HeaderMap, name: &[u8], report: &mut StripReport) {
    rewrite_values(
        headers,
        COOKIE,
        |value| has_session_cookie(value, name),
        |value| {
            // One pass counts the session cookies and notes the pairs that
            // stay; only a value with more pairs than the stack holds is
            // split a second time to re-join them.
            let mut kept_raw: [&[u8]; KEPT_ON_STACK] = [&[]; KEPT_ON_STACK];
            let (mut len, mut kept, mut sessions) = (0usize, 0usize, 0usize);
            for pair in cookie_pairs(value.as_bytes()) {
                if pair.mentions(name) {
                    sessions = sessions.saturating_add(1);
                } else {
                    if let Some(slot) = kept_raw.get_mut(kept) {
                        *slot = pair.raw;
                    }
                    let sep = if kept == 0 { 0 } else { 2 };
                    len = len.saturating_add(pair.raw.len()).saturating_add(sep);
                    kept = kept.saturating_add(1);
                }
            }
            if sessions == 0 {
                return Rewrite::Keep;
            }
            report.session_cookies = report.session_cookies.saturating_add(sessions);
            if kept == 0 {
                return Rewrite::Drop;
            }
            // Exact capacity: `HeaderValue::try_from(Vec)` then takes the
            // buffer without reallocating.
            let mut joined = Vec::with_capacity(len);
            let mut push = |raw: &[u8]| {
                if !joined.is_empty() {
                    joined.extend_from_slice(b"; ");
                }
                joined.extend_from_slice(raw);
            };
            match kept_raw.get(..kept) {
                Some(noted) => noted.iter().for_each(|raw| push(raw)),
                None => cookie_pairs(value.as_bytes()).filter(|p| !p.mentions(name)).for_each(|p| push(p.raw)),
            }
            // INVARIANT: trimmed pieces of a valid value joined by "; " are
            // valid; were they not, dropping the header still removes the
            // session cookie, which is what matters.
            HeaderValue::try_from(joined).map_or(Rewrite::Drop, Rewrite::Replace)
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn values<'h>(h: &'h HeaderMap, name: &str) -> Vec<&'h str> {
        h.get_all(name).iter().map(|v| v.to_str().unwrap()).collect()
    }

    #[test]
    fn rewrites_keep_order_of_remaining_values() {
        let mut h = map(&[("cookie", "a=1"), ("cookie", "s=x"), ("cookie", "b=2; s=y"), ("cookie", "c=3")]);
        let r = strip(&mut h, "s").into_report();
        assert_eq!(values(&h, "cookie"), ["a=1", "b=2", "c=3"]);
        assert_eq!(r.session_cookies_removed(), 2);
        assert!(!r.is_spoofing());
    }

    #[test]
    fn untouched_values_stay_byte_for_byte() {
        let mut h = map(&[("cookie", " a = 1 ;; b"), ("connection", "close,,Upgrade"), ("cookie", "s=1")]);
        strip(&mut h, "s").into_report();
        assert_eq!(values(&h, "cookie"), [" a = 1 ;; b"]);
        assert_eq!(values(&h, "connection"), ["close,,Upgrade"]);
    }

    #[test]
    fn rewritten_connection_is_rejoined() {
        let mut h = map(&[("connection", " close ,, x_vendo_a ,\tUpgrade\t")]);
        let r = strip(&mut h, "s").into_report();
        assert_eq!(values(&h, "connection"), ["close, Upgrade"]);
        assert_eq!(r.removed_connection_tokens(), ["x_vendo_a"]);
    }

    #[test]
    fn many_cookies_are_rejoined_past_the_stack_notes() {
        // More kept pairs than KEPT_ON_STACK: the second pass re-joins them
        // in the same order.
        for n in [KEPT_ON_STACK - 1, KEPT_ON_STACK, KEPT_ON_STACK + 1, 3 * KEPT_ON_STACK] {
            let pairs: Vec<String> = (0..n).map(|i| format!("c{i}={i}")).collect();
            let value = format!("{}; s=tok; {}", pairs[..n / 2].join("; "), pairs[n / 2..].join(";"));
            let mut h = map(&[("cookie", &value)]);
            let r = strip(&mut h, "s").into_report();
            assert_eq!(values(&h, "cookie"), [pairs.join("; ").as_str()], "{n}");
            assert_eq!(r.session_cookies_removed(), 1);
        }
    }

    #[test]
    fn bare_session_cookie_name_is_removed() {
        // `find_session_cookie` counts a bare name as a session cookie; the
        // stripper must remove what the finder would see.
        let mut h = map(&[("cookie", "s; t=1")]);
        strip(&mut h, "s").into_report();
        assert_eq!(values(&h, "cookie"), ["t=1"]);
    }
}
