//! The DDL against a real PostgreSQL: a throwaway cluster on a unix socket
//! in a temp dir, `psql` as the only client.
//!
//! The differential test sends thousands of random writes both to
//! `TenancyModel` and to PostgreSQL and requires the two to agree on every
//! one, then proves no cross-tenant row exists. With `CI=true` a missing
//! PostgreSQL fails the test; elsewhere it is skipped with one line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pg::{Cluster, lit};
use vendo_isolation::{
    BindingId, Connection, ConnectionId, Deployment, DeploymentId, Provider, TenancyModel, TenantId,
    postgres_refusal_code,
};

/// One write, as both the model and PostgreSQL take it.
#[derive(Debug, Clone)]
enum Op {
    InsertTenant(String),
    InsertDeployment(String, String),
    InsertConnection(String, String, String),
    InsertBinding(String, String, String),
    UpdateBinding(String, String, String),
    DeleteBinding(String),
    MoveDeployment(String, String),
    MoveConnection(String, String),
    DeleteDeployment(String),
    DeleteConnection(String),
    DeleteTenant(String),
}

impl Op {
    fn sql(&self) -> String {
        match self {
            Op::InsertTenant(t) => format!("INSERT INTO tenants (id) VALUES ({})", lit(t)),
            Op::InsertDeployment(d, t) => {
                format!("INSERT INTO deployments (id, tenant_id) VALUES ({}, {})", lit(d), lit(t))
            }
            Op::InsertConnection(c, t, p) => {
                format!("INSERT INTO connections (id, tenant_id, provider) VALUES ({}, {}, {})", lit(c), lit(t), lit(p))
            }
            Op::InsertBinding(b, d, c) => format!(
                "INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ({}, {}, {})",
                lit(b),
                lit(d),
                lit(c)
            ),
            Op::UpdateBinding(b, d, c) => format!(
                "UPDATE app_connection_bindings SET deployment_id = {}, connection_id = {} WHERE id = {}",
                lit(d),
                lit(c),
                lit(b)
            ),
            Op::DeleteBinding(b) => format!("DELETE FROM app_connection_bindings WHERE id = {}", lit(b)),
            Op::MoveDeployment(d, t) => format!("UPDATE deployments SET tenant_id = {} WHERE id = {}", lit(t), lit(d)),
            Op::MoveConnection(c, t) => format!("UPDATE connections SET tenant_id = {} WHERE id = {}", lit(t), lit(c)),
            Op::DeleteDeployment(d) => format!("DELETE FROM deployments WHERE id = {}", lit(d)),
            Op::DeleteConnection(c) => format!("DELETE FROM connections WHERE id = {}", lit(c)),
            Op::DeleteTenant(t) => format!("DELETE FROM tenants WHERE id = {}", lit(t)),
        }
    }

    /// Applies the op to the model: `ok` or the refusal's code.
    fn apply(&self, m: &mut TenancyModel) -> String {
        fn t(s: &str) -> TenantId {
            s.parse().unwrap()
        }
        fn d(s: &str) -> DeploymentId {
            s.parse().unwrap()
        }
        fn c(s: &str) -> ConnectionId {
            s.parse().unwrap()
        }
        fn b(s: &str) -> BindingId {
            s.parse().unwrap()
        }
        let r = match self {
            Op::InsertTenant(x) => m.insert_tenant(t(x)),
            Op::InsertDeployment(x, y) => m.insert_deployment(Deployment::new(d(x), t(y))),
            Op::InsertConnection(x, y, p) => {
                m.insert_connection(Connection::new(c(x), t(y), p.parse::<Provider>().unwrap()))
            }
            Op::InsertBinding(x, y, z) => m.insert_binding(b(x), &d(y), &c(z)).map(drop),
            Op::UpdateBinding(x, y, z) => m.update_binding(&b(x), &d(y), &c(z)).map(drop),
            Op::DeleteBinding(x) => m.delete_binding(&b(x)),
            Op::MoveDeployment(x, y) => m.move_deployment(&d(x), t(y)),
            Op::MoveConnection(x, y) => m.move_connection(&c(x), t(y)),
            Op::DeleteDeployment(x) => m.delete_deployment(&d(x)),
            Op::DeleteConnection(x) => m.delete_connection(&c(x)),
            Op::DeleteTenant(x) => m.delete_tenant(&t(x)),
        };
        match r {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.code().to_owned(),
        }
    }
}

