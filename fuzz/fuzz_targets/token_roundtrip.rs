//! `mint_session` then `verify_session` returns the claims, and the token
//! is byte for byte the SPEC §4 reference's.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation_fuzz::roundtrip_props::{RoundtripCase, check};

#[derive(Debug, Arbitrary)]
struct Input {
    tenant: Vec<u8>,
    deployment: Vec<u8>,
    user: Vec<u8>,
    email: Vec<u8>,
    kid: Vec<u8>,
    secret: Vec<u8>,
    iat: u64,
    lifetime: u64,
    at: u64,
}

fuzz_target!(|i: Input| {
    check(&RoundtripCase {
        tenant: i.tenant,
        deployment: i.deployment,
        user: i.user,
        email: i.email,
        kid: i.kid,
        secret: i.secret,
        iat: i.iat,
        lifetime: i.lifetime,
        at: i.at,
    });
});
