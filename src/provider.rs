//! The provider proxy's decision (SPEC §7, §9): a tool's call to
//! `openai-proxy.{apex}` and the like, from its API key to the request
//! forwarded to the provider and the credits held for it.
//!
//! [`ProviderGate`] is sans-IO, in three steps with the caller's lookups
//! between them:
//!
//! 1. [`ProviderGate::key`]: the one API key presented, parsed (SPEC §6
//!    steps 1–3); look its record up by [`ApiKey::id`] only;
//! 2. [`ProviderGate::scope`]: the record checked; the [`KeyScope`] names
//!    the tenant every further lookup is keyed on;
//! 3. [`ProviderGate::forward`]: with the binding and connection the caller
//!    loaded **under that tenant**, the §7 checks in order, the credential
//!    opened (§8), the worst case priced (§9), and the request's headers
//!    turned into the provider's: every `x-vendo-*` header and nomination,
//!    every inbound credential (`authorization`, `proxy-authorization`,
//!    `x-api-key`, `api-key`) and `cookie` removed in every spelling, then
//!    the connection's credential injected as the adapter takes it.
//!
//! The caller then reserves [`ProviderForward::reserve`] against
//! [`ProviderForward::tenant_id`] (a store answers `insufficient_credits`,
//! 402), forwards, and settles with [`settle`]. Nothing about the tenant,
//! deployment or user reaches the provider.

use core::fmt;

use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::api_keys::{ApiKey, ApiKeyError, ApiKeyPepper, ApiKeyRecord, X_API_KEY, find_api_key};
use crate::credentials::MasterKeyRing;
use crate::credits::{
    MicroCredits, ModelName, ModelPrice, QuoteError, RateTable, Reservation, ReserveRequest, Settlement,
};
use crate::headers::{collision_key, strip};
use crate::ids::{DeploymentId, TenantId};
use crate::tenancy::{Binding, Connection, ConnectionDenied, KeyScope, Provider, check_connection_use};
use crate::time::Timestamp;

/// How a provider takes its credential (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Adapter {
    /// `authorization: Bearer {credential}`.
    OpenAi,
    /// `authorization: Bearer {credential}`.
    OpenRouter,
    /// `authorization: Bearer {credential}`.
    Notion,
    /// `x-api-key: {credential}`.
    Anthropic,
    /// In the path: `/bot{credential}` then the request's path and query.
    Telegram,
}

impl Adapter {
    /// Every adapter.
    pub const ALL: [Self; 5] = [Self::OpenAi, Self::OpenRouter, Self::Notion, Self::Anthropic, Self::Telegram];

