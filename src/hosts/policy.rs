//! Parsing a `Host` value into a route key, building hostnames from
//! slugs, and checking a looked-up route entry (SPEC §2).

use core::fmt;
use std::borrow::Cow;
use std::string::String;
use std::vec::Vec;

use crate::ids::{DeploymentId, DeploymentSlug, IdError, TenantId, TenantSlug, check_slug};

/// The apex used when none is configured.
pub const DEFAULT_APEX: &str = "vendo.run";

/// The platform's own single-level labels, refused as deployment hosts
/// (SPEC §2 step 8).
pub const DEFAULT_RESERVED: &[&str] = &[
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

/// Longest DNS label, in bytes (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest DNS name without trailing dot, in bytes (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 253;

/// Why a `Host` value does not route to a deployment (SPEC §2, §5 codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Not a hostname this proxy serves: empty, an IP literal, a byte
    /// outside `[A-Za-z0-9.-]`, an empty or over-long label, an over-long
    /// name, or a bad port.
    #[error("invalid host")]
    InvalidHost,
    /// A valid name that is not under the apex at a label boundary.
    #[error("host is not under the apex")]
    NotUnderApex,
    /// The apex itself.
    #[error("host is the apex")]
    Apex,
    /// More than two labels left of the apex.
    #[error("host has too many labels")]
    TooDeep,
    /// A label left of the apex that is not a valid slug.
    #[error("host label is not a valid slug")]
    InvalidLabel,
    /// A single-level label the platform keeps for itself.
    #[error("host label is reserved")]
    Reserved,
}

impl HostError {
    /// Stable machine-readable code (SPEC §5 `parse_host`).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidHost => "invalid_host",
            Self::NotUnderApex => "not_under_apex",
            Self::Apex => "apex",
            Self::TooDeep => "too_deep",
            Self::InvalidLabel => "invalid_label",
            Self::Reserved => "reserved",
        }
    }
}

/// Why a hostname cannot be built from slugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostFormatError {
    /// The joined label would pass 63 bytes, or the name 253.
    #[error("hostname would be too long")]
    TooLong,
    /// The joined single-level label is reserved.
    #[error("hostname label is reserved")]
    Reserved,
}

impl HostFormatError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::Reserved => "reserved",
        }
    }
}

/// Why an apex or a reserved label cannot configure a [`HostPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostPolicyError {
    /// The apex is not a lowercase hostname with at least one letter.
    #[error("apex is not a valid lowercase hostname")]
    InvalidApex,
    /// A reserved label is not a valid slug.
    #[error("reserved label is not a valid slug: {0}")]
    InvalidReserved(IdError),
}

/// Which of the two hostname forms a route key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostForm {
    /// `{tenant_slug}-{deployment_slug}.{apex}`.
    SingleLevel,
    /// `{deployment_slug}.{tenant_slug}.{apex}`.
    Legacy,
}

impl HostForm {
    /// Stable name (SPEC §5 `form`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SingleLevel => "single_level",
            Self::Legacy => "legacy",
        }
    }
}

/// The key a proxy looks a route up under: the lowercase part of the host
/// left of the apex.
///
/// For a single-level host it is the label (`acme-crm`); for a legacy host
/// it is `deployment.tenant` (`crm.acme`). Parsing borrows the caller's
/// buffer when the host is already lowercase.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RouteKey<'a> {
    key: Cow<'a, str>,
    // INVARIANT: `None` for single-level; for legacy, the offset of the one
    // `.` in `key`, with valid slugs on both sides.
    dot: Option<usize>,
}

impl<'a> RouteKey<'a> {
    /// The key as a string: what the caller's store is keyed on.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Which form the host had.
    pub const fn form(&self) -> HostForm {
        match self.dot {
            None => HostForm::SingleLevel,
            Some(_) => HostForm::Legacy,
        }
    }

    /// The single-level label, or `None` for a legacy key.
    pub fn label(&self) -> Option<&str> {
        match self.dot {
            None => Some(&self.key),
            Some(_) => None,
        }
    }

    /// `(deployment_slug, tenant_slug)` of a legacy key, or `None`.
    pub fn legacy_parts(&self) -> Option<(&str, &str)> {
        let dot = self.dot?;
        let (deployment, rest) = self.key.split_at_checked(dot)?;
        Some((deployment, rest.get(1..)?))
    }

