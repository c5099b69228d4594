//! The proxy's hot-path checks before it uses a connection's credentials.
//!
//! Seed: the proxy "re-verifies that the resolved connection's tenant_id
//! matches the key's tenant_id, and that the connection's provider matches
//! the proxy adapter that's serving the request". Both checks pass when the
//! database did its job; they sit on the request path so that a bug
//! elsewhere (a stale cache, a lookup that forgot its tenant filter, a
//! row written while the trigger was disabled) cannot quietly route one
//! tenant's call through another tenant's credentials.

use crate::ids::{BindingId, ConnectionId, DeploymentId, TenantId};
use crate::tenancy::records::{Binding, Connection, Provider};

/// What the proxy resolved the caller's API key to.
///
/// The tenant always; the deployment when the key belongs to one
/// deployment, in which case only that deployment's bindings may be used.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyScope {
    tenant_id: TenantId,
    deployment_id: Option<DeploymentId>,
}

impl KeyScope {
    /// A key that may use any binding of `tenant_id`.
    pub const fn tenant(tenant_id: TenantId) -> Self {
        Self { tenant_id, deployment_id: None }
    }

    /// A key that may use only the bindings of one deployment.
    pub const fn deployment(tenant_id: TenantId, deployment_id: DeploymentId) -> Self {
        Self { tenant_id, deployment_id: Some(deployment_id) }
    }

    /// The tenant the key resolved to.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The deployment the key is limited to, if any.
    pub const fn deployment_id(&self) -> Option<&DeploymentId> {
        self.deployment_id.as_ref()
    }
}

/// Why the proxy refused to use a connection. Checked, and reported, in the
/// order of the variants.
///
/// The messages name no ids: the caller may be the attacker, and "which
/// tenant owns that binding" is exactly what it must not learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionDenied {
    /// The binding belongs to another tenant than the key.
    #[error("binding belongs to another tenant")]
    BindingTenant,
    /// The key is limited to one deployment and the binding is another's.
    #[error("binding belongs to another deployment")]
    BindingDeployment,
    /// The connection is not the one the binding names.
    #[error("connection is not the one the binding names")]
    BindingConnection,
    /// The connection belongs to another tenant than the key.
    #[error("connection belongs to another tenant")]
    ConnectionTenant,
    /// The connection is for another provider than the adapter serving the
    /// request.
    #[error("connection is for another provider than the adapter")]
    Provider,
}

impl ConnectionDenied {
    /// Stable machine-readable code for this denial.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::BindingTenant => "binding_tenant_mismatch",
            Self::BindingDeployment => "binding_deployment_mismatch",
            Self::BindingConnection => "binding_connection_mismatch",
            Self::ConnectionTenant => "connection_tenant_mismatch",
            Self::Provider => "provider_mismatch",
        }
    }
}

/// A connection the proxy may use for this request: proof that
/// [`check_connection_use`] passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantedConnection<'a> {
    connection: &'a Connection,
}

impl<'a> GrantedConnection<'a> {
    /// The connection whose credentials may be used.
    pub const fn connection(&self) -> &'a Connection {
        self.connection
    }

    /// The tenant to reserve and debit credits against: the key's, which
    /// is also the connection's.
    pub const fn tenant_id(&self) -> &'a TenantId {
        self.connection.tenant_id()
    }
}

