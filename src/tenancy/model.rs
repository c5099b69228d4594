//! An in-memory model of the four tables of [`crate::tenancy::POSTGRES_SCHEMA`],
//! refusing exactly the writes PostgreSQL refuses, with the same codes.
//!
//! It is the reference the PostgreSQL differential test (`tests/postgres.rs`)
//! compares the DDL against, and a [`TenantLookup`] for harnesses and demos.
//! Each method names the SQL statement it models; where PostgreSQL checks
//! several things, the model checks them in the order PostgreSQL does:
//! BEFORE row triggers, then unique indexes, then foreign keys.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{BindingId, ConnectionId, DeploymentId, TenantId};
use crate::tenancy::access::TenantLookup;
use crate::tenancy::records::{Binding, Connection, CrossTenantBinding, Deployment};

/// A write the schema refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteRefused {
    /// The primary key is taken (SQLSTATE `23505`).
    #[error("id already exists")]
    DuplicateId,
    /// The tenant does not exist (SQLSTATE `23503`).
    #[error("unknown tenant")]
    UnknownTenant,
    /// The binding names a deployment that does not exist (`23503`).
    #[error("unknown deployment")]
    UnknownDeployment,
    /// The binding names a connection that does not exist (`23503`).
    #[error("unknown connection")]
    UnknownConnection,
    /// The deployment and the connection belong to different tenants
    /// (SQLSTATE `VI001`).
    #[error(transparent)]
    CrossTenant(CrossTenantBinding),
    /// A bound deployment or connection cannot change tenant: its bindings
    /// would become cross-tenant (SQLSTATE `VI002`).
    #[error("a bound record cannot change tenant")]
    Bound,
    /// The row is still referenced and cannot be deleted (`23503`).
    #[error("still referenced")]
    StillReferenced,
    /// No row has that id (an `UPDATE 0` or `DELETE 0`).
    #[error("no such row")]
    NotFound,
}

impl WriteRefused {
    /// Stable machine-readable code, the same one
    /// [`crate::tenancy::postgres_refusal_code`] gives for PostgreSQL's error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::DuplicateId => "duplicate_id",
            Self::UnknownTenant => "unknown_tenant",
            Self::UnknownDeployment => "unknown_deployment",
            Self::UnknownConnection => "unknown_connection",
            Self::CrossTenant(e) => e.code(),
            Self::Bound => "bound_record",
            Self::StillReferenced => "still_referenced",
            Self::NotFound => "not_found",
        }
    }
}

/// The four tables, in memory. Every method keeps the invariant that each
/// binding's deployment and connection exist and belong to the binding's
/// tenant ([`TenancyModel::check_invariants`]).
///
/// ```
/// use vendo_isolation::model::TenancyModel;
/// use vendo_isolation::tenancy::{Connection, Deployment};
/// let mut db = TenancyModel::new();
/// db.insert_tenant("t_a".parse()?).unwrap();
/// db.insert_tenant("t_b".parse()?).unwrap();
/// db.insert_deployment(Deployment::new("d_1".parse()?, "t_a".parse()?)).unwrap();
/// db.insert_connection(Connection::new("c_1".parse()?, "t_b".parse()?, "openai".parse()?)).unwrap();
/// let err = db.insert_binding("b_1".parse()?, &"d_1".parse()?, &"c_1".parse()?).unwrap_err();
/// assert_eq!(err.code(), "cross_tenant_binding");
/// # Ok::<(), vendo_isolation::ids::IdError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenancyModel {
    tenants: BTreeSet<TenantId>,
    deployments: BTreeMap<DeploymentId, Deployment>,
    connections: BTreeMap<ConnectionId, Connection>,
    bindings: BTreeMap<BindingId, Binding>,
}

impl TenancyModel {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// `INSERT INTO tenants (id) VALUES ($1)`.
    pub fn insert_tenant(&mut self, id: TenantId) -> Result<(), WriteRefused> {
        if !self.tenants.insert(id) {
            return Err(WriteRefused::DuplicateId);
        }
        Ok(())
    }

