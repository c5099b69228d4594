//! The routing table in PostgreSQL (`sql/routes.sql`): the DDL, and the
//! argument that hands a [`RouteChange`] to its `vendo_routes_apply`.

use core::fmt::Write as _;

use super::assign::{AssignError, RouteChange, RouteOp};
use super::routing::Upstream;

/// The route table, its label holders and the two functions a proxy calls
/// (`sql/routes.sql`), for PostgreSQL 11 or later. Loads after, or
/// without, the binding DDL
/// ([`POSTGRES_SCHEMA`](crate::tenancy::POSTGRES_SCHEMA)).
///
/// - `vendo_routes_lookup(route_key text)`: the live route under a key,
///   or no row. A lookup that starts after a rename commits never sees
///   the old key: PostgreSQL reads its own commits, so "the old hostname
///   404s immediately" holds for this table (SPEC §2). A cache in front
///   adds its TTL to that bound.
/// - `vendo_routes_apply(change jsonb)`: a decision of
///   [`HostPolicy::assign`](crate::HostPolicy::assign) or
///   [`HostPolicy::rename`](crate::HostPolicy::rename), as
///   [`postgres_route_change`] renders it, applied all or nothing in one
///   transaction and re-checked against the table as it is then. It
///   answers `applied` or a refusal ([`postgres_route_refusal`]).
///
/// The tombstone rule is a constraint: every key a tenant ever held keeps
/// a row in `vendo_route_labels` naming that tenant, and a live route
/// references `(route_key, tenant_id)` there, so a label freed by one
/// tenant cannot be written for another whoever writes it. Two changes
/// racing for one free key serialize: exactly one is `applied`.
pub const POSTGRES_ROUTES_SCHEMA: &str = include_str!("../../sql/routes.sql");

/// The SQLSTATE of the trigger that refuses moving a held label to
/// another tenant.
pub const SQLSTATE_LABEL_MOVED: &str = "VI003";

/// Renders `change` as the `jsonb` argument of `vendo_routes_apply`, its
/// writes routed to `upstream`.
///
/// ```
/// use vendo_isolation::{HostPolicy, RouteEntry};
/// use vendo_isolation::hosts::{LabelHolder, LegacyUse, Upstream, postgres_route_change};
/// let policy = HostPolicy::default();
/// let entry = RouteEntry {
///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
/// };
/// let key = policy.single_level_key(&entry.tenant_slug, &entry.deployment_slug)?;
/// let change = policy.assign(&entry, &key, &LabelHolder::Free, LegacyUse::None)?;
/// let upstream: Upstream = "http://127.0.0.1:9001".parse()?;
/// assert_eq!(
///     postgres_route_change(&change, &upstream),
///     r#"[{"op":"write","key":"acme-crm","tenant_id":"t_1","deployment_id":"d_1","tenant_slug":"acme","deployment_slug":"crm","upstream":"http://127.0.0.1:9001/"}]"#,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn postgres_route_change(change: &RouteChange, upstream: &Upstream) -> String {
    let mut out = String::from("[");
    for (i, op) in change.ops().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match op {
            RouteOp::Remove(key) => {
                out.push_str(r#"{"op":"remove","key":"#);
                json_string(&mut out, key.as_str());
            }
            RouteOp::Tombstone(key, tenant) => {
                out.push_str(r#"{"op":"tombstone","key":"#);
                json_string(&mut out, key.as_str());
                out.push_str(r#","tenant_id":"#);
                json_string(&mut out, tenant.as_str());
            }
            RouteOp::Write(key, entry) => {
                out.push_str(r#"{"op":"write","key":"#);
                json_string(&mut out, key.as_str());
                for (name, value) in [
                    ("tenant_id", entry.tenant_id.as_str()),
                    ("deployment_id", entry.deployment_id.as_str()),
                    ("tenant_slug", entry.tenant_slug.as_str()),
                    ("deployment_slug", entry.deployment_slug.as_str()),
                ] {
                    out.push_str(",\"");
                    out.push_str(name);
                    out.push_str("\":");
                    json_string(&mut out, value);
                }
                out.push_str(r#","upstream":"#);
                json_string(&mut out, &upstream.to_string());
            }
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// A JSON string literal. Ids, slugs and origins never hold a character
/// that needs escaping; it is escaped anyway.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What a `vendo_routes_apply` answer means: `Ok(())` for `applied`, the
/// assignment refusal it stands for (`taken`, `tombstoned`,
/// `shadows_legacy`, `route_mismatch`), or `Err(None)` for `stale_change`
/// and `bad_request` (decide again on a fresh read, or fix the caller).
pub fn postgres_route_refusal(answer: &str) -> Result<(), Option<AssignError>> {
    match answer {
        "applied" => Ok(()),
        "taken" => Err(Some(AssignError::Taken)),
        "tombstoned" => Err(Some(AssignError::Tombstoned)),
        "shadows_legacy" => Err(Some(AssignError::ShadowsLegacy)),
        "route_mismatch" => Err(Some(AssignError::RouteMismatch)),
        _ => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_requires() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\u{1}\u{1f} ~");
        assert_eq!(out, r#""a\"b\\c\u0001\u001f ~""#);
    }

    #[test]
    fn each_refusal_names_its_assignment_error() {
        let rows = [
            ("applied", Ok(())),
            ("taken", Err(Some(AssignError::Taken))),
            ("tombstoned", Err(Some(AssignError::Tombstoned))),
            ("shadows_legacy", Err(Some(AssignError::ShadowsLegacy))),
            ("route_mismatch", Err(Some(AssignError::RouteMismatch))),
            ("stale_change", Err(None)),
            ("bad_request", Err(None)),
            ("Applied", Err(None)),
        ];
        for (answer, want) in rows {
            assert_eq!(postgres_route_refusal(answer), want, "{answer}");
        }
    }
}
