//! The app proxy module's admit, compiled natively, beside the gate's own
//! admit of the same request, in interleaved rounds:
//!
//! ```text
//! cd examples/worker && cargo bench --bench module
//! ```
//!
//! `module` is `vendo_admit` on the text `vendo.mjs` sends for bench.mjs's
//! 20-header browser request (the read headers with their values, the
//! names holding the mark without): reading it into a map, the gate's
//! admit, the changes and the answer. `gate` is
//! `KeyedGate::admit_request_to` on a clone of that map, the part of the
//! module that is the crate's decision. Each round runs both for about
//! 2 ms in alternating order; the table gives the median over 41 rounds
//! and the median of the rounds' ratios. Comparing `module` here with the
//! same call timed in Node or workerd gives the wasm's cost over native.
//! `-- --test` runs each once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use vendo_isolation::session::{SessionClaims, mint_session};
use vendo_isolation::{AttestationSecret, Gate, KeyRing, RouteEntry, SessionKey, Timestamp};

const NOW: u64 = 1_765_000_000;
const SESSION_KEY: [u8; 32] = [0x42; 32];
const ATTESTATION_SECRET: [u8; 32] = [7; 32];
const HOST: &str = "acme-crm.vendo.run";
const TARGET: &str = "/inbox?page=2&sort=recent";
const UPSTREAM: &str = "http://127.0.0.1:9001";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn entry() -> RouteEntry {
    RouteEntry {
        tenant_id: "t_acme".parse().unwrap(),
        deployment_id: "d_crm".parse().unwrap(),
        tenant_slug: "acme".parse().unwrap(),
        deployment_slug: "crm".parse().unwrap(),
    }
}

/// The read headers of bench.mjs's request, in the order `Headers` yields them.
fn read_headers() -> Vec<(&'static str, String)> {
    let now = Timestamp::from_unix_seconds(NOW).unwrap();
    let e = entry();
    let claims = SessionClaims::new(
        e.tenant_id,
        e.deployment_id,
        "u_1842".parse().unwrap(),
        "ada@acme-corp.example".parse().unwrap(),
        Timestamp::from_unix_seconds(NOW - 600).unwrap(),
        now.checked_add_secs(8 * 3600).unwrap(),
    )
    .unwrap();
    let token = mint_session(&claims, &KeyRing::new(SessionKey::new("k1", &SESSION_KEY).unwrap()));
    vec![
        (
            "cookie",
            format!(
                "theme=dark; __Host-vendo_session={token}; _ga=GA1.1.1874635902.1764691200; \
                 csrftoken=Yq3Z8cL1vR0pW7nK2mT5xH9sD4fB6gJa"
            ),
        ),
        ("host", HOST.to_owned()),
        ("sec-fetch-dest", "document".to_owned()),
        ("sec-fetch-mode", "navigate".to_owned()),
        ("sec-fetch-site", "same-origin".to_owned()),
    ]
}

fn join(fields: &[&str]) -> Vec<u8> {
    fields.join("\0").into_bytes()
}

struct Row<'a> {
    name: &'static str,
    run: Box<dyn FnMut(u64) -> Duration + 'a>,
    iterations: u64,
    ns: Vec<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let once = std::env::args().any(|a| a == "--test");
    let e = entry();
    let secret = hex(&ATTESTATION_SECRET);
    let key = hex(&SESSION_KEY);
    let config = join(&["vendo.run", "", "-", "60", "604800", "0", "1", "k1", &key, "a1", &secret]);
    let (status, answer) = vendo_worker::call_native(vendo_worker::vendo_configure, &config);
    assert_eq!(status, 0, "{}", String::from_utf8_lossy(&answer));

    let headers = read_headers();
    let now = NOW.to_string();
    let mut fields = vec![now.as_str(), "GET", HOST, TARGET, UPSTREAM, "1", "t_acme", "d_crm", "acme", "crm"];
    fields.extend(headers.iter().flat_map(|(n, v)| [*n, v.as_str()]));
    let input = join(&fields);
    let (status, answer) = vendo_worker::call_native(vendo_worker::vendo_admit, &input);
    assert_eq!((status, answer.first()), (0, Some(&b'0')), "{}", String::from_utf8_lossy(&answer));

    let ring = KeyRing::new(SessionKey::new("k1", &SESSION_KEY).unwrap());
    let gate = Gate::new(ring).with_attestation(AttestationSecret::new("a1", &ATTESTATION_SECRET).unwrap());
    let kept = gate.deployment_key(&e.deployment_id).unwrap();
    let mut map = HeaderMap::with_capacity(12);
    for (n, v) in &headers {
        map.append(HeaderName::from_static(n), HeaderValue::from_str(v).unwrap());
    }
    let uri: Uri = format!("{UPSTREAM}{TARGET}").parse().unwrap();
    let at = Timestamp::from_unix_seconds(NOW).unwrap();
    let admit = |h: &mut HeaderMap| {
        gate.with_deployment_key(&kept).admit_request_to(&Method::GET, &uri, HOST, h, Some(&e), at).is_ok()
    };
    assert!(admit(&mut map.clone()));

    let mut rows = [
        Row {
            name: "module: vendo_admit, native",
            run: Box::new(|n| {
                let t = Instant::now();
                for _ in 0..n {
                    black_box(vendo_worker::call_native(vendo_worker::vendo_admit, black_box(&input)).0);
                }
                t.elapsed()
            }),
            iterations: 1,
            ns: Vec::new(),
        },
        Row {
            name: "gate: KeyedGate::admit_request_to",
            run: Box::new(|n| {
                let mut total = Duration::ZERO;
                let mut left = n;
                while left > 0 {
                    let k = left.min(32);
                    let mut batch: Vec<HeaderMap> = (0..k).map(|_| map.clone()).collect();
                    let t = Instant::now();
                    for h in &mut batch {
                        black_box(admit(h));
                    }
                    total += t.elapsed();
                    left -= k;
                }
                total
            }),
            iterations: 1,
            ns: Vec::new(),
        },
    ];
    if once {
        for row in &mut rows {
            (row.run)(1);
        }
        println!("module bench: each row ran once");
        return;
    }
    let per_round = Duration::from_millis(2);
    for row in &mut rows {
        while (row.run)(row.iterations) < per_round {
            row.iterations *= 2;
        }
    }
    for round in 0..41 {
        for i in 0..rows.len() {
            let row = &mut rows[(round + i) % 2];
            let took = (row.run)(row.iterations);
            row.ns.push(took.as_nanos() as f64 / row.iterations as f64);
        }
    }
    println!("| row | median ns |");
    println!("|---|---:|");
    for row in &rows {
        println!("| {} | {:.1} |", row.name, median(row.ns.clone()));
    }
    let ratio = median(rows[0].ns.iter().zip(&rows[1].ns).map(|(m, g)| m / g).collect());
    println!("\nmodule / gate (median over 41 rounds of the same round's times): {ratio:.2}x");
}
