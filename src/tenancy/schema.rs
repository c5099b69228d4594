//! The PostgreSQL DDL that makes the database refuse cross-tenant
//! bindings, and the mapping from its errors to the crate's codes.
//!
//! [`POSTGRES_SCHEMA`] creates `tenants(id)`, `deployments(id, tenant_id)`,
//! `connections(id, tenant_id, provider)` and
//! `app_connection_bindings(id, deployment_id, connection_id, tenant_id)`
//! with two layers: composite foreign keys on `(tenant_id, id)`, which no
//! cross-tenant row can satisfy, and BEFORE triggers that fill the
//! binding's tenant and refuse cross-tenant writes first, with a clear
//! message and their own SQLSTATE. `tests/postgres.rs` runs thousands of
//! random writes against a real PostgreSQL and against
//! [`crate::model::TenancyModel`] and requires the two to agree on every one.

/// The DDL, `sql/schema.sql`. Load it once, in one transaction, as a role
/// that will not be the application's.
///
/// ```
/// use vendo_isolation::tenancy::{POSTGRES_SCHEMA, SQLSTATE_CROSS_TENANT_BINDING};
/// assert!(POSTGRES_SCHEMA.contains("CREATE TABLE app_connection_bindings"));
/// assert!(POSTGRES_SCHEMA.contains(SQLSTATE_CROSS_TENANT_BINDING));
/// ```
pub const POSTGRES_SCHEMA: &str = include_str!("../../sql/schema.sql");

/// SQLSTATE of the trigger's refusal of a binding whose deployment and
/// connection belong to different tenants. Class `VI` is in the range the
/// SQL standard leaves to implementations, so no PostgreSQL error uses it.
pub const SQLSTATE_CROSS_TENANT_BINDING: &str = "VI001";

/// SQLSTATE of the trigger's refusal to change the tenant or id of a
/// deployment or connection that a binding names.
pub const SQLSTATE_BOUND_ROW: &str = "VI002";

/// Every message the schema's triggers raise starts with this.
pub const SCHEMA_MESSAGE_PREFIX: &str = "vendo_isolation: ";

/// Maps an error PostgreSQL raised for a write against [`POSTGRES_SCHEMA`]
/// to the code [`crate::model::WriteRefused::code`] gives for the same write, or
/// `None` for an error the schema does not define (a syntax error, a
/// serialization failure, a CHECK on id syntax, …).
///
/// `constraint` is the error's constraint name (libpq's
/// `PG_DIAG_CONSTRAINT_NAME`) and `message` its primary message; the
/// message tells the two directions of a foreign key apart.
///
/// ```
/// use vendo_isolation::tenancy::postgres_refusal_code;
/// assert_eq!(postgres_refusal_code("VI001", None, "vendo_isolation: cross-tenant binding: …"),
///            Some("cross_tenant_binding"));
/// assert_eq!(postgres_refusal_code("23503", Some("deployments_tenant_fk"),
///            "insert or update on table \"deployments\" violates foreign key constraint \"deployments_tenant_fk\""),
///            Some("unknown_tenant"));
/// ```
pub fn postgres_refusal_code(sqlstate: &str, constraint: Option<&str>, message: &str) -> Option<&'static str> {
    match sqlstate {
        SQLSTATE_CROSS_TENANT_BINDING => Some("cross_tenant_binding"),
        SQLSTATE_BOUND_ROW => Some("bound_record"),
        // unique_violation: every unique key of the schema contains `id`.
        "23505" => Some("duplicate_id"),
        // foreign_key_violation. The referenced side reports "update or
        // delete on table …": the row is still referenced.
        "23503" if message.starts_with("update or delete on table") => Some("still_referenced"),
        "23503" => match constraint? {
            "deployments_tenant_fk" | "connections_tenant_fk" => Some("unknown_tenant"),
            "app_connection_bindings_deployment_fk" => Some("unknown_deployment"),
            "app_connection_bindings_connection_fk" => Some("unknown_connection"),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_has_both_layers() {
        for needle in [
            "CREATE TABLE tenants",
            "CREATE TABLE deployments",
            "CREATE TABLE connections",
            "CREATE TABLE app_connection_bindings",
            "FOREIGN KEY (tenant_id, deployment_id)",
            "FOREIGN KEY (tenant_id, connection_id)",
            "BEFORE INSERT OR UPDATE ON app_connection_bindings",
            "BEFORE UPDATE ON deployments",
            "BEFORE UPDATE ON connections",
        ] {
            assert!(POSTGRES_SCHEMA.contains(needle), "{needle}");
        }
        // Never CASCADE: see the comment on the bindings' foreign keys.
        assert!(!POSTGRES_SCHEMA.to_ascii_uppercase().contains("CASCADE,"));
        assert!(!POSTGRES_SCHEMA.contains("ON DELETE CASCADE"));
        assert!(!POSTGRES_SCHEMA.contains("ON UPDATE CASCADE"));
    }

    #[test]
    fn refusal_codes() {
        let fk = |c| postgres_refusal_code("23503", Some(c), "insert or update on table \"x\" violates");
        assert_eq!(fk("connections_tenant_fk"), Some("unknown_tenant"));
        assert_eq!(fk("app_connection_bindings_connection_fk"), Some("unknown_connection"));
        assert_eq!(fk("someone_elses_fk"), None);
        assert_eq!(postgres_refusal_code("23503", None, "insert or update"), None);
        assert_eq!(
            postgres_refusal_code("23503", Some("deployments_tenant_fk"), "update or delete on table \"tenants\""),
            Some("still_referenced")
        );
        assert_eq!(postgres_refusal_code("VI002", None, ""), Some("bound_record"));
        assert_eq!(postgres_refusal_code("23514", Some("tenants_id_syntax"), ""), None);
    }
}