    /// The same key, owning its string.
    pub fn into_owned(self) -> RouteKey<'static> {
        RouteKey { key: Cow::Owned(self.key.into_owned()), dot: self.dot }
    }

    /// Checks that `entry`'s slugs rebuild exactly this key (SPEC §2).
    ///
    /// A store that returns the wrong entry (a stale cache, a prefix match,
    /// a bug) is refused here instead of routing to another deployment.
    ///
    /// ```
    /// use vendo_isolation::{HostPolicy, RouteEntry};
    /// let policy = HostPolicy::default();
    /// let key = policy.parse("acme-crm.vendo.run")?;
    /// let entry = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// assert!(key.check_entry(&entry).is_ok());
    /// let other = RouteEntry { tenant_slug: "acme-crm".parse()?, deployment_slug: "x".parse()?, ..entry };
    /// assert!(key.check_entry(&other).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_entry(&self, entry: &RouteEntry) -> Result<(), RouteMismatch> {
        let t = entry.tenant_slug.as_str();
        let d = entry.deployment_slug.as_str();
        let rebuilds = match self.legacy_parts() {
            Some((deployment, tenant)) => deployment == d && tenant == t,
            None => self.key.strip_prefix(t).and_then(|rest| rest.strip_prefix('-')) == Some(d),
        };
        if rebuilds { Ok(()) } else { Err(RouteMismatch) }
    }
}

impl fmt::Debug for RouteKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteKey").field("form", &self.form()).field("key", &self.as_str()).finish()
    }
}

impl fmt::Display for RouteKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// A route entry's slugs do not rebuild the key it was found under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("route entry does not match the host")]
#[non_exhaustive]
pub struct RouteMismatch;

impl RouteMismatch {
    /// Stable machine-readable code (SPEC §5 `forward`).
    pub const fn code(&self) -> &'static str {
        "route_mismatch"
    }
}

/// What a routing store holds for a route key: which tenant and deployment
/// a host serves, and the slugs it was built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RouteEntry {
    /// The tenant that owns the deployment.
    pub tenant_id: TenantId,
    /// The deployment the host serves.
    pub deployment_id: DeploymentId,
    /// The tenant's slug.
    pub tenant_slug: TenantSlug,
    /// The deployment's slug.
    pub deployment_slug: DeploymentSlug,
}

/// How hosts are parsed and built: the apex and the reserved labels.
///
/// ```
/// use vendo_isolation::HostPolicy;
/// use vendo_isolation::hosts::{HostForm, HostError};
/// let policy = HostPolicy::default();
/// let key = policy.parse("Acme-CRM.vendo.run:443")?;
/// assert_eq!((key.form(), key.as_str()), (HostForm::SingleLevel, "acme-crm"));
/// let key = policy.parse("crm.acme.vendo.run.")?;
/// assert_eq!(key.legacy_parts(), Some(("crm", "acme")));
/// assert_eq!(policy.parse("evilvendo.run"), Err(HostError::NotUnderApex));
/// assert_eq!(policy.parse("admin.vendo.run"), Err(HostError::Reserved));
/// # Ok::<(), HostError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    // INVARIANT: lowercase LDH labels, at least one non-digit label, <= 253
    // bytes, no leading or trailing `.`.
    apex: String,
    // INVARIANT: sorted, deduplicated, each a valid slug.
    reserved: Vec<String>,
    // INVARIANT: bit `n` is set iff some reserved label is `n` bytes long,
    // so most labels are known not to be reserved without a comparison.
    reserved_lens: u64,
}

/// Bit `n` set for each label of length `n` (every slug is 1–63 bytes).
fn lengths_of(labels: &[String]) -> u64 {
    labels.iter().fold(0u64, |mask, l| mask | 1u64.checked_shl(u32::try_from(l.len()).unwrap_or(u32::MAX)).unwrap_or(0))
}

impl Default for HostPolicy {
    /// Apex `vendo.run`, the SPEC's reserved labels.
    fn default() -> Self {
        let mut reserved: Vec<String> = DEFAULT_RESERVED.iter().map(|s| String::from(*s)).collect();
        reserved.sort_unstable();
        Self { apex: String::from(DEFAULT_APEX), reserved_lens: lengths_of(&reserved), reserved }
    }
}

