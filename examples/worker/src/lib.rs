//! vendo-isolation as a WebAssembly module for Cloudflare Workers.
//!
//! JavaScript never calls this directly: `vendo.mjs` (see `vendo.d.ts`)
//! wraps it in `Vendo` and `AttestationVerifier`. The layer between them
//! (`src/abi.rs`, shared with the provider proxy's module) is deliberately small
//! and cheap to cross: one UTF-8 text in, its fields separated by NUL, and
//! one such text out.
//!
//! Nothing here panics: every field is parsed into the crate's
//! validating types, and the policy is entirely the crate's.
//!
//! An admitted request is answered with the changes to apply to the
//! request's headers (names to delete, names to set), not the whole list,
//! so the Worker copies the `Headers` it already has instead of rebuilding
//! it; [`changes`] computes them and a property in this file's tests holds
//! them to the full header map.

#![deny(missing_docs)]

mod abi;

use std::cell::RefCell;
use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use vendo_isolation::attestation::{AttestationVerifier, DeploymentKey};
use vendo_isolation::headers::{CookieRemoval, ResponseVerdict, StripReport, response_header_verdict, strip};
use vendo_isolation::hosts::HostPolicy;
use vendo_isolation::proxy::KeyedGate;
use vendo_isolation::session::{KeyRing, SessionCookieName, VerifyOptions, verify_session};
use vendo_isolation::{AttestationSecret, DeploymentId, Gate, RouteEntry, SessionKey, Timestamp};

use crate::abi::{Fields, Out, Refusal, hex};

#[derive(Default)]
struct State {
    proxy: Option<Proxy>,
    verifier: Option<AttestationVerifier>,
    /// The map an admit or strip reads the request into, kept between
    /// calls for its capacity: each call fills it and leaves it empty.
    map: HeaderMap,
}

/// What `vendo_configure` sets up: the gate, and the ring and options
/// again for verifying a bare token (the gate does not lend its ring).
struct Proxy {
    gate: Gate,
    ring: KeyRing,
    verify: VerifyOptions,
    /// Each deployment's attestation key, derived on its first request in
    /// this isolate instead of on every one; emptied when it reaches
    /// [`KEPT_KEYS`], so a stream of deployments cannot grow it.
    keys: HashMap<DeploymentId, DeploymentKey>,
}

/// The most deployment keys an isolate keeps.
const KEPT_KEYS: usize = 1024;

/// The request headers whose values the gate reads, as `Headers` spells
/// them (lowercase). Of every other name [`Gate::reads_header`] names, the
/// `x-vendo-` namespace in any spelling, the gate reads only the name: it
/// removes those whatever their value. `vendo_configure` answers with
/// these, so that `vendo.mjs` copies only their values out of a `Headers`;
/// a test holds the list to [`Gate::reads_header`].
const VALUES_READ: [&str; 7] =
    ["host", "cookie", "origin", "connection", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest"];

/// What every namespace spelling holds once in ASCII lowercase: its
/// collision key starts with `x-vendo-`, and mapping `_` and `.` to `-`
/// leaves the letters alone. `vendo_configure` answers it first, so that
/// `vendo.mjs` copies out of a `Headers` only the names [`VALUES_READ`]
/// lists or that hold it: the gate neither reads nor changes any other,
/// and the Worker forwards those as they came. A property holds every
/// name the gate reads to one of the two.
const NAMESPACE_MARK: &str = "vendo";

impl Proxy {
    /// The gate, signing with `entry`'s kept key (derived and kept now if
    /// it is the first request for the deployment).
    fn gate_for(&mut self, entry: Option<&RouteEntry>) -> KeyedGate<'_> {
        let Some(deployment) = entry.map(|e| &e.deployment_id) else { return KeyedGate::from(&self.gate) };
        if !self.keys.contains_key(deployment) {
            let Some(key) = self.gate.deployment_key(deployment) else { return KeyedGate::from(&self.gate) };
            if self.keys.len() >= KEPT_KEYS {
                self.keys.clear();
            }
            self.keys.insert(deployment.clone(), key);
        }
        match self.keys.get(deployment) {
            Some(key) => self.gate.with_deployment_key(key),
            None => KeyedGate::from(&self.gate),
        }
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The request's headers the gate reads as they came (for comparing the
/// forwarded map with them), each name parsed as the map holds it, so that
/// comparing two is comparing a standard header's tag or a lowercase
/// name's bytes.
type Read<'a> = Vec<(HeaderName, &'a [u8])>;

impl<'a> Fields<'a> {
    /// The remaining fields as `name, value` pairs, of which only those
    /// [`Gate::reads_header`] names go into the map, since the gate decides
    /// on and changes no other, and the Worker forwards the rest as they
    /// came. Every other pair is only checked as `http` would check it.
    ///
    /// `map` is empty: [`with_map`] leaves it so after every call.
    fn header_map(self, map: &mut HeaderMap) -> Result<Read<'a>, Refusal> {
        // Room for a browser request's read headers and the five the gate
        // injects, so that an admit does not grow the map.
        map.try_reserve(12).map_err(|_| "too many headers")?;
        let mut read = Vec::with_capacity(8);
        for (name, value) in self.pairs() {
            let value = value.ok_or("header name without a value")?;
            if !Gate::reads_header(name) {
                if !is_header_name(name) || !is_header_value(value) {
                    return Err("invalid header");
                }
                continue;
            }
            let header = match read_name(name) {
                Some(read) => read,
                None => HeaderName::from_bytes(name).map_err(|_| "invalid header name")?,
            };
            let parsed = HeaderValue::from_bytes(value).map_err(|_| "invalid header value")?;
            map.try_append(header.clone(), parsed).map_err(|_| "too many headers")?;
            read.push((header, value));
        }
        Ok(read)
    }
}

