//! An in-memory routing table for harnesses and the demo: route key →
//! route (tenant, deployment, slugs, upstream), with tombstones.
//!
//! The table makes no decision of its own about who may hold a hostname:
//! it looks up the [`LabelHolder`] under a key, asks [`HostPolicy::assign`]
//! or [`HostPolicy::rename`], and applies the [`RouteChange`] it gets back
//! all-or-nothing. Seed: "Renaming a deployment swaps the routing entry
//! atomically. The old hostname 404s immediately rather than serving the
//! previous tenant's traffic."

use core::fmt;
use core::str::FromStr;
use std::collections::BTreeMap;

use crate::hosts::assign::{AssignError, LabelHolder, LegacyUse, RouteChange, RouteOp};
use crate::hosts::{HostPolicy, RouteEntry, RouteKey};
use crate::ids::{DeploymentId, TenantId};

/// Where the proxy forwards a route's traffic: an `http` or `https` origin
/// (`scheme://host[:port]`), with no credentials, path or query.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Upstream(http::Uri);

/// A string that is not an upstream origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("upstream must be an http or https origin without credentials, path or query")]
#[non_exhaustive]
pub struct InvalidUpstream;

impl InvalidUpstream {
    /// Stable machine-readable code: `invalid_upstream`.
    pub const fn code(&self) -> &'static str {
        "invalid_upstream"
    }
}

impl Upstream {
    /// Validates `uri` as an upstream origin.
    ///
    /// ```
    /// use vendo_isolation::hosts::Upstream;
    /// assert!("https://vd-hkwwkc.up.railway.app".parse::<Upstream>().is_ok());
    /// assert!("https://user:pw@backend.example".parse::<Upstream>().is_err());
    /// ```
    pub fn new(uri: http::Uri) -> Result<Self, InvalidUpstream> {
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        // Credentials in a routing table would be sent to whoever reads it.
        let authority_ok = uri.authority().is_some_and(|a| !a.as_str().contains('@') && !a.host().is_empty());
        let path_ok = matches!(uri.path(), "" | "/") && uri.query().is_none();
        if scheme_ok && authority_ok && path_ok { Ok(Self(uri)) } else { Err(InvalidUpstream) }
    }

    /// The origin.
    pub const fn uri(&self) -> &http::Uri {
        &self.0
    }
}

impl FromStr for Upstream {
    type Err = InvalidUpstream;
    fn from_str(s: &str) -> Result<Self, InvalidUpstream> {
        Self::new(s.parse().map_err(|_| InvalidUpstream)?)
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upstream({})", self.0)
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A live route: whose it is and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    entry: RouteEntry,
    upstream: Upstream,
}

impl Route {
    /// The tenant, deployment and slugs.
    pub const fn entry(&self) -> &RouteEntry {
        &self.entry
    }

    /// Where traffic goes.
    pub const fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The tenant that owns the route.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.entry.tenant_id
    }

    /// The deployment the route serves.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.entry.deployment_id
    }
}

/// Why the table refused a change. A refused change leaves the table as it
/// was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingError {
    /// The hostname decision refused it.
    #[error(transparent)]
    Assign(AssignError),
    /// No live route under the key.
    #[error("no route under that key")]
    NotFound,
    /// The change was decided on what the table held before and no longer
    /// applies.
    #[error("change no longer matches the table")]
    StaleChange,
}

impl RoutingError {
    /// Stable machine-readable code for this error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Assign(e) => e.code(),
            Self::NotFound => "not_found",
            Self::StaleChange => "stale_change",
        }
    }
}

