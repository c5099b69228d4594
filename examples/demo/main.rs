//! `cargo run --example demo`: a real reverse proxy on 127.0.0.1 that uses
//! the crate in front of three tenants' tools that echo what they receive,
//! a scripted client, and a table of what the proxy decided and what the
//! tools saw. It exits by itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::arithmetic_side_effects)]

mod platform;
mod scenario;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("vendo-isolation demo: a reverse proxy on 127.0.0.1 in front of three tenants' tools\n");
    for site in &platform::SITES {
        let form = if site.legacy { "legacy host" } else { "single-level host" };
        let role = if site.attacks.is_some() { ", hostile" } else { "" };
        println!("  {:<21} -> tenant {}, deployment {} ({form}{role})", site.host, site.tenant, site.deployment);
    }
    println!();
    let rows = scenario::run().await;
    for (i, row) in rows.iter().enumerate() {
        println!("{:>2}. {}", i + 1, row.scenario);
        if !row.context.is_empty() {
            let sent: Vec<String> = row.context.iter().map(|(n, v)| format!("{n}: {v}")).collect();
            println!("    client sent: {}", sent.join("; "));
        }
        println!("    {} {} Host: {}  ->  {} {}", row.via, row.method, row.host, row.status, row.decision);
        if row.upstream_saw.is_empty() {
            println!("    tool saw: nothing (request never reached it)");
        } else {
            for (n, v) in &row.upstream_saw {
                println!("    tool saw: {n}: {v}");
            }
        }
        for removed in &row.filtered {
            println!("    proxy removed from the answer: {removed}");
        }
        for cookie in &row.set_cookies {
            println!("    client got: set-cookie: {cookie}");
        }
        println!();
    }
    println!("Every forged x-vendo-* spelling was removed before the tool saw the request; the tool");
    println!("accepted identity only with the proxy's attestation; another tenant's page could not post");
    println!("to Acme's host, and its tool could not set cookies for other hosts nor the session;");
    println!("credits were held and settled per tenant.");
}
