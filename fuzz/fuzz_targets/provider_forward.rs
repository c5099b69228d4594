//! The provider proxy's whole decision (SPEC §6, §7, §9): key
//! presentations right and wrong, records of every state, bindings,
//! connections and sealed values of this tenant and others, tampered
//! seals, every adapter, priced and unpriced models, and hostile headers.
//! The outcome equals the SPEC order computed from the case; a forwarded
//! call is the key's tenant's own and carries no inbound credential and
//! nothing of the namespace; a denied one changes nothing.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation_fuzz::provider_props::{ProviderCase, RecordSpec, SealSpec, check, key_text};

/// How the key is presented; the first variant is the ordinary request.
#[derive(Debug, Arbitrary)]
enum Presentation {
    Bearer,
    XApiKey,
    Both,
    Twice,
    None,
    /// `Authorization` with this scheme text before the key.
    Scheme(String),
    /// The key with one byte replaced.
    Typo {
        at: u8,
        byte: u8,
    },
    /// Any value at all, in `Authorization` or `x-api-key`.
    Raw {
        authorization: bool,
        value: Vec<u8>,
    },
}

/// Names a hostile or careless tool sends; raw bytes otherwise.
const NAMES: [&str; 16] = [
    "x-vendo-user-id",
    "X_Vendo_Tenant_Id",
    "x.vendo.deployment.id",
    "connection",
    "cookie",
    "proxy-authorization",
    "Proxy_Authorization",
    "api-key",
    "api_key",
    "x_api_key",
    "X.API.KEY",
    "content-type",
    "accept",
    "openai-organization",
    "x-request-id",
    "AUTHORIZATION",
];

#[derive(Debug, Arbitrary)]
struct Extra {
    name: u8,
    raw_name: Vec<u8>,
    value: Vec<u8>,
    key_in_value: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    presentation: Presentation,
    extras: Vec<Extra>,
    record: Option<(u8, Option<u8>, bool, Option<i8>, Option<i8>)>,
    now_offset: i8,
    adapter: u8,
    binding: Option<(u8, u8, u8)>,
    connection: Option<(u8, u8, u8)>,
    seal: Option<(u8, u8, u8, u8, [u8; 12], Option<(u16, u8)>)>,
    raw_seal: String,
    model: u8,
    body_bytes: u64,
    max_tokens: Option<u64>,
    small: bool,
    target: u8,
}

const BASE: u64 = 1_700_000_000;
const TARGETS: [&str; 3] = ["/v1/chat/completions", "/sendMessage?chat_id=1", "/"];

fuzz_target!(|input: Input| {
    let key = key_text();
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let bearer = |k: &str| (b"authorization".to_vec(), format!("Bearer {k}").into_bytes());
    match input.presentation {
        Presentation::Bearer => fields.push(bearer(&key)),
        Presentation::XApiKey => fields.push((b"x-api-key".to_vec(), key.clone().into_bytes())),
        Presentation::Both => {
            fields.push(bearer(&key));
            fields.push((b"x-api-key".to_vec(), key.clone().into_bytes()));
        }
        Presentation::Twice => {
            fields.push(bearer(&key));
            fields.push(bearer(&key));
        }
        Presentation::None => {}
        Presentation::Scheme(scheme) => fields.push((b"authorization".to_vec(), format!("{scheme}{key}").into_bytes())),
        Presentation::Typo { at, byte } => {
            let mut text = key.clone().into_bytes();
            let at = usize::from(at) % text.len();
            text[at] = byte;
            fields.push((b"authorization".to_vec(), [b"Bearer ".as_slice(), &text].concat()));
        }
        Presentation::Raw { authorization, value } => {
            let name = if authorization { "authorization" } else { "x-api-key" };
            fields.push((name.as_bytes().to_vec(), value));
        }
    }
    for extra in input.extras.iter().take(24) {
        let name = NAMES.get(usize::from(extra.name)).map_or(extra.raw_name.clone(), |n| n.as_bytes().to_vec());
        let value =
            if extra.key_in_value { [extra.value.as_slice(), key.as_bytes()].concat() } else { extra.value.clone() };
        fields.push((name, value));
    }
    let at = |o: i8| BASE.saturating_add_signed(i64::from(o));
    let sealed = match input.seal {
        Some((tenant, connection, provider, kid, nonce, flip)) => {
            SealSpec::For { tenant, connection, provider, kid, nonce, flip }
        }
        None => SealSpec::Raw(input.raw_seal),
    };
    let (body_bytes, max_tokens) = if input.small {
        (input.body_bytes % 100_000, input.max_tokens.map(|m| m % 100_000))
    } else {
        (input.body_bytes, input.max_tokens)
    };
    check(&ProviderCase {
        fields,
        record: input.record.map(|(tenant, deployment, right_verifier, revoked, expires)| RecordSpec {
            tenant,
            deployment,
            right_verifier,
            revoked_at: revoked.map(at),
            expires_at: expires.map(at),
        }),
        now: at(input.now_offset),
        adapter: input.adapter,
        binding: input.binding,
        connection: input.connection,
        sealed,
        model: input.model,
        body_bytes,
        max_tokens,
        target: TARGETS[usize::from(input.target) % TARGETS.len()].to_owned(),
    });
});
