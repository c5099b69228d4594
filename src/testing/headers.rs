//! Strategies for the identity-header boundary (SPEC §3).

use http::header::{CONNECTION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

use crate::session::SESSION_COOKIE_NAME;

/// The parts of the namespace's own names, spelled with `-` between words.
const MANAGED_SUFFIXES: &[&str] = &["tenant-id", "deployment-id", "user-id", "user-email", "attestation", "role", ""];

/// Header names outside the namespace that a careless prefix test would
/// take for it; they must survive stripping.
const NEAR_MISSES: &[&str] =
    &["x-vendor-id", "x-vendo", "xvendo-user-id", "x-vend-o-user", "vendo-user-id", "x--vendo-a"];

/// A header map holding the `x-vendo-` namespace in every spelling a
/// client can send, for strip and verifier tests:
///
/// - the identity and attestation names, and others, with `_` and `.` for
///   any `-` (the collision key of SPEC §3), in any case (the map
///   lowercases names; `Connection` tokens keep their case);
/// - `x_vendo_user_id` and `x.vendo.user.id` beside `x-vendo-user-id`
///   always, so every map carries colliding spellings of one name;
/// - duplicates: some names appended more than once;
/// - one to three `Connection` headers nominating namespace names in any
///   spelling among ordinary tokens, empty list elements and whitespace;
/// - ordinary headers (`accept`, `user-agent`, near misses such as
///   `x-vendor-id` and `x-vendo`) and, sometimes, a `Cookie` header
///   carrying a forged session cookie beside another cookie.
///
/// After [`crate::headers::strip`] nothing whose collision key starts with
/// `x-vendo-` may remain, by name or by `Connection` token, while the
/// ordinary headers stay.
pub fn hostile_header_map() -> impl Strategy<Value = HeaderMap> {
    let managed = prop::collection::vec((managed_name(), prop::collection::vec(value(), 1..=3)), 0..8);
    let connection = prop::collection::vec(connection_value(), 1..=3);
    let ordinary = prop::sample::subsequence(ordinary_headers(), 0..=ordinary_headers().len());
    (managed, connection, ordinary, any::<bool>())
        .prop_map(|(managed, connection, ordinary, cookie)| {
            let mut fields: Vec<(String, String)> = [
                ("x-vendo-user-id", "admin"),
                ("x_vendo_user_id", "admin"),
                ("x.vendo.user.id", "admin"),
                ("x-vendo-tenant-id", "t_other"),
            ]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
            for (name, values) in managed {
                fields.extend(values.into_iter().map(|v| (name.clone(), v)));
            }
            fields.extend(connection.into_iter().map(|v| (CONNECTION.as_str().to_owned(), v)));
            fields.extend(ordinary.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
            if cookie {
                fields.push((COOKIE.as_str().to_owned(), format!("{SESSION_COOKIE_NAME}=forged; theme=dark")));
            }
            fields
        })
        // The map keeps one order per name; shuffling varies which name
        // comes first and how the values of one name interleave.
        .prop_shuffle()
        .prop_map(|fields| {
            let mut map = HeaderMap::new();
            for (name, value) in fields {
                let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
                else {
                    continue;
                };
                if map.try_append(name, value).is_err() {
                    break;
                }
            }
            map
        })
}

/// A namespace name: `x`, a separator, `vendo` in any case, a separator,
/// then one of the namespace's names or any token, its `-` each replaced by
/// `-`, `_` or `.`.
fn managed_name() -> impl Strategy<Value = String> {
    let suffix = prop_oneof![prop::sample::select(MANAGED_SUFFIXES).prop_map(String::from), "[a-zA-Z0-9_.-]{0,12}"];
    ("[xX]", separator(), "[vV][eE][nN][dD][oO]", separator(), suffix, any::<u64>(), any::<u64>()).prop_map(
        |(x, s1, vendo, s2, suffix, seps, case)| {
            let (mut seps, mut case) = (seps, case);
            let suffix: String = suffix
                .chars()
                .map(|c| {
                    seps = seps.rotate_right(2);
                    case = case.rotate_right(1);
                    match (c, seps & 3) {
                        ('-', 1) => '_',
                        ('-', 2) => '.',
                        (c, _) if case & 1 == 1 => c.to_ascii_uppercase(),
                        (c, _) => c,
                    }
                })
                .collect();
            format!("{x}{s1}{vendo}{s2}{suffix}")
        },
    )
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["-", "_", "."][..])
}

/// A header value: visible ASCII and spaces, possibly empty.
fn value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,20}[!-~])?|"
}

/// A `Connection` value: namespace names among ordinary tokens, with empty
/// elements and spaces or tabs around each.
fn connection_value() -> impl Strategy<Value = String> {
    let ordinary = prop::sample::select(&["keep-alive", "close", "upgrade", "te", "x-vendor-id", "x-vendo"][..]);
    let token = prop_oneof![2 => managed_name(), 1 => ordinary.prop_map(String::from), 1 => Just(String::new())];
    (prop::collection::vec((token, "[ \t]{0,2}"), 1..5), managed_name()).prop_map(|(tokens, nominated)| {
        let mut list: Vec<String> = tokens.into_iter().map(|(t, ws)| format!("{ws}{t}{ws}")).collect();
        // At least one nomination per header.
        list.push(nominated);
        list.join(",")
    })
}

/// Headers a browser sends, and near misses of the namespace.
fn ordinary_headers() -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        ("accept-language", "en-US,en;q=0.9"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) vendo-isolation-tests"),
        ("sec-fetch-site", "same-origin"),
        ("x-request-id", "r-1"),
    ];
    headers.extend(NEAR_MISSES.iter().map(|n| (*n, "kept")));
    headers
}
