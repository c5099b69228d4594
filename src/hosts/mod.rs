//! Hostnames: parsing a `Host` value into a route key, building hostnames
//! from slugs, and checking a looked-up route entry (SPEC §2).
//!
//! Two forms route to a deployment:
//!
//! | form | hostname | route key |
//! |---|---|---|
//! | single-level (current) | `{tenant_slug}-{deployment_slug}.{apex}` | the label, `acme-crm` |
//! | legacy | `{deployment_slug}.{tenant_slug}.{apex}` | both labels, `crm.acme` |
//!
//! A single-level label cannot be split into tenant and deployment by itself
//! (`a-b` + `c` and `a` + `b-c` both give `a-b-c`), so the route key is the
//! whole label and [`RouteKey::check_entry`] proves the entry found under it
//! rebuilds exactly that label.
//!
//! The module owns every hostname decision of the platform:
//!
//! - [`HostPolicy::parse`] parses a `Host` value into the [`RouteKey`]
//!   to look up, and [`RouteKey::check_entry`] proves the entry found under
//!   it is the one the hostname names;
//! - [`request_authority`] picks the one authority of a request (SPEC §3.1),
//!   the string that is both routed and attested;
//! - [`HostPolicy::assign`] and [`HostPolicy::rename`] decide who may hold
//!   a label and return the [`RouteOp`]s a store applies in one transaction;
//! - [`Upstream`] is the origin a route forwards to;
//! - [`POSTGRES_ROUTES_SCHEMA`] is the routing table in PostgreSQL, and
//!   [`postgres_route_change`] hands it a decision to apply.
//!
//! The in-memory routing table that applies those decisions is a reference
//! model: [`crate::model::RoutingTable`].

pub(crate) mod assign;
pub(crate) mod authority;
mod policy;
mod postgres;
pub(crate) mod routing;

pub use assign::{AssignError, LabelHolder, LegacyUse, RouteChange, RouteOp};
pub use authority::{AuthorityError, authority_of, request_authority};
pub use policy::{
    DEFAULT_APEX, DEFAULT_RESERVED, HostError, HostForm, HostFormatError, HostPolicy, HostPolicyError, MAX_LABEL_LEN,
    MAX_NAME_LEN, RouteEntry, RouteKey, RouteMismatch,
};
pub use postgres::{POSTGRES_ROUTES_SCHEMA, SQLSTATE_LABEL_MOVED, postgres_route_change, postgres_route_refusal};
pub use routing::{InvalidUpstream, Upstream};
