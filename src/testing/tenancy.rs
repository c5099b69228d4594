//! Strategies for the tenancy boundary: providers, deployment and
//! connection records, manifests.

use proptest::prelude::*;

use crate::testing::{connection_id, deployment_id, tenant_id};
use crate::{Connection, Deployment, Provider, TenantId};

/// Any valid [`Provider`].
pub fn provider() -> impl Strategy<Value = Provider> {
    "[a-z0-9_-]{1,64}"
        .prop_map(|s| Provider::try_from(s).unwrap_or_else(|e| unreachable!("strategy built an invalid provider: {e}")))
}

/// A provider from a small set, so that equal providers are common.
pub fn common_provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(&["openai", "notion", "telegram"][..])
        .prop_map(|s| Provider::try_from(s).unwrap_or_else(|e| unreachable!("{e}")))
}

/// A tenant from a small set that includes two ids differing only by
/// case, so that same-tenant and case-confused pairs are common.
pub fn common_tenant() -> impl Strategy<Value = TenantId> {
    prop_oneof![
        3 => prop::sample::select(&["acme", "Acme", "t_b"][..])
            .prop_map(|s| TenantId::try_from(s).unwrap_or_else(|e| unreachable!("{e}"))),
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
