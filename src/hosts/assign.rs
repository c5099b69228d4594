//! Collision-safe hostname assignment and atomic renames (SPEC §2).
//!
//! The decisions are pure: the caller looks up what its store holds under
//! the key ([`LabelHolder`]) and applies the [`RouteOp`]s it gets back in
//! one transaction. A label is refused when it is reserved, held by another
//! deployment, too long once joined, tombstoned by another tenant (a freed
//! label may be reclaimed only by the tenant that held it, so a renamed
//! deployment's old hostname can never start serving a stranger), or equal
//! to the tenant slug of a legacy host ([`LegacyUse`]): `acme-corp.{apex}`
//! would be the parent domain of `wiki.acme-corp.{apex}`, and a browser lets
//! a parent set cookies for its children.

use std::fmt;

use crate::hosts::{HostFormatError, HostPolicy, RouteEntry, RouteKey};
use crate::ids::{DeploymentId, TenantId};

/// What the caller's store holds under a route key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelHolder {
    /// Nothing: the key has never been used, or its tombstone was cleared.
    Free,
    /// A live route for this deployment.
    Held {
        /// The tenant that owns the route.
        tenant_id: TenantId,
        /// The deployment the route serves.
        deployment_id: DeploymentId,
    },
    /// A freed label, kept for the tenant that held it.
    Tombstoned {
        /// The tenant that may reclaim it.
        tenant_id: TenantId,
    },
}

/// Whether a single-level label is the tenant slug of a legacy host: the
/// caller's answer from its store (live legacy routes and their
/// tombstones), as [`LabelHolder`] is for the label itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacyUse {
    /// No legacy host `{deployment}.{label}.{apex}` exists.
    None,
    /// Some legacy host `{deployment}.{label}.{apex}` exists, so
    /// `{label}.{apex}` would be its parent domain (SPEC §2
    /// `shadows_legacy`).
    TenantSlug,
}

/// Why a hostname cannot be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssignError {
    /// The label is one of the platform's own.
    #[error("label is reserved")]
    Reserved,
    /// The joined label would pass 63 bytes, or the name 253.
    #[error("label is too long")]
    TooLong,
    /// Another deployment holds the label (any tenant, including the same).
    #[error("label is held by another deployment")]
    Taken,
    /// Another tenant freed the label; only it may reclaim it.
    #[error("label was freed by another tenant")]
    Tombstoned,
    /// The label is the tenant slug of a legacy host, whose parent domain
    /// it would become (SPEC §2).
    #[error("label is the parent domain of a legacy host")]
    ShadowsLegacy,
    /// The key given does not rebuild from the entry's slugs.
    #[error("route key does not match the entry")]
    RouteMismatch,
    /// A rename would move the route to another tenant or deployment.
    #[error("rename changes the route's owner")]
    OwnerChanged,
}

impl AssignError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::TooLong => "too_long",
            Self::Taken => "taken",
            Self::Tombstoned => "tombstoned",
            Self::ShadowsLegacy => "shadows_legacy",
            Self::RouteMismatch => "route_mismatch",
            Self::OwnerChanged => "owner_changed",
        }
    }
}

impl From<HostFormatError> for AssignError {
    fn from(e: HostFormatError) -> Self {
        match e {
            HostFormatError::Reserved => Self::Reserved,
            HostFormatError::TooLong => Self::TooLong,
        }
    }
}

/// One write to the routing store. Apply all of a decision's ops in one
/// transaction, in order.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteOp {
    /// Delete the live route under the key.
    Remove(RouteKey<'static>),
    /// Tombstone the key for this tenant (after [`RouteOp::Remove`]).
    Tombstone(RouteKey<'static>, TenantId),
    /// Write the live route under the key, replacing a tombstone.
    Write(RouteKey<'static>, RouteEntry),
}

impl fmt::Debug for RouteOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remove(k) => write!(f, "Remove({k})"),
            Self::Tombstone(k, t) => write!(f, "Tombstone({k}, {t})"),
            Self::Write(k, e) => write!(f, "Write({k}, {}/{})", e.tenant_id, e.deployment_id),
        }
    }
}

/// The store writes a decision needs, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteChange {
    ops: Vec<RouteOp>,
}