impl From<AssignError> for RoutingError {
    fn from(e: AssignError) -> Self {
        Self::Assign(e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Live(Route),
    Tombstone(TenantId),
}

/// The routing table.
///
/// ```
/// use vendo_isolation::{HostPolicy, RouteEntry};
/// use vendo_isolation::model::RoutingTable;
/// let mut table = RoutingTable::new(HostPolicy::default());
/// let crm = RouteEntry {
///     tenant_id: "t_1".parse()?, deployment_id: "d_1".parse()?,
///     tenant_slug: "acme".parse()?, deployment_slug: "crm".parse()?,
/// };
/// let key = table.assign(crm.clone(), "https://crm.internal".parse()?)?;
/// let host = table.policy().parse("acme-crm.vendo.run")?;
/// assert_eq!(table.resolve(&host).map(|r| r.deployment_id().as_str()), Some("d_1"));
///
/// // Rename: the old hostname stops resolving in the same step.
/// let renamed = RouteEntry { deployment_slug: "sales".parse()?, ..crm };
/// table.rename(&key, renamed)?;
/// assert!(table.resolve(&host).is_none());
/// assert!(table.resolve(&table.policy().parse("acme-sales.vendo.run")?).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTable {
    policy: HostPolicy,
    slots: BTreeMap<String, (RouteKey<'static>, Slot)>,
}

impl Default for RoutingTable {
    fn default() -> Self {
        Self::new(HostPolicy::default())
    }
}

impl RoutingTable {
    /// An empty table deciding with `policy`.
    pub const fn new(policy: HostPolicy) -> Self {
        Self { policy, slots: BTreeMap::new() }
    }

    /// The hostname policy.
    pub const fn policy(&self) -> &HostPolicy {
        &self.policy
    }

    /// The live route under `key`, if its slugs rebuild the key (SPEC §2:
    /// a route that does not is never returned, whatever put it there).
    pub fn resolve(&self, key: &RouteKey<'_>) -> Option<&Route> {
        match self.slots.get(key.as_str()) {
            Some((_, Slot::Live(route))) if key.check_entry(&route.entry).is_ok() => Some(route),
            _ => None,
        }
    }

    /// What the table holds under `key`, as the decisions take it.
    pub fn holder(&self, key: &RouteKey<'_>) -> LabelHolder {
        match self.slots.get(key.as_str()) {
            None => LabelHolder::Free,
            Some((_, Slot::Live(r))) => {
                LabelHolder::Held { tenant_id: r.entry.tenant_id.clone(), deployment_id: r.entry.deployment_id.clone() }
            }
            Some((_, Slot::Tombstone(t))) => LabelHolder::Tombstoned { tenant_id: t.clone() },
        }
    }

    /// Whether `label` is the tenant slug of a legacy key the table holds,
    /// live or tombstoned (a tombstoned legacy key can be restored).
    pub fn legacy_use(&self, label: &str) -> LegacyUse {
        let nested = self.slots.values().any(|(k, _)| k.legacy_parts().is_some_and(|(_, tenant)| tenant == label));
        if nested { LegacyUse::TenantSlug } else { LegacyUse::None }
    }

    /// Every live route with its key, in key order.
    pub fn routes(&self) -> impl Iterator<Item = (&RouteKey<'static>, &Route)> {
        self.slots.values().filter_map(|(k, s)| match s {
            Slot::Live(r) => Some((k, r)),
            Slot::Tombstone(_) => None,
        })
    }

    /// Gives `entry` its single-level hostname, routed to `upstream`.
    pub fn assign(&mut self, entry: RouteEntry, upstream: Upstream) -> Result<RouteKey<'static>, RoutingError> {
        let key =
            self.policy.single_level_key(&entry.tenant_slug, &entry.deployment_slug).map_err(AssignError::from)?;
        let change = self.policy.assign(&entry, &key, &self.holder(&key), self.legacy_use(key.as_str()))?;
        self.apply(&change, &upstream)?;
        Ok(key)
    }

    /// Renames the route under `old_key` to `renamed`'s single-level
    /// hostname, keeping its upstream. The old key is removed and
    /// tombstoned for its tenant in the same step.
    pub fn rename(&mut self, old_key: &RouteKey<'_>, renamed: RouteEntry) -> Result<RouteKey<'static>, RoutingError> {
        let current = self.resolve(old_key).ok_or(RoutingError::NotFound)?.clone();
        let new_key =
            self.policy.single_level_key(&renamed.tenant_slug, &renamed.deployment_slug).map_err(AssignError::from)?;
        let legacy = self.legacy_use(new_key.as_str());
        let change = self.policy.rename(old_key, &current.entry, &renamed, &new_key, &self.holder(&new_key), legacy)?;
        self.apply(&change, &current.upstream)?;
        Ok(new_key)
    }

    /// Seeds the table with an existing legacy route
    /// (`{deployment_slug}.{tenant_slug}`). New hostnames are single-level
    /// only; this exists so a harness can hold the legacy deployments the
    /// platform still serves. The same holder rules apply: the key must be
    /// free, tombstoned by the entry's tenant, or already the entry's; and
    /// no live single-level route may be its parent domain
    /// (`shadows_legacy`).
    pub fn restore_legacy(&mut self, entry: RouteEntry, upstream: Upstream) -> Result<RouteKey<'static>, RoutingError> {
        let key = self.policy.legacy_key(&entry.tenant_slug, &entry.deployment_slug).map_err(AssignError::from)?;
        let parent_is_live = matches!(self.slots.get(entry.tenant_slug.as_str()), Some((_, Slot::Live(_))));
        let change = self.policy.restore_legacy(&entry, &self.holder(&key), parent_is_live)?;
        self.apply(&change, &upstream)?;
        Ok(key)
    }

    /// Takes the route under `key` down (the deployment is deleted),
    /// leaving a tombstone so that only its tenant may reuse the label.
    pub fn release(&mut self, key: &RouteKey<'_>) -> Result<Route, RoutingError> {
        let route = self.resolve(key).ok_or(RoutingError::NotFound)?.clone();
        let change = self.policy.release(key, &route.entry)?;
        self.apply(&change, &route.upstream)?;
        Ok(route)
    }

    /// Applies a decision's change, all of it or, when any op no longer
    /// matches the table (a decision made on an older holder), none.
    /// [`RouteOp::Write`]s route to `upstream`.
    pub fn apply(&mut self, change: &RouteChange, upstream: &Upstream) -> Result<(), RoutingError> {
        self.apply_ops(change.ops(), upstream)
    }

    /// Whether a live route under `key` would be the parent domain of a
    /// legacy key (a single-level `key` equal to its tenant slug), or a
    /// legacy `key` the child of a live single-level route, in the table as
    /// `staged` would leave it.
    fn would_nest(&self, key: &RouteKey<'_>, staged: &BTreeMap<String, (RouteKey<'static>, Option<Slot>)>) -> bool {
        let current = self.slots.iter().map(|(n, (k, s))| (n, k, Some(s)));
        let view = current
            .filter(|(n, _, _)| !staged.contains_key(*n))
            .chain(staged.iter().map(|(n, (k, s))| (n, k, s.as_ref())));
        let mut view = view.filter(|(_, _, s)| s.is_some());
        match key.legacy_parts() {
            None => view.any(|(_, k, _)| k.legacy_parts().is_some_and(|(_, tenant)| tenant == key.as_str())),
            Some((_, tenant)) => view.any(|(n, _, s)| n == tenant && matches!(s, Some(Slot::Live(_)))),
        }
    }

