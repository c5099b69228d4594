#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod assign;
mod attestation;
mod authority;
mod cookies;
mod credits;
mod headers;
mod hosts;
mod identity;
mod ids;
mod ledger;
mod proxy;
mod resources;
mod routing;
mod schema;
mod session;
mod tenancy;
mod timestamp;
mod wire;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use assign::{AssignError, LabelHolder, LegacyUse, RouteChange, RouteOp};
pub use attestation::{
    AttestationError, AttestationKeyError, AttestationSecret, AttestationSigner, AttestationVerifier, AttestedIdentity,
    DEPLOYMENT_KEY_LEN, DeploymentKey, MAX_ATTESTATION_KID_LEN, MAX_VERIFIER_KEYS, MIN_ATTESTATION_SECRET_LEN,
    RequestTarget, TargetError,
};
pub use authority::{AuthorityError, authority_of, request_authority};
pub use cookies::{CookiePair, SessionCookieError, cookie_pairs, find_session_cookie};
pub use credits::{
    ApplySettlementError, BalanceError, MAX_MODEL_NAME_LEN, MicroCredits, ModelName, ModelPrice, QuoteError, RateTable,
    RateTableBuilder, RateTableError, RateTableVersion, Reservation, ReservationId, ReserveError, ReserveRequest,
    Settlement, SettlementKind, TOKENS_PER_PRICE_UNIT, TenantBalance, TopUpId,
};
pub use headers::{
    ATTESTATION_HEADER, CookieRemoval, CrossSiteRequest, DEPLOYMENT_ID_HEADER, IDENTITY_HEADERS, InjectError,
    InjectFailure, MANAGED_PREFIX, MAX_INJECTED_VALUE_LEN, RemovedCookie, ResponseReport, ResponseVerdict,
    SEC_FETCH_DEST, SEC_FETCH_MODE, SEC_FETCH_SITE, SET_COOKIE2, StripReport, Stripped, TENANT_ID_HEADER,
    USER_EMAIL_HEADER, USER_ID_HEADER, check_request_site, collision_key, filter_response, is_managed_name,
    response_header_verdict, strip, strip_request,
};
pub use hosts::{
    DEFAULT_APEX, DEFAULT_RESERVED, HostError, HostForm, HostFormatError, HostPolicy, HostPolicyError, MAX_LABEL_LEN,
    MAX_NAME_LEN, RouteEntry, RouteKey, RouteMismatch,
};
pub use identity::Identity;
pub use ids::{
    BindingId, ConnectionId, DeploymentId, DeploymentSlug, Email, IdError, MAX_EMAIL_LEN, MAX_ID_LEN, MAX_SLUG_LEN,
    MIN_EMAIL_LEN, TenantId, TenantSlug, UserId,
};
pub use ledger::{Ledger, LedgerInvariantError, ReservationStatus, Reserved, ResolveError, TopUp, TopUpError};
pub use proxy::{Admitted, Denial, DenyReason, Gate, ReissueError, Reissued};
pub use resources::{
    ComputeProvider, MAX_PLANNABLE_DEPLOYMENT_ID_LEN, Manifest, PlanConflict, PlanError, PlannedResource,
    REDIS_SERVICE_NAME, RESOURCE_NAME_PREFIX, ResourceKind, ResourcePlan, ResourceSystem, check_disjoint,
    deployment_id_from_resource_name, resource_name,
};
pub use routing::{InvalidUpstream, Route, RoutingError, RoutingTable, Upstream};
pub use schema::{
    POSTGRES_SCHEMA, SCHEMA_MESSAGE_PREFIX, SQLSTATE_BOUND_ROW, SQLSTATE_CROSS_TENANT_BINDING, postgres_refusal_code,
};
pub use session::{
    ClaimsError, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_LIFETIME_SECS, KeyError, KeyRing, KeyRingError, MAX_CLAIMS_LEN,
    MAX_KID_LEN, MAX_RING_KEYS, MAX_TOKEN_LEN, MIN_KEY_LEN, ReissueReason, SESSION_COOKIE_NAME, SessionClaims,
    SessionCookieName, SessionKey, SessionRequestError, SetCookieError, VerifiedSession, VerifyError, VerifyOptions,
    mint_session, session_clear_cookie, session_set_cookie, verify_session, verify_session_cookie,
};
pub use tenancy::{
    Binding, Connection, ConnectionDenied, CrossTenantBinding, Deployment, GrantedConnection, KeyScope, Provider,
    ResolveConnectionError, TenancyModel, TenantLookup, WriteRefused, check_connection_use, resolve_connection,
};
pub use timestamp::{MAX_UNIX_SECONDS, Timestamp, TimestampError};
