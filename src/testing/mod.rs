//! proptest strategies for this crate's types, for other crates' tests.
//!
//! Enabled by the `testing` feature. Every strategy yields only valid
//! values, built through the same validating constructors as production
//! code.

/// Declares `pub fn $fn() -> impl Strategy<Value = $ty>`: the strings of
/// `$inner` that `$ty::try_from` accepts, so a value can only come through
/// the type's own validation.
///
/// Defined before the submodules so that each of them sees it.
macro_rules! try_from_strategy {
    ($fn:ident, $ty:ty, $inner:expr) => {
        #[doc = concat!("Any valid [`", stringify!($ty), "`].")]
        pub fn $fn() -> impl Strategy<Value = $ty> {
            $inner.prop_filter_map("invalid value", |s| <$ty>::try_from(s).ok())
        }
    };
}

mod credits;
mod fixture;
mod headers;
mod hosts;
mod ids;
mod session;
mod tenancy;

pub use credits::*;
pub use fixture::*;
pub use headers::*;
pub use hosts::*;
pub use ids::*;
pub use session::*;
pub use tenancy::*;