/// splitmix64: a fixed seed gives the same run everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

// Small pools so that writes collide. `acme`/`Acme` and `d_x`/`D_x` differ
// only by case: SPEC §1 compares ids byte for byte, so they are different
// tenants and deployments, in Rust and in PostgreSQL (COLLATE "C").
// `t_ghost` is never created up front, to reach unknown_tenant.
const TENANTS: &[&str] = &["acme", "Acme", "t_b", "t-c", "t_ghost"];
const DEPLOYMENTS: &[&str] = &["d_x", "D_x", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "dep_01HZ"];
const CONNECTIONS: &[&str] = &["c_x", "C_x", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "conn-9"];
const BINDINGS: &[&str] = &["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "B9", "b-10"];
const PROVIDERS: &[&str] = &["openai", "notion", "telegram"];

fn setup(rng: &mut Rng) -> Vec<Op> {
    let mut ops: Vec<Op> = TENANTS[..4].iter().map(|t| Op::InsertTenant((*t).to_owned())).collect();
    for d in DEPLOYMENTS {
        ops.push(Op::InsertDeployment((*d).to_owned(), rng.pick(&TENANTS[..4]).to_owned()));
    }
    for c in CONNECTIONS {
        ops.push(Op::InsertConnection((*c).to_owned(), rng.pick(&TENANTS[..4]).to_owned(), rng.pick(PROVIDERS).into()));
    }
    ops
}

fn random_op(rng: &mut Rng) -> Op {
    let s = |x: &str| x.to_owned();
    match rng.next() % 100 {
        0..=29 => Op::InsertBinding(s(rng.pick(BINDINGS)), s(rng.pick(DEPLOYMENTS)), s(rng.pick(CONNECTIONS))),
        30..=49 => Op::UpdateBinding(s(rng.pick(BINDINGS)), s(rng.pick(DEPLOYMENTS)), s(rng.pick(CONNECTIONS))),
        50..=61 => Op::DeleteBinding(s(rng.pick(BINDINGS))),
        62..=71 => Op::MoveDeployment(s(rng.pick(DEPLOYMENTS)), s(rng.pick(TENANTS))),
        72..=81 => Op::MoveConnection(s(rng.pick(CONNECTIONS)), s(rng.pick(TENANTS))),
        82..=85 => Op::InsertDeployment(s(rng.pick(DEPLOYMENTS)), s(rng.pick(TENANTS))),
        86..=89 => Op::InsertConnection(s(rng.pick(CONNECTIONS)), s(rng.pick(TENANTS)), s(rng.pick(PROVIDERS))),
        90..=92 => Op::DeleteDeployment(s(rng.pick(DEPLOYMENTS))),
        93..=95 => Op::DeleteConnection(s(rng.pick(CONNECTIONS))),
        96..=97 => Op::InsertTenant(s(rng.pick(TENANTS))),
        _ => Op::DeleteTenant(s(rng.pick(TENANTS))),
    }
}

/// PostgreSQL's answer to one `vi_try` call, as a model code.
fn pg_code(line: &str) -> String {
    let parts: Vec<&str> = line.splitn(4, '|').collect();
    match parts.as_slice() {
        ["ok", "1"] => "ok".to_owned(),
        ["ok", "0"] => "not_found".to_owned(),
        ["err", state, constraint, msg] => {
            let constraint = (!constraint.is_empty()).then_some(*constraint);
            postgres_refusal_code(state, constraint, msg)
                .map_or_else(|| format!("unmapped {state} {constraint:?} {msg}"), str::to_owned)
        }
        _ => format!("unparsed {line}"),
    }
}

fn model_dump(m: &TenancyModel) -> Vec<String> {
    let mut out: Vec<String> = m.tenants().map(|t| format!("t|{t}")).collect();
    out.extend(m.deployments().map(|d| format!("d|{}|{}", d.id(), d.tenant_id())));
    out.extend(m.connections().map(|c| format!("c|{}|{}|{}", c.id(), c.tenant_id(), c.provider())));
    out.extend(
        m.bindings().map(|b| format!("b|{}|{}|{}|{}", b.id(), b.tenant_id(), b.deployment_id(), b.connection_id())),
    );
    out
}

const PG_DUMP: &str = "
SELECT 't|' || id FROM tenants ORDER BY id;
SELECT 'd|' || id || '|' || tenant_id FROM deployments ORDER BY id;
SELECT 'c|' || id || '|' || tenant_id || '|' || provider FROM connections ORDER BY id;
SELECT 'b|' || id || '|' || tenant_id || '|' || deployment_id || '|' || connection_id
  FROM app_connection_bindings ORDER BY id;
";

/// Bindings whose deployment or connection is missing or of another
/// tenant than the binding: must always be zero.
const CROSS_TENANT_ROWS: &str = "
SELECT count(*) FROM app_connection_bindings b
  LEFT JOIN deployments d ON d.id = b.deployment_id
  LEFT JOIN connections c ON c.id = b.connection_id
 WHERE d.id IS NULL OR c.id IS NULL
    OR d.tenant_id <> b.tenant_id OR c.tenant_id <> b.tenant_id OR d.tenant_id <> c.tenant_id;
";

const ROUNDS: &[(u64, usize)] = &[(1, 2500), (0x5EED, 2500), (0xDEAD_BEEF, 2500)];

#[test]
fn postgres_agrees_with_the_model_on_every_write() {
    let Some(pg) = Cluster::start_or_skip("postgres_agrees_with_the_model_on_every_write") else { return };
    pg.load_schema();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for &(seed, n) in ROUNDS {
        pg.psql("TRUNCATE app_connection_bindings, connections, deployments, tenants;");
        let mut rng = Rng(seed);
        let mut ops = setup(&mut rng);
        ops.extend((0..n).map(|_| random_op(&mut rng)));

        let mut script = String::new();
        for op in &ops {
            writeln!(script, "SELECT vi_try($stmt${}$stmt$);", op.sql()).unwrap();
        }
        let out = pg.psql(&script);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), ops.len(), "one answer per write");

        let mut model = TenancyModel::new();
        for (i, (op, line)) in ops.iter().zip(&lines).enumerate() {
            let want = op.apply(&mut model);
            let got = pg_code(line);
            assert_eq!(got, want, "seed {seed:#x}, write {i}: {op:?}\n  sql: {}\n  postgres: {line}", op.sql());
            model.check_invariants().unwrap();
            *tally.entry(want).or_default() += 1;
        }

        assert_eq!(pg.psql(CROSS_TENANT_ROWS).trim(), "0", "seed {seed:#x}: cross-tenant rows exist");
        let pg_rows: Vec<String> = pg.psql(PG_DUMP).lines().map(str::to_owned).collect();
        assert_eq!(pg_rows, model_dump(&model), "seed {seed:#x}: final tables differ");
    }
    // The run must have exercised every refusal, not only the happy path.
    for (code, at_least) in [
        ("ok", 500),
        ("cross_tenant_binding", 300),
        ("bound_record", 50),
        ("duplicate_id", 50),
        ("not_found", 50),
        ("still_referenced", 20),
        ("unknown_tenant", 10),
    ] {
        let got = tally.get(code).copied().unwrap_or(0);
        assert!(got >= at_least, "only {got} writes ended {code}: {tally:?}");
    }
    println!("postgres differential: {tally:?}");
}

