//! Deployment API keys (SPEC §6): the presentation rules as a hostile
//! table naming the attack each row stops, the verification order, and
//! the format's properties.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use vendo_isolation::Timestamp;
use vendo_isolation::api_keys::{
    API_KEY_LEN, ApiKey, ApiKeyError, ApiKeyPepper, ApiKeyRecord, ApiKeyVerifier, find_api_key,
};

fn key(seed: u8) -> ApiKey {
    ApiKey::mint(&[seed; 42])
}

fn headers(rows: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in rows {
        h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

#[test]
fn presentations_that_are_refused_and_the_attack_each_row_stops() {
    let k = key(1).expose();
    let k = k.as_str();
    let other = key(2).expose();
    let bearer = format!("Bearer {k}");
    let upper_body = format!("vk1_{}", k[4..].to_ascii_uppercase());
    let mut typo = k.to_owned().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let long = format!("{k}a");
    let short = &k[..API_KEY_LEN - 1];
    let other_bearer = format!("Bearer {}", other.as_str());
    let future = k.replacen("vk1_", "vk2_", 1);
    type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, ApiKeyError);
    let rows: Vec<Row<'_>> = vec![
        ("a request with no key reaches no lookup", vec![], ApiKeyError::NoApiKey),
        (
            "two keys: which one was meant is ambiguous",
            vec![("authorization", &bearer), ("x-api-key", &other)],
            ApiKeyError::DuplicateApiKey,
        ),
        (
            "the same key twice is still two presentations",
            vec![("x-api-key", k), ("x-api-key", k)],
            ApiKeyError::DuplicateApiKey,
        ),
        (
            "a second Authorization smuggled beside the first",
            vec![("authorization", &bearer), ("authorization", &other_bearer)],
            ApiKeyError::DuplicateApiKey,
        ),
        (
            "Basic credentials are not a key",
            vec![("authorization", "Basic dXNlcjpwYXNz")],
            ApiKeyError::MalformedApiKey,
        ),
        ("a bare key in Authorization, no scheme", vec![("authorization", k)], ApiKeyError::MalformedApiKey),
        ("Bearer without a space", vec![("authorization", "Bearer")], ApiKeyError::MalformedApiKey),
        (
            "another provider's key format",
            vec![("x-api-key", "sk-proj-abcdefghijklmnopqrstuvwxyz")],
            ApiKeyError::MalformedApiKey,
        ),
        ("a typo caught offline by the checksum", vec![("x-api-key", &typo)], ApiKeyError::MalformedApiKey),
        ("upper case is not the canonical alphabet", vec![("x-api-key", &upper_body)], ApiKeyError::MalformedApiKey),
        ("a truncated key", vec![("x-api-key", short)], ApiKeyError::MalformedApiKey),
        ("a key with a byte appended", vec![("x-api-key", &long)], ApiKeyError::MalformedApiKey),
        ("a future format version", vec![("x-api-key", &future)], ApiKeyError::MalformedApiKey),
    ];
    for (attack, rows, expected) in rows {
        assert_eq!(find_api_key(&headers(&rows)).unwrap_err(), expected, "{attack}");
    }
}

#[test]
fn presentations_that_are_accepted() {
    let k = key(3);
    let text = k.expose();
    for rows in [
        vec![("authorization", format!("Bearer {}", text.as_str()))],
        vec![("authorization", format!("bEaReR \t{} \t", text.as_str()))],
        vec![("x-api-key", format!(" {}\t", text.as_str()))],
    ] {
        let rows: Vec<(&str, &str)> = rows.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(find_api_key(&headers(&rows)).unwrap().id(), k.id(), "{rows:?}");
    }
}