/// The name of a header in [`VALUES_READ`], whatever its case, without
/// building it: three of them (`sec-fetch-*`) are not among `http`'s
/// standard headers, and `HeaderName::from_bytes` would allocate each (and
/// its clone share it) on every call.
fn read_name(name: &[u8]) -> Option<HeaderName> {
    VALUES_READ.iter().find(|read| read.as_bytes().eq_ignore_ascii_case(name)).map(|read| HeaderName::from_static(read))
}

/// The bytes RFC 9110 allows in a field name (`tchar`), by value.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        b += 1;
    }
    table
};

/// What `HeaderName::from_bytes` accepts: one or more RFC 9110 `tchar`.
fn is_header_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= usize::from(u16::MAX)
        && name.iter().all(|&b| TCHAR.get(usize::from(b)).copied().unwrap_or(false))
}

/// What `HeaderValue::from_bytes` accepts: no control byte but tab.
///
/// Counted without an early exit, so that the loop vectorises: a valid
/// value is checked whole either way.
fn is_header_value(value: &[u8]) -> bool {
    value.iter().map(|&b| usize::from((b < 0x20 && b != b'\t') || b == 0x7f)).sum::<usize>() == 0
}

/// `vendo_configure`: apex, cookie name, reserved (`-` for the default
/// set, else a count and the labels), leeway, max lifetime, re-issue
/// window, key count and `kid, hex key` pairs (primary first), attestation
/// kid and hex secret (both empty for none).
fn configure(text: &[u8]) -> Result<Proxy, Refusal> {
    let mut f = Fields::new(text);
    let apex = f.str()?;
    let mut hosts = HostPolicy::new(if apex.is_empty() { "vendo.run" } else { apex }).map_err(|_| "invalid apex")?;
    let cookie = f.str()?;
    let cookie: SessionCookieName = if cookie.is_empty() {
        SessionCookieName::DEFAULT
    } else {
        cookie.parse().map_err(|_| "invalid session cookie name")?
    };
    let reserved = f.str()?;
    if reserved != "-" {
        let n: usize = reserved.parse().map_err(|_| "invalid reserved count")?;
        let labels = (0..n).map(|_| f.str()).collect::<Result<Vec<_>, _>>()?;
        hosts = hosts.with_reserved(labels).map_err(|_| "invalid reserved label")?;
    }
    let verify = VerifyOptions::new()
        .with_leeway_secs(f.u64()?)
        .with_max_lifetime_secs(f.u64()?)
        .with_reissue_within_secs(f.u64()?);
    let n = f.number()?;
    let mut keys = Vec::new();
    for _ in 0..n {
        let kid = f.str()?;
        let key = hex(f.str()?)?;
        keys.push((kid, key));
    }
    let ring = || -> Result<KeyRing, Refusal> {
        let mut iter = keys.iter();
        let (kid, key) = iter.next().ok_or("no session key")?;
        let mut ring = KeyRing::new(SessionKey::new(kid, key).map_err(|_| "invalid session key")?);
        for (kid, key) in iter {
            ring.add_verify_only(SessionKey::new(kid, key).map_err(|_| "invalid session key")?, None)
                .map_err(|_| "too many or repeated session keys")?;
        }
        Ok(ring)
    };
    let mut gate = Gate::new(ring()?).with_hosts(hosts).with_verify_options(verify).with_session_cookie(cookie);
    let (kid, secret) = (f.str()?, f.str()?);
    if !kid.is_empty() || !secret.is_empty() {
        gate = gate
            .with_attestation(AttestationSecret::new(kid, &hex(secret)?).map_err(|_| "invalid attestation secret")?);
    }
    Ok(Proxy { gate, ring: ring()?, verify, keys: HashMap::new() })
}

