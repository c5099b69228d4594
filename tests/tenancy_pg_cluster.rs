//! A throwaway PostgreSQL cluster for the schema tests: `initdb` in a temp
//! dir (as the `postgres` user when run as root), a unix socket in that
//! dir only, `psql` as the client, removed on drop (also when a test
//! panics). Included as a module by `tests/postgres.rs` and
//! `tests/tenancy_pg_layers.rs`; alone it only checks its own helpers.
//!
//! With `CI=true` a missing PostgreSQL is a failure; elsewhere a test
//! using it is skipped with one printed line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A SQL string literal (standard_conforming_strings is on).
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs SQL and reports one line per statement, never raising: the
/// harness's way of collecting per-write outcomes from one psql.
const VI_TRY: &str = r#"
CREATE FUNCTION public.vi_try(stmt text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE n bigint; st text; con text; msg text;
BEGIN
EXECUTE stmt;
GET DIAGNOSTICS n = ROW_COUNT;
RETURN 'ok|' || n;
EXCEPTION WHEN OTHERS THEN
GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, msg = MESSAGE_TEXT;
RETURN 'err|' || st || '|' || coalesce(con, '') || '|' || replace(msg, E'\n', ' ');
END
$fn$;
"#;

#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_root: bool,
}

fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|p| p.join("pg_ctl").exists() && p.join("initdb").exists())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Cluster {
    /// Starts a cluster, or returns `None` after printing why not.
    /// Under `CI=true` a missing PostgreSQL is a failure.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let Some(bin) = find_bin() else {
            let why = "no PostgreSQL server binaries (pg_ctl, initdb) under /usr/lib/postgresql/*/bin or on PATH";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: {why}; CI must install PostgreSQL (apt-get install postgresql)");
            }
            eprintln!("skipped {test}: {why}");
            return None;
        };
        Some(Self::start(bin))
    }

    fn start(bin: PathBuf) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vi-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let as_root = is_root();
        // From here on, Drop removes the directory whatever happens.
        let c = Self { dir, bin, as_root };
        if as_root {
            c.check(Command::new("chown").arg("-R").arg("postgres:postgres").arg(&c.dir), "chown");
        }
        let data = c.dir.join("data");
        c.check(
            c.as_owner("initdb").arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]),
            "initdb",
        );
        // Unix socket in our own directory only: nothing listens on TCP.
        let opts = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
            c.dir.display()
        );
        c.check(
            c.as_owner("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(c.dir.join("log"))
                .args(["-w", "-t", "60", "-o", &opts, "start"]),
            "pg_ctl start",
        );
        c
    }

    fn as_owner(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        }
    }

    fn check(&self, cmd: &mut Command, what: &str) {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            panic!(
                "{what} failed: {}\n{}\n{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn psql_cmd(&self, app: &str) -> Command {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "postgres", "-h"])
            .arg(&self.dir)
            .args(["-f", "-"])
            .env("PGAPPNAME", app)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs a script in one psql and returns its output; any error
    /// outside `vi_try` fails the test.
    pub fn psql(&self, script: &str) -> String {
        let mut child = self.psql_cmd("vi_test").spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let script = script.to_owned();
        // Written from another thread: psql's output would fill the
        // pipe while we are still writing a large script.
        let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Loads the crate's DDL in one transaction, then the harness's
    /// `vi_try`.
    pub fn load_schema(&self) {
        self.psql(&format!("BEGIN;\n{}\nCOMMIT;\n{VI_TRY}", vendo_isolation::tenancy::POSTGRES_SCHEMA));
    }

    /// A psql that has run `sql` and waits for more.
    pub fn session(&self, app: &str, sql: &str) -> Session {
        let mut child = self.psql_cmd(app).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{sql}").unwrap();
        stdin.flush().unwrap();
        Session { child, stdin }
    }

    /// Polls until the session `app` is in `state` (pg_stat_activity's
    /// state, or "waiting on a lock").
    pub fn wait_until(&self, app: &str, state: &str) {
        let q = format!(
            "SELECT CASE WHEN wait_event_type = 'Lock' THEN 'waiting on a lock' ELSE state END
               FROM pg_stat_activity WHERE application_name = {};",
            lit(app)
        );
        for _ in 0..3000 {
            if self.psql(&q).trim() == state {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("session {app} never reached {state:?}");
    }

    /// A libpq connection string for the superuser, over the cluster's
    /// unix socket.
    pub fn conninfo(&self) -> String {
        self.conninfo_as("postgres")
    }

    /// A libpq connection string for `role` (trust authentication).
    pub fn conninfo_as(&self, role: &str) -> String {
        format!("host={} user={role} dbname=postgres", self.dir.display())
    }

    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir().join("data");
        let _ = self.as_owner("pg_ctl").arg("-D").arg(&data).args(["-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug)]
pub struct Session {
    child: Child,
    stdin: ChildStdin,
}

impl Session {
    /// Sends `sql`, closes the session and returns all it printed.
    pub fn finish(self, sql: &str) -> String {
        let Session { child, mut stdin } = self;
        writeln!(stdin, "{sql}").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "psql session failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

/// splitmix64: a fixed seed gives the same run everywhere.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
}

/// Bindings whose deployment or connection is missing or of another
/// tenant than the binding: must always be zero.
pub const CROSS_TENANT_ROWS: &str = "
SELECT count(*) FROM app_connection_bindings b
  LEFT JOIN deployments d ON d.id = b.deployment_id
  LEFT JOIN connections c ON c.id = b.connection_id
 WHERE d.id IS NULL OR c.id IS NULL
    OR d.tenant_id <> b.tenant_id OR c.tenant_id <> b.tenant_id OR d.tenant_id <> c.tenant_id;
";

/// One `vi_try` answer for `sql`.
pub fn try_sql(pg: &Cluster, sql: &str) -> String {
    pg.psql(&format!("SELECT vi_try($stmt${sql}$stmt$);")).trim().to_owned()
}

pub fn seed_two_tenants(pg: &Cluster) {
    pg.psql(
        "INSERT INTO tenants VALUES ('t_a'), ('t_b');
         INSERT INTO deployments VALUES ('d_a', 't_a'), ('d_b', 't_b');
         INSERT INTO connections VALUES ('c_a', 't_a', 'openai'), ('c_b', 't_b', 'openai');
         INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_a', 'd_a', 'c_a');",
    );
}

#[test]
fn lit_doubles_quotes() {
    assert_eq!(lit("a'b"), "'a''b'");
    assert_eq!(lit("a\\b"), "'a\\b'");
}