/// Decides whether the proxy may use `connection`, reached through
/// `binding`, for a request whose API key resolved to `key` and which the
/// adapter for `adapter` serves.
///
/// Pure: the caller passes what it looked up. Checks, in order: the
/// binding's tenant is the key's; the binding's deployment is the key's
/// (when the key is limited to one); the connection is the one the binding
/// names; the connection's tenant is the key's; the connection's provider
/// is the adapter's.
///
/// ```
/// use vendo_isolation::tenancy::{check_connection_use, Binding, Connection, ConnectionDenied, Deployment, KeyScope};
/// let acme: vendo_isolation::TenantId = "t_acme".parse()?;
/// let crm = Deployment::new("d_crm".parse()?, acme.clone());
/// let conn = Connection::new("c_1".parse()?, acme.clone(), "openai".parse()?);
/// let binding = Binding::new("b_1".parse()?, &crm, &conn).expect("same tenant");
/// let key = KeyScope::deployment(acme, "d_crm".parse()?);
///
/// let granted = check_connection_use(&key, &binding, &conn, &"openai".parse()?).expect("allowed");
/// assert_eq!(granted.tenant_id(), "t_acme");
///
/// let denied = check_connection_use(&key, &binding, &conn, &"notion".parse()?);
/// assert_eq!(denied, Err(ConnectionDenied::Provider));
/// # Ok::<(), vendo_isolation::ids::IdError>(())
/// ```
pub fn check_connection_use<'a>(
    key: &KeyScope,
    binding: &Binding,
    connection: &'a Connection,
    adapter: &Provider,
) -> Result<GrantedConnection<'a>, ConnectionDenied> {
    if binding.tenant_id() != key.tenant_id() {
        return Err(ConnectionDenied::BindingTenant);
    }
    if key.deployment_id().is_some_and(|d| d != binding.deployment_id()) {
        return Err(ConnectionDenied::BindingDeployment);
    }
    if binding.connection_id() != connection.id() {
        return Err(ConnectionDenied::BindingConnection);
    }
    // The seed's first hot-path check. Redundant with the two above only
    // while the stored binding tells the truth about its connection.
    if connection.tenant_id() != key.tenant_id() {
        return Err(ConnectionDenied::ConnectionTenant);
    }
    if connection.provider() != adapter {
        return Err(ConnectionDenied::Provider);
    }
    Ok(GrantedConnection { connection })
}

/// Where the proxy looks up bindings and connections.
///
/// Every lookup is keyed on the tenant the proxy already resolved from the
/// API key, first: implement them as `WHERE tenant_id = $1 AND id = $2`.
/// There is deliberately no way to fetch a connection by id alone, so a
/// forged binding or connection id of another tenant finds nothing (seed:
/// "the database lookup is keyed on the tenant the proxy already
/// resolved").
pub trait TenantLookup {
    /// The lookup's own failure (database unreachable, …).
    type Error;

    /// The binding `binding_id` of `tenant_id`, if that tenant has one.
    fn binding(&self, tenant_id: &TenantId, binding_id: &BindingId) -> Result<Option<Binding>, Self::Error>;

    /// The connection `connection_id` of `tenant_id`, if that tenant has
    /// one.
    fn connection(&self, tenant_id: &TenantId, connection_id: &ConnectionId)
    -> Result<Option<Connection>, Self::Error>;
}

/// Why [`resolve_connection`] found no usable connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveConnectionError<E> {
    /// The lookup itself failed.
    #[error("connection lookup failed")]
    Lookup(E),
    /// The key's tenant has no binding with that id: it does not exist or
    /// belongs to another tenant, and the two look the same on purpose.
    #[error("unknown binding")]
    UnknownBinding,
    /// The key's tenant has no connection with the id the binding names.
    #[error("unknown connection")]
    UnknownConnection,
    /// The records were found but a hot-path check refused them.
    #[error(transparent)]
    Denied(ConnectionDenied),
}

impl<E> ResolveConnectionError<E> {
    /// Stable machine-readable code for this error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Lookup(_) => "lookup_failed",
            Self::UnknownBinding => "unknown_binding",
            Self::UnknownConnection => "unknown_connection",
            Self::Denied(d) => d.code(),
        }
    }
}

/// Looks up the binding the request names and its connection, both keyed
/// on the key's tenant, then runs [`check_connection_use`] on what came
/// back: the lookup is trusted to filter by tenant, and checked anyway.
pub fn resolve_connection<L: TenantLookup + ?Sized>(
    lookup: &L,
    key: &KeyScope,
    binding_id: &BindingId,
    adapter: &Provider,
) -> Result<Connection, ResolveConnectionError<L::Error>> {
    let tenant = key.tenant_id();
    let binding = lookup.binding(tenant, binding_id).map_err(ResolveConnectionError::Lookup)?;
    let binding = binding.ok_or(ResolveConnectionError::UnknownBinding)?;
    if binding.id() != binding_id {
        return Err(ResolveConnectionError::UnknownBinding);
    }
    let connection = lookup.connection(tenant, binding.connection_id()).map_err(ResolveConnectionError::Lookup)?;
    let connection = connection.ok_or(ResolveConnectionError::UnknownConnection)?;
    check_connection_use(key, &binding, &connection, adapter).map_err(ResolveConnectionError::Denied)?;
    Ok(connection)
}