impl RouteChange {
    /// The writes, in the order they must be applied.
    pub fn ops(&self) -> &[RouteOp] {
        &self.ops
    }

    /// The writes, owned.
    pub fn into_ops(self) -> Vec<RouteOp> {
        self.ops
    }

    /// Whether the decision changes nothing (a re-assignment of the same
    /// label to the same deployment).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl HostPolicy {
    /// Decides whether `entry` may take the single-level `key`, given what
    /// the store holds under it and whether it is a legacy tenant slug.
    ///
    /// Build `key` with [`HostPolicy::single_level_key`], look up its
    /// holder and its [`LegacyUse`], then call this. Re-assigning a label to
    /// the deployment that already holds it changes nothing. Checks, in
    /// order: the key rebuilds from the entry, the label's holder, then
    /// `shadows_legacy`.
    ///
    /// ```
    /// use vendo_isolation::{HostPolicy, RouteEntry};
    /// use vendo_isolation::hosts::{AssignError, LabelHolder, LegacyUse, RouteOp};
    /// let policy = HostPolicy::default();
    /// let entry = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// let key = policy.single_level_key(&entry.tenant_slug, &entry.deployment_slug)?;
    /// let change = policy.assign(&entry, &key, &LabelHolder::Free, LegacyUse::None)?;
    /// assert!(matches!(change.ops(), [RouteOp::Write(..)]));
    ///
    /// let stranger = LabelHolder::Tombstoned { tenant_id: "t_2".parse()? };
    /// assert_eq!(policy.assign(&entry, &key, &stranger, LegacyUse::None), Err(AssignError::Tombstoned));
    /// // `wiki.acme-crm.vendo.run` exists: `acme-crm.vendo.run` would be its parent.
    /// assert_eq!(
    ///     policy.assign(&entry, &key, &LabelHolder::Free, LegacyUse::TenantSlug),
    ///     Err(AssignError::ShadowsLegacy),
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn assign(
        &self,
        entry: &RouteEntry,
        key: &RouteKey<'_>,
        holder: &LabelHolder,
        legacy: LegacyUse,
    ) -> Result<RouteChange, AssignError> {
        let expected = self.single_level_key(&entry.tenant_slug, &entry.deployment_slug)?;
        if expected.as_str() != key.as_str() || key.check_entry(entry).is_err() {
            return Err(AssignError::RouteMismatch);
        }
        let change = match holder {
            LabelHolder::Held { deployment_id, tenant_id }
                if *deployment_id == entry.deployment_id && *tenant_id == entry.tenant_id =>
            {
                RouteChange { ops: Vec::new() }
            }
            LabelHolder::Held { .. } => return Err(AssignError::Taken),
            LabelHolder::Tombstoned { tenant_id } if *tenant_id != entry.tenant_id => {
                return Err(AssignError::Tombstoned);
            }
            LabelHolder::Tombstoned { .. } | LabelHolder::Free => {
                RouteChange { ops: vec![RouteOp::Write(expected, entry.clone())] }
            }
        };
        // Checked even when the label is already this deployment's: a
        // legacy host restored under it later must not stay nested.
        match legacy {
            LegacyUse::None => Ok(change),
            LegacyUse::TenantSlug => Err(AssignError::ShadowsLegacy),
        }
    }

