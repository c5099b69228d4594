//! Sealed connection credentials (SPEC §8): the worked example, a hostile
//! table of rows copied or looked up wrongly (the attack each stops),
//! rotation, and properties.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use proptest::prelude::*;
use vendo_isolation::credentials::{
    Credential, CredentialKeyError, CredentialUnreadable, MAX_MASTER_KEYS, MasterKey, MasterKeyRing,
};
use vendo_isolation::tenancy::{Binding, Connection, Deployment, KeyScope, check_connection_use};

fn seq(n: usize) -> Vec<u8> {
    (0..n).map(|i| i as u8).collect()
}

fn conn(tenant: &str, id: &str, provider: &str) -> Connection {
    Connection::new(id.parse().unwrap(), tenant.parse().unwrap(), provider.parse().unwrap())
}

/// Opens `sealed` for `connection` the only way the crate allows: through
/// the grant the proxy's checks give.
fn open(ring: &MasterKeyRing, connection: &Connection, sealed: &str) -> Result<String, CredentialUnreadable> {
    let deployment = Deployment::new("d_1".parse().unwrap(), connection.tenant_id().clone());
    let binding = Binding::new("b_1".parse().unwrap(), &deployment, connection).unwrap();
    let scope = KeyScope::deployment(connection.tenant_id().clone(), "d_1".parse().unwrap());
    let granted = check_connection_use(&scope, &binding, connection, connection.provider()).unwrap();
    ring.open(&granted, sealed).map(|c| c.expose().to_owned())
}

fn spec_ring() -> MasterKeyRing {
    MasterKeyRing::new(MasterKey::new("m1", &seq(32)).unwrap())
}

#[test]
fn the_spec_worked_example() {
    let ring = spec_ring();
    let c = conn("t_1", "c_1", "openai");
    let sealed = ring.seal(&c, &[0; 12], &Credential::new("sk-test-123").unwrap());
    assert_eq!(sealed, "v1.m1.AAAAAAAAAAAAAAAAxnIdISdINLwSPesCSUi6aoqVymdRKvzWsqIj");
    assert_eq!(open(&ring, &c, &sealed).unwrap(), "sk-test-123");
    assert_eq!(open(&ring, &conn("t_2", "c_1", "openai"), &sealed), Err(CredentialUnreadable));
}

