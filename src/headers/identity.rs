//! The verified identity the proxy injects into a forwarded request.

use crate::ids::{DeploymentId, Email, TenantId, UserId};

/// Who a request is from, as a verified session says.
///
/// Outside tests there is one way to get an `Identity`: verify a session
/// ([`crate::session::VerifiedSession::identity`]). Header injection takes only this
/// type, so no unverified value can reach an `x-vendo-*` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    tenant_id: TenantId,
    deployment_id: DeploymentId,
    user_id: UserId,
    email: Email,
}

impl Identity {
    /// Only the session verifier builds an identity.
    pub(crate) const fn from_verified(
        tenant_id: TenantId,
        deployment_id: DeploymentId,
        user_id: UserId,
        email: Email,
    ) -> Self {
        Self { tenant_id, deployment_id, user_id, email }
    }

    /// Builds an identity without a session, for tests only.
    ///
    /// Available with the `testing` feature. Production code gets an
    /// identity from a verified session and nowhere else.
    #[cfg(any(test, feature = "testing"))]
    pub const fn for_tests(tenant_id: TenantId, deployment_id: DeploymentId, user_id: UserId, email: Email) -> Self {
        Self::from_verified(tenant_id, deployment_id, user_id, email)
    }

    /// The tenant the session was issued for.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The deployment the session was issued for.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.deployment_id
    }

    /// The end user.
    pub const fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The end user's email.
    pub const fn email(&self) -> &Email {
        &self.email
    }
}
