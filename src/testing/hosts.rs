//! Strategies for the hosts boundary: route entries, `Host` values that
//! route, and `Host` values that must not (SPEC §2).

use proptest::prelude::*;

use super::{deployment_id, deployment_slug, slug_string, tenant_id, tenant_slug};
use crate::hosts::{DEFAULT_APEX, DEFAULT_RESERVED, MAX_LABEL_LEN, MAX_NAME_LEN};
use crate::{HostPolicy, RouteEntry};

/// Any valid [`RouteEntry`] whose slugs build a hostname under
/// [`HostPolicy::default`]: always a legacy one
/// ([`HostPolicy::legacy_key`]), and a single-level one
/// ([`HostPolicy::single_level_key`]) whenever the joined label fits 63
/// bytes and is not reserved.
pub fn route_entry() -> impl Strategy<Value = RouteEntry> {
    (tenant_id(), deployment_id(), tenant_slug(), deployment_slug()).prop_filter_map(
        "slugs build no hostname",
        |(tenant_id, deployment_id, tenant_slug, deployment_slug)| {
            let policy = HostPolicy::default();
            let builds = policy.single_level_key(&tenant_slug, &deployment_slug).is_ok()
                || policy.legacy_key(&tenant_slug, &deployment_slug).is_ok();
            builds.then_some(RouteEntry { tenant_id, deployment_id, tenant_slug, deployment_slug })
        },
    )
}

/// A [`route_entry`] and one spelling of its host that
/// [`HostPolicy::default`] parses back to the entry's key: single-level
/// when it builds (legacy otherwise, or by choice), in any ASCII case, with
/// or without one trailing `.`, with or without a `:port` (1–65535, up to
/// five digits with leading zeros).
pub fn routed_hostname() -> impl Strategy<Value = (RouteEntry, String)> {
    let port = proptest::option::of((1..=u16::MAX, 0..=5usize));
    (route_entry(), any::<bool>(), case_bits(), any::<bool>(), port).prop_filter_map(
        "slugs build no hostname",
        |(entry, legacy, case, dot, port)| {
            let mut host = respell(&entry_host(&entry, legacy)?, case);
            if dot {
                host.push('.');
            }
            if let Some((port, width)) = port {
                host.push_str(&format!(":{port:0width$}"));
            }
            Some((entry, host))
        },
    )
}

/// A `Host` value that [`HostPolicy::default`] parses to a route key:
/// the host of [`routed_hostname`], both forms, any ASCII case, optional
/// `:port` and trailing `.`.
pub fn valid_hostname() -> impl Strategy<Value = String> {
    routed_hostname().prop_map(|(_, host)| host)
}

/// A `Host` value that [`HostPolicy::default`] must refuse, from one family
/// per SPEC §2 rule:
///
/// - IP literals, IPv4 (all-digit labels) and bracketed IPv6;
/// - apex look-alikes (`evilvendo.run`, `acme-crm.vendo.run.evil.com`);
/// - userinfo `@`, and a byte outside `[A-Za-z0-9.-]` (`_`, `%`, space,
///   controls, non-ASCII look-alikes) inserted anywhere in a valid host;
/// - empty labels and empty input;
/// - a label over 63 bytes, a name over 253;
/// - more than two labels left of the apex;
/// - reserved single-level labels in any case;
/// - labels that are not slugs (`xn--`, `--`, an edge `-`);
/// - the apex itself, and bad ports.
pub fn hostile_hostname() -> impl Strategy<Value = String> {
    prop_oneof![
        ip_literal(),
        apex_look_alike(),
        bad_byte(),
        empty_label(),
        too_long(),
        too_deep(),
        reserved_label(),
        not_a_slug(),
        apex_or_bad_port(),
    ]
}

/// Case masks: all lowercase, all uppercase, or mixed.
fn case_bits() -> impl Strategy<Value = u128> {
    prop_oneof![Just(0), Just(u128::MAX), any::<u128>()]
}

/// `s` with each ASCII letter uppercased where the rotating mask has a 1.
fn respell(s: &str, mut bits: u128) -> String {
    s.chars()
        .map(|c| {
            bits = bits.rotate_right(1);
            if bits & 1 == 1 { c.to_ascii_uppercase() } else { c }
        })
        .collect()
}

