//! Reference implementations written from SPEC.md's text, independent of
//! the crate's code: the properties compare the crate against them.
//!
//! Where SPEC.md is silent the crate's documented choice is followed and
//! marked `SPEC silent` here.

use std::collections::BTreeMap;

// SPEC §3.2 and §3.3: one definition, shared with the main crate's tests.
#[path = "../../tests/support/site_reference.rs"]
pub mod site;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Largest unix second SPEC §4 allows.
pub const MAX_SECS: u64 = 253_402_300_799;

/// SPEC §3: the collision key of a header name or `Connection` token.
pub fn collision_key(name: &[u8]) -> Vec<u8> {
    name.iter()
        .map(|&b| match b {
            b'_' | b'.' => b'-',
            b => b.to_ascii_lowercase(),
        })
        .collect()
}

/// SPEC §3: the name belongs to the proxy's namespace.
pub fn is_managed(name: &[u8]) -> bool {
    collision_key(name).starts_with(b"x-vendo-")
}

/// SPEC §3 step 3: trims spaces and tabs, nothing else.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// One cookie pair per SPEC §3 step 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// Trimmed name; the whole pair when it has no `=`.
    pub name: &'a [u8],
    /// Trimmed value; `None` without `=` (SPEC silent: counted as a
    /// session cookie with an empty value when the name matches).
    pub value: Option<&'a [u8]>,
    /// The trimmed pair, as it is re-joined.
    pub raw: &'a [u8],
}

/// SPEC §3 step 3: split on `;`, trim, split at the first `=`, trim both.
/// Pairs empty after trimming are skipped (SPEC silent).
pub fn cookie_pairs(value: &[u8]) -> Vec<Pair<'_>> {
    let mut out = Vec::new();
    for piece in value.split(|b| *b == b';') {
        let raw = trim(piece);
        if raw.is_empty() {
            continue;
        }
        match raw.iter().position(|b| *b == b'=') {
            Some(i) => out.push(Pair { name: trim(&raw[..i]), value: Some(trim(&raw[i + 1..])), raw }),
            None => out.push(Pair { name: raw, value: None, raw }),
        }
    }
    out
}

/// `Connection` tokens: split on `,`, trimmed, empty elements skipped
/// (RFC 9110 §5.6.1 `#rule`).
pub fn connection_tokens(value: &[u8]) -> Vec<&[u8]> {
    value.split(|b| *b == b',').map(trim).filter(|t| !t.is_empty()).collect()
}

/// SPEC §4: the one session cookie's value across `Cookie` values.
pub fn find_session(cookie_values: &[&[u8]], name: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut found = Vec::new();
    for v in cookie_values {
        for p in cookie_pairs(v) {
            if p.name == name {
                found.push(p.value.unwrap_or_default().to_vec());
            }
        }
    }
    match found.len() {
        0 => Err("no_session"),
        1 => Ok(found.remove(0)),
        _ => Err("duplicate_session"),
    }
}

/// One header field: name (lowercase, as `http` holds it) and value.
pub type Field = (Vec<u8>, Vec<u8>);

/// Header fields grouped by name, values in order: the view in which two
/// `HeaderMap`s are equal (the map does not keep the order across names).
pub type Grouped = BTreeMap<Vec<u8>, Vec<Vec<u8>>>;

/// Groups `(name, value)` fields by name, keeping the order per name.
pub fn group(fields: &[Field]) -> Grouped {
    let mut g = Grouped::new();
    for (n, v) in fields {
        g.entry(n.clone()).or_default().push(v.clone());
    }
    g
}

/// Whether `needle` occurs in `hay`, ASCII case-insensitively.
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let (hay, needle) = (hay.to_ascii_lowercase(), needle.to_ascii_lowercase());
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// SPEC §3 step 3: the pair is the session cookie (exact name), or its
/// name or value holds the session cookie's name, ASCII case-insensitively.
fn names_session(p: &Pair<'_>, cookie_name: &[u8]) -> bool {
    p.name == cookie_name || contains_ci(p.name, cookie_name) || p.value.is_some_and(|v| contains_ci(v, cookie_name))
}

