//! SPEC §3 step 3's cookie splitting, against a reference written from the
//! SPEC's words with the standard library's byte-at-a-time tools.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use proptest::prelude::*;
use vendo_isolation::headers::cookie_pairs;

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
    &s[start..end]
}

type Pair = (Vec<u8>, Option<Vec<u8>>, Vec<u8>);

fn reference(value: &[u8]) -> Vec<Pair> {
    value
        .split(|b| *b == b';')
        .map(trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|b| *b == b'=') {
            Some(i) => (trim(&p[..i]).to_vec(), Some(trim(&p[i + 1..]).to_vec()), p.to_vec()),
            None => (p.to_vec(), None, p.to_vec()),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn pairs_match_the_reference(value in prop::collection::vec(prop::sample::select(b"ab=; \t;;==x\x00\xff".to_vec()), 0..200)) {
        let ours: Vec<Pair> = cookie_pairs(&value).map(|p| (p.name.to_vec(), p.value.map(<[u8]>::to_vec), p.raw.to_vec())).collect();
        prop_assert_eq!(ours, reference(&value));
    }

    #[test]
    fn pairs_match_the_reference_on_any_bytes(value in prop::collection::vec(any::<u8>(), 0..300)) {
        let ours: Vec<Pair> = cookie_pairs(&value).map(|p| (p.name.to_vec(), p.value.map(<[u8]>::to_vec), p.raw.to_vec())).collect();
        prop_assert_eq!(ours, reference(&value));
    }
}
