//! `cargo run --example demo`: a real reverse proxy on 127.0.0.1 that uses
//! the crate in front of three tenants' tools that echo what they receive,
//! a scripted client, and a table of what the proxy decided and what the
//! tools saw; then a provider proxy on 127.0.0.1 in front of a fake
//! provider, a tool's calls with its API key, and a table of what the
//! proxy decided, what the provider saw, and each tenant's balance. It
//! exits by itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::arithmetic_side_effects)]

mod platform;
mod provider;
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
    println!();
    print_provider_table(&provider::run().await);
}

/// A key as the table shows it: its prefix and key id, never its secret.
fn shown(value: &str) -> String {
    match value.find("vk1_") {
        Some(at) => format!("{}{}…", &value[..at], &value[at..(at + 20).min(value.len())]),
        None => value.to_owned(),
    }
}

fn print_provider_table(rows: &[provider::Row]) {
    println!("vendo-isolation demo, provider path: a provider proxy on 127.0.0.1 (ProviderGate) in front of a fake");
    println!("OpenAI-style provider; tenant t_acme's tool calls it with its deployment's vk1_ key\n");
    println!(
        "  t_acme   key for d_acme_crm; b_acme_openai -> c_acme_openai (openai), b_acme_notion -> c_acme_notion (notion)"
    );
    println!("  t_globex key for d_globex_wiki; b_globex_openai -> c_globex_openai (openai); it never calls");
    println!(
        "  gpt-4o-mini at 150000 / 600000 micro-credits per million tokens in / out; credits below in micro-credits\n"
    );
    let tenants: Vec<&str> = provider::STARTING.iter().map(|(t, _)| *t).collect();
    println!(
        " #  {:<41} {:<26} {:>7}  {:<37} {:>9} {:>9}  provider saw",
        "scenario", "proxy decision", "lookups", "credits held -> settled", tenants[0], tenants[1]
    );
    let start: Vec<String> = provider::STARTING.iter().map(|(_, m)| m.to_string()).collect();
    println!(" -  {:<41} {:<26} {:>7}  {:<37} {:>9} {:>9}", "(before the first call)", "", "", "", start[0], start[1]);
    for (i, row) in rows.iter().enumerate() {
        let decision = match (row.decision.as_str(), row.cut) {
            ("forwarded", true) => format!("{} forwarded, cut", row.status),
            ("forwarded", false) => format!("{} forwarded", row.status),
            (code, _) => format!("{} {code}", row.status),
        };
        let credits = match (&row.held, &row.settled) {
            (Some(held), Some(s)) => {
                let how = match s.kind {
                    "posted" if s.debit == *held => "posted whole".to_owned(),
                    "posted" => format!("posted {}", s.debit.micros()),
                    other => other.to_owned(),
                };
                format!("{} -> {how} ({})", held.micros(), s.outcome)
            }
            (Some(held), None) => format!("{} -> unsettled", held.micros()),
            (None, _) => "none held".to_owned(),
        };
        let saw = match &row.provider_saw {
            None => "nothing (not forwarded)".to_owned(),
            Some(_) => {
                let credential = row.provider_header("authorization").unwrap_or("no credential");
                let leaks = row.leaks();
                let clean = if leaks.is_empty() { "no vk1_, x-vendo-*, cookie".to_owned() } else { leaks.join(", ") };
                format!("{credential}; {clean}")
            }
        };
        println!(
            "{:>2}  {:<41} {:<26} {:>7}  {:<37} {:>9} {:>9}  {saw}",
            i + 1,
            row.scenario,
            decision,
            row.key_lookups,
            credits,
            row.balance(tenants[0]).micros(),
            row.balance(tenants[1]).micros(),
        );
    }
    if let Some(first) = rows.first() {
        println!("\nCall 1 as the tool sent it:");
        for (n, v) in &first.sent {
            println!("    {n}: {}", shown(v));
        }
        println!("and as the provider received it:");
        if let Some(visit) = &first.provider_saw {
            println!("    {} {}", visit.method, visit.target);
            for (n, v) in &visit.headers {
                println!("    {n}: {}", shown(v));
            }
        }
    }
    let settled: Vec<&provider::Settled> = rows.iter().filter_map(|r| r.settled.as_ref()).collect();
    if settled.iter().all(|s| s.matches_settle) {
        println!(
            "\nEach of the {} settlements equals provider::settle's for the same hold and outcome.",
            settled.len()
        );
    } else {
        println!("\nA settlement differs from provider::settle's for the same hold and outcome!");
    }
    println!("The provider never saw a vk1_ key, an x-vendo-* header or a cookie, only the connection's");
    println!("credential the proxy opened; another tenant's binding id found nothing under t_acme; a typo in");
    println!("the key was refused before any lookup; every hold was posted or voided as the provider's answer");
    println!("decided, and t_globex's balance never moved.");
}