/// A lowercase host that routes, without port or trailing dot: the base the
/// families below break in one place.
fn base_host() -> impl Strategy<Value = String> {
    (route_entry(), any::<bool>()).prop_filter_map("slugs build no hostname", |(e, legacy)| entry_host(&e, legacy))
}

/// The lowercase host of `entry` under the default policy: single-level
/// unless it does not build or `legacy` asks for the legacy form.
fn entry_host(entry: &RouteEntry, legacy: bool) -> Option<String> {
    let policy = HostPolicy::default();
    let key = match policy.single_level_key(&entry.tenant_slug, &entry.deployment_slug) {
        Ok(key) if !legacy => key,
        _ => policy.legacy_key(&entry.tenant_slug, &entry.deployment_slug).ok()?,
    };
    Some(policy.hostname(&key))
}

/// A valid slug, short enough that a few of them stay under 253 bytes.
fn short_label() -> impl Strategy<Value = String> {
    slug_string(20)
}

/// IP literals reach an origin without a route (SSRF, certificate
/// bypass): every label all digits, or a bracketed IPv6 address.
fn ip_literal() -> BoxedStrategy<String> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<bool>())
            .prop_map(|([a, b, c, d], dot)| { format!("{a}.{b}.{c}.{d}{}", if dot { "." } else { "" }) }),
        // Shorthand and integer forms (`127.1`, `2130706433`) that
        // resolvers also read as IPv4.
        "[0-9]{1,10}(\\.[0-9]{1,3}){0,3}(:[1-9][0-9]{0,3})?",
        "\\[[0-9a-fA-F:]{2,24}(%25[a-z0-9]{1,5})?\\](:[1-9][0-9]{0,3})?",
    ]
    .boxed()
}

/// The apex must sit at a label boundary, at the end of the name.
fn apex_look_alike() -> BoxedStrategy<String> {
    prop_oneof![
        // `evilvendo.run` ends with the apex but is another registrable name.
        ("[a-zA-Z0-9-]{1,12}", case_bits()).prop_map(|(p, c)| respell(&format!("{p}{DEFAULT_APEX}"), c)),
        // A routed host used as a prefix of another domain.
        (base_host(), prop::sample::select(&["evil.com", "vendo.run.evil", "vendo.runn", "com"][..]))
            .prop_map(|(h, s)| format!("{h}.{s}")),
        // A look-alike top-level domain.
        (short_label(), prop::sample::select(&["vendo.rum", "vendo.ru", "vendo.run-", "vend0.run", "vendo-run"][..]))
            .prop_map(|(l, s)| format!("{l}.{s}")),
        prop::sample::select(&["evilvendo.run", "localhost", "vendo.run.evil.com", "run", "evil.com"][..])
            .prop_map(String::from),
    ]
    .boxed()
}

/// Bytes a downstream parser may read differently: userinfo (`@`),
/// percent-encoding, `_` (accepted by some resolvers), whitespace and
/// controls (header injection, NUL truncation), `/` and `\` (URL
/// confusion), and non-ASCII look-alikes of letters and dots.
fn bad_byte() -> BoxedStrategy<String> {
    const BAD: &[&str] = &[
        "@", "_", "%", "%2e", " ", "\t", "\0", "\r\n", "/", "\\", "*", "!", "~", "[", "]", "\u{e9}", "\u{443}",
        "\u{131}", "\u{17f}", "\u{212a}", "\u{ff0e}", "\u{3002}", "\u{200b}",
    ];
    prop_oneof![
        (base_host(), prop::sample::select(BAD), any::<usize>()).prop_filter_map("no insertion point", |(h, b, i)| {
            let i = i.checked_rem(h.len().checked_add(1)?)?;
            Some(format!("{}{b}{}", h.get(..i)?, h.get(i..)?))
        }),
        ("[a-z0-9:.-]{0,10}", base_host()).prop_map(|(user, h)| format!("{user}@{h}")),
        base_host().prop_map(|h| format!("{h}@evil.com")),
    ]
    .boxed()
}