/// `vendo_route_key`: the host. Answers `0, key, form, a, b` (single
/// level: the label; legacy: deployment and tenant slugs) or
/// `1, status, code`.
fn route_key(proxy: &Proxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let host = Fields::new(text).str()?;
    match proxy.gate.route_key_for_host(host) {
        Ok(key) => {
            out.put("0").put(key.as_str());
            match (key.label(), key.legacy_parts()) {
                (Some(label), _) => out.put("single_level").put(label).put(""),
                (None, Some((deployment, tenant))) => out.put("legacy").put(deployment).put(tenant),
                (None, None) => out.put("").put("").put(""),
            };
        }
        Err(reason) => {
            out.put("1").num(reason.status().as_u16().into()).put(reason.code());
        }
    }
    Ok(())
}

fn route_entry(f: &mut Fields<'_>) -> Result<Option<RouteEntry>, Refusal> {
    let has = f.str()?;
    let fields = [f.str()?, f.str()?, f.str()?, f.str()?];
    if has != "1" {
        return Ok(None);
    }
    let [tenant, deployment, tenant_slug, deployment_slug] = fields;
    Ok(Some(RouteEntry {
        tenant_id: tenant.parse().map_err(|_| "invalid route tenant_id")?,
        deployment_id: deployment.parse().map_err(|_| "invalid route deployment_id")?,
        tenant_slug: tenant_slug.parse().map_err(|_| "invalid route tenant_slug")?,
        deployment_slug: deployment_slug.parse().map_err(|_| "invalid route deployment_slug")?,
    }))
}

/// `vendo_admit`: now, method, host, target, upstream origin (empty for
/// none), the route (`1` and four fields, or `0` and four empty ones),
/// then `name, value` pairs. Answers `0`, the identity (four fields),
/// re-issue code and `Set-Cookie` (empty for none), then the changes; or
/// `1, status, code`, then the changes (a denial forwards nothing, but the
/// caller may log or reuse the stripped headers).
fn admit(proxy: &mut Proxy, headers: &mut HeaderMap, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let now = Timestamp::from_unix_seconds(f.u64()?).map_err(|_| "now out of range")?;
    let method = Method::from_bytes(f.bytes()?).map_err(|_| "invalid method")?;
    let host = f.str()?;
    let target = f.str()?;
    let upstream = f.str()?;
    let entry = route_entry(&mut f)?;
    let pairs = f.header_map(headers)?;
    let keyed = proxy.gate_for(entry.as_ref());
    let result = if upstream.is_empty() {
        keyed.admit_request(&method, target, host, headers, entry.as_ref(), now)
    } else {
        let mut uri = String::with_capacity(upstream.len() + target.len());
        uri.push_str(upstream.trim_end_matches('/'));
        uri.push_str(target);
        match Uri::try_from(uri) {
            Ok(uri) if target.starts_with('/') => {
                keyed.admit_request_to(&method, &uri, host, headers, entry.as_ref(), now)
            }
            // Not a URI the upstream can be asked for: the target is the
            // client's (an upstream is the caller's configuration).
            _ => keyed.admit_request(&method, "", host, headers, entry.as_ref(), now),
        }
    };
    let gate = &proxy.gate;
    let report = match &result {
        Ok(admitted) => {
            let s = admitted.session();
            out.put("0").put(s.tenant_id()).put(s.deployment_id()).put(s.user_id()).put(s.email());
            match gate.reissue(admitted, now) {
                Ok(Some(fresh)) => {
                    out.put(admitted.reissue().map_or("", |r| r.code())).put(fresh.set_cookie().as_bytes())
                }
                _ => out.put("").put(""),
            };
            admitted.report()
        }
        Err(denial) => {
            out.put("1").num(denial.status().as_u16().into()).put(denial.code());
            denial.report()
        }
    };
    changes(&pairs, headers, report, out);
    Ok(())
}

/// `vendo_strip`: an empty field, then `name, value` pairs. Answers the
/// changes.
fn strip_op(proxy: &Proxy, headers: &mut HeaderMap, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    f.bytes()?;
    let pairs = f.header_map(headers)?;
    let report = strip(headers, proxy.gate.session_cookie().as_str()).into_report();
    out.put("0");
    changes(&pairs, headers, &report, out);
    Ok(())
}