    /// `INSERT INTO deployments (id, tenant_id) VALUES ($1, $2)`.
    pub fn insert_deployment(&mut self, d: Deployment) -> Result<(), WriteRefused> {
        if self.deployments.contains_key(d.id()) {
            return Err(WriteRefused::DuplicateId);
        }
        if !self.tenants.contains(d.tenant_id()) {
            return Err(WriteRefused::UnknownTenant);
        }
        self.deployments.insert(d.id().clone(), d);
        Ok(())
    }

    /// `INSERT INTO connections (id, tenant_id, provider) VALUES ($1, $2, $3)`.
    pub fn insert_connection(&mut self, c: Connection) -> Result<(), WriteRefused> {
        if self.connections.contains_key(c.id()) {
            return Err(WriteRefused::DuplicateId);
        }
        if !self.tenants.contains(c.tenant_id()) {
            return Err(WriteRefused::UnknownTenant);
        }
        self.connections.insert(c.id().clone(), c);
        Ok(())
    }

    /// Builds the binding the trigger would let through.
    fn bindable(&self, id: BindingId, d: &DeploymentId, c: &ConnectionId) -> Result<Binding, WriteRefused> {
        let d = self.deployments.get(d).ok_or(WriteRefused::UnknownDeployment)?;
        let c = self.connections.get(c).ok_or(WriteRefused::UnknownConnection)?;
        Binding::new(id, d, c).map_err(WriteRefused::CrossTenant)
    }

    /// `INSERT INTO app_connection_bindings (id, deployment_id, connection_id)
    /// VALUES ($1, $2, $3)`; the tenant is filled from the deployment.
    pub fn insert_binding(
        &mut self,
        id: BindingId,
        deployment_id: &DeploymentId,
        connection_id: &ConnectionId,
    ) -> Result<Binding, WriteRefused> {
        // The trigger runs before the primary key is checked.
        let b = self.bindable(id, deployment_id, connection_id)?;
        if self.bindings.contains_key(b.id()) {
            return Err(WriteRefused::DuplicateId);
        }
        self.bindings.insert(b.id().clone(), b.clone());
        Ok(b)
    }

    /// `UPDATE app_connection_bindings SET deployment_id = $2,
    /// connection_id = $3 WHERE id = $1`.
    pub fn update_binding(
        &mut self,
        id: &BindingId,
        deployment_id: &DeploymentId,
        connection_id: &ConnectionId,
    ) -> Result<Binding, WriteRefused> {
        if !self.bindings.contains_key(id) {
            return Err(WriteRefused::NotFound);
        }
        let b = self.bindable(id.clone(), deployment_id, connection_id)?;
        self.bindings.insert(id.clone(), b.clone());
        Ok(b)
    }

    /// `DELETE FROM app_connection_bindings WHERE id = $1`.
    pub fn delete_binding(&mut self, id: &BindingId) -> Result<(), WriteRefused> {
        self.bindings.remove(id).map(drop).ok_or(WriteRefused::NotFound)
    }

    /// `UPDATE deployments SET tenant_id = $2 WHERE id = $1`.
    pub fn move_deployment(&mut self, id: &DeploymentId, tenant_id: TenantId) -> Result<(), WriteRefused> {
        let d = self.deployments.get(id).ok_or(WriteRefused::NotFound)?;
        if d.tenant_id() == &tenant_id {
            return Ok(());
        }
        if self.bindings.values().any(|b| b.deployment_id() == id) {
            return Err(WriteRefused::Bound);
        }
        if !self.tenants.contains(&tenant_id) {
            return Err(WriteRefused::UnknownTenant);
        }
        self.deployments.insert(id.clone(), Deployment::new(id.clone(), tenant_id));
        Ok(())
    }

