//! The schema's layers against a real PostgreSQL, one hostile write at a
//! time: the trigger's own SQLSTATEs and messages, the composite keys on
//! their own, racing sessions, search_path shadowing, id syntax.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "tenancy_pg_cluster.rs"]
mod pg;

use std::fmt::Write as _;

use pg::{CROSS_TENANT_ROWS, Cluster, Rng, lit, seed_two_tenants, try_sql};
use vendo_isolation::TenantId;
use vendo_isolation::tenancy::Provider;

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
        let len = (rng.next_u64() % 70) as usize;
        inputs.push((0..len).map(|_| alphabet[(rng.next_u64() % alphabet.len() as u64) as usize]).collect());
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
