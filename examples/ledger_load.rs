//! Load figures for the PostgreSQL credit ledger (`sql/credits.sql`):
//! ledger calls per second when every connection reserves and posts on one
//! hot tenant, and when the calls spread over 100 tenants, at 1, 4 and 16
//! connections.
//!
//! ```text
//! cargo run --release --example ledger_load            # a throwaway cluster
//! VENDO_PG="host=/run/postgresql dbname=x" cargo run --release --example ledger_load
//! ```
//!
//! Without `VENDO_PG` it starts a throwaway PostgreSQL (Debian's
//! `postgresql` package) on a unix socket, with `fsync=off` and
//! `synchronous_commit=off`: the figures are the ledger's CPU and locking
//! cost, not a disk's flush rate. With `VENDO_PG` it loads the DDL into
//! that database, which must be empty. `LOAD_SECONDS` sets each run's
//! length (default 3).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "../tests/tenancy_pg_cluster.rs"]
mod pg;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use vendo_isolation::credits::POSTGRES_CREDITS_SCHEMA;

/// One run: `conns` connections for `secs`, each looping reserve then post
/// (one proxied call's two ledger calls) on a tenant of `tenants`.
fn run(conninfo: &str, tenants: &[String], conns: usize, secs: u64, tag: &str) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(conns + 1));
    let workers: Vec<_> = (0..conns)
        .map(|w| {
            let mut db = Client::connect(conninfo, NoTls).unwrap();
            let (stop, calls, start, tenants) = (stop.clone(), calls.clone(), start.clone(), tenants.to_vec());
            let tag = tag.to_owned();
            std::thread::spawn(move || {
                let reserve = db.prepare("SELECT vendo_credits_reserve($1, $2, $3, $4, $5)").unwrap();
                let post = db.prepare("SELECT vendo_credits_post($1, $2, $3, $4)").unwrap();
                let mut state = (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                start.wait();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let t = &tenants[(state % tenants.len() as u64) as usize];
                    let id = format!("{tag}_{w}_{n}");
                    let r: String =
                        db.query_one(&reserve, &[t, &id, &100i64, &60i32, &1_700_000_000i64]).unwrap().get(0);
                    assert_eq!(r, "reserved");
                    let r: String = db.query_one(&post, &[t, &id, &40i64, &1_700_000_001i64]).unwrap().get(0);
                    assert_eq!(r, "posted");
                    n += 1;
                }
                calls.fetch_add(2 * n, Ordering::Relaxed);
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    calls.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64()
}

fn main() {
    let secs: u64 = std::env::var("LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let (cluster, conninfo) = match std::env::var("VENDO_PG") {
        Ok(c) => (None, c),
        Err(_) => {
            let Some(cluster) = pg::Cluster::start_or_skip("ledger_load") else {
                std::process::exit(1);
            };
            let c = cluster.conninfo();
            (Some(cluster), c)
        }
    };
    let mut db = Client::connect(&conninfo, NoTls).unwrap();
    db.batch_execute(&format!("BEGIN;\n{POSTGRES_CREDITS_SCHEMA}\nCOMMIT;")).unwrap();
    let version: String = db.query_one("SHOW server_version", &[]).unwrap().get(0);
    let hot = vec!["t_hot".to_owned()];
    let spread: Vec<String> = (0..100).map(|i| format!("t_{i:03}")).collect();
    for t in hot.iter().chain(&spread) {
        let r: String =
            db.query_one("SELECT vendo_credits_top_up($1, 'seed', $2)", &[t, &1_000_000_000_000i64]).unwrap().get(0);
        assert_eq!(r, "credited");
    }
    println!(
        "PostgreSQL {version}; each run {secs} s; a call is one ledger function (a proxied request makes two: reserve, post)"
    );
    println!();
    println!("| connections | one hot tenant (calls/s) | 100 tenants (calls/s) |");
    println!("|---:|---:|---:|");
    for conns in [1, 4, 16] {
        let h = run(&conninfo, &hot, conns, secs, &format!("h{conns}"));
        let s = run(&conninfo, &spread, conns, secs, &format!("s{conns}"));
        println!("| {conns} | {h:.0} | {s:.0} |");
    }
    // Every hold was posted: the books balance.
    let row = db
        .query_one("SELECT sum(credited - available - pending - spent)::bigint, sum(pending)::bigint FROM vendo_credit_balances", &[])
        .unwrap();
    let (off, pending): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((off, pending), (0, 0));
    drop(cluster);
}
