//! One deployment, its own resources.
//!
//! Seed: each server-side deployment gets its own Railway project, Neon
//! branch, Redis service and an R2 bucket scoped to the deployment id;
//! edge and static tools have no writable shared state. [`ResourcePlan::new`]
//! turns a [`Manifest`] into the list of resources to provision, every one
//! named from the deployment id, and [`check_disjoint`] proves a set of
//! plans shares nothing.
//!
//! # Names are injective
//!
//! Deployment ids hold `_` and upper case, which bucket names cannot, so the
//! id is encoded, not escaped or hashed: each byte of the 64-symbol SPEC §1
//! alphabet becomes 6 bits, the bits are padded with zeros to a multiple of
//! 5 and written in RFC 4648 base32, lowercase (`a`–`z`, `2`–`7`), after
//! the prefix `vd-`. An id of `L` bytes gives `ceil(6L/5)` characters;
//! that length grows strictly with `L` (each byte adds 6 bits, each
//! character holds 5), so the length of a name fixes `L`, and for a fixed
//! `L` base32 of a fixed-length bit string is one-to-one. Two different ids
//! therefore never share a name; [`deployment_id_from_resource_name`] is
//! the inverse, and the tests check the round trip.
//!
//! No encoding can fit every 64-byte id: there are 64^64 = 2^384 of them
//! and fewer than 37^63 < 2^329 bucket names. The plan therefore refuses
//! ids longer than [`MAX_PLANNABLE_DEPLOYMENT_ID_LEN`] (45 bytes, which
//! keeps the name within the tightest limit below, Pages' 58 characters)
//! rather than truncate or hash.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ids::DeploymentId;
use crate::ids::TenantId;
use crate::tenancy::Deployment;

/// Longest deployment id a plan accepts, in bytes.
pub const MAX_PLANNABLE_DEPLOYMENT_ID_LEN: usize = 45;

/// Every resource name starts with this.
pub const RESOURCE_NAME_PREFIX: &str = "vd-";

/// The name of a deployment's Redis service inside its own Railway
/// project. Railway service names hold at most 32 characters, too few for
/// an encoded id; the project around it carries the id.
pub const REDIS_SERVICE_NAME: &str = "redis";

/// SPEC §1 identifier alphabet, in byte order: symbol `i` encodes as `i`.
const SYMBOLS: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// RFC 4648 §6 alphabet, lowercase.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Where a tool runs, as its manifest's `computeProvider` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComputeProvider {
    /// `railway`: a server-side tool, one Railway project per deployment.
    Railway,
    /// `cloudflare-workers`: an edge tool, stateless by construction.
    CloudflareWorkers,
    /// `cloudflare-pages`: a static tool, stateless by construction.
    CloudflarePages,
}

impl ComputeProvider {
    /// The manifest's name for this provider.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Railway => "railway",
            Self::CloudflareWorkers => "cloudflare-workers",
            Self::CloudflarePages => "cloudflare-pages",
        }
    }

    /// Whether deployments on this provider may hold writable state.
    pub const fn allows_writable_state(self) -> bool {
        matches!(self, Self::Railway)
    }
}

/// Writable state a manifest may request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// A Postgres database: a Neon branch of its own.
    Database,
    /// A Redis service in the deployment's Railway project.
    Redis,
    /// An R2 bucket scoped to the deployment id.
    Bucket,
}

impl ResourceKind {
    /// The manifest's name for this resource.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Redis => "redis",
            Self::Bucket => "bucket",
        }
    }
}

/// What a tool's manifest asks for: where it runs and which writable state
/// it needs. Deserializes from `{"computeProvider": "railway",
/// "resources": ["database", "redis", "bucket"]}`; unknown fields and
/// unknown resource names are refused rather than ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    compute_provider: ComputeProvider,
    #[serde(default)]
    resources: BTreeSet<ResourceKind>,
}

impl Manifest {
    /// A manifest for `compute` requesting `resources`.
    pub fn new(compute: ComputeProvider, resources: impl IntoIterator<Item = ResourceKind>) -> Self {
        Self { compute_provider: compute, resources: resources.into_iter().collect() }
    }

    /// Where the tool runs.
    pub const fn compute_provider(&self) -> ComputeProvider {
        self.compute_provider
    }

    /// The writable state requested, in a fixed order.
    pub fn resources(&self) -> impl Iterator<Item = ResourceKind> + '_ {
        self.resources.iter().copied()
    }
}