    /// `UPDATE connections SET tenant_id = $2 WHERE id = $1`.
    pub fn move_connection(&mut self, id: &ConnectionId, tenant_id: TenantId) -> Result<(), WriteRefused> {
        let c = self.connections.get(id).ok_or(WriteRefused::NotFound)?;
        if c.tenant_id() == &tenant_id {
            return Ok(());
        }
        if self.bindings.values().any(|b| b.connection_id() == id) {
            return Err(WriteRefused::Bound);
        }
        if !self.tenants.contains(&tenant_id) {
            return Err(WriteRefused::UnknownTenant);
        }
        let moved = Connection::new(id.clone(), tenant_id, c.provider().clone());
        self.connections.insert(id.clone(), moved);
        Ok(())
    }

    /// `DELETE FROM deployments WHERE id = $1`.
    pub fn delete_deployment(&mut self, id: &DeploymentId) -> Result<(), WriteRefused> {
        if !self.deployments.contains_key(id) {
            return Err(WriteRefused::NotFound);
        }
        if self.bindings.values().any(|b| b.deployment_id() == id) {
            return Err(WriteRefused::StillReferenced);
        }
        self.deployments.remove(id);
        Ok(())
    }

    /// `DELETE FROM connections WHERE id = $1`.
    pub fn delete_connection(&mut self, id: &ConnectionId) -> Result<(), WriteRefused> {
        if !self.connections.contains_key(id) {
            return Err(WriteRefused::NotFound);
        }
        if self.bindings.values().any(|b| b.connection_id() == id) {
            return Err(WriteRefused::StillReferenced);
        }
        self.connections.remove(id);
        Ok(())
    }

    /// `DELETE FROM tenants WHERE id = $1`.
    pub fn delete_tenant(&mut self, id: &TenantId) -> Result<(), WriteRefused> {
        if !self.tenants.contains(id) {
            return Err(WriteRefused::NotFound);
        }
        let owns = |t: &TenantId| t == id;
        if self.deployments.values().any(|d| owns(d.tenant_id()))
            || self.connections.values().any(|c| owns(c.tenant_id()))
        {
            return Err(WriteRefused::StillReferenced);
        }
        self.tenants.remove(id);
        Ok(())
    }

    /// The deployment `id`, whatever its tenant (an operator's view).
    pub fn deployment(&self, id: &DeploymentId) -> Option<&Deployment> {
        self.deployments.get(id)
    }

    /// Every tenant, in byte order.
    pub fn tenants(&self) -> impl Iterator<Item = &TenantId> {
        self.tenants.iter()
    }

    /// Every deployment, in id byte order.
    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.values()
    }

    /// Every connection, in id byte order.
    pub fn connections(&self) -> impl Iterator<Item = &Connection> {
        self.connections.values()
    }

    /// Every binding, in id byte order.
    pub fn bindings(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.values()
    }

    /// Checks that every row references existing rows and that every
    /// binding's deployment and connection belong to the binding's tenant.
    /// Returns the first binding that breaks it.
    pub fn check_invariants(&self) -> Result<(), &Binding> {
        let tenants_ok = self.deployments.values().all(|d| self.tenants.contains(d.tenant_id()))
            && self.connections.values().all(|c| self.tenants.contains(c.tenant_id()));
        for b in self.bindings.values() {
            let d = self.deployments.get(b.deployment_id()).map(Deployment::tenant_id);
            let c = self.connections.get(b.connection_id()).map(Connection::tenant_id);
            if !tenants_ok || d != Some(b.tenant_id()) || c != Some(b.tenant_id()) {
                return Err(b);
            }
        }
        Ok(())
    }
}

impl TenantLookup for TenancyModel {
    type Error = core::convert::Infallible;

    fn binding(&self, tenant_id: &TenantId, binding_id: &BindingId) -> Result<Option<Binding>, Self::Error> {
        Ok(self.bindings.get(binding_id).filter(|b| b.tenant_id() == tenant_id).cloned())
    }

