//! Reference models: in-memory stores for test harnesses and demos.
//!
//! Nothing here is on a production path. Each model applies the same pure
//! decisions a production store applies (the crate's [`HostPolicy`]
//! assignments, [`TenantBalance`] reservations, [`Binding`] checks) and
//! adds what a store adds around them, in memory: lookups, idempotency by
//! id, tombstones, expiry sweeps. They are the references the crate's
//! differential tests hold PostgreSQL to, and a ready store for a harness
//! that exercises a proxy without a database.
//!
//! | model | stands for | production store |
//! |---|---|---|
//! | [`RoutingTable`] | the routing table (SPEC §2) | a KV namespace or a table, written in one transaction |
//! | [`Ledger`] | the credit store (SPEC §9) | PostgreSQL |
//! | [`TenancyModel`] | the four tables of [`POSTGRES_SCHEMA`] | PostgreSQL with that DDL |
//!
//! [`HostPolicy`]: crate::HostPolicy
//! [`TenantBalance`]: crate::credits::TenantBalance
//! [`Binding`]: crate::tenancy::Binding
//! [`POSTGRES_SCHEMA`]: crate::tenancy::POSTGRES_SCHEMA

pub use crate::credits::ledger::{
    Ledger, LedgerInvariantError, ReservationStatus, Reserved, ResolveError, TopUp, TopUpError,
};
pub use crate::hosts::routing::{Route, RoutingError, RoutingTable};
pub use crate::tenancy::model::{TenancyModel, WriteRefused};
