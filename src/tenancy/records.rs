//! The records the tenancy boundary is about: deployments, connections and
//! the bindings between them.
//!
//! A [`Binding`] stores ONE tenant id. The only way to create one is
//! [`Binding::new`], which takes the deployment and the connection records
//! and refuses them when their tenants differ, so a cross-tenant binding
//! cannot be represented.

use serde::{Deserialize, Serialize};

use crate::ids::{BindingId, ConnectionId, DeploymentId, IdError, MAX_ID_LEN, TenantId};

const PROVIDER_ALPHABET: &str = "[a-z0-9_-]";

/// SPEC §1 identifier syntax, lowercase only: 1–64 bytes of `[a-z0-9_-]`.
pub(crate) const fn check_provider(kind: &'static str, b: &[u8]) -> Result<(), IdError> {
    if b.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if b.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind, len: b.len(), max: MAX_ID_LEN });
    }
    let mut i = 0;
    while let Some(&c) = b.split_at(i).1.first() {
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-') {
            return Err(IdError::InvalidByte { kind, alphabet: PROVIDER_ALPHABET, offset: i });
        }
        // INVARIANT: i < b.len() <= 64.
        i = i.saturating_add(1);
    }
    Ok(())
}

crate::ids::string_newtype!(
    /// The external provider a connection holds credentials for, and the one a
    /// proxy adapter serves (`openai`, `notion`, `telegram`, …).
    ///
    /// 1–64 bytes of `[a-z0-9_-]`, compared byte for byte. Lowercase only, and
    /// never lowercased for you: `OpenAI` is refused rather than silently
    /// matched, so the provider check cannot be bypassed by case.
    ///
    /// ```
    /// use vendo_isolation::tenancy::Provider;
    /// let p: Provider = "openai".parse()?;
    /// assert_eq!(p, "openai");
    /// assert!("OpenAI".parse::<Provider>().is_err());
    /// # Ok::<(), vendo_isolation::ids::IdError>(())
    /// ```
    Provider, "provider", check_provider
);

/// A deployment as the platform stores it: `deployments(id, tenant_id)`.
///
/// The caller builds it from what it looked up; it is the input that
/// [`Binding::new`] compares tenants on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deployment {
    id: DeploymentId,
    tenant_id: TenantId,
}

impl Deployment {
    /// A deployment record.
    pub const fn new(id: DeploymentId, tenant_id: TenantId) -> Self {
        Self { id, tenant_id }
    }

    /// The deployment's id.
    pub const fn id(&self) -> &DeploymentId {
        &self.id
    }

    /// The tenant that owns the deployment.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }
}

/// A connection (credential record for an external provider) as the
/// platform stores it: `connections(id, tenant_id, provider)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Connection {
    id: ConnectionId,
    tenant_id: TenantId,
    provider: Provider,
}

impl Connection {
    /// A connection record.
    pub const fn new(id: ConnectionId, tenant_id: TenantId, provider: Provider) -> Self {
        Self { id, tenant_id, provider }
    }

    /// The connection's id.
    pub const fn id(&self) -> &ConnectionId {
        &self.id
    }

    /// The tenant that owns the connection.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The provider the connection holds credentials for.
    pub const fn provider(&self) -> &Provider {
        &self.provider
    }
}

/// A deployment and a connection of different tenants were asked to be
/// bound.
///
/// Names both tenants: tenant ids are not secrets, and the operator fixing
/// the write needs to see which side is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cross-tenant binding: deployment belongs to tenant {deployment_tenant}, connection to tenant {connection_tenant}"
)]
#[non_exhaustive]
pub struct CrossTenantBinding {
    /// The tenant that owns the deployment.
    pub deployment_tenant: TenantId,
    /// The tenant that owns the connection.
    pub connection_tenant: TenantId,
}

impl CrossTenantBinding {
    /// Stable machine-readable code: `cross_tenant_binding`.
    pub const fn code(&self) -> &'static str {
        "cross_tenant_binding"
    }
}