impl HostPolicy {
    /// A policy for `apex` with the default reserved labels.
    ///
    /// The apex must be a lowercase hostname (the crate never lowercases for
    /// you) whose labels are not all digits.
    pub fn new(apex: &str) -> Result<Self, HostPolicyError> {
        let valid = apex.len() <= MAX_NAME_LEN
            && scan_name(apex.as_bytes()).is_ok_and(|labels| labels.any_alpha)
            && !apex.bytes().any(|b| b.is_ascii_uppercase());
        if !valid {
            return Err(HostPolicyError::InvalidApex);
        }
        Ok(Self { apex: String::from(apex), ..Self::default() })
    }

    /// Replaces the reserved labels. Each must be a valid slug.
    pub fn with_reserved<I, S>(mut self, labels: I) -> Result<Self, HostPolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut reserved = Vec::new();
        for label in labels {
            let label = label.as_ref();
            check_slug("reserved label", label.as_bytes()).map_err(HostPolicyError::InvalidReserved)?;
            reserved.push(String::from(label));
        }
        reserved.sort_unstable();
        reserved.dedup();
        self.reserved_lens = lengths_of(&reserved);
        self.reserved = reserved;
        Ok(self)
    }

    /// The apex, lowercase.
    pub fn apex(&self) -> &str {
        &self.apex
    }

    /// Whether `label` is reserved (exact, lowercase comparison).
    pub fn is_reserved(&self, label: &str) -> bool {
        self.reserved.binary_search_by(|r| r.as_str().cmp(label)).is_ok()
    }

    /// Parses a `Host` header value (SPEC §2 steps 1–8).
    ///
    /// Takes bytes because a header value may hold any; anything outside
    /// `[A-Za-z0-9.-]` (and one `:port`) is [`HostError::InvalidHost`].
    /// Borrows `host` when it is already lowercase.
    pub fn parse<'a, H: AsRef<[u8]> + ?Sized>(&self, host: &'a H) -> Result<RouteKey<'a>, HostError> {
        let host = host.as_ref();
        match self.parse_common(host) {
            Some(key) => Ok(key),
            None => self.parse_steps(host),
        }
    }

    /// The common spelling in one pass: `{sub}.{apex}` exactly, lowercase,
    /// no port, no trailing dot, `sub` one or two valid slug labels and
    /// not a reserved one. `None` sends the host to [`Self::parse_steps`],
    /// which decides it (and names the error) one SPEC step at a time.
    ///
    /// Everything this accepts, the steps accept with the same key: the
    /// apex has a label that is not all digits (step 4), and each label
    /// here is a slug (steps 6 and 7). A test pins the two together.
    fn parse_common<'a>(&self, host: &'a [u8]) -> Option<RouteKey<'a>> {
        if host.len() > MAX_NAME_LEN {
            return None;
        }
        let apex = self.apex.as_bytes();
        let cut = host.len().checked_sub(apex.len())?;
        let (head, tail) = host.split_at_checked(cut)?;
        let sub = match head.split_last() {
            Some((b'.', sub)) if tail == apex => sub,
            _ => return None,
        };
        // Slug labels: [a-z0-9-], no `--`, no `-` at an edge, 1-63 bytes,
        // at most two. `prev` starts as a dot: a label edge.
        let mut prev = b'.';
        let mut dot = None;
        for (i, &b) in sub.iter().enumerate() {
            let edge = prev == b'.' || prev == b'-';
            match b {
                b'a'..=b'z' | b'0'..=b'9' => {}
                b'-' if !edge => {}
                b'.' if !edge && dot.is_none() => dot = Some(i),
                _ => return None,
            }
            prev = b;
        }
        let first_len = dot.unwrap_or(sub.len());
        let second_len = sub.len().saturating_sub(first_len).saturating_sub(1);
        if prev == b'.' || prev == b'-' || first_len > MAX_LABEL_LEN || second_len > MAX_LABEL_LEN {
            return None;
        }
        if dot.is_none() && self.is_reserved_ignore_case(sub) {
            return None;
        }
        let key = core::str::from_utf8(sub).ok()?;
        Some(RouteKey { key: Cow::Borrowed(key), dot })
    }

    /// SPEC §2 steps 1–8 one at a time, in order, so the first failing
    /// step names the error.
    fn parse_steps<'a>(&self, host: &'a [u8]) -> Result<RouteKey<'a>, HostError> {
        let name = strip_port_and_dot(host)?;
        if name.len() > MAX_NAME_LEN {
            return Err(HostError::InvalidHost);
        }
        let labels = scan_name(name)?;
        if !labels.any_alpha {
            // Every label is digits: an IPv4 literal or something a
            // resolver would take for one (SPEC §2 step 4).
            return Err(HostError::InvalidHost);
        }
        let sub = self.left_of_apex(name)?;
        let (first, second) = split_sub(sub)?;
        let dot = match second {
            None => {
                if self.is_reserved_ignore_case(first) {
                    return Err(HostError::Reserved);
                }
                None
            }
            Some(_) => Some(first.len()),
        };
        // INVARIANT: `name` passed `scan_name`, so `sub` is ASCII.
        let sub = core::str::from_utf8(sub).map_err(|_| HostError::InvalidHost)?;
        let key = if sub.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(sub.to_ascii_lowercase())
        } else {
            Cow::Borrowed(sub)
        };
        Ok(RouteKey { key, dot })
    }

    /// The single-level route key `{tenant}-{deployment}` (SPEC §2).
    ///
    /// ```
    /// use vendo_isolation::HostPolicy;
    /// use vendo_isolation::hosts::HostFormatError;
    /// let policy = HostPolicy::default();
    /// let key = policy.single_level_key(&"acme".parse()?, &"crm".parse()?)?;
    /// assert_eq!(policy.hostname(&key), "acme-crm.vendo.run");
    /// let long = "a".repeat(40);
    /// assert_eq!(
    ///     policy.single_level_key(&long.parse()?, &long.parse()?),
    ///     Err(HostFormatError::TooLong),
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn single_level_key(
        &self,
        tenant: &TenantSlug,
        deployment: &DeploymentSlug,
    ) -> Result<RouteKey<'static>, HostFormatError> {
        let (t, d) = (tenant.as_str(), deployment.as_str());
        let len = t.len().saturating_add(1).saturating_add(d.len());
        if len > MAX_LABEL_LEN || self.name_len(len) > MAX_NAME_LEN {
            return Err(HostFormatError::TooLong);
        }
        let mut key = String::with_capacity(len);
        key.push_str(t);
        key.push('-');
        key.push_str(d);
        // INVARIANT: slugs have no edge `-`, so the join holds exactly one
        // `-` at the seam and never `--`: `key` is itself a valid slug.
        if self.is_reserved(&key) {
            return Err(HostFormatError::Reserved);
        }
        Ok(RouteKey { key: Cow::Owned(key), dot: None })
    }

    /// The legacy route key `{deployment}.{tenant}` (SPEC §2).
    pub fn legacy_key(
        &self,
        tenant: &TenantSlug,
        deployment: &DeploymentSlug,
    ) -> Result<RouteKey<'static>, HostFormatError> {
        let (t, d) = (tenant.as_str(), deployment.as_str());
        let len = d.len().saturating_add(1).saturating_add(t.len());
        if self.name_len(len) > MAX_NAME_LEN {
            return Err(HostFormatError::TooLong);
        }
        let mut key = String::with_capacity(len);
        key.push_str(d);
        key.push('.');
        key.push_str(t);
        Ok(RouteKey { key: Cow::Owned(key), dot: Some(d.len()) })
    }

    /// The full hostname for `key`: `{key}.{apex}`.
    pub fn hostname(&self, key: &RouteKey<'_>) -> String {
        let mut s = String::with_capacity(self.name_len(key.as_str().len()));
        s.push_str(key.as_str());
        s.push('.');
        s.push_str(&self.apex);
        s
    }

    fn name_len(&self, sub_len: usize) -> usize {
        sub_len.saturating_add(1).saturating_add(self.apex.len())
    }

    fn is_reserved_ignore_case(&self, label: &[u8]) -> bool {
        let len = u32::try_from(label.len()).unwrap_or(u32::MAX);
        let maybe = self.reserved_lens.checked_shr(len).is_some_and(|m| m & 1 != 0);
        maybe && self.reserved.iter().any(|r| r.as_bytes().eq_ignore_ascii_case(label))
    }

    /// The part of `name` left of `.{apex}`, or the SPEC §2 step 5/6 error.
    fn left_of_apex<'n>(&self, name: &'n [u8]) -> Result<&'n [u8], HostError> {
        let apex = self.apex.as_bytes();
        if name.eq_ignore_ascii_case(apex) {
            return Err(HostError::Apex);
        }
        let cut = name.len().checked_sub(apex.len()).ok_or(HostError::NotUnderApex)?;
        let (head, tail) = name.split_at_checked(cut).ok_or(HostError::NotUnderApex)?;
        match head.split_last() {
            // `evilvendo.run` ends with `vendo.run` but not at a label
            // boundary: the byte before the apex must be a `.`.
            Some((b'.', sub)) if tail.eq_ignore_ascii_case(apex) => Ok(sub),
            _ => Err(HostError::NotUnderApex),
        }
    }
}