    /// The provider name, as connections store it.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::OpenRouter => "openrouter",
            Self::Notion => "notion",
            Self::Anthropic => "anthropic",
            Self::Telegram => "telegram",
        }
    }

    /// The adapter for a provider name, if there is one.
    pub fn for_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the provider proxy refuses a call, with its status (SPEC §6–§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderDenial {
    /// The API key (401).
    #[error(transparent)]
    ApiKey(#[from] ApiKeyError),
    /// No binding or no connection for (tenant, deployment, provider) (403).
    #[error("no binding")]
    NoBinding,
    /// The loaded binding or connection is not the key's (403).
    #[error(transparent)]
    Connection(#[from] ConnectionDenied),
    /// The connection's sealed credential did not open (500).
    #[error("credential unreadable")]
    CredentialUnreadable,
    /// The call could not be priced: `unknown_model` (400).
    #[error(transparent)]
    Quote(#[from] QuoteError),
}

impl ProviderDenial {
    /// Stable machine-readable code (SPEC §6–§9).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::ApiKey(e) => e.code(),
            Self::NoBinding => "no_binding",
            Self::Connection(e) => e.code(),
            Self::CredentialUnreadable => "credential_unreadable",
            Self::Quote(e) => e.code(),
        }
    }

    /// The status to answer.
    pub const fn status(&self) -> StatusCode {
        match self {
            Self::ApiKey(_) => StatusCode::UNAUTHORIZED,
            Self::NoBinding | Self::Connection(_) => StatusCode::FORBIDDEN,
            Self::CredentialUnreadable => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Quote(QuoteError::UnknownModel) => StatusCode::BAD_REQUEST,
            Self::Quote(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the call asks for, as far as pricing goes (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCall {
    /// The model the request names.
    pub model: ModelName,
    /// The request body's length in bytes: no tokenizer makes more tokens.
    pub body_bytes: u64,
    /// The request's `max_tokens`; `None` takes the table's model maximum.
    pub max_tokens: Option<u64>,
}

/// What the caller loaded for (tenant, deployment, adapter provider),
/// keyed on the tenant of the key's scope.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    /// The binding found.
    pub binding: &'a Binding,
    /// The connection it names, as stored.
    pub connection: &'a Connection,
    /// The connection's sealed credential (SPEC §8).
    pub sealed: &'a str,
}

/// An admitted provider call: what to reserve, where to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderForward {
    tenant_id: TenantId,
    deployment_id: DeploymentId,
    reserve: MicroCredits,
    request: ReserveRequest,
    price: ModelPrice,
    target: String,
}

impl ProviderForward {
    /// The tenant to reserve against and debit: the key's.
    pub const fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The binding's deployment.
    pub const fn deployment_id(&self) -> &DeploymentId {
        &self.deployment_id
    }

    /// The worst case to hold before forwarding (SPEC §9).
    pub const fn reserve(&self) -> MicroCredits {
        self.reserve
    }

    /// The priced request, for [`TenantBalance::reserve`](crate::credits::TenantBalance::reserve).
    pub const fn reserve_request(&self) -> &ReserveRequest {
        &self.request
    }

    /// The price the hold was computed at, for [`settle`].
    pub const fn price(&self) -> ModelPrice {
        self.price
    }

    /// The path and query to request from the provider (Telegram's holds
    /// the credential; treat it as secret in logs).
    pub fn target(&self) -> &str {
        &self.target
    }
}

/// The provider proxy's configuration: the API-key pepper, the master keys
/// that open credentials, and the shared rate table.
#[derive(Debug, Clone)]
pub struct ProviderGate {
    pepper: ApiKeyPepper,
    masters: MasterKeyRing,
    rates: RateTable,
}

/// The inbound headers that carry a credential, compared by collision key.
const CREDENTIAL_HEADERS: [HeaderName; 5] =
    [AUTHORIZATION, PROXY_AUTHORIZATION, X_API_KEY, HeaderName::from_static("api-key"), COOKIE];

fn carries_credential(name: &HeaderName) -> bool {
    CREDENTIAL_HEADERS.iter().any(|c| collision_key(name.as_str().as_bytes()).eq(collision_key(c.as_str().as_bytes())))
}

impl ProviderGate {
    /// A gate over a pepper, master keys and rates.
    pub const fn new(pepper: ApiKeyPepper, masters: MasterKeyRing, rates: RateTable) -> Self {
        Self { pepper, masters, rates }
    }

    /// Step 1: the request's one API key (SPEC §6 steps 1–3), before any
    /// lookup. Look up its record by [`ApiKey::id`].
    pub fn key(&self, headers: &HeaderMap) -> Result<ApiKey, ProviderDenial> {
        Ok(find_api_key(headers)?)
    }

    /// Step 2: the key checked against the record found under its id (SPEC
    /// §6 steps 4–7). Load the binding and connection under the scope's
    /// tenant.
    pub fn scope(
        &self,
        key: &ApiKey,
        record: Option<&ApiKeyRecord>,
        now: Timestamp,
    ) -> Result<KeyScope, ProviderDenial> {
        Ok(self.pepper.verify(key, record, now)?)
    }

    /// Step 3 (SPEC §7 steps 2–5): checks what the caller loaded, opens
    /// the credential, prices the call, and rewrites `headers` for the
    /// provider. `target` is the request's path and query; `loaded` is
    /// `None` when either the binding or the connection was not found.
    ///
    /// On a denial, `headers` is left as it came: nothing is forwarded.
    pub fn forward(
        &self,
        adapter: Adapter,
        scope: &KeyScope,
        loaded: Option<Loaded<'_>>,
        call: &ProviderCall,
        target: &str,
        headers: &mut HeaderMap,
    ) -> Result<ProviderForward, ProviderDenial> {
        let Loaded { binding, connection, sealed } = loaded.ok_or(ProviderDenial::NoBinding)?;
        let provider: Provider = adapter.name().parse().map_err(|_| ProviderDenial::NoBinding)?;
        let granted = check_connection_use(scope, binding, connection, &provider)?;
        let credential = self.masters.open(&granted, sealed).map_err(|_| ProviderDenial::CredentialUnreadable)?;
        let price = self.rates.price(&provider, &call.model)?;
        let max_output = call.max_tokens.or(price.max_output()).ok_or(QuoteError::UnknownModel)?;
        let request = ReserveRequest::new(provider, call.model.clone(), call.body_bytes, max_output);
        let reserve = self.rates.quote(&request)?;
        let value = |text: &str| HeaderValue::from_str(text).map_err(|_| ProviderDenial::CredentialUnreadable);
        let (inject, target) = match adapter {
            Adapter::OpenAi | Adapter::OpenRouter | Adapter::Notion => {
                (Some((AUTHORIZATION, value(&format!("Bearer {}", credential.expose()))?)), target.to_owned())
            }
            Adapter::Anthropic => (Some((X_API_KEY, value(credential.expose())?)), target.to_owned()),
            Adapter::Telegram => (None, format!("/bot{}{target}", credential.expose())),
        };
        // SPEC §3 steps 1–2 (step 3's cookie goes with every `cookie`).
        let _report = strip(headers, "").into_report();
        let names: Vec<HeaderName> = headers.keys().filter(|n| carries_credential(n)).cloned().collect();
        for name in names {
            headers.remove(&name);
        }
        if let Some((name, mut value)) = inject {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Ok(ProviderForward {
            tenant_id: granted.tenant_id().clone(),
            deployment_id: binding.deployment_id().clone(),
            reserve,
            request,
            price,
            target,
        })
    }
}

/// How a forwarded call ended, for [`settle`] (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// The provider reported its usage.
    Usage {
        /// Input tokens billed.
        input_tokens: u64,
        /// Output tokens billed.
        output_tokens: u64,
    },
    /// The provider answered non-2xx.
    ProviderError,
    /// A 2xx whose usage never arrived (stream cut, malformed usage).
    UsageMissing,
}

/// Settles a reservation (SPEC §9): usage posts its cost at the hold's
/// price, capped at the hold ([`Settlement::overrun`] reports the excess);
/// a provider error voids it; a 2xx without usage posts it whole. A hold
/// that expired before `now` settles as expired, whatever the outcome.
pub fn settle(reservation: Reservation, price: ModelPrice, outcome: CallOutcome, now: Timestamp) -> Settlement {
    match outcome {
        CallOutcome::Usage { input_tokens, output_tokens } => {
            // A cost past the largest amount is past any hold: it caps.
            let cost = price.cost(input_tokens, output_tokens).unwrap_or(MicroCredits::MAX);
            reservation.post(cost, now)
        }
        CallOutcome::ProviderError => reservation.void(now),
        CallOutcome::UsageMissing => {
            let whole = reservation.amount();
            reservation.post(whole, now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credits::{RateTableVersion, TenantBalance};

    #[test]
    fn a_cost_past_the_largest_amount_caps_at_the_hold() {
        let price = ModelPrice::per_million_tokens(MicroCredits::MAX, MicroCredits::MAX);
        assert!(price.cost(u64::MAX, 1).is_err());
        let mut rates = RateTable::builder(RateTableVersion::new(1));
        rates.insert("openai".parse().unwrap(), "m".parse().unwrap(), price).unwrap();
        let rates = rates.build();
        let mut balance = TenantBalance::new("t_1".parse().unwrap());
        balance.top_up(MicroCredits::MAX).unwrap();
        let request = ReserveRequest::new("openai".parse().unwrap(), "m".parse().unwrap(), 1, 0);
        let now = Timestamp::from_unix_seconds(1).unwrap();
        let hold = balance.reserve("r_1".parse().unwrap(), &rates, &request, now, 60).unwrap();
        let amount = hold.amount();
        let s = settle(hold, price, CallOutcome::Usage { input_tokens: u64::MAX, output_tokens: 1 }, now);
        assert_eq!(s.debit(), amount);
        assert!(s.overrun().is_some());
    }
}
