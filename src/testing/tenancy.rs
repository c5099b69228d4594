//! Strategies for the tenancy boundary: providers, deployment and
//! connection records, manifests.

use proptest::prelude::*;

use crate::tenancy::{ComputeProvider, Connection, Deployment, Manifest, Provider, ResourceKind};
use crate::testing::{connection_id, deployment_id, tenant_id};
use crate::{DeploymentId, TenantId};

/// Any valid [`Provider`].
pub fn provider() -> impl Strategy<Value = Provider> {
    "[a-z0-9_-]{1,64}".prop_filter_map("invalid provider", |s| Provider::try_from(s).ok())
}

/// A provider from a small set, so that equal providers are common.
pub fn common_provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(&["openai", "notion", "telegram"][..])
        .prop_filter_map("invalid provider", |s| Provider::try_from(s).ok())
}

/// A tenant from a small set that includes two ids differing only by
/// case, so that same-tenant and case-confused pairs are common.
pub fn common_tenant() -> impl Strategy<Value = TenantId> {
    prop_oneof![
        3 => prop::sample::select(&["acme", "Acme", "t_b"][..])
            .prop_filter_map("invalid tenant", |s| TenantId::try_from(s).ok()),
        1 => tenant_id(),
    ]
}

/// A deployment record of any tenant.
pub fn deployment() -> impl Strategy<Value = Deployment> {
    (deployment_id(), common_tenant()).prop_map(|(id, t)| Deployment::new(id, t))
}

/// A connection record of any tenant.
pub fn connection() -> impl Strategy<Value = Connection> {
    (connection_id(), common_tenant(), common_provider()).prop_map(|(id, t, p)| Connection::new(id, t, p))
}

/// A deployment and a connection of the same tenant.
pub fn same_tenant_pair() -> impl Strategy<Value = (Deployment, Connection)> {
    (tenant_id(), deployment_id(), connection_id(), common_provider())
        .prop_map(|(t, d, c, p)| (Deployment::new(d, t.clone()), Connection::new(c, t, p)))
}

/// Any [`ComputeProvider`].
pub fn compute_provider() -> impl Strategy<Value = ComputeProvider> {
    prop::sample::select(
        &[ComputeProvider::Railway, ComputeProvider::CloudflareWorkers, ComputeProvider::CloudflarePages][..],
    )
}

/// A manifest: any provider, any subset of resources (so edge manifests
/// that request state, which planning refuses, are included).
pub fn manifest() -> impl Strategy<Value = Manifest> {
    let kinds =
        prop::sample::subsequence(&[ResourceKind::Database, ResourceKind::Redis, ResourceKind::Bucket][..], 0..=3);
    (compute_provider(), kinds).prop_map(|(c, k)| Manifest::new(c, k))
}

/// A manifest that planning accepts.
pub fn plannable_manifest() -> impl Strategy<Value = Manifest> {
    manifest().prop_map(|m| {
        if m.compute_provider().allows_writable_state() { m } else { Manifest::new(m.compute_provider(), []) }
    })
}

/// A deployment whose id is short enough to plan
/// ([`crate::tenancy::MAX_PLANNABLE_DEPLOYMENT_ID_LEN`]).
pub fn plannable_deployment() -> impl Strategy<Value = Deployment> {
    ("[A-Za-z0-9_-]{1,45}", common_tenant())
        .prop_filter_map("invalid id", |(id, t)| Some(Deployment::new(DeploymentId::try_from(id).ok()?, t)))
}