/// An empty label: a leading dot, two dots in a row, two trailing dots, or
/// nothing at all.
fn empty_label() -> BoxedStrategy<String> {
    prop_oneof![
        (base_host(), any::<usize>()).prop_filter_map("no labels", |(h, i)| {
            let mut labels: Vec<&str> = h.split('.').collect();
            // Before the last label only: an empty label after it is the
            // one trailing dot that §2 step 2 allows.
            let i = i.checked_rem(labels.len())?;
            labels.insert(i, "");
            Some(labels.join("."))
        }),
        base_host().prop_map(|h| format!("{h}..")),
        prop::sample::select(&["", ".", "..", ":443", ".:443", ".vendo.run"][..]).prop_map(String::from),
    ]
    .boxed()
}

/// Past RFC 1035's limits resolvers and certificates disagree: a label
/// over 63 bytes, anywhere, or a name over 253.
fn too_long() -> BoxedStrategy<String> {
    const _: () = assert!(MAX_LABEL_LEN == 63 && MAX_NAME_LEN == 253, "update the regexes below");
    prop_oneof![
        "[a-z0-9]{64,80}".prop_map(|l| format!("{l}.{DEFAULT_APEX}")),
        (short_label(), "[a-z0-9]{64,80}", any::<bool>()).prop_map(|(s, l, first)| {
            if first { format!("{l}.{s}.{DEFAULT_APEX}") } else { format!("{s}.{l}.{DEFAULT_APEX}") }
        }),
        // Five labels of 50 bytes or more: at least 264 bytes with the apex.
        prop::collection::vec("[a-z]{50,63}", 5..=6).prop_map(|l| format!("{}.{DEFAULT_APEX}", l.join("."))),
    ]
    .boxed()
}

/// A third label left of the apex would let `x.crm.acme` shadow
/// `crm.acme`.
fn too_deep() -> BoxedStrategy<String> {
    (prop::collection::vec(short_label(), 3..=6), case_bits())
        .prop_map(|(labels, c)| respell(&format!("{}.{DEFAULT_APEX}", labels.join(".")), c))
        .boxed()
}

/// The platform's own hosts are never a deployment's, in any case.
fn reserved_label() -> BoxedStrategy<String> {
    (prop::sample::select(DEFAULT_RESERVED), case_bits(), any::<bool>())
        .prop_map(|(r, c, dot)| respell(&format!("{r}.{DEFAULT_APEX}{}", if dot { "." } else { "" }), c))
        .boxed()
}

/// IDNA: `xn--` and `--` labels render as another name in browsers; an edge
/// `-` is not a hostname label at all. In either position of either form.
fn not_a_slug() -> BoxedStrategy<String> {
    let bad = prop_oneof![
        "[xX][nN]--[a-z0-9]{1,20}",
        "[a-z0-9]{1,10}--[a-z0-9]{1,10}",
        "-[a-z0-9]{1,10}",
        "[a-z0-9]{1,10}-",
    ];
    (bad, short_label(), 0..3u8, case_bits())
        .prop_map(|(bad, ok, at, c)| {
            let sub = match at {
                0 => bad,
                1 => format!("{bad}.{ok}"),
                _ => format!("{ok}.{bad}"),
            };
            respell(&format!("{sub}.{DEFAULT_APEX}"), c)
        })
        .boxed()
}

/// The apex is the platform's site, not a deployment; a port outside
/// 1–65535 or not five digits or fewer is not a port.
fn apex_or_bad_port() -> BoxedStrategy<String> {
    const BAD_PORTS: &[&str] =
        &[":0", ":00000", ":65536", ":99999", ":123456", ":", ":+1", ":-1", ": 443", "::443", ":443:443", ":0x1bb"];
    prop_oneof![
        (case_bits(), any::<bool>(), proptest::option::of(1..=u16::MAX)).prop_map(|(c, dot, port)| {
            let dot = if dot { "." } else { "" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}{dot}{port}", respell(DEFAULT_APEX, c))
        }),
        (base_host(), prop::sample::select(BAD_PORTS)).prop_map(|(h, p)| format!("{h}{p}")),
    ]
    .boxed()
}
