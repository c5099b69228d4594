//! `cargo run --example demo`: a real reverse proxy on 127.0.0.1 that uses
//! the crate in front of two tools that echo what they receive, a scripted
//! client, and a table of what the proxy decided and what the tools saw.
//! It exits by itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::arithmetic_side_effects)]

mod scenario;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("vendo-isolation demo: a reverse proxy on 127.0.0.1 in front of two tools\n");
    println!("  acme-crm.vendo.run    -> tenant t_acme, deployment d_acme_crm (single-level host)");
    println!("  wiki.globex.vendo.run -> tenant t_globex, deployment d_globex_wiki (legacy host)\n");
    let rows = scenario::run().await;
    for (i, row) in rows.iter().enumerate() {
        println!("{:>2}. {}", i + 1, row.scenario);
        println!("    {} Host: {}  ->  {} {}", row.via, row.host, row.status, row.decision);
        if row.upstream_saw.is_empty() {
            println!("    tool saw: nothing (request never reached it)");
        } else {
            for (n, v) in &row.upstream_saw {
                println!("    tool saw: {n}: {v}");
            }
        }
        println!();
    }
    println!("Every forged x-vendo-* spelling was removed before the tool saw the request; the tool");
    println!("accepted identity only with the proxy's attestation; credits were held and settled per tenant.");
}
