//! `strip` over structured header lists: no `x-vendo-` collision key
//! survives as a name or a `Connection` token, the session cookie is gone,
//! every other field survives exactly (SPEC §3 reference), the report says
//! what went, and a second strip changes nothing.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation_fuzz::inputs::{FieldSpec, SessionName};
use vendo_isolation_fuzz::strip_props::check;

#[derive(Debug, Arbitrary)]
struct Input {
    cookie_name: SessionName,
    fields: Vec<FieldSpec>,
}

fuzz_target!(|input: Input| {
    let name = input.cookie_name.as_str();
    let fields: Vec<_> = input.fields.iter().map(|f| f.render(name.as_bytes(), b"v1.k1.e30.x")).collect();
    check(&fields, name);
});