/// What SPEC §3 steps 1-3 leave, and what they removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StripOutcome {
    /// Remaining fields, names lowercase as `http` holds them.
    pub fields: Vec<Field>,
    /// Fields removed from the namespace.
    pub removed_fields: usize,
    /// Distinct names removed from the namespace.
    pub removed_names: Vec<Vec<u8>>,
    /// `Connection` tokens removed, in order.
    pub connection_tokens: Vec<Vec<u8>>,
    /// Session cookies removed.
    pub session_cookies: usize,
}

/// SPEC §3 steps 1-3 over fields in order. A value that needs no change
/// stays byte for byte; a changed one is re-joined with `, ` (Connection,
/// SPEC silent) or `; ` (Cookie) and dropped when nothing remains.
pub fn strip(fields: &[Field], cookie_name: &[u8]) -> StripOutcome {
    let mut out = StripOutcome::default();
    for (n, v) in fields {
        if n.as_slice() == b"connection" {
            let tokens = connection_tokens(v);
            if !tokens.iter().any(|t| is_managed(t)) {
                out.fields.push((n.clone(), v.clone()));
                continue;
            }
            let (managed, kept): (Vec<&[u8]>, Vec<&[u8]>) = tokens.into_iter().partition(|t| is_managed(t));
            out.connection_tokens.extend(managed.iter().map(|t| t.to_vec()));
            if !kept.is_empty() {
                out.fields.push((n.clone(), kept.join(&b", "[..])));
            }
        } else if is_managed(n) {
            out.removed_fields += 1;
            if !out.removed_names.contains(n) {
                out.removed_names.push(n.clone());
            }
        } else if n.as_slice() == b"cookie" {
            let pairs = cookie_pairs(v);
            let hits = pairs.iter().filter(|p| names_session(p, cookie_name)).count();
            if hits == 0 {
                out.fields.push((n.clone(), v.clone()));
                continue;
            }
            out.session_cookies += hits;
            let kept: Vec<&[u8]> = pairs.iter().filter(|p| !names_session(p, cookie_name)).map(|p| p.raw).collect();
            if !kept.is_empty() {
                out.fields.push((n.clone(), kept.join(&b"; "[..])));
            }
        } else {
            out.fields.push((n.clone(), v.clone()));
        }
    }
    out
}