/// One `vi_try` answer for `sql`.
fn try_sql(pg: &Cluster, sql: &str) -> String {
    pg.psql(&format!("SELECT vi_try($stmt${sql}$stmt$);")).trim().to_owned()
}

fn seed_two_tenants(pg: &Cluster) {
    pg.psql(
        "INSERT INTO tenants VALUES ('t_a'), ('t_b');
         INSERT INTO deployments VALUES ('d_a', 't_a'), ('d_b', 't_b');
         INSERT INTO connections VALUES ('c_a', 't_a', 'openai'), ('c_b', 't_b', 'openai');
         INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_a', 'd_a', 'c_a');",
    );
}

#[test]
fn trigger_refuses_with_its_own_sqlstate_and_message() {
    let Some(pg) = Cluster::start_or_skip("trigger_refuses_with_its_own_sqlstate_and_message") else { return };
    pg.load_schema();
    seed_two_tenants(&pg);
    let cases: &[(&str, &str, &str)] = &[
        // The seed's promise: tenant A's deployment bound to tenant B's
        // connection.
        (
            "INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_x', 'd_a', 'c_b')",
            "err|VI001||vendo_isolation: cross-tenant binding: deployment d_a belongs to tenant t_a, connection c_b belongs to tenant t_b",
            "insert across tenants",
        ),
        // Re-pointing an existing binding at another tenant's connection.
        (
            "UPDATE app_connection_bindings SET connection_id = 'c_b' WHERE id = 'b_a'",
            "err|VI001||vendo_isolation: cross-tenant binding: deployment d_a belongs to tenant t_a, connection c_b belongs to tenant t_b",
            "update of a binding's connection",
        ),
        (
            "UPDATE app_connection_bindings SET deployment_id = 'd_b' WHERE id = 'b_a'",
            "err|VI001||vendo_isolation: cross-tenant binding: deployment d_b belongs to tenant t_b, connection c_a belongs to tenant t_a",
            "update of a binding's deployment",
        ),
        // Moving a bound row to another tenant would carry the binding
        // across.
        (
            "UPDATE deployments SET tenant_id = 't_b' WHERE id = 'd_a'",
            "err|VI002||vendo_isolation: bound row cannot change tenant or id: deployments d_a of tenant t_a is bound by binding b_a",
            "tenant change of a bound deployment",
        ),
        (
            "UPDATE connections SET tenant_id = 't_b' WHERE id = 'c_a'",
            "err|VI002||vendo_isolation: bound row cannot change tenant or id: connections c_a of tenant t_a is bound by binding b_a",
            "tenant change of a bound connection",
        ),
        (
            "UPDATE deployments SET id = 'd_a2' WHERE id = 'd_a'",
            "err|VI002||vendo_isolation: bound row cannot change tenant or id: deployments d_a of tenant t_a is bound by binding b_a",
            "id change of a bound deployment",
        ),
        // A writer-supplied tenant_id is overwritten from the deployment,
        // so it cannot smuggle the row past the keys either way.
        (
            "INSERT INTO app_connection_bindings (id, deployment_id, connection_id, tenant_id) VALUES ('b_y', 'd_a', 'c_a', 't_b')",
            "ok|1",
            "spoofed tenant_id on insert",
        ),
        (
            "UPDATE app_connection_bindings SET tenant_id = 't_b' WHERE id = 'b_y'",
            "ok|1",
            "spoofed tenant_id on update",
        ),
        (
            "INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_z', 'd_none', 'c_a')",
            "err|23503|app_connection_bindings_deployment_fk|vendo_isolation: unknown deployment d_none",
            "dangling deployment",
        ),
        (
            "INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_z', 'd_a', NULL)",
            "err|23502||null value in column \"connection_id\" of relation \"app_connection_bindings\" violates not-null constraint",
            "NULL would dodge a MATCH SIMPLE composite key",
        ),
    ];
    for (sql, want, why) in cases {
        assert_eq!(try_sql(&pg, sql), *want, "{why}");
    }
    assert_eq!(pg.psql("SELECT tenant_id FROM app_connection_bindings WHERE id = 'b_y';").trim(), "t_a");
    assert_eq!(pg.psql(CROSS_TENANT_ROWS).trim(), "0");
}