/// Step 1 (optional `:port`, 1–5 digits, 1–65535) and step 2 (one trailing
/// `.`).
fn strip_port_and_dot(host: &[u8]) -> Result<&[u8], HostError> {
    let name = match host.iter().position(|&b| b == b':') {
        None => host,
        Some(colon) => {
            let (name, port) = host.split_at_checked(colon).ok_or(HostError::InvalidHost)?;
            let port = port.get(1..).ok_or(HostError::InvalidHost)?;
            if port.is_empty() || port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
                return Err(HostError::InvalidHost);
            }
            // INVARIANT: every byte is an ASCII digit, so `wrapping_sub` is
            // exact; five digits fit in u32.
            let value =
                port.iter().fold(0u32, |v, &d| v.saturating_mul(10).saturating_add(u32::from(d.wrapping_sub(b'0'))));
            if !(1..=65_535).contains(&value) {
                return Err(HostError::InvalidHost);
            }
            name
        }
    };
    let name = name.strip_suffix(b".").unwrap_or(name);
    if name.is_empty() { Err(HostError::InvalidHost) } else { Ok(name) }
}

struct NameScan {
    any_alpha: bool,
}

/// Step 4: `[A-Za-z0-9.-]` only, no empty label, no label over 63 bytes.
/// Reports whether any label holds a non-digit (the IP-literal test).
fn scan_name(name: &[u8]) -> Result<NameScan, HostError> {
    let mut any_alpha = false;
    for label in name.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(HostError::InvalidHost);
        }
        for &b in label {
            if !(b.is_ascii_alphanumeric() || b == b'-') {
                return Err(HostError::InvalidHost);
            }
        }
        any_alpha |= !label.iter().all(u8::is_ascii_digit);
    }
    Ok(NameScan { any_alpha })
}

