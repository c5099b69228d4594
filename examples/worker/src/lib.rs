//! The admit step for a Cloudflare Worker, as a WebAssembly module with a
//! plain C ABI (no JavaScript glue needed).
//!
//! The Worker writes UTF-8 text into the module's input buffer and reads
//! text back from its output buffer:
//!
//! 1. `vendo_input(len) -> ptr`: a buffer of `len` bytes to write into.
//! 2. `vendo_configure(len) -> status`: once per isolate. Lines:
//!    `session <kid> <hex key>` (first one is primary), `attest <kid> <hex
//!    secret>`, `apex <apex>`.
//! 3. `vendo_route_key(len) -> status`: input is the `Host` value; output
//!    is the key to look up in KV (status 0), or the denial (status 1).
//! 4. `vendo_admit(len) -> status`: input lines: `now <unix seconds>`,
//!    `method <METHOD>`, `target <path?query>`, `route <tenant_id>
//!    <deployment_id> <tenant_slug> <deployment_slug>` or `route -`, then
//!    one `<name>: <value>` line per request header. Output (status 0):
//!    the headers to forward, one `<name>: <value>` per line; (status 1):
//!    `<http status> <code>`.
//! 5. `vendo_filter_response(len) -> status`: input is one `<name>: <value>`
//!    line per header of the tool's response; output (status 0) is the
//!    lines to relay (SPEC §3.3: no `Domain` or session-named
//!    `Set-Cookie`, no `Set-Cookie2`, nothing in the `x-vendo-` namespace).
//! 6. `vendo_output() -> ptr` and `vendo_output_len() -> len`: the answer.
//!
//! Status 2 means the input itself was malformed. Nothing here keeps
//! per-request state beyond the two buffers; the policy is the crate's.

#![deny(missing_docs)]

use std::cell::RefCell;

use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use vendo_isolation::headers::{ResponseVerdict, response_header_verdict};
use vendo_isolation::{AttestationSecret, Gate, HostPolicy, KeyRing, RouteEntry, SessionKey, Timestamp};

#[derive(Default)]
struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    gate: Option<Gate>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

const OK: i32 = 0;
const DENIED: i32 = 1;
const BAD_INPUT: i32 = 2;

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

fn configure(text: &str) -> Option<Gate> {
    let mut ring: Option<KeyRing> = None;
    let mut attest = None;
    let mut hosts = HostPolicy::default();
    for line in text.lines() {
        let mut f = line.split(' ');
        match (f.next(), f.next(), f.next()) {
            (Some("session"), Some(kid), Some(key)) => {
                let key = SessionKey::new(kid, &hex(key)?).ok()?;
                match ring.as_mut() {
                    None => ring = Some(KeyRing::new(key)),
                    Some(r) => r.add_verify_only(key, None).ok()?,
                }
            }
            (Some("attest"), Some(kid), Some(secret)) => {
                attest = Some(AttestationSecret::new(kid, &hex(secret)?).ok()?)
            }
            (Some("apex"), Some(apex), None) => hosts = HostPolicy::new(apex).ok()?,
            (Some(""), None, None) => {}
            _ => return None,
        }
    }
    let gate = Gate::new(ring?).with_hosts(hosts);
    Some(match attest {
        Some(secret) => gate.with_attestation(secret),
        None => gate,
    })
}

fn route_key(gate: &Gate, host: &str) -> (i32, String) {
    match gate.route_key_for_host(host) {
        Ok(key) => (OK, key.as_str().to_owned()),
        Err(reason) => (DENIED, format!("{} {}", reason.status().as_u16(), reason.code())),
    }
}

fn admit(gate: &Gate, text: &str) -> Option<(i32, String)> {
    let mut lines = text.lines();
    let now = Timestamp::from_unix_seconds(lines.next()?.strip_prefix("now ")?.parse().ok()?).ok()?;
    let method = Method::from_bytes(lines.next()?.strip_prefix("method ")?.as_bytes()).ok()?;
    let target = lines.next()?.strip_prefix("target ")?;
    let route = match lines.next()?.strip_prefix("route ")? {
        "-" => None,
        r => {
            let mut f = r.split(' ');
            Some(RouteEntry {
                tenant_id: f.next()?.parse().ok()?,
                deployment_id: f.next()?.parse().ok()?,
                tenant_slug: f.next()?.parse().ok()?,
                deployment_slug: f.next()?.parse().ok()?,
            })
        }
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        headers.append(HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?);
    }
    // The Worker routes on the URL's host, which its runtime also sends as
    // `Host`; the gate refuses a request whose two disagree.
    let host = headers.get(HOST)?.to_str().ok()?.to_owned();
    Some(match gate.admit_request(&method, target, &host, &mut headers, route.as_ref(), now) {
        Ok(_) => {
            let mut out = String::new();
            for (name, value) in &headers {
                out.push_str(name.as_str());
                out.push_str(": ");
                out.push_str(value.to_str().unwrap_or_default());
                out.push('\n');
            }
            (OK, out)
        }
        Err(denial) => (DENIED, format!("{} {}", denial.status().as_u16(), denial.code())),
    })
}

