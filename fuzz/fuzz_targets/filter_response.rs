//! `filter_response` over structured tool responses: `Set-Cookie` with
//! `Domain` in every spelling, session-cookie names in any case and as
//! substrings, `Set-Cookie2`, namespace spellings, near misses and any
//! bytes. Nothing SPEC §3.3 removes is relayed, everything else is
//! relayed exactly, the verdict and the report agree with the reference,
//! and a second pass changes nothing.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation_fuzz::inputs::{ResponseFieldSpec, SessionName};
use vendo_isolation_fuzz::response_props::check;

#[derive(Debug, Arbitrary)]
struct Input {
    cookie_name: SessionName,
    fields: Vec<ResponseFieldSpec>,
}

fuzz_target!(|input: Input| {
    let name = input.cookie_name.as_str();
    let fields: Vec<_> = input.fields.iter().map(ResponseFieldSpec::render).collect();
    check(&fields, name);
});