/// A deployment bound to a connection of the same tenant:
/// `app_connection_bindings(id, deployment_id, connection_id)` plus the
/// one tenant both share.
///
/// ```
/// use vendo_isolation::tenancy::{Binding, Connection, Deployment};
/// let acme = "t_acme".parse()?;
/// let crm = Deployment::new("d_crm".parse()?, acme);
/// let openai = Connection::new("c_openai".parse()?, "t_acme".parse()?, "openai".parse()?);
/// let b = Binding::new("b_1".parse()?, &crm, &openai).expect("same tenant");
/// assert_eq!(b.tenant_id(), "t_acme");
///
/// let other = Connection::new("c_x".parse()?, "t_evil".parse()?, "openai".parse()?);
/// let err = Binding::new("b_2".parse()?, &crm, &other).unwrap_err();
/// assert_eq!(err.code(), "cross_tenant_binding");
/// # Ok::<(), vendo_isolation::ids::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Binding {
    id: BindingId,
    tenant_id: TenantId,
    deployment_id: DeploymentId,
    connection_id: ConnectionId,
}

impl Binding {
    /// Binds `deployment` to `connection`, refusing when their tenants
    /// differ (seed: "cross-tenant bindings cannot exist").
    pub fn new(id: BindingId, deployment: &Deployment, connection: &Connection) -> Result<Self, CrossTenantBinding> {
        // SPEC §1: tenant ids compare byte for byte; `Acme` is not `acme`.
        if deployment.tenant_id != connection.tenant_id {
            return Err(CrossTenantBinding {
                deployment_tenant: deployment.tenant_id.clone(),
                connection_tenant: connection.tenant_id.clone(),
            });
        }
        Ok(Self {
            id,
            tenant_id: deployment.tenant_id.clone(),
            deployment_id: deployment.id.clone(),
            connection_id: connection.id.clone(),
        })
    }

    /// Rebuilds a binding from an `app_connection_bindings` row read back
    /// from a database running [`crate::tenancy::POSTGRES_SCHEMA`], whose trigger
    /// filled `tenant_id` and whose composite foreign keys tie it to both
    /// the deployment's and the connection's tenant.
    ///
    /// The value still holds one tenant, but nothing here checked that the
    /// deployment and connection belong to it: that is why the proxy never
    /// trusts a binding alone and [`crate::tenancy::check_connection_use`] re-checks
    /// it against the connection it names.
    pub const fn from_stored(
        id: BindingId,
        tenant_id: TenantId,
        deployment_id: DeploymentId,
        connection_id: ConnectionId,
    ) -> Self {
        Self { id, tenant_id, deployment_id, connection_id }
    }

    /// The binding's id.
    pub const fn id(&self) -> &BindingId {
        &self.id
    }

    /// The one tenant that owns the deployment and the connection.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The bound deployment.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.deployment_id
    }

    /// The bound connection.
    pub const fn connection_id(&self) -> &ConnectionId {
        &self.connection_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        s.parse().unwrap()
    }

    #[test]
    fn provider_rules() {
        assert!(Provider::validate("openai").is_ok());
        assert!(Provider::validate("google_sheets-v2").is_ok());
        assert!(Provider::validate(&"a".repeat(64)).is_ok());
        // Case tricks must not make two adapters look alike.
        assert_eq!(Provider::validate("OpenAI").map_err(|e| e.code()), Err("invalid_byte"));
        assert_eq!(Provider::validate("").map_err(|e| e.code()), Err("empty"));
        assert_eq!(Provider::validate(&"a".repeat(65)).map_err(|e| e.code()), Err("too_long"));
        // Kelvin sign lowercases to `k` under Unicode rules.
        assert_eq!(Provider::validate("\u{212a}ey").map_err(|e| e.code()), Err("invalid_byte"));
        assert!(serde_json::from_str::<Provider>("\"Open AI\"").is_err());
    }

    #[test]
    fn binding_takes_the_shared_tenant() {
        let d = Deployment::new("d".parse().unwrap(), t("acme"));
        let c = Connection::new("c".parse().unwrap(), t("acme"), "openai".parse().unwrap());
        let b = Binding::new("b".parse().unwrap(), &d, &c).unwrap();
        assert_eq!(b.tenant_id(), d.tenant_id());
        assert_eq!(b.deployment_id(), d.id());
        assert_eq!(b.connection_id(), c.id());
    }

    #[test]
    fn regression_case_variant_tenant_is_another_tenant() {
        let d = Deployment::new("d".parse().unwrap(), t("acme"));
        let c = Connection::new("c".parse().unwrap(), t("Acme"), "openai".parse().unwrap());
        let err = Binding::new("b".parse().unwrap(), &d, &c).unwrap_err();
        assert_eq!(err.deployment_tenant, "acme");
        assert_eq!(err.connection_tenant, "Acme");
        assert_eq!(
            err.to_string(),
            "cross-tenant binding: deployment belongs to tenant acme, connection to tenant Acme"
        );
    }
}
