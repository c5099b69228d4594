//! Strategies for identifiers, slugs and emails.

use proptest::prelude::*;

use crate::{BindingId, ConnectionId, DeploymentId, DeploymentSlug, Email, TenantId, TenantSlug, UserId};

/// Any valid identifier string (SPEC §1).
pub fn id_string() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

/// Any valid slug string (SPEC §1): `[a-z0-9]` runs joined by single `-`.
pub fn slug_string(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9]{1,12}", 1..6).prop_map(|parts| parts.join("-")).prop_filter_map(
        "slug too long",
        move |s| {
            let mut s = s;
            s.truncate(max_len.min(crate::ids::MAX_SLUG_LEN));
            while s.ends_with('-') {
                s.pop();
            }
            (!s.is_empty()).then_some(s)
        },
    )
}

try_from_strategy!(tenant_id, TenantId, id_string());
try_from_strategy!(deployment_id, DeploymentId, id_string());
try_from_strategy!(user_id, UserId, id_string());
try_from_strategy!(connection_id, ConnectionId, id_string());
try_from_strategy!(binding_id, BindingId, id_string());
try_from_strategy!(tenant_slug, TenantSlug, slug_string(63));
try_from_strategy!(deployment_slug, DeploymentSlug, slug_string(63));
try_from_strategy!(email, Email, "[!-?A-~]{1,40}@[!-?A-~]{1,40}");