/// Writes the spoofed spellings, then the names to delete, then the
/// `name, value` pairs to set (delete the name, then append each), as
/// counts followed by fields.
///
/// `pairs` are the request's headers that went into the map, with their
/// names parsed (lowercase, as the answer gives them) and their values as
/// they came, and the map holds nothing else but what the gate injected, so comparing
/// the two short lists gives every change with no map lookup: a name of
/// the request the map no longer has is deleted; a name of the map whose
/// values differ from the request's is set. Every other name is untouched
/// by the crate.
fn changes(pairs: &[(HeaderName, &[u8])], headers: &HeaderMap, report: &StripReport, out: &mut Out<'_>) {
    let spoofed = report.removed_headers().len() + report.removed_connection_tokens().len();
    out.num(spoofed as u64);
    for name in report.removed_headers() {
        out.put(name.as_str());
    }
    for token in report.removed_connection_tokens() {
        out.put(token);
    }
    // Each value of the map with its name; `iter` yields a name's values together.
    let forwarded: Vec<(&HeaderName, &[u8])> = headers.iter().map(|(n, v)| (n, v.as_bytes())).collect();
    let mut deletes: Vec<&HeaderName> = Vec::new();
    for (name, _) in pairs {
        if !forwarded.iter().any(|(n, _)| *n == name) && !deletes.contains(&name) {
            deletes.push(name);
        }
    }
    out.num(deletes.len() as u64);
    for name in deletes {
        out.put(name.as_str());
    }
    // The map's names whose values changed, each with its run of values.
    let mut sets: Vec<&[(&HeaderName, &[u8])]> = Vec::new();
    let mut rest = forwarded.as_slice();
    while let Some(&(name, _)) = rest.first() {
        let run = rest.iter().take_while(|(n, _)| *n == name).count();
        let (values, tail) = rest.split_at(run);
        rest = tail;
        let before = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| *v);
        if !before.eq(values.iter().map(|(_, v)| *v)) {
            sets.push(values);
        }
    }
    out.num(sets.iter().map(|run| run.len() as u64).sum());
    for (name, value) in sets.iter().flat_map(|run| run.iter()) {
        out.put(name.as_str()).put(value);
    }
}

/// `vendo_filter_response`: an empty field, then `name, value` pairs of
/// the tool's response. Answers the count of fields to drop, then `index,
/// reason` for each (`domain`, `session_name` for a `Set-Cookie`; `header`
/// otherwise).
fn filter_response(proxy: &Proxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let session = proxy.gate.session_cookie().as_str();
    let mut dropped = Vec::new();
    let mut f = Fields::new(text);
    f.bytes()?;
    for (i, (name, value)) in f.pairs().enumerate() {
        let value = value.ok_or("header name without a value")?;
        let reason = match response_header_verdict(name, value, session) {
            ResponseVerdict::Keep => continue,
            ResponseVerdict::DropCookie(CookieRemoval::Domain) => "domain",
            ResponseVerdict::DropCookie(CookieRemoval::SessionName) => "session_name",
            ResponseVerdict::DropCookie(_) => "cookie",
            ResponseVerdict::DropHeader | _ => "header",
        };
        dropped.push((i, reason));
    }
    out.put("0").num(dropped.len() as u64);
    for (i, reason) in dropped {
        out.num(i as u64).put(reason);
    }
    Ok(())
}

/// `vendo_verify_session`: now, tenant id, deployment id, token. Answers
/// `0`, the identity, iat, exp, re-issue code; or `1, code`.
fn verify_session_op(proxy: &Proxy, text: &[u8], out: &mut Out<'_>) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let now = Timestamp::from_unix_seconds(f.u64()?).map_err(|_| "now out of range")?;
    let tenant = f.str()?.parse().map_err(|_| "invalid tenant_id")?;
    let deployment = f.str()?.parse().map_err(|_| "invalid deployment_id")?;
    let token = f.bytes()?;
    match verify_session(token, &proxy.ring, now, &tenant, &deployment, &proxy.verify) {
        Ok(s) => {
            out.put("0").put(s.tenant_id()).put(s.deployment_id()).put(s.user_id()).put(s.email());
            out.num(s.issued_at().unix_seconds()).num(s.expires_at().unix_seconds());
            out.put(s.reissue().map_or("", |r| r.code()));
        }
        Err(e) => {
            out.put("1").put(e.code());
        }
    }
    Ok(())
}

/// `vendo_configure_verifier`: max age, skew, key count and `kid,
/// deployment id, hex key` triples.
fn configure_verifier(text: &[u8]) -> Result<AttestationVerifier, Refusal> {
    let mut f = Fields::new(text);
    let max_age = u32::try_from(f.u64()?).map_err(|_| "max age out of range")?;
    let skew = u32::try_from(f.u64()?).map_err(|_| "skew out of range")?;
    let n = f.number()?;
    let mut verifier: Option<AttestationVerifier> = None;
    for _ in 0..n {
        let kid = f.str()?;
        let deployment = f.str()?.parse().map_err(|_| "invalid deployment_id")?;
        let key = DeploymentKey::new(kid, deployment, &hex(f.str()?)?).map_err(|_| "invalid deployment key")?;
        verifier = Some(match verifier {
            None => AttestationVerifier::new(key),
            Some(v) => v.with_key(key).map_err(|_| "keys must be of one deployment, at most 8")?,
        });
    }
    Ok(verifier.ok_or("no deployment key")?.max_age_secs(max_age).skew_secs(skew))
}