    /// Decides taking the route under `key` down (its deployment is
    /// deleted): the change removes it and tombstones the key for its
    /// tenant, so only that tenant may reuse the label. `current` is the
    /// entry stored under `key`.
    ///
    /// ```
    /// use vendo_isolation::{HostPolicy, RouteEntry};
    /// use vendo_isolation::hosts::RouteOp;
    /// let policy = HostPolicy::default();
    /// let current = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// let key = policy.parse("acme-crm.vendo.run")?;
    /// let change = policy.release(&key, &current)?;
    /// assert!(matches!(change.ops(), [RouteOp::Remove(_), RouteOp::Tombstone(..)]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release(&self, key: &RouteKey<'_>, current: &RouteEntry) -> Result<RouteChange, AssignError> {
        key.check_entry(current).map_err(|_| AssignError::RouteMismatch)?;
        let key = key.clone().into_owned();
        Ok(RouteChange { ops: vec![RouteOp::Remove(key.clone()), RouteOp::Tombstone(key, current.tenant_id.clone())] })
    }

    /// Decides restoring an existing legacy route
    /// `{deployment_slug}.{tenant_slug}` for `entry`. New hostnames are
    /// single-level only; this exists for the legacy deployments a platform
    /// still serves. Checks, in order: the key fits, no live single-level
    /// route under the entry's tenant slug would be its parent domain
    /// (`parent_is_live`, the caller's read: `shadows_legacy`), then the
    /// key's holder: free, tombstoned by the entry's tenant, or already
    /// the entry's deployment.
    pub fn restore_legacy(
        &self,
        entry: &RouteEntry,
        holder: &LabelHolder,
        parent_is_live: bool,
    ) -> Result<RouteChange, AssignError> {
        let key = self.legacy_key(&entry.tenant_slug, &entry.deployment_slug)?;
        if parent_is_live {
            return Err(AssignError::ShadowsLegacy);
        }
        match holder {
            LabelHolder::Held { deployment_id, tenant_id }
                if *deployment_id != entry.deployment_id || *tenant_id != entry.tenant_id =>
            {
                Err(AssignError::Taken)
            }
            LabelHolder::Tombstoned { tenant_id } if *tenant_id != entry.tenant_id => Err(AssignError::Tombstoned),
            LabelHolder::Held { .. } | LabelHolder::Tombstoned { .. } | LabelHolder::Free => {
                Ok(RouteChange { ops: vec![RouteOp::Write(key, entry.clone())] })
            }
        }
    }

    /// Decides a rename: the route moves from `old_key` (where `current` is
    /// stored) to the single-level key of `renamed`, given what the store
    /// holds under that new key and whether it is a legacy tenant slug.
    ///
    /// The change removes the old route, tombstones the old key for the same
    /// tenant, and writes the new route, so the old hostname stops resolving
    /// the moment the change is applied and can be reclaimed only by its
    /// tenant. `renamed` must keep the tenant and deployment ids.
    ///
    /// ```
    /// use vendo_isolation::{HostPolicy, RouteEntry};
    /// use vendo_isolation::hosts::{LabelHolder, LegacyUse, RouteOp};
    /// let policy = HostPolicy::default();
    /// let current = RouteEntry {
    ///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
    ///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
    /// };
    /// let old_key = policy.parse("acme-crm.vendo.run")?.into_owned();
    /// let renamed = RouteEntry { deployment_slug: "sales".parse()?, ..current.clone() };
    /// let new_key = policy.single_level_key(&renamed.tenant_slug, &renamed.deployment_slug)?;
    /// let change = policy.rename(&old_key, &current, &renamed, &new_key, &LabelHolder::Free, LegacyUse::None)?;
    /// assert!(matches!(change.ops(), [RouteOp::Remove(_), RouteOp::Tombstone(..), RouteOp::Write(..)]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rename(
        &self,
        old_key: &RouteKey<'_>,
        current: &RouteEntry,
        renamed: &RouteEntry,
        new_key: &RouteKey<'_>,
        new_key_holder: &LabelHolder,
        new_key_legacy: LegacyUse,
    ) -> Result<RouteChange, AssignError> {
        if current.tenant_id != renamed.tenant_id || current.deployment_id != renamed.deployment_id {
            return Err(AssignError::OwnerChanged);
        }
        old_key.check_entry(current).map_err(|_| AssignError::RouteMismatch)?;
        let assigned = self.assign(renamed, new_key, new_key_holder, new_key_legacy)?;
        if old_key.as_str() == new_key.as_str() {
            // Same label: at most the entry's slugs are rewritten in place.
            return Ok(RouteChange { ops: vec![RouteOp::Write(old_key.clone().into_owned(), renamed.clone())] });
        }
        let old = old_key.clone().into_owned();
        let mut ops = Vec::with_capacity(3);
        ops.push(RouteOp::Remove(old.clone()));
        ops.push(RouteOp::Tombstone(old, current.tenant_id.clone()));
        // `assign` answered `Held` by this same deployment with no op: the
        // new key already routes here, only the old one must go.
        ops.extend(assigned.into_ops());
        Ok(RouteChange { ops })
    }
}