#[test]
fn composite_keys_refuse_alone_when_triggers_are_off() {
    let Some(pg) = Cluster::start_or_skip("composite_keys_refuse_alone_when_triggers_are_off") else { return };
    pg.load_schema();
    seed_two_tenants(&pg);
    pg.psql(
        "ALTER TABLE app_connection_bindings DISABLE TRIGGER app_connection_bindings_same_tenant;
         ALTER TABLE deployments DISABLE TRIGGER deployments_bound_row_stays;
         ALTER TABLE connections DISABLE TRIGGER connections_bound_row_stays;",
    );
    let cases: &[(&str, &str, &str)] = &[
        (
            "INSERT INTO app_connection_bindings (id, tenant_id, deployment_id, connection_id) VALUES ('b_x', 't_a', 'd_a', 'c_b')",
            "23503|app_connection_bindings_connection_fk",
            "row claims the deployment's tenant",
        ),
        (
            "INSERT INTO app_connection_bindings (id, tenant_id, deployment_id, connection_id) VALUES ('b_x', 't_b', 'd_a', 'c_b')",
            "23503|app_connection_bindings_deployment_fk",
            "row claims the connection's tenant",
        ),
        (
            "INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_x', 'd_a', 'c_a')",
            "23502|",
            "nobody filled tenant_id",
        ),
        (
            "UPDATE app_connection_bindings SET connection_id = 'c_b' WHERE id = 'b_a'",
            "23503|app_connection_bindings_connection_fk",
            "re-pointed binding",
        ),
        (
            "UPDATE deployments SET tenant_id = 't_b' WHERE id = 'd_a'",
            "23503|app_connection_bindings_deployment_fk",
            "moved deployment",
        ),
        (
            "UPDATE connections SET tenant_id = 't_b' WHERE id = 'c_a'",
            "23503|app_connection_bindings_connection_fk",
            "moved connection",
        ),
        (
            "DELETE FROM deployments WHERE id = 'd_a'",
            "23503|app_connection_bindings_deployment_fk",
            "deleted deployment",
        ),
    ];
    for (sql, want, why) in cases {
        let got = try_sql(&pg, sql);
        assert!(got.starts_with(&format!("err|{want}")), "{why}: {got}");
    }
    assert_eq!(pg.psql(CROSS_TENANT_ROWS).trim(), "0");
}