/// Steps 6 and 7: one or two labels, each a valid slug once lowercased.
fn split_sub(sub: &[u8]) -> Result<(&[u8], Option<&[u8]>), HostError> {
    let mut labels = sub.split(|&b| b == b'.');
    let first = labels.next().ok_or(HostError::InvalidHost)?;
    let second = labels.next();
    if labels.next().is_some() {
        return Err(HostError::TooDeep);
    }
    check_label(first)?;
    if let Some(second) = second {
        check_label(second)?;
    }
    Ok((first, second))
}

/// A label is a slug once lowercased: letters are accepted in either case
/// here because step 3 compares case-insensitively; `--`, edge `-` and
/// over-long labels are refused (step 7).
fn check_label(label: &[u8]) -> Result<(), HostError> {
    let mut buf = [0u8; MAX_LABEL_LEN];
    let lower = buf.get_mut(..label.len()).ok_or(HostError::InvalidLabel)?;
    lower.copy_from_slice(label);
    lower.make_ascii_lowercase();
    check_slug("label", lower).map_err(|_| HostError::InvalidLabel)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_096))]

        /// The one-pass common spelling accepts only what the SPEC steps
        /// accept, with the same key and form, over hosts near every rule.
        #[test]
        fn common_spelling_agrees_with_the_steps(
            sub in "([a-zA-Z0-9]{0,4}|-|--|\\.|[:_ @]|[a-z]{60,64}){0,6}",
            apex in prop_oneof![Just(".vendo.run"), Just("vendo.run"), Just(".VENDO.run"), Just(".evilvendo.run"), Just(".vendo.run."), Just(".vendo.run:443"), Just("")],
            reserved in prop_oneof![Just(""), Just("www"), Just("openai-proxy"), Just("Admin")],
        ) {
            let policy = HostPolicy::default();
            let host = format!("{reserved}{sub}{apex}");
            let common = policy.parse_common(host.as_bytes());
            let steps = policy.parse_steps(host.as_bytes());
            if let Some(key) = &common {
                prop_assert_eq!(Ok(key), steps.as_ref(), "{:?}", host);
            }
            prop_assert_eq!(policy.parse(&host), steps, "{:?}", host);
        }
    }

    #[test]
    fn common_spelling_takes_the_usual_hosts() {
        let policy = HostPolicy::default();
        for (host, key, dot) in [
            ("acme-crm.vendo.run", "acme-crm", None),
            ("crm.acme.vendo.run", "crm.acme", Some(3)),
            ("a1.vendo.run", "a1", None),
            ("123.vendo.run", "123", None),
        ] {
            let got = policy.parse_common(host.as_bytes()).unwrap();
            assert_eq!((got.as_str(), got.dot), (key, dot), "{host}");
        }
        // Each of these goes to the steps: uppercase, a port, a trailing
        // dot, reserved, three labels, bad slugs, another apex, too long.
        let long = format!("{}.vendo.run", "a".repeat(64));
        for host in [
            "Acme-crm.vendo.run",
            "acme-crm.vendo.run:443",
            "acme-crm.vendo.run.",
            "www.vendo.run",
            "a.b.c.vendo.run",
            "a--b.vendo.run",
            "-a.vendo.run",
            "a-.vendo.run",
            "a..b.vendo.run",
            ".vendo.run",
            "vendo.run",
            "acme.evilvendo.run",
            &long,
        ] {
            assert!(policy.parse_common(host.as_bytes()).is_none(), "{host}");
        }
    }

    #[test]
    fn port_rules() {
        assert_eq!(strip_port_and_dot(b"a:1"), Ok(&b"a"[..]));
        assert_eq!(strip_port_and_dot(b"a:65535"), Ok(&b"a"[..]));
        assert_eq!(strip_port_and_dot(b"a:00443"), Ok(&b"a"[..]));
        assert_eq!(strip_port_and_dot(b"a:0"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b"a:65536"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b"a:123456"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b"a:"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b"a:+1"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b"a:1:2"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b".:1"), Err(HostError::InvalidHost));
        assert_eq!(strip_port_and_dot(b"a..:1"), Ok(&b"a."[..]));
    }

    #[test]
    fn policy_config() {
        assert!(HostPolicy::new("staging.vendo.dev").is_ok());
        assert_eq!(HostPolicy::new("Vendo.run"), Err(HostPolicyError::InvalidApex));
        assert_eq!(HostPolicy::new("1.2.3.4"), Err(HostPolicyError::InvalidApex));
        assert_eq!(HostPolicy::new(""), Err(HostPolicyError::InvalidApex));
        assert_eq!(HostPolicy::new(".run"), Err(HostPolicyError::InvalidApex));
        let p = HostPolicy::default().with_reserved(["zeta", "alpha", "zeta"]).unwrap();
        assert!(p.is_reserved("alpha") && p.is_reserved("zeta") && !p.is_reserved("www"));
        assert!(HostPolicy::default().with_reserved(["Bad"]).is_err());
        // Replacing the list replaces the lengths that are looked up.
        let p = HostPolicy::default().with_reserved(["zeta", &"r".repeat(63)]).unwrap();
        for host in ["zeta.vendo.run", "ZETA.vendo.run", &format!("{}.vendo.run", "r".repeat(63))] {
            assert_eq!(p.parse(host), Err(HostError::Reserved), "{host}");
        }
        assert!(p.parse("www.vendo.run").is_ok() && p.parse("zetb.vendo.run").is_ok());
    }

    #[test]
    fn key_accessors() {
        let p = HostPolicy::default();
        let k = p.parse("crm.acme.vendo.run").unwrap();
        assert_eq!(k.label(), None);
        assert_eq!(k.form().as_str(), "legacy");
        let k = p.parse("acme-crm.vendo.run").unwrap();
        assert_eq!(k.label(), Some("acme-crm"));
        assert_eq!(k.legacy_parts(), None);
        assert!(matches!(k.key, Cow::Borrowed(_)));
        let k = p.parse("ACME-crm.vendo.run").unwrap();
        assert!(matches!(k.key, Cow::Owned(_)));
        assert_eq!(k.clone().into_owned(), k);
    }
}