/// `vendo_verify_attestation`: now, method, the request URL, then `name,
/// value` pairs. Answers `0`, the identity, kid, signed-at; or `1, code`.
fn verify_attestation(
    verifier: &AttestationVerifier,
    headers: &mut HeaderMap,
    text: &[u8],
    out: &mut Out<'_>,
) -> Result<(), Refusal> {
    let mut f = Fields::new(text);
    let now = Timestamp::from_unix_seconds(f.u64()?).map_err(|_| "now out of range")?;
    let method = Method::from_bytes(f.bytes()?).map_err(|_| "invalid method")?;
    let uri = Uri::try_from(f.bytes()?).map_err(|_| "invalid URL")?;
    f.header_map(headers)?;
    match verifier.verify_request(&method, &uri, headers, now) {
        Ok(who) => {
            out.put("0").put(who.tenant_id()).put(who.deployment_id()).put(who.user_id()).put(who.email());
            out.put(who.kid()).num(who.signed_at().unix_seconds());
        }
        Err(e) => {
            out.put("1").put(e.code());
        }
    }
    Ok(())
}

/// Runs one operation on the first `len` input bytes, with the state.
fn run(len: u32, op: impl FnOnce(&mut State, &[u8], &mut Vec<u8>) -> Result<(), Refusal>) -> i32 {
    abi::run(len, |text, out| STATE.with_borrow_mut(|s| op(s, text, out)))
}

/// Runs `op` on the kept map and leaves it empty, whatever `op` answers,
/// so that no request's headers outlive its call. A map that one request
/// grew past [`KEPT_MAP_CAPACITY`] (a list of thousands of spoofed names)
/// is dropped instead, so that the isolate does not keep its memory.
fn with_map(map: &mut HeaderMap, op: impl FnOnce(&mut HeaderMap) -> Result<(), Refusal>) -> Result<(), Refusal> {
    let result = op(map);
    if map.capacity() > KEPT_MAP_CAPACITY {
        *map = HeaderMap::new();
    } else {
        map.clear();
    }
    result
}

/// The largest map kept between calls, in entries: room for a browser
/// request's read headers, the injected ones and a few spoofed spellings.
const KEPT_MAP_CAPACITY: usize = 96;

/// Runs one of the module's operations natively on `text`, as `vendo.mjs`
/// runs it through the module's memory, and answers the status and the
/// answer's bytes: for native harnesses (`benches/module.rs`). A Worker
/// never calls it.
#[doc(hidden)]
pub fn call_native(op: extern "C" fn(u32) -> i32, text: &[u8]) -> (i32, Vec<u8>) {
    match abi::put_input(text) {
        Some(len) => (op(len), abi::answer()),
        None => (abi::BAD_INPUT, b"input over 4 GiB".to_vec()),
    }
}

/// Configures the gate (see [`configure`]); replaces any earlier one.
/// Answers [`NAMESPACE_MARK`], then [`VALUES_READ`].
#[unsafe(no_mangle)]
pub extern "C" fn vendo_configure(len: u32) -> i32 {
    run(len, |s, text, out| {
        s.proxy = Some(configure(text)?);
        let mut out = Out(out);
        out.put(NAMESPACE_MARK);
        for name in VALUES_READ {
            out.put(name);
        }
        Ok(())
    })
}

/// Step 1: the route key of a host.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_route_key(len: u32) -> i32 {
    run(len, |s, text, out| route_key(s.proxy.as_ref().ok_or("not configured")?, text, &mut Out(out)))
}

/// Step 2: admit or deny a request.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_admit(len: u32) -> i32 {
    run(len, |s, text, out| {
        with_map(&mut s.map, |map| admit(s.proxy.as_mut().ok_or("not configured")?, map, text, &mut Out(out)))
    })
}

/// SPEC §3 steps 1–3 alone, with the configured cookie name.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_strip(len: u32) -> i32 {
    run(len, |s, text, out| {
        with_map(&mut s.map, |map| strip_op(s.proxy.as_ref().ok_or("not configured")?, map, text, &mut Out(out)))
    })
}

/// Step 3: which response fields to drop.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_filter_response(len: u32) -> i32 {
    run(len, |s, text, out| filter_response(s.proxy.as_ref().ok_or("not configured")?, text, &mut Out(out)))
}

/// Verifies a bare session token with the configured ring and options.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_verify_session(len: u32) -> i32 {
    run(len, |s, text, out| verify_session_op(s.proxy.as_ref().ok_or("not configured")?, text, &mut Out(out)))
}

/// Configures the tool-side attestation verifier.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_configure_verifier(len: u32) -> i32 {
    run(len, |s, text, _| {
        s.verifier = Some(configure_verifier(text)?);
        Ok(())
    })
}