#[test]
fn verification_reports_the_first_failure_in_spec_order() {
    let pepper = ApiKeyPepper::new(&[5; 32]).unwrap();
    let k = key(4);
    let good = ApiKeyRecord::new("t_1".parse().unwrap(), Some("d_1".parse().unwrap()), pepper.verifier(&k));
    let now = at(1_000);
    let with = |revoked: Option<u64>, expires: Option<u64>| ApiKeyRecord {
        revoked_at: revoked.map(at),
        expires_at: expires.map(at),
        ..good.clone()
    };
    let other_key = ApiKeyRecord { verifier: pepper.verifier(&key(5)), ..good.clone() };
    let cases: Vec<(Option<ApiKeyRecord>, Result<(), ApiKeyError>)> = vec![
        (Some(good.clone()), Ok(())),
        (None, Err(ApiKeyError::UnknownApiKey)),
        // Another key's record (a lookup that returned the wrong row).
        (Some(other_key.clone()), Err(ApiKeyError::BadApiKey)),
        // A wrong secret is reported before revocation and expiry.
        (Some(ApiKeyRecord { revoked_at: Some(at(1)), ..other_key }), Err(ApiKeyError::BadApiKey)),
        (Some(with(Some(1_000), None)), Err(ApiKeyError::RevokedApiKey)),
        (Some(with(Some(1_001), None)), Ok(())),
        (Some(with(None, Some(1_000))), Err(ApiKeyError::ExpiredApiKey)),
        (Some(with(None, Some(1_001))), Ok(())),
        (Some(with(Some(10), Some(10))), Err(ApiKeyError::RevokedApiKey)),
    ];
    for (record, expected) in cases {
        let got = pepper.verify(&k, record.as_ref(), now).map(|_| ());
        assert_eq!(got, expected, "{record:?}");
    }
    // A leaked table without the pepper verifies nothing.
    let other_pepper = ApiKeyPepper::new(&[6; 32]).unwrap();
    assert_eq!(other_pepper.verify(&k, Some(&good), now).unwrap_err(), ApiKeyError::BadApiKey);
    let scope = pepper.verify(&k, Some(&good), now).unwrap();
    assert_eq!((scope.tenant_id().as_str(), scope.deployment_id().map(|d| d.as_str())), ("t_1", Some("d_1")));
    let tenant_wide = ApiKeyRecord { deployment_id: None, ..good };
    assert_eq!(pepper.verify(&k, Some(&tenant_wide), now).unwrap().deployment_id(), None);
    assert!(ApiKeyPepper::new(&[1; 31]).is_err());
    for e in [ApiKeyError::NoApiKey, ApiKeyError::BadApiKey, ApiKeyError::ExpiredApiKey] {
        assert_eq!(e.status(), http::StatusCode::UNAUTHORIZED);
    }
    assert_eq!(ApiKeyVerifier::from_bytes(*pepper.verifier(&k).as_bytes()), pepper.verifier(&k));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A minted key survives its text form, and its id is the first 16
    /// characters of the body.
    #[test]
    fn minted_keys_round_trip(random in proptest::array::uniform32(any::<u8>()), tail in proptest::array::uniform10(any::<u8>())) {
        let mut r = [0u8; 42];
        r[..32].copy_from_slice(&random);
        r[32..].copy_from_slice(&tail);
        let k = ApiKey::mint(&r);
        let text = k.expose();
        prop_assert_eq!(text.len(), API_KEY_LEN);
        prop_assert!(text[4..].bytes().all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
        let parsed = ApiKey::parse(&text).unwrap();
        prop_assert_eq!(parsed.id(), k.id());
        prop_assert_eq!(k.id().as_str(), &text[4..20]);
        let again = parsed.expose();
        prop_assert_eq!(again.as_str(), text.as_str());
    }

    /// Every single-character change to a key is refused offline: the
    /// checksum (or the canonical-bits rule) catches it.
    #[test]
    fn any_one_character_changed_is_malformed(seed in any::<u8>(), at in 4usize..API_KEY_LEN, c in proptest::sample::select(b"abcdefghijklmnopqrstuvwxyz234567".to_vec())) {
        let text = key(seed).expose();
        let mut bytes = text.as_bytes().to_vec();
        prop_assume!(bytes[at] != c);
        bytes[at] = c;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(ApiKey::parse(&changed).unwrap_err(), ApiKeyError::MalformedApiKey);
    }

    /// Arbitrary text never panics and is almost never a key.
    #[test]
    fn arbitrary_text_is_refused(s in "\\PC{0,100}", body in "[a-z2-7]{74}") {
        let _ = ApiKey::parse(&s);
        // A random body passes the checksum with probability 2^-32.
        let candidate = format!("vk1_{body}");
        prop_assert!(ApiKey::parse(&candidate).is_err());
    }

    /// Only the holder of the key verifies against its record.
    #[test]
    fn another_key_never_verifies(a in any::<u8>(), b in any::<u8>()) {
        prop_assume!(a != b);
        let pepper = ApiKeyPepper::new(&[9; 32]).unwrap();
        let record = ApiKeyRecord::new("t_1".parse().unwrap(), None, pepper.verifier(&key(a)));
        prop_assert_eq!(pepper.verify(&key(b), Some(&record), at(1)).unwrap_err(), ApiKeyError::BadApiKey);
    }
}

/// The key id is what logs, alerts and the store's primary key carry: its
/// text forms must be exactly the id, and comparing it to text must mean
/// equality of that text (a lookup keyed on a wrong rendering would find
/// another key's record or none).
#[test]
fn the_key_id_renders_and_compares_as_its_text() {
    let k = key(1);
    let id = k.id();
    let text = id.as_str().to_owned();
    assert_eq!(text.len(), 16);
    assert_eq!(id.to_string(), text);
    assert_eq!(format!("{id}"), text);
    assert!(*id == *text.as_str());
    assert!(*id == text.as_str());
    let other = key(2);
    assert!(*other.id() != text.as_str());
    assert!(*other.id() != *text.as_str());
}

/// A verifier is stored, not secret, but its `Debug` is what an operator
/// compares against the store's column: it must be the whole hex digest.
#[test]
fn a_verifiers_debug_is_its_whole_hex_digest() {
    let v = ApiKeyVerifier::from_bytes([0xab; 32]);
    assert_eq!(format!("{v:?}"), format!("ApiKeyVerifier({})", "ab".repeat(32)));
    let mut bytes = [0u8; 32];
    bytes[31] = 1;
    assert_eq!(format!("{:?}", ApiKeyVerifier::from_bytes(bytes)), format!("ApiKeyVerifier({}01)", "00".repeat(31)));
}
