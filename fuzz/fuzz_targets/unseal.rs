//! Sealed credentials (SPEC §8): arbitrary text and sealed values with
//! bytes flipped, truncated or extended never open; an untouched seal
//! opens only for its own tenant, connection and provider.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation::credentials::{Credential, MasterKey, MasterKeyRing};
use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};

#[derive(Debug, Arbitrary)]
enum Input {
    Text(String),
    Flipped { nonce: [u8; 12], credential: u8, at: u16, xor: u8 },
    Cut { nonce: [u8; 12], keep: u8, tail: String },
    Other { nonce: [u8; 12], tenant: bool, connection: bool, provider: bool },
}

fn ring() -> MasterKeyRing {
    MasterKeyRing::new(MasterKey::new("m1", &[7; 32]).unwrap())
}

fn conn(tenant: &str, id: &str, provider: &str) -> Connection {
    Connection::new(id.parse().unwrap(), tenant.parse().unwrap(), provider.parse().unwrap())
}

fn opens(connection: &Connection, sealed: &str) -> Option<String> {
    let deployment = Deployment::new("d_1".parse().unwrap(), connection.tenant_id().clone());
    let binding = Binding::new("b_1".parse().unwrap(), &deployment, connection).unwrap();
    let scope = KeyScope::tenant(connection.tenant_id().clone());
    let granted = check_connection_use(&scope, &binding, connection, connection.provider()).unwrap();
    ring().open(&granted, sealed).ok().map(|c| c.expose().to_owned())
}

fuzz_target!(|input: Input| {
    let mine = conn("t_1", "c_1", "openai");
    let seal = |nonce: &[u8; 12], n: u8| {
        let credential = format!("sk-{}", "x".repeat(usize::from(n % 64)));
        (ring().seal(&mine, nonce, &Credential::new(&credential).unwrap()), credential)
    };
    match input {
        Input::Text(text) => assert!(opens(&mine, &text).is_none(), "{text:?}"),
        Input::Flipped { nonce, credential, at, xor } => {
            let (sealed, clear) = seal(&nonce, credential);
            assert_eq!(opens(&mine, &sealed).as_deref(), Some(clear.as_str()));
            let mut bytes = sealed.clone().into_bytes();
            let at = usize::from(at) % bytes.len();
            bytes[at] ^= xor;
            if xor != 0 {
                if let Ok(changed) = String::from_utf8(bytes) {
                    assert!(opens(&mine, &changed).is_none(), "{changed:?}");
                }
            }
        }
        Input::Cut { nonce, keep, tail } => {
            let (sealed, _) = seal(&nonce, 8);
            let keep = usize::from(keep) % sealed.len();
            assert!(opens(&mine, &sealed[..keep]).is_none());
            if !tail.is_empty() {
                assert!(opens(&mine, &format!("{sealed}{tail}")).is_none());
            }
        }
        Input::Other { nonce, tenant, connection, provider } => {
            let (sealed, _) = seal(&nonce, 3);
            if tenant || connection || provider {
                let other = conn(
                    if tenant { "t_2" } else { "t_1" },
                    if connection { "c_2" } else { "c_1" },
                    if provider { "anthropic" } else { "openai" },
                );
                assert!(opens(&other, &sealed).is_none());
            }
        }
    }
});