#[test]
fn regression_trigger_cannot_be_misled_by_search_path() {
    let Some(pg) = Cluster::start_or_skip("regression_trigger_cannot_be_misled_by_search_path") else { return };
    pg.load_schema();
    seed_two_tenants(&pg);
    // A temporary table is searched before any schema unless pg_temp is
    // placed explicitly; a schema first in search_path is searched first.
    // Both claim `d_a` belongs to `t_b`. Either would make a trigger that
    // trusted search_path compute the wrong tenant.
    let out = pg.psql(
        "CREATE SCHEMA evil;
         CREATE TABLE evil.deployments (id text, tenant_id text);
         INSERT INTO evil.deployments VALUES ('d_a', 't_b');
         CREATE TEMP TABLE deployments (id text, tenant_id text);
         INSERT INTO deployments VALUES ('d_a', 't_b');
         SET search_path = evil, public;
         SELECT vi_try($s$INSERT INTO public.app_connection_bindings (id, deployment_id, connection_id)
                           VALUES ('b_x', 'd_a', 'c_b')$s$);",
    );
    assert!(out.trim().starts_with("err|VI001||"), "{out}");
    assert_eq!(pg.psql(CROSS_TENANT_ROWS).trim(), "0");
}

#[test]
fn id_syntax_checks_agree_with_rust() {
    let Some(pg) = Cluster::start_or_skip("id_syntax_checks_agree_with_rust") else { return };
    pg.load_schema();
    pg.psql("INSERT INTO tenants VALUES ('t');");
    let mut inputs: Vec<String> = [
        "a",
        "A-Z_09",
        "",          // empty id
        " a",        // padding that a trim would hide
        "a\n",       // `$` must not match before a trailing newline
        "a\r",       // header-splitting byte
        "é",         // non-ASCII letter: [[:alpha:]] would take it
        "\u{212a}",  // Kelvin sign, case-folds to `k`
        "ａ",        // fullwidth a
        "a'b",       // quote
        "a.b",       // `.` is outside the alphabet
        "a/b",       // path separator
        "a%2Fb",     // percent-encoding
        "a b",       // space
        "\u{200b}a", // zero-width space
        "Acme",      // upper case is allowed in ids, not providers
        "openai",
        "x--y",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push("a".repeat(64));
    inputs.push("a".repeat(65));
    inputs.push("é".repeat(32)); // 32 chars, 64 bytes
    // Random strings over a hostile alphabet.
    let mut rng = Rng(7);
    let alphabet: Vec<char> = "aZ09_-.é \n'\u{212a}".chars().collect();
    for _ in 0..400 {
        let len = (rng.next() % 70) as usize;
        inputs.push((0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect());
    }

    let mut script = String::new();
    for (i, s) in inputs.iter().enumerate() {
        writeln!(script, "SELECT vi_try($stmt$INSERT INTO tenants VALUES ({})$stmt$);", lit(s)).unwrap();
        let conn = format!("INSERT INTO connections VALUES ('c{i}', 't', {})", lit(s));
        writeln!(script, "SELECT vi_try($stmt${conn}$stmt$);").unwrap();
    }
    let out = pg.psql(&script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2 * inputs.len());
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in inputs.iter().enumerate() {
        let (tenant, provider) = (lines[2 * i], lines[2 * i + 1]);
        // A repeated random string is a duplicate the second time.
        let first = seen.insert(s.clone());
        let want_tenant = match (TenantId::validate(s).is_ok(), first) {
            (true, true) => "ok|1",
            (true, false) => "err|23505|tenants_pkey",
            (false, _) => "err|23514|tenants_id_syntax",
        };
        assert!(tenant.starts_with(want_tenant), "tenant id {s:?}: {tenant}");
        let want_provider =
            if Provider::validate(s).is_ok() { "ok|1" } else { "err|23514|connections_provider_syntax" };
        assert!(provider.starts_with(want_provider), "provider {s:?}: {provider}");
    }
}

#[test]
fn concurrent_writes_cannot_race_past_the_keys() {
    let Some(pg) = Cluster::start_or_skip("concurrent_writes_cannot_race_past_the_keys") else { return };
    pg.load_schema();
    pg.psql(
        "INSERT INTO tenants VALUES ('t_a'), ('t_b');
         INSERT INTO deployments VALUES ('d_1', 't_a'), ('d_2', 't_a');
         INSERT INTO connections VALUES ('c_1', 't_a', 'openai'), ('c_2', 't_a', 'openai');",
    );
    // The trigger cannot see another transaction's uncommitted binding, so
    // only the composite keys (whose checks lock the rows) stop these.
    //
    // 1. A binds d_1 and stays open; B moves d_1 to t_b; A commits.
    let a = pg.session(
        "race_a",
        "BEGIN; INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_1', 'd_1', 'c_1');",
    );
    pg.wait_until("race_a", "idle in transaction");
    let b = pg.session("race_b", "SELECT vi_try($s$UPDATE deployments SET tenant_id = 't_b' WHERE id = 'd_1'$s$);");
    pg.wait_until("race_b", "waiting on a lock");
    let a_out = a.finish("COMMIT;");
    let b_out = b.finish("");
    assert!(a_out.is_empty(), "{a_out}");
    // B waited for A's key lock; whichever layer then sees A's committed
    // binding first refuses the move.
    let b_out = b_out.trim();
    assert!(
        b_out.starts_with("err|VI002||") || b_out.starts_with("err|23503|app_connection_bindings_deployment_fk|"),
        "{b_out}"
    );

    // 2. The other order: A moves d_2 to t_b and stays open; B binds d_2
    //    to a t_a connection, reading d_2's committed tenant t_a; A
    //    commits.
    let a = pg.session("race_c", "BEGIN; UPDATE deployments SET tenant_id = 't_b' WHERE id = 'd_2';");
    pg.wait_until("race_c", "idle in transaction");
    let b = pg.session(
        "race_d",
        "SELECT vi_try($s$INSERT INTO app_connection_bindings (id, deployment_id, connection_id) VALUES ('b_2', 'd_2', 'c_2')$s$);",
    );
    pg.wait_until("race_d", "waiting on a lock");
    let a_out = a.finish("COMMIT;");
    let b_out = b.finish("");
    assert!(a_out.is_empty(), "{a_out}");
    assert!(b_out.trim().starts_with("err|23503|app_connection_bindings_deployment_fk|insert or update"), "{b_out}");

    assert_eq!(pg.psql(CROSS_TENANT_ROWS).trim(), "0");
    assert_eq!(pg.psql("SELECT tenant_id FROM deployments ORDER BY id;"), "t_a\nt_b\n");
}

/// A throwaway PostgreSQL cluster, removed on drop (also when a test
/// panics).
mod pg {
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
            self.psql(&format!("BEGIN;\n{}\nCOMMIT;\n{VI_TRY}", vendo_isolation::POSTGRES_SCHEMA));
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
}