#[test]
fn rows_that_must_not_open_and_the_attack_each_stops() {
    let ring = spec_ring();
    let mine = conn("t_1", "c_1", "openai");
    let sealed = ring.seal(&mine, &[7; 12], &Credential::new("sk-live-acme").unwrap());
    let other_master = MasterKeyRing::new(MasterKey::new("m1", &[9; 32]).unwrap());
    let mut flipped = sealed.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let rows: Vec<(&str, &MasterKeyRing, Connection, String)> = vec![
        ("copied onto another tenant's connection of the same id", &ring, conn("t_2", "c_1", "openai"), sealed.clone()),
        ("copied onto another connection of the same tenant", &ring, conn("t_1", "c_2", "openai"), sealed.clone()),
        (
            "a lookup that returned the same connection id for another provider",
            &ring,
            conn("t_1", "c_1", "anthropic"),
            sealed.clone(),
        ),
        ("a database restored under another master key", &other_master, mine.clone(), sealed.clone()),
        ("a ciphertext or tag altered in the store", &ring, mine.clone(), flipped),
        ("a kid swapped to another key of the ring", &ring, mine.clone(), sealed.replacen("v1.m1.", "v1.m2.", 1)),
        ("a kid that is not a kid", &ring, mine.clone(), sealed.replacen("v1.m1.", "v1.m 1.", 1)),
        ("another format version", &ring, mine.clone(), sealed.replacen("v1.", "v2.", 1)),
        ("a truncated value", &ring, mine.clone(), sealed[..sealed.len() - 4].to_owned()),
        ("padding, which canonical base64url refuses", &ring, mine.clone(), format!("{sealed}==")),
        ("no body", &ring, mine.clone(), "v1.m1.".to_owned()),
        ("an empty string", &ring, mine.clone(), String::new()),
        ("a nonce and tag only", &ring, mine.clone(), "v1.m1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
    ];
    for (attack, ring, connection, value) in rows {
        assert_eq!(open(ring, &connection, &value), Err(CredentialUnreadable), "{attack}");
    }
    assert_eq!(open(&ring, &mine, &sealed).unwrap(), "sk-live-acme");
    assert_eq!(CredentialUnreadable.code(), "credential_unreadable");
}

#[test]
fn rotation_seals_with_the_primary_and_opens_with_any() {
    let c = conn("t_1", "c_1", "openai");
    let old = MasterKeyRing::new(MasterKey::new("m2025", &[1; 32]).unwrap());
    let sealed_old = old.seal(&c, &[1; 12], &Credential::new("old-token").unwrap());
    let mut ring = MasterKeyRing::new(MasterKey::new("m2026", &[2; 32]).unwrap());
    ring.add_open_only(MasterKey::new("m2025", &[1; 32]).unwrap()).unwrap();
    assert_eq!(open(&ring, &c, &sealed_old).unwrap(), "old-token");
    let sealed_new = ring.seal(&c, &[2; 12], &Credential::new("new-token").unwrap());
    assert!(sealed_new.starts_with("v1.m2026."));
    assert_eq!(open(&old, &c, &sealed_new), Err(CredentialUnreadable));
    assert_eq!(ring.add_open_only(MasterKey::new("m2025", &[3; 32]).unwrap()), Err(CredentialKeyError::DuplicateKid));
    for i in 0..MAX_MASTER_KEYS - 2 {
        ring.add_open_only(MasterKey::new(&format!("k{i}"), &[4; 32]).unwrap()).unwrap();
    }
    assert_eq!(ring.add_open_only(MasterKey::new("one-more", &[5; 32]).unwrap()), Err(CredentialKeyError::TooManyKeys));
}

#[test]
fn keys_and_credentials_are_checked_and_never_print() {
    assert_eq!(MasterKey::new("m1", &[0; 31]).unwrap_err(), CredentialKeyError::ShortKey);
    assert_eq!(MasterKey::new("m 1", &[0; 32]).unwrap_err(), CredentialKeyError::InvalidKid);
    assert_eq!(MasterKey::new(&"k".repeat(33), &[0; 32]).unwrap_err(), CredentialKeyError::InvalidKid);
    for bad in ["", "has space", "tab\there", "é", &"x".repeat(4097)] {
        assert_eq!(Credential::new(bad).unwrap_err(), CredentialKeyError::InvalidCredential, "{bad:?}");
    }
    assert!(Credential::new(&"x".repeat(4096)).is_ok());
    let secret = Credential::new("sk-very-secret").unwrap();
    assert_eq!(format!("{secret:?}"), "Credential(<redacted>)");
    let key = MasterKey::new("m1", &[0xee; 32]).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("m1") && debug.contains("redacted") && !debug.contains("ee, ee"), "{debug}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any credential round-trips for its own connection, and for no other.
    #[test]
    fn a_credential_opens_only_for_its_connection(
        credential in "[!-~]{1,200}",
        nonce in proptest::array::uniform12(any::<u8>()),
        tenant in proptest::sample::select(vec!["t_1", "t_2"]),
        id in proptest::sample::select(vec!["c_1", "c_2"]),
        provider in proptest::sample::select(vec!["openai", "anthropic"]),
    ) {
        let ring = spec_ring();
        let c = conn(tenant, id, provider);
        let sealed = ring.seal(&c, &nonce, &Credential::new(&credential).unwrap());
        prop_assert_eq!(open(&ring, &c, &sealed).unwrap(), credential);
        for t in ["t_1", "t_2"] {
            for i in ["c_1", "c_2"] {
                for p in ["openai", "anthropic"] {
                    if (t, i, p) != (tenant, id, provider) {
                        prop_assert_eq!(open(&ring, &conn(t, i, p), &sealed), Err(CredentialUnreadable));
                    }
                }
            }
        }
    }

    /// Any one character of a sealed value changed, and it does not open.
    #[test]
    fn any_altered_character_is_unreadable(at in 6usize..60, c in proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".to_vec())) {
        let ring = spec_ring();
        let mine = conn("t_1", "c_1", "openai");
        let sealed = ring.seal(&mine, &[3; 12], &Credential::new("sk-0123456789abcdef").unwrap());
        let mut bytes = sealed.clone().into_bytes();
        prop_assume!(at < bytes.len() && bytes[at] != c);
        bytes[at] = c;
        prop_assert_eq!(open(&ring, &mine, &String::from_utf8(bytes).unwrap()), Err(CredentialUnreadable));
    }

    /// Arbitrary text never panics and never opens.
    #[test]
    fn arbitrary_text_never_opens(s in "\\PC{0,120}", body in "[A-Za-z0-9_-]{40,80}") {
        let ring = spec_ring();
        let mine = conn("t_1", "c_1", "openai");
        prop_assert!(open(&ring, &mine, &s).is_err());
        let candidate = format!("v1.m1.{body}");
        prop_assert!(open(&ring, &mine, &candidate).is_err());
    }
}

/// The longest credential the crate accepts must also open: the limit on
/// a sealed value's length is derived from it and must not refuse a seal
/// the crate itself made.
#[test]
fn the_longest_credential_seals_and_opens() {
    let ring = spec_ring();
    let c = conn("t_1", "c_1", "openai");
    for len in [vendo_isolation::credentials::MAX_CREDENTIAL_LEN - 1, vendo_isolation::credentials::MAX_CREDENTIAL_LEN]
    {
        let secret: String = (0..len).map(|i| char::from(b'!' + (i % 90) as u8)).collect();
        let sealed = ring.seal(&c, &[3; 12], &Credential::new(&secret).unwrap());
        assert_eq!(open(&ring, &c, &sealed).unwrap(), secret, "{len} bytes");
        // One character more than any seal can have is refused unread.
        let longer = format!("{sealed}A");
        assert_eq!(open(&ring, &c, &longer), Err(CredentialUnreadable));
    }
    assert!(Credential::new(&"a".repeat(vendo_isolation::credentials::MAX_CREDENTIAL_LEN + 1)).is_err());
}