    fn apply_ops(&mut self, ops: &[RouteOp], upstream: &Upstream) -> Result<(), RoutingError> {
        // Staged on an overlay and committed only when every op checked out.
        let mut staged: BTreeMap<String, (RouteKey<'static>, Option<Slot>)> = BTreeMap::new();
        for op in ops {
            let (RouteOp::Remove(key) | RouteOp::Tombstone(key, _) | RouteOp::Write(key, _)) = op;
            let now = match staged.get(key.as_str()) {
                Some((_, s)) => s.clone(),
                None => self.slots.get(key.as_str()).map(|(_, s)| s.clone()),
            };
            let next = match (op, now) {
                (RouteOp::Remove(_), Some(Slot::Live(_))) => None,
                (RouteOp::Tombstone(_, t), None | Some(Slot::Tombstone(_))) => Some(Slot::Tombstone(t.clone())),
                (RouteOp::Write(k, entry), now) => {
                    k.check_entry(entry).map_err(|_| AssignError::RouteMismatch)?;
                    let may_write = match &now {
                        None => true,
                        Some(Slot::Tombstone(t)) => *t == entry.tenant_id,
                        Some(Slot::Live(r)) => {
                            r.entry.tenant_id == entry.tenant_id && r.entry.deployment_id == entry.deployment_id
                        }
                    };
                    // The decision was made on a LegacyUse the table may no
                    // longer answer: re-check that no write nests one
                    // tenant's host under another's (SPEC §2).
                    if !may_write || self.would_nest(k, &staged) {
                        return Err(RoutingError::StaleChange);
                    }
                    Some(Slot::Live(Route { entry: entry.clone(), upstream: upstream.clone() }))
                }
                _ => return Err(RoutingError::StaleChange),
            };
            staged.insert(key.as_str().to_owned(), (key.clone(), next));
        }
        for (name, (key, slot)) in staged {
            match slot {
                Some(slot) => self.slots.insert(name, (key, slot)),
                None => self.slots.remove(&name),
            };
        }
        Ok(())
    }
}
