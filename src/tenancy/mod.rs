//! Tenant invariants: deployments, connections and the bindings between
//! them, the proxy's hot-path checks, and an in-memory model of the
//! database that refuses cross-tenant rows.
//!
//! Seed: "Cross-tenant bindings cannot exist — not because the API blocks
//! them, but because the database refuses them." The crate keeps that
//! promise three times over:
//!
//! 1. in Rust, [`Binding::new`] takes the two records and refuses them when
//!    their tenants differ, and a [`Binding`] stores one tenant;
//! 2. in PostgreSQL, [`crate::tenancy::POSTGRES_SCHEMA`] refuses the row with a
//!    trigger and, beneath it, composite foreign keys;
//! 3. on the request path, [`check_connection_use`] re-checks what the
//!    lookups returned, and [`TenantLookup`] can only look up by tenant.

mod access;
pub(crate) mod model;
mod records;
mod resources;
mod schema;

pub use access::{
    ConnectionDenied, GrantedConnection, KeyScope, ResolveConnectionError, TenantLookup, check_connection_use,
    resolve_connection,
};
pub use records::{Binding, Connection, CrossTenantBinding, Deployment, Provider};
pub use resources::{
    ComputeProvider, MAX_PLANNABLE_DEPLOYMENT_ID_LEN, Manifest, PlanConflict, PlanError, PlannedResource,
    REDIS_SERVICE_NAME, RESOURCE_NAME_PREFIX, ResourceKind, ResourcePlan, ResourceSystem, check_disjoint,
    deployment_id_from_resource_name, resource_name,
};
pub use schema::{
    POSTGRES_SCHEMA, SCHEMA_MESSAGE_PREFIX, SQLSTATE_BOUND_ROW, SQLSTATE_CROSS_TENANT_BINDING, postgres_refusal_code,
};