/// The system a planned resource lives in. Each has its own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceSystem {
    /// A Railway project (name kept within one DNS label, 63).
    RailwayProject,
    /// A service inside a Railway project (at most 32 characters).
    RailwayService,
    /// A Neon branch (kept within 63 characters).
    NeonBranch,
    /// An R2 bucket (3–63 of `[a-z0-9-]`, letter or digit at both ends).
    R2Bucket,
    /// A Cloudflare Worker script (at most 63 characters).
    CloudflareWorker,
    /// A Cloudflare Pages project (at most 58 characters).
    CloudflarePagesProject,
}

impl ResourceSystem {
    /// Longest name this system accepts, as the plan keeps it.
    pub const fn max_name_len(self) -> usize {
        match self {
            Self::RailwayService => 32,
            Self::CloudflarePagesProject => 58,
            _ => 63,
        }
    }

    /// Whether `name` is a valid name in this system: 1 (3 for buckets) to
    /// [`Self::max_name_len`] bytes of `[a-z0-9-]`, starting and ending with
    /// a letter or digit. Every system here accepts at least that set.
    pub fn is_valid_name(self, name: &str) -> bool {
        let min = if matches!(self, Self::R2Bucket) { 3 } else { 1 };
        let b = name.as_bytes();
        let edge_ok = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        (min..=self.max_name_len()).contains(&b.len())
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && edge_ok(b.first())
            && edge_ok(b.last())
    }
}

/// One resource to provision.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PlannedResource {
    system: ResourceSystem,
    scope: Option<String>,
    name: String,
}

impl PlannedResource {
    /// The system it lives in.
    pub const fn system(&self) -> ResourceSystem {
        self.system
    }

    /// The Railway project it lives in, for a [`ResourceSystem::RailwayService`].
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Its name within the system (and scope).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Why a manifest cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// An edge or static tool asked for writable state.
    #[error(
        "{} deployments are stateless by construction: they get no project of their own, so a {} would be shared writable state",
        compute.as_str(),
        resource.as_str()
    )]
    WritableStateOnEdge {
        /// Where the tool runs.
        compute: ComputeProvider,
        /// The first writable resource it asked for.
        resource: ResourceKind,
    },
    /// The deployment id is too long to name resources injectively.
    #[error("deployment id is {len} bytes; resources can be named injectively only up to {max}")]
    DeploymentIdTooLong {
        /// The id's length.
        len: usize,
        /// [`MAX_PLANNABLE_DEPLOYMENT_ID_LEN`].
        max: usize,
    },
}

impl PlanError {
    /// Stable machine-readable code for this error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::WritableStateOnEdge { .. } => "writable_state_on_edge",
            Self::DeploymentIdTooLong { .. } => "deployment_id_too_long",
        }
    }
}

/// `vd-` followed by the injective encoding of `id` (see the module docs).
///
/// ```
/// use vendo_isolation::tenancy::{deployment_id_from_resource_name, resource_name};
/// let id = "Dep_1".parse()?;
/// let name = resource_name(&id).expect("short id");
/// assert_eq!(name, "vd-hkwwkc");
/// assert_eq!(deployment_id_from_resource_name(&name), Some(id));
/// # Ok::<(), vendo_isolation::ids::IdError>(())
/// ```
pub fn resource_name(id: &DeploymentId) -> Result<String, PlanError> {
    let bytes = id.as_str().as_bytes();
    if bytes.len() > MAX_PLANNABLE_DEPLOYMENT_ID_LEN {
        return Err(PlanError::DeploymentIdTooLong { len: bytes.len(), max: MAX_PLANNABLE_DEPLOYMENT_ID_LEN });
    }
    let mut out = String::from(RESOURCE_NAME_PREFIX);
    // INVARIANT: `bits` < 5 between bytes, so `acc` holds < 11 bits.
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        // INVARIANT: a DeploymentId holds only SYMBOLS, so `position` finds it.
        let v = SYMBOLS.iter().position(|&s| s == b).and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
        acc = acc.wrapping_shl(6) | v;
        bits = bits.wrapping_add(6);
        while let Some(rest) = bits.checked_sub(5) {
            bits = rest;
            push_base32(&mut out, acc.wrapping_shr(bits));
        }
        acc &= mask(bits);
    }
    if let Some(pad) = 5u32.checked_sub(bits).filter(|_| bits > 0) {
        push_base32(&mut out, acc.wrapping_shl(pad));
    }
    Ok(out)
}

const fn mask(bits: u32) -> u32 {
    // INVARIANT: bits < 6, so the shift is in range.
    1u32.wrapping_shl(bits).wrapping_sub(1)
}