fn filter_response(gate: &Gate, text: &str) -> Option<(i32, String)> {
    let session = gate.session_cookie().as_str();
    let mut out = String::new();
    for line in text.lines() {
        let (name, value) = line.split_once(": ")?;
        if response_header_verdict(name.as_bytes(), value.as_bytes(), session) == ResponseVerdict::Keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    Some((OK, out))
}

/// Makes the input buffer `len` bytes long and returns where it starts.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_input(len: u32) -> *mut u8 {
    STATE.with_borrow_mut(|s| {
        s.input.clear();
        s.input.resize(len as usize, 0);
        s.input.as_mut_ptr()
    })
}

/// Where the last answer starts.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_output() -> *const u8 {
    STATE.with_borrow(|s| s.output.as_ptr())
}

/// How long the last answer is.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_output_len() -> u32 {
    STATE.with_borrow(|s| s.output.len() as u32)
}

fn with_input(len: u32, f: impl FnOnce(&mut State, &str) -> Option<(i32, String)>) -> i32 {
    STATE.with_borrow_mut(|s| {
        let input = std::mem::take(&mut s.input);
        let answer = input.get(..len as usize).and_then(|b| std::str::from_utf8(b).ok()).and_then(|t| f(s, t));
        s.input = input;
        let (status, out) = answer.unwrap_or((BAD_INPUT, String::from("400 bad_request")));
        s.output = out.into_bytes();
        status
    })
}

/// Configures the gate from the first `len` input bytes.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_configure(len: u32) -> i32 {
    with_input(len, |s, text| {
        s.gate = Some(configure(text)?);
        Some((OK, String::new()))
    })
}

/// Step 1: the route key for the `Host` value in the input.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_route_key(len: u32) -> i32 {
    with_input(len, |s, host| Some(route_key(s.gate.as_ref()?, host)))
}

/// Step 2: admit or deny the request described in the input.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_admit(len: u32) -> i32 {
    with_input(len, |s, text| admit(s.gate.as_ref()?, text))
}

/// Step 3: the response headers in the input that may be relayed.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_filter_response(len: u32) -> i32 {
    with_input(len, |s, text| filter_response(s.gate.as_ref()?, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(f: extern "C" fn(u32) -> i32, text: &str) -> (i32, String) {
        let ptr = vendo_input(text.len() as u32);
        STATE.with_borrow_mut(|s| {
            assert_eq!(s.input.as_ptr(), ptr as *const u8);
            s.input.copy_from_slice(text.as_bytes());
        });
        let status = f(text.len() as u32);
        (status, STATE.with_borrow(|s| String::from_utf8(s.output.clone()).unwrap()))
    }

    #[test]
    fn the_abi_round_trips() {
        let key = "42".repeat(32);
        assert_eq!(call(vendo_configure, &format!("session k1 {key}\nattest a1 {}\n", "07".repeat(32))).0, OK);
        assert_eq!(call(vendo_route_key, "Acme-CRM.vendo.run:443"), (OK, "acme-crm".to_owned()));
        assert_eq!(call(vendo_route_key, "admin.vendo.run"), (DENIED, "404 reserved".to_owned()));
        // Same statuses as the gate's denials, not a second mapping.
        assert_eq!(call(vendo_route_key, "xn--a.vendo.run"), (DENIED, "400 invalid_label".to_owned()));
        let request = "now 1700000000\nmethod GET\ntarget /x\nroute t_1 d_1 acme crm\nhost: acme-crm.vendo.run\nx-vendo-user-id: evil\n";
        assert_eq!(call(vendo_admit, request), (DENIED, "401 no_session".to_owned()));
        // A sibling tenant's page posting here: refused before the session.
        let forged = "now 1700000000\nmethod POST\ntarget /x\nroute t_1 d_1 acme crm\nhost: acme-crm.vendo.run\nsec-fetch-site: same-site\norigin: https://evil-x.vendo.run\n";
        assert_eq!(call(vendo_admit, forged), (DENIED, "403 cross_site_request".to_owned()));
        let response = "content-type: text/html\nset-cookie: planted=1; Domain=vendo.run\nset-cookie: __Host-vendo_session=x; Path=/\nset-cookie: cart=1; Path=/\nx-vendo-user-id: u_2\n";
        assert_eq!(
            call(vendo_filter_response, response),
            (OK, "content-type: text/html\nset-cookie: cart=1; Path=/\n".to_owned())
        );
        assert_eq!(call(vendo_admit, "garbage").0, BAD_INPUT);
    }
}