/// The tool's check of a request's attestation.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_verify_attestation(len: u32) -> i32 {
    run(len, |s, text, out| {
        with_map(&mut s.map, |map| {
            verify_attestation(s.verifier.as_ref().ok_or("not configured")?, map, text, &mut Out(out))
        })
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use vendo_isolation::testing::{
        TEST_ATTESTATION_KID, TEST_ATTESTATION_SECRET, TEST_SESSION_KID, TEST_SESSION_SECRET, fixture,
        hostile_header_map,
    };

    use super::*;
    use crate::abi::{BAD_INPUT, OK, call, vendo_input};

    fn hexed(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn configure_fields() -> Vec<String> {
        let (kid, key) = (TEST_SESSION_KID, hexed(TEST_SESSION_SECRET));
        let secret = hexed(TEST_ATTESTATION_SECRET);
        ["", "", "-", "60", "604800", "0", "1", kid, &key, TEST_ATTESTATION_KID, &secret].map(String::from).to_vec()
    }

    fn configure_fixture() {
        let fields = configure_fields();
        assert_eq!(call(vendo_configure, &fields.iter().map(String::as_str).collect::<Vec<_>>()).0, OK);
    }

    /// The JavaScript side's algorithm: delete, then delete and append.
    fn apply(input: &[(String, String)], answer: &[String]) -> Vec<(String, String)> {
        let mut it = answer.iter();
        let spoofed: usize = it.next().unwrap().parse().unwrap();
        let _ = it.by_ref().take(spoofed).count();
        let deletes: usize = it.next().unwrap().parse().unwrap();
        let deleted: Vec<String> = it.by_ref().take(deletes).cloned().collect();
        let sets: usize = it.next().unwrap().parse().unwrap();
        let mut set = Vec::new();
        for _ in 0..sets {
            set.push((it.next().unwrap().clone(), it.next().unwrap().clone()));
        }
        assert!(it.next().is_none(), "trailing fields");
        // `Headers` and the list form both take the names as written here.
        for name in deleted.iter().chain(set.iter().map(|(n, _)| n)) {
            assert_eq!(name, &name.to_ascii_lowercase(), "a change's name is lowercase");
        }
        let touched = |n: &str| deleted.iter().chain(set.iter().map(|(n, _)| n)).any(|d| d.eq_ignore_ascii_case(n));
        let mut out: Vec<(String, String)> =
            input.iter().filter(|(n, _)| !touched(n)).map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
        out.extend(set);
        out
    }

    fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
        v.sort_by(|a, b| a.0.cmp(&b.0)); // stable: keeps each name's value order
        v
    }

    fn list(map: &HeaderMap) -> Vec<(String, String)> {
        map.iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8(v.as_bytes().to_vec()).unwrap())).collect()
    }

    /// Every name the gate reads is either one whose value `vendo.mjs`
    /// copies or in the namespace the gate removes whatever its value, and
    /// every listed name is read: over the standard names, the listed
    /// ones in any case, namespace spellings and near misses.
    #[test]
    fn values_read_are_the_gate_s_non_namespace_names() {
        let mut names: Vec<String> = VALUES_READ.iter().flat_map(|n| [n.to_string(), n.to_ascii_uppercase()]).collect();
        names.extend(
            [
                "accept",
                "user-agent",
                "referer",
                "sec-fetch-user",
                "sec-fetch-sites",
                "sec-fetch-dst",
                "cookies",
                "cookie2",
                "set-cookie",
                "origins",
                "proxy-connection",
                "connections",
                "hosts",
                "x-forwarded-host",
                "forwarded",
                "x-vendo-user-id",
                "X_Vendo_Tenant_Id",
                "x.vendo.user.email",
                "x-vendo",
                "x-vendor-id",
                "vendo-user-id",
                "te",
                "upgrade",
                "authorization",
                "sec-ch-ua",
                "priority",
                "if-none-match",
                "",
            ]
            .map(String::from),
        );
        for name in &names {
            let listed = VALUES_READ.contains(&name.to_ascii_lowercase().as_str());
            assert!(!listed || !vendo_isolation::headers::is_managed_name(name.as_bytes()), "{name}");
            assert_eq!(
                Gate::reads_header(name.as_bytes()),
                listed || vendo_isolation::headers::is_managed_name(name.as_bytes()),
                "{name}"
            );
        }
        let fields = configure_fields();
        let (status, answer) = call(vendo_configure, &fields.iter().map(String::as_str).collect::<Vec<_>>());
        let want: Vec<String> = [NAMESPACE_MARK].iter().chain(&VALUES_READ).map(|n| n.to_string()).collect();
        assert_eq!((status, answer), (OK, want));
    }

    #[test]
    fn a_read_name_is_the_name_http_parses() {
        for name in VALUES_READ {
            for spelled in [name.to_owned(), name.to_ascii_uppercase()] {
                let parsed = HeaderName::from_bytes(spelled.as_bytes()).unwrap();
                assert_eq!(read_name(spelled.as_bytes()), Some(parsed), "{spelled}");
            }
        }
        for other in ["x-vendo-user-id", "sec-fetch-user", "cookies", "hos", ""] {
            assert_eq!(read_name(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn the_abi_round_trips() {
        configure_fixture();
        assert_eq!(
            call(vendo_route_key, &["Acme-CRM.vendo.run:443"]).1,
            ["0", "acme-crm", "single_level", "acme-crm", ""]
        );
        assert_eq!(call(vendo_route_key, &["crm.acme.vendo.run"]).1, ["0", "crm.acme", "legacy", "crm", "acme"]);
        assert_eq!(call(vendo_route_key, &["admin.vendo.run"]).1, ["1", "404", "reserved"]);
        assert_eq!(call(vendo_route_key, &["xn--a.vendo.run"]).1, ["1", "400", "invalid_label"]);

        let route = ["1", "t_acme", "d_acme_crm", "acme", "crm"];
        let head = ["1700000000", "POST", "acme-crm.vendo.run", "/x", ""];
        let forged = [&head[..], &route[..], &["host", "acme-crm.vendo.run", "sec-fetch-site", "same-site"]].concat();
        let (status, out) = call(vendo_admit, &forged);
        assert_eq!((status, &out[..3]), (OK, &["1", "403", "cross_site_request"].map(str::to_owned)[..]));
        let no_route = [&head[..], &["0", "", "", "", ""], &["x-vendo-user-id", "evil"]].concat();
        let (_, out) = call(vendo_admit, &no_route);
        // Denied, and the forged header is among the deletes.
        assert_eq!(out, ["1", "404", "not_found", "1", "x-vendo-user-id", "1", "x-vendo-user-id", "0"]);

        let response = [
            "",
            "content-type",
            "text/html",
            "set-cookie",
            "planted=1; Domain=vendo.run",
            "set-cookie",
            "__Host-vendo_session=x; Path=/",
            "set-cookie",
            "cart=1; Path=/",
            "x-vendo-user-id",
            "u_2",
        ];
        assert_eq!(
            call(vendo_filter_response, &response).1,
            ["0", "3", "1", "domain", "2", "session_name", "4", "header"]
        );

        let f = fixture().unwrap();
        let (_, out) = call(vendo_verify_session, &["1700000000", "t_acme", "d_acme_crm", &f.token]);
        assert_eq!(out[..5], ["0", "t_acme", "d_acme_crm", "u_alice", "alice@acme.example"]);
        assert_eq!(
            call(vendo_verify_session, &["1700000000", "t_other", "d_acme_crm", &f.token]).1,
            ["1", "wrong_tenant"]
        );
    }

    #[test]
    fn bad_input_is_refused_with_a_reason_never_a_panic() {
        configure_fixture();
        for (op, fields) in [
            (vendo_admit as extern "C" fn(u32) -> i32, &["garbage"][..]),
            (vendo_admit, &["1700000000", "GET", "h", "/", "", "1", "t", "d", "s", "s", "name-only"]),
            (vendo_admit, &["1700000000", "G ET", "h", "/", "", "0", "", "", "", ""]),
            (vendo_admit, &["99999999999999999999", "GET", "h", "/", "", "0", "", "", "", ""]),
            (vendo_admit, &["1700000000", "GET", "h", "/", "", "1", "T!", "d", "s", "s"]),
            (vendo_admit, &["1700000000", "GET", "h", "/", "", "0", "", "", "", "", "bad name", "v"]),
            (vendo_admit, &["1700000000", "GET", "h", "/", "", "0", "", "", "", "", "a", "\r\n"]),
            (vendo_configure, &["vendo.run", "", "-", "60", "604800", "0", "1", "k", "zz", "", ""]),
            (vendo_configure, &["vendo.run", "not a cookie", "-", "60", "604800", "0", "0", "", ""]),
            (vendo_configure, &["", "", "-", "60", "604800", "0", "1", "k", "00", "", ""]),
            (vendo_configure_verifier, &["60", "5", "0"]),
            (vendo_configure_verifier, &["60", "5", "1", "a1", "d_1", "abcd"]),
        ] {
            let (status, out) = call(op, fields);
            assert_eq!(status, BAD_INPUT, "{fields:?}");
            assert!(!out.concat().is_empty(), "a reason for {fields:?}");
        }
        // A refused configuration keeps the previous gate.
        assert_eq!(call(vendo_route_key, &["acme-crm.vendo.run"]).0, OK);
        // Lengths beyond the buffer (which only grows) are refused, not read.
        vendo_input(4);
        assert_eq!(vendo_admit(1 << 30), BAD_INPUT);
        assert_eq!(vendo_admit(u32::MAX), BAD_INPUT);
    }

    /// No request's headers outlive its call, and one request cannot make
    /// the isolate keep a large map.
    #[test]
    fn the_kept_map_is_empty_after_every_call_and_stays_small() {
        configure_fixture();
        let kept = || STATE.with_borrow(|s| (s.map.len(), s.map.capacity()));
        let names: Vec<String> = (0..1000).map(|i| format!("x-vendo-n{i}")).collect();
        let mut fields = vec![""];
        fields.extend(names.iter().flat_map(|n| [n.as_str(), "v"]));
        assert_eq!(call(vendo_strip, &fields).0, OK);
        let (len, capacity) = kept();
        assert!(len == 0 && capacity <= KEPT_MAP_CAPACITY, "{len} entries, capacity {capacity}");
        assert_eq!(call(vendo_strip, &["", "cookie", "a=1", "x-vendo-user-id", "u_1"]).0, OK);
        assert_eq!(kept().0, 0);
        let bad = ["1700000000", "GET", "h", "/", "", "0", "", "", "", "", "cookie", "a=1", "bad name", "v"];
        assert_eq!(call(vendo_admit, &bad).0, BAD_INPUT);
        assert_eq!(kept().0, 0);
    }

    #[test]
    fn the_header_syntax_checks_agree_with_http() {
        for a in 0..=255u8 {
            for b in [b'a', b'-', b' ', 0x80, 0] {
                let bytes = [a, b];
                assert_eq!(is_header_name(&bytes), HeaderName::from_bytes(&bytes).is_ok(), "{bytes:?}");
                assert_eq!(is_header_value(&bytes), HeaderValue::from_bytes(&bytes).is_ok(), "{bytes:?}");
            }
        }
        assert_eq!(is_header_name(b""), HeaderName::from_bytes(b"").is_ok());
        assert_eq!(is_header_value(b""), HeaderValue::from_bytes(b"").is_ok());
        for len in [65_535, 65_536, 70_000] {
            let long = vec![b'a'; len];
            assert_eq!(is_header_name(&long), HeaderName::from_bytes(&long).is_ok(), "{len}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `vendo.mjs` copies a name out of a `Headers` only when it is
        /// listed or holds the mark: every name the gate reads must be one
        /// of the two, over names made of the namespace's letters and
        /// separators in any order and case (spellings and near misses
        /// alike), the hostile maps' names, and arbitrary token bytes.
        #[test]
        fn every_name_the_gate_reads_is_listed_or_holds_the_mark(
            spelled in prop_oneof![
                "[xX][-_.][vV][eE][nN][dD][oO][-_.][-_.a-zA-Z0-9]{0,16}",
                "[xX][-_.][vVeEnNdDoO_.-]{5,7}[-_.a-z]{0,6}",
            ],
            token in "[-!#$%&'*+.^_`|~0-9A-Za-z]{1,24}",
            hostile in hostile_header_map(),
        ) {
            let names = [spelled, token].into_iter().chain(hostile.keys().map(|n| n.as_str().to_owned()));
            for name in names {
                let lower = name.to_ascii_lowercase();
                if Gate::reads_header(name.as_bytes()) {
                    prop_assert!(VALUES_READ.contains(&lower.as_str()) || lower.contains(NAMESPACE_MARK), "{}", name);
                }
            }
        }

        /// Applying the answer's changes to the request's headers gives
        /// exactly the map the crate forwards, whatever the client sent.
        #[test]
        fn changes_rebuild_the_forwarded_map(hostile in hostile_header_map(), upstream in any::<bool>(), shout in any::<u64>()) {
            configure_fixture();
            let f = fixture().unwrap();
            let mut input = list(&f.request.headers);
            input.extend(list(&hostile));
            let mut map = HeaderMap::new();
            for (n, v) in &input {
                map.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
            }
            let target = f.request.uri.path_and_query().unwrap().as_str();
            let origin = if upstream { "http://127.0.0.1:9001" } else { "" };
            let expected = if upstream {
                let uri: Uri = format!("{origin}{target}").parse().unwrap();
                f.gate.admit_request_to(&f.request.method, &uri, "acme-crm.vendo.run", &mut map, Some(&f.entry), f.now)
            } else {
                f.gate.admit_request(&f.request.method, target, "acme-crm.vendo.run", &mut map, Some(&f.entry), f.now)
            };
            let route = ["1", "t_acme", "d_acme_crm", "acme", "crm"];
            let mut fields = vec!["1700000000", "GET", "acme-crm.vendo.run", target, origin];
            fields.extend(route);
            // Names in any case, as a list of pairs may spell them.
            let spelled: Vec<String> = input
                .iter()
                .enumerate()
                .map(|(i, (n, _))| if shout >> (i % 64) & 1 == 1 { n.to_ascii_uppercase() } else { n.clone() })
                .collect();
            fields.extend(spelled.iter().zip(&input).flat_map(|(n, (_, v))| [n.as_str(), v.as_str()]));
            let (status, out) = call(vendo_admit, &fields);
            prop_assert_eq!(status, OK);
            let skip = match &expected {
                Ok(_) => {
                    prop_assert_eq!(&out[0], "0");
                    7
                }
                Err(denial) => {
                    prop_assert_eq!(&out[..3], &["1".to_owned(), denial.status().as_u16().to_string(), denial.code().to_owned()][..]);
                    3
                }
            };
            prop_assert_eq!(sorted(apply(&input, &out[skip..])), sorted(list(&map)));
        }
    }
}