fn push_base32(out: &mut String, v: u32) {
    let i = usize::try_from(v & 31).unwrap_or(0);
    if let Some(&c) = BASE32.get(i) {
        out.push(char::from(c));
    }
}

/// Length of the encoding of an `len`-byte id: `ceil(6 * len / 5)`.
const fn encoded_len(len: usize) -> usize {
    // INVARIANT: len <= 45 where it is called, far from overflow.
    len.saturating_mul(6).saturating_add(4) / 5
}

/// The deployment a resource name was planned for, or `None` when `name`
/// is not the canonical name of any deployment id: the inverse of
/// [`resource_name`], for auditors attributing a bucket or branch.
pub fn deployment_id_from_resource_name(name: &str) -> Option<DeploymentId> {
    let enc = name.strip_prefix(RESOURCE_NAME_PREFIX)?;
    let len = enc.len().saturating_mul(5) / 6;
    if len == 0 || len > MAX_PLANNABLE_DEPLOYMENT_ID_LEN || encoded_len(len) != enc.len() {
        return None;
    }
    let mut out = String::with_capacity(len);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for c in enc.bytes() {
        let v = BASE32.iter().position(|&s| s == c).and_then(|p| u32::try_from(p).ok())?;
        acc = acc.wrapping_shl(5) | v;
        bits = bits.wrapping_add(5);
        if let Some(rest) = bits.checked_sub(6) {
            bits = rest;
            let i = usize::try_from(acc.wrapping_shr(bits) & 63).ok()?;
            out.push(char::from(*SYMBOLS.get(i)?));
            acc &= mask(bits);
        }
    }
    // Canonical only: the padding bits must be zero, or two names would
    // decode to one id.
    if acc != 0 || out.len() != len {
        return None;
    }
    DeploymentId::try_from(out).ok()
}

/// The resources one deployment gets, all its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourcePlan {
    deployment_id: DeploymentId,
    tenant_id: TenantId,
    compute: ComputeProvider,
    resources: Vec<PlannedResource>,
}

impl ResourcePlan {
    /// Plans `manifest` for `deployment`.
    ///
    /// ```
    /// use vendo_isolation::tenancy::{ComputeProvider, Deployment, Manifest, ResourceKind, ResourcePlan, ResourceSystem};
    /// let dep = Deployment::new("Dep_1".parse()?, "t_acme".parse()?);
    /// let m = Manifest::new(ComputeProvider::Railway, [ResourceKind::Database, ResourceKind::Bucket]);
    /// let plan = ResourcePlan::new(&dep, &m).expect("server-side tools may hold state");
    /// let bucket = plan.resources().iter().find(|r| r.system() == ResourceSystem::R2Bucket).expect("bucket");
    /// assert_eq!(bucket.name(), "vd-hkwwkc");
    ///
    /// let edge = Manifest::new(ComputeProvider::CloudflareWorkers, [ResourceKind::Redis]);
    /// assert_eq!(ResourcePlan::new(&dep, &edge).unwrap_err().code(), "writable_state_on_edge");
    /// # Ok::<(), vendo_isolation::ids::IdError>(())
    /// ```
    pub fn new(deployment: &Deployment, manifest: &Manifest) -> Result<Self, PlanError> {
        let compute = manifest.compute_provider();
        if let Some(resource) = manifest.resources().next().filter(|_| !compute.allows_writable_state()) {
            return Err(PlanError::WritableStateOnEdge { compute, resource });
        }
        let name = resource_name(deployment.id())?;
        let own = |system| PlannedResource { system, scope: None, name: name.clone() };
        let mut resources = Vec::new();
        match compute {
            ComputeProvider::Railway => {
                resources.push(own(ResourceSystem::RailwayProject));
                for kind in manifest.resources() {
                    resources.push(match kind {
                        ResourceKind::Database => own(ResourceSystem::NeonBranch),
                        ResourceKind::Bucket => own(ResourceSystem::R2Bucket),
                        ResourceKind::Redis => PlannedResource {
                            system: ResourceSystem::RailwayService,
                            scope: Some(name.clone()),
                            name: REDIS_SERVICE_NAME.to_owned(),
                        },
                    });
                }
            }
            ComputeProvider::CloudflareWorkers => resources.push(own(ResourceSystem::CloudflareWorker)),
            ComputeProvider::CloudflarePages => resources.push(own(ResourceSystem::CloudflarePagesProject)),
        }
        Ok(Self {
            deployment_id: deployment.id().clone(),
            tenant_id: deployment.tenant_id().clone(),
            compute,
            resources,
        })
    }

