//! proptest strategies for this crate's types, for other crates' tests.
//!
//! Enabled by the `testing` feature. Every strategy yields only valid
//! values, built through the same validating constructors as production
//! code.

mod credits;
mod ids;
mod session;
mod tenancy;

pub use credits::*;
pub use ids::*;
pub use session::*;
pub use tenancy::*;
