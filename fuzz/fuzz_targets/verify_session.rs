//! `verify_session`: arbitrary bytes, structured mutations of minted tokens
//! (bit flips, truncations, splices, part swaps) and tokens signed here
//! over chosen claims all get the SPEC §4 reference's answer; nothing
//! verifies unless it is, byte for byte, a token the ring's keys minted
//! (or, when signed here, the one canonical token of its claims).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation_fuzz::inputs::{Context, TokenChoice};
use vendo_isolation_fuzz::verify_props::{Origin, VerifyCase, check};

#[derive(Debug, Arbitrary)]
struct Input {
    token: TokenChoice,
    ctx: Context,
}

fuzz_target!(|input: Input| {
    let (token, signed) = input.token.bytes();
    check(&VerifyCase {
        token: &token,
        now: input.ctx.now(),
        options: input.ctx.options,
        tenant: input.ctx.tenant,
        deployment: input.ctx.deployment,
        origin: if signed { Origin::Signed } else { Origin::Untrusted },
    });
});