    /// The deployment the plan is for.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.deployment_id
    }

    /// The tenant that owns the deployment.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// Where the deployment runs.
    pub const fn compute(&self) -> ComputeProvider {
        self.compute
    }

    /// The resources, compute first.
    pub fn resources(&self) -> &[PlannedResource] {
        &self.resources
    }
}

/// Two plans that would share something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanConflict {
    /// The same deployment was planned twice.
    #[error("deployment {0} is planned twice")]
    DuplicateDeployment(DeploymentId),
    /// One resource appears in the plans of two deployments.
    #[error("{system:?} {name} would be shared by deployments {first} and {second}")]
    SharedResource {
        /// The system the resource lives in.
        system: ResourceSystem,
        /// Its name (with its scope, `project/service`, when it has one).
        name: String,
        /// The deployment planned first.
        first: DeploymentId,
        /// The deployment planned second.
        second: DeploymentId,
    },
}

impl PlanConflict {
    /// Stable machine-readable code for this conflict.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::DuplicateDeployment(_) => "duplicate_deployment",
            Self::SharedResource { .. } => "shared_resource",
        }
    }
}

/// Proves that no resource of `plans` belongs to two deployments (seed:
/// "two deployments — same tenant, same tool, or different tenants
/// entirely — never share any of these").
pub fn check_disjoint<'a>(plans: impl IntoIterator<Item = &'a ResourcePlan>) -> Result<(), PlanConflict> {
    let mut deployments = BTreeSet::new();
    let mut owners: BTreeMap<&PlannedResource, &DeploymentId> = BTreeMap::new();
    for plan in plans {
        if !deployments.insert(&plan.deployment_id) {
            return Err(PlanConflict::DuplicateDeployment(plan.deployment_id.clone()));
        }
        for r in &plan.resources {
            if let Some(first) = owners.insert(r, &plan.deployment_id) {
                let name = r.scope().map_or_else(|| r.name.clone(), |s| format!("{s}/{}", r.name));
                return Err(PlanConflict::SharedResource {
                    system: r.system,
                    name,
                    first: first.clone(),
                    second: plan.deployment_id.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DeploymentId {
        s.parse().unwrap()
    }

    #[test]
    fn symbol_table_is_the_id_alphabet_in_byte_order() {
        assert!(SYMBOLS.windows(2).all(|w| w[0] < w[1]));
        assert!(SYMBOLS.iter().all(|&b| DeploymentId::validate(core::str::from_utf8(&[b]).unwrap()).is_ok()));
    }

    #[test]
    fn known_names() {
        assert_eq!(resource_name(&id("-")).unwrap(), "vd-aa");
        assert_eq!(resource_name(&id("z")).unwrap(), "vd-7q");
        assert_eq!(resource_name(&id("Dep_1")).unwrap(), "vd-hkwwkc");
        let long = id(&"z".repeat(45));
        assert_eq!(resource_name(&long).unwrap().len(), 57);
        assert_eq!(resource_name(&id(&"a".repeat(46))), Err(PlanError::DeploymentIdTooLong { len: 46, max: 45 }));
    }

    #[test]
    fn decode_refuses_non_canonical_names() {
        assert_eq!(deployment_id_from_resource_name("vd-aa"), Some(id("-")));
        // `ab` carries a non-zero padding bit: a second spelling of `-`.
        assert_eq!(deployment_id_from_resource_name("vd-ab"), None);
        // No id encodes to one character.
        assert_eq!(deployment_id_from_resource_name("vd-a"), None);
        assert_eq!(deployment_id_from_resource_name("vd-"), None);
        assert_eq!(deployment_id_from_resource_name("VD-aa"), None);
        assert_eq!(deployment_id_from_resource_name("vd-A1"), None);
    }

    #[test]
    fn check_disjoint_reports_a_shared_resource() {
        // Unreachable through ResourcePlan::new (names are injective), so
        // built by hand: the check must not rely on the naming to be right.
        let plan = |d: &str, bucket: &str| ResourcePlan {
            deployment_id: id(d),
            tenant_id: "t".parse().unwrap(),
            compute: ComputeProvider::Railway,
            resources: vec![PlannedResource { system: ResourceSystem::R2Bucket, scope: None, name: bucket.into() }],
        };
        let (a, b) = (plan("d1", "vd-shared"), plan("d2", "vd-shared"));
        let err = check_disjoint([&a, &b]).unwrap_err();
        assert_eq!(err.code(), "shared_resource");
        assert_eq!(err.to_string(), "R2Bucket vd-shared would be shared by deployments d1 and d2");
        assert_eq!(check_disjoint([&a, &plan("d2", "vd-other")]), Ok(()));
    }
}
