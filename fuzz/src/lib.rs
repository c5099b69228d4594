//! Properties the fuzz targets check.
//!
//! Every module but `inputs` is also compiled into the main crate's
//! `tests/fuzz_regressions.rs`, which includes the files by path and
//! replays each finding through the same property; so those modules name
//! each other through `super::`, and never use `arbitrary`.

pub mod admit_props;
pub mod fixture;
pub mod inputs;
pub mod mutate;
pub mod provider_props;
pub mod reference;
pub mod response_props;
pub mod roundtrip_props;
pub mod strip_props;
pub mod verify_props;
