//! `strip` over structured header lists: no `x-vendo-` collision key
//! survives as a name or a `Connection` token, the session cookie is gone,
//! every other field survives exactly (SPEC §3 reference), the report says
//! what went, and a second strip changes nothing.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation::SESSION_COOKIE_NAME;
use vendo_isolation_fuzz::inputs::FieldSpec;
use vendo_isolation_fuzz::strip_props::check;

#[derive(Debug, Arbitrary)]
enum CookieName {
    Default,
    Short,
    Empty,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    cookie_name: CookieName,
    fields: Vec<FieldSpec>,
}

fuzz_target!(|input: Input| {
    let name = match &input.cookie_name {
        CookieName::Default => SESSION_COOKIE_NAME,
        CookieName::Short => "s",
        CookieName::Empty => "",
        CookieName::Raw(s) => s.as_str(),
    };
    let fields: Vec<_> = input.fields.iter().map(|f| f.render(name.as_bytes(), b"v1.k1.e30.x")).collect();
    check(&fields, name);
});