    fn connection(
        &self,
        tenant_id: &TenantId,
        connection_id: &ConnectionId,
    ) -> Result<Option<Connection>, Self::Error> {
        Ok(self.connections.get(connection_id).filter(|c| c.tenant_id() == tenant_id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One way to break the model by hand.
    type Breakage<'a> = (&'static str, Box<dyn Fn(&mut TenancyModel) + 'a>);

    /// A model with one tenant-consistent binding, and the ids it uses.
    fn bound() -> (TenancyModel, DeploymentId, ConnectionId) {
        let mut m = TenancyModel::new();
        let (t1, t2): (TenantId, TenantId) = ("t_1".parse().unwrap(), "t_2".parse().unwrap());
        let (d, c): (DeploymentId, ConnectionId) = ("d_1".parse().unwrap(), "c_1".parse().unwrap());
        m.insert_tenant(t1.clone()).unwrap();
        m.insert_tenant(t2).unwrap();
        m.insert_deployment(Deployment::new(d.clone(), t1.clone())).unwrap();
        m.insert_connection(Connection::new(c.clone(), t1, "openai".parse().unwrap())).unwrap();
        m.insert_binding("b_1".parse().unwrap(), &d, &c).unwrap();
        (m, d, c)
    }

    /// A tenant that still owns rows cannot be deleted (its rows would be
    /// left to nobody, then to whoever reuses the id), and another
    /// tenant's rows never block deleting an empty one.
    #[test]
    fn deleting_a_tenant_looks_at_its_own_rows_only() {
        let (mut m, _, _) = bound();
        let (t1, t2): (TenantId, TenantId) = ("t_1".parse().unwrap(), "t_2".parse().unwrap());
        assert_eq!(m.delete_tenant(&t1), Err(WriteRefused::StillReferenced));
        assert_eq!(m.delete_tenant(&t2), Ok(()));
        let mut only = TenancyModel::new();
        only.insert_tenant(t1.clone()).unwrap();
        only.insert_connection(Connection::new("c_1".parse().unwrap(), t1.clone(), "openai".parse().unwrap())).unwrap();
        assert_eq!(only.delete_tenant(&t1), Err(WriteRefused::StillReferenced));
    }

    /// The oracle the property tests lean on must report every state the
    /// writes refuse to build, so each row breaks one invariant by hand.
    #[test]
    fn the_invariant_check_names_each_broken_binding() {
        let (m, d, c) = bound();
        assert!(m.check_invariants().is_ok());
        let t2: TenantId = "t_2".parse().unwrap();
        let t9: TenantId = "t_9".parse().unwrap();
        let provider: crate::tenancy::Provider = "openai".parse().unwrap();
        let broken: [Breakage<'_>; 6] = [
            (
                "deployment of another tenant",
                Box::new(|m| drop(m.deployments.insert(d.clone(), Deployment::new(d.clone(), t2.clone())))),
            ),
            (
                "connection of another tenant",
                Box::new(|m| {
                    drop(m.connections.insert(c.clone(), Connection::new(c.clone(), t2.clone(), provider.clone())))
                }),
            ),
            ("deployment missing", Box::new(|m| drop(m.deployments.remove(&d)))),
            ("connection missing", Box::new(|m| drop(m.connections.remove(&c)))),
            (
                "a deployment of an unknown tenant",
                Box::new(|m| {
                    let other: DeploymentId = "d_9".parse().unwrap();
                    m.deployments.insert(other.clone(), Deployment::new(other, t9.clone()));
                }),
            ),
            (
                "a connection of an unknown tenant",
                Box::new(|m| {
                    let other: ConnectionId = "c_9".parse().unwrap();
                    m.connections.insert(other.clone(), Connection::new(other, t9.clone(), provider.clone()));
                }),
            ),
        ];
        for (what, breaks) in &broken {
            let (mut m, _, _) = bound();
            breaks(&mut m);
            assert_eq!(m.check_invariants().map_err(|b| b.id().as_str().to_owned()), Err("b_1".to_owned()), "{what}");
        }
    }
}