const B64U: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 without padding.
pub fn b64u_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(B64U[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// SPEC §4 canonical base64url: no padding, url-safe alphabet only, zero
/// unused trailing bits, no impossible length.
pub fn b64u_decode(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 4 == 1 {
        return None;
    }
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s {
        let v = B64U.iter().position(|a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

/// SPEC §1 identifier syntax.
pub fn valid_id(s: &[u8]) -> bool {
    (1..=64).contains(&s.len()) && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// SPEC §4 key id syntax.
pub fn valid_kid(s: &[u8]) -> bool {
    (1..=32).contains(&s.len()) && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// SPEC §4 email syntax.
pub fn valid_email(s: &[u8]) -> bool {
    (3..=254).contains(&s.len())
        && s.iter().all(|b| (0x21..=0x7e).contains(b))
        && s.contains(&b'@')
        && s.first() != Some(&b'@')
        && s.last() != Some(&b'@')
}

/// SPEC §4 integer: decimal, no sign, no leading zero except `0`, at most
/// [`MAX_SECS`].
pub fn canonical_int(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 13 || !s.iter().all(u8::is_ascii_digit) || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    let v = s.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    (v <= MAX_SECS).then_some(v)
}

/// SPEC §4 claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Tenant id.
    pub tenant: String,
    /// Deployment id.
    pub deployment: String,
    /// User id.
    pub user: String,
    /// Email.
    pub email: String,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Expires at, unix seconds.
    pub exp: u64,
}

impl Claims {
    /// `tenant LF deployment LF user LF email LF iat LF exp`.
    pub fn text(&self) -> String {
        format!("{}\n{}\n{}\n{}\n{}\n{}", self.tenant, self.deployment, self.user, self.email, self.iat, self.exp)
    }
}

/// SPEC §4 check 4: exactly six fields, valid ids and email, canonical
/// integers, `iat < exp`.
pub fn parse_claims(bytes: &[u8]) -> Option<Claims> {
    let text = std::str::from_utf8(bytes).ok()?;
    let f: Vec<&str> = text.split('\n').collect();
    let [t, d, u, e, iat, exp] = f.as_slice() else { return None };
    if !(valid_id(t.as_bytes()) && valid_id(d.as_bytes()) && valid_id(u.as_bytes()) && valid_email(e.as_bytes())) {
        return None;
    }
    let (iat, exp) = (canonical_int(iat.as_bytes())?, canonical_int(exp.as_bytes())?);
    (iat < exp).then(|| Claims {
        tenant: (*t).to_owned(),
        deployment: (*d).to_owned(),
        user: (*u).to_owned(),
        email: (*e).to_owned(),
        iat,
        exp,
    })
}

/// SPEC §4 MAC: `HMAC-SHA256(key, "vendo-session-v1" %x00 "v1." kid "." payload)`.
pub fn session_mac(secret: &[u8], kid: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    for part in [&b"vendo-session-v1\x00v1."[..], kid, b".", payload] {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// A token over an exact payload text, signed with `secret`.
pub fn sign_payload(secret: &[u8], kid: &[u8], payload: &[u8]) -> Vec<u8> {
    let mac = b64u_encode(&session_mac(secret, kid, payload));
    [&b"v1."[..], kid, b".", payload, b".", mac.as_bytes()].concat()
}

/// SPEC §4 token for `claims`.
pub fn mint(claims: &Claims, kid: &str, secret: &[u8]) -> String {
    let payload = b64u_encode(claims.text().as_bytes());
    String::from_utf8(sign_payload(secret, kid.as_bytes(), payload.as_bytes())).unwrap()
}

/// One key of a ring, as the reference sees it.
#[derive(Debug, Clone)]
pub struct ModelKey {
    /// Key id.
    pub kid: String,
    /// Secret bytes.
    pub secret: Vec<u8>,
    /// Whether it signs.
    pub primary: bool,
    /// From this second on it no longer verifies.
    pub retire_at: Option<u64>,
}

/// Verification policy, as the reference sees it.
#[derive(Debug, Clone, Copy)]
pub struct ModelOptions {
    /// Leeway `L`.
    pub leeway: u64,
    /// Maximum lifetime `M`.
    pub max_lifetime: u64,
    /// Crate extension: sessions issued before this are `revoked`.
    pub min_iat: Option<u64>,
    /// Crate extension: re-issue when fewer seconds than this remain.
    pub reissue_within: u64,
}

/// A session the reference accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Its claims.
    pub claims: Claims,
    /// The key id that verified it.
    pub kid: String,
    /// `non_primary_key`, `near_expiry`, or `None`.
    pub reissue: Option<&'static str>,
}

fn split_dot(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|b| *b == b'.')?;
    Some((&s[..i], &s[i + 1..]))
}

/// SPEC §4 verification, checks in SPEC order (plus the crate's `revoked`
/// after `expired`). Time comparisons in `i128`, so nothing saturates.
pub fn verify(
    token: &[u8],
    keys: &[ModelKey],
    now: u64,
    tenant: &str,
    deployment: &str,
    o: &ModelOptions,
) -> Result<Accepted, &'static str> {
    const MALFORMED: &str = "malformed";
    if token.len() > 4096 {
        return Err(MALFORMED);
    }
    let rest = token.strip_prefix(b"v1.").ok_or(MALFORMED)?;
    let (kid, rest) = split_dot(rest).ok_or(MALFORMED)?;
    let (payload, mac_b64) = split_dot(rest).ok_or(MALFORMED)?;
    // SPEC silent on an empty payload: it is no `b64u(claims)` (claims are
    // never empty), so the crate files it under shape.
    if !valid_kid(kid) || payload.is_empty() {
        return Err(MALFORMED);
    }
    let claims_bytes = b64u_decode(payload).ok_or(MALFORMED)?;
    let mac = b64u_decode(mac_b64).filter(|m| m.len() == 32).ok_or(MALFORMED)?;
    let key =
        keys.iter().find(|k| k.kid.as_bytes() == kid && k.retire_at.is_none_or(|r| now < r)).ok_or("unknown_key")?;
    if mac != session_mac(&key.secret, kid, payload) {
        return Err("bad_signature");
    }
    let c = parse_claims(&claims_bytes).ok_or("bad_claims")?;
    let (iat, exp, now_i, l) = (i128::from(c.iat), i128::from(c.exp), i128::from(now), i128::from(o.leeway));
    if exp - iat > i128::from(o.max_lifetime) {
        return Err("lifetime_too_long");
    }
    if now_i < iat - l {
        return Err("not_yet_valid");
    }
    if now_i >= exp + l {
        return Err("expired");
    }
    if o.min_iat.is_some_and(|m| c.iat < m) {
        return Err("revoked");
    }
    if c.tenant != tenant {
        return Err("wrong_tenant");
    }
    if c.deployment != deployment {
        return Err("wrong_deployment");
    }
    let reissue = if !key.primary {
        Some("non_primary_key")
    } else if (exp - now_i).max(0) < i128::from(o.reissue_within) {
        Some("near_expiry")
    } else {
        None
    };
    Ok(Accepted { claims: c, kid: key.kid.clone(), reissue })
}

/// SPEC §2 default reserved labels.
pub const RESERVED: [&str; 15] = [
    "www",
    "api",
    "app",
    "admin",
    "auth",
    "login",
    "static",
    "assets",
    "cdn",
    "status",
    "docs",
    "mail",
    "openai-proxy",
    "credentials",
    "proxy",
];

/// SPEC §1 slug syntax.
pub fn valid_slug(s: &[u8]) -> bool {
    (1..=63).contains(&s.len())
        && s.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && s.first() != Some(&b'-')
        && s.last() != Some(&b'-')
        && !s.windows(2).any(|w| w == b"--")
}

/// SPEC §2 steps 1-8 under apex `vendo.run` and the default reserved set:
/// the lowercase route key and whether it is legacy, or the code.
pub fn parse_host(host: &[u8]) -> Result<(String, bool), &'static str> {
    const INVALID: &str = "invalid_host";
    // 1. optional `:N`, 1-5 digits, 1-65535.
    let name = match host.iter().position(|b| *b == b':') {
        None => host,
        Some(i) => {
            let port = &host[i + 1..];
            if !(1..=5).contains(&port.len()) || !port.iter().all(u8::is_ascii_digit) {
                return Err(INVALID);
            }
            let value: u32 = std::str::from_utf8(port).unwrap().parse().unwrap();
            if !(1..=65_535).contains(&value) {
                return Err(INVALID);
            }
            &host[..i]
        }
    };
    // 2. one trailing dot; 3. case-insensitive, reported lowercase.
    let name = name.strip_suffix(b".").unwrap_or(name).to_ascii_lowercase();
    // 4. what can never be a hostname this proxy serves.
    let labels: Vec<&[u8]> = name.split(|b| *b == b'.').collect();
    let bad_label =
        |l: &&[u8]| l.is_empty() || l.len() > 63 || !l.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    if name.is_empty() || name.len() > 253 || labels.iter().any(bad_label) {
        return Err(INVALID);
    }
    if labels.iter().all(|l| l.iter().all(u8::is_ascii_digit)) {
        return Err(INVALID);
    }
    // 5. the apex at a label boundary; 6. how many labels are left of it.
    if name == b"vendo.run" {
        return Err("apex");
    }
    let sub = name.strip_suffix(b".vendo.run").ok_or("not_under_apex")?;
    let sub: Vec<&[u8]> = sub.split(|b| *b == b'.').collect();
    if sub.len() > 2 {
        return Err("too_deep");
    }
    // 7. slugs; 8. reserved single-level labels.
    if !sub.iter().all(|l| valid_slug(l)) {
        return Err("invalid_label");
    }
    let key = String::from_utf8(sub.join(&b'.')).unwrap();
    if sub.len() == 1 && RESERVED.contains(&key.as_str()) {
        return Err("reserved");
    }
    Ok((key, sub.len() == 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64u_round_trips_and_is_canonical() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64u_decode(b64u_encode(&data).as_bytes()), Some(data));
        }
        assert_eq!(b64u_decode(b"AR"), None);
        assert_eq!(b64u_decode(b"AQ=="), None);
        assert_eq!(b64u_decode(b"+w"), None);
        assert_eq!(b64u_decode(b"AQID_"), None);
    }
}
