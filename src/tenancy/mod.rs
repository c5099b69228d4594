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
//! 2. in PostgreSQL, [`crate::POSTGRES_SCHEMA`] refuses the row with a
//!    trigger and, beneath it, composite foreign keys;
//! 3. on the request path, [`check_connection_use`] re-checks what the
//!    lookups returned, and [`TenantLookup`] can only look up by tenant.

mod access;
mod model;
mod records;

pub use access::{
    ConnectionDenied, GrantedConnection, KeyScope, ResolveConnectionError, TenantLookup, check_connection_use,
    resolve_connection,
};
pub use model::{TenancyModel, WriteRefused};
pub use records::{Binding, Connection, CrossTenantBinding, Deployment, Provider};
