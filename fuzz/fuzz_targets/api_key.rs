//! `vk1_` API key parsing (SPEC §6) agrees with a reference written here
//! from the SPEC's text (bitwise base32 and CRC-32, not the crate's
//! libraries), and minting round-trips.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation::api_keys::ApiKey;

#[derive(Debug, Arbitrary)]
enum Input {
    Text(String),
    /// A well-formed body with one byte replaced, to reach the checksum.
    Near {
        random: [u8; 42],
        at: u8,
        byte: u8,
    },
    Mint([u8; 42]),
}

/// CRC-32 (IEEE, reflected, as zlib.crc32), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// SPEC §6: "vk1_", 74 characters of lowercase RFC 4648 base32 whose 2
/// unused trailing bits are zero, decoding to 46 bytes whose last 4 are
/// the big-endian CRC-32 of the first 42.
fn reference(text: &str) -> Option<Vec<u8>> {
    let body = text.strip_prefix("vk1_")?;
    if body.len() != 74 {
        return None;
    }
    let (mut acc, mut bits, mut out) = (0u64, 0u32, Vec::new());
    for c in body.bytes() {
        let v = match c {
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits != 2 || acc != 0 || out.len() != 46 {
        return None;
    }
    (crc32(&out[..42]).to_be_bytes() == out[42..]).then_some(out)
}

fn check(text: &str) {
    let parsed = ApiKey::parse(text);
    let expected = reference(text);
    assert_eq!(parsed.is_ok(), expected.is_some(), "{text:?}");
    if let Ok(key) = parsed {
        assert_eq!(key.expose().as_str(), text);
        assert_eq!(key.id().as_str(), &text[4..20]);
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Text(text) => check(&text),
        Input::Near { random, at, byte } => {
            let key = ApiKey::mint(&random);
            let mut text = key.expose().as_bytes().to_vec();
            let at = 4 + usize::from(at) % 74;
            text[at] = byte;
            if let Ok(text) = String::from_utf8(text) {
                check(&text);
            }
        }
        Input::Mint(random) => {
            let key = ApiKey::mint(&random);
            check(&key.expose());
        }
    }
});
