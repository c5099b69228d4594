//! The fuzz targets' properties (fuzz/src), run as ordinary tests: tables
//! of hostile inputs that pin each property to the path it guards. A
//! fuzzing finding gets a `regression_*` test here that replays the
//! minimized input through the same property; the fuzzers have found
//! nothing yet, so there is none (the proptest-shrunk cases live as
//! `regression_*` tests beside their properties, e.g. tests/headers_props.rs
//! and tests/routing_table.rs).
//!
//! The property files are included by path so that `cargo test` checks
//! exactly the code the fuzzers run; only their `arbitrary` front ends
//! (fuzz/src/inputs.rs) stay in the fuzz crate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]
// Each test uses a part of the shared property code.
#![allow(dead_code)]

#[path = "../fuzz/src/admit_props.rs"]
mod admit_props;
#[path = "../fuzz/src/fixture.rs"]
mod fixture;
#[path = "../fuzz/src/mutate.rs"]
mod mutate;
#[path = "../fuzz/src/provider_props.rs"]
mod provider_props;
#[path = "../fuzz/src/reference.rs"]
mod reference;
#[path = "../fuzz/src/response_props.rs"]
mod response_props;
#[path = "../fuzz/src/roundtrip_props.rs"]
mod roundtrip_props;
#[path = "../fuzz/src/strip_props.rs"]
mod strip_props;
#[path = "../fuzz/src/verify_props.rs"]
mod verify_props;

use admit_props::{AdmitCase, Via};
use fixture::{Fixture, IAT, RETIRE_AT};
use http::Method;
use mutate::Mutation;
use reference::{Field, MAX_SECS};
use roundtrip_props::RoundtripCase;
use verify_props::{ClaimsSpec, IntSpec, Origin, Payload, VerifyCase};

const SESSION: &str = "__Host-vendo_session";

fn verify(token: &[u8], now: u64, options: u8, origin: Origin) -> &'static str {
    verify_props::check(&VerifyCase { token, now, options, tenant: 0, deployment: 0, origin })
}

fn minted(i: usize) -> Vec<u8> {
    Fixture::get().minted[i].token.clone().into_bytes()
}

#[test]
fn every_minted_token_matches_the_reference_across_the_window() {
    let f = Fixture::get();
    let nows =
        [0, 1, IAT - 301, IAT - 61, IAT - 60, IAT, RETIRE_AT - 1, RETIRE_AT, IAT + 3_599, IAT + 3_659, IAT + 3_660];
    let mut codes = std::collections::BTreeSet::new();
    for m in &f.minted {
        for now in nows.into_iter().chain([MAX_SECS - 1, MAX_SECS]) {
            for options in 0..4 {
                for tenant in 0..4 {
                    for deployment in 0..4 {
                        let case = VerifyCase {
                            token: m.token.as_bytes(),
                            now,
                            options,
                            tenant,
                            deployment,
                            origin: Origin::Untrusted,
                        };
                        codes.insert(verify_props::check(&case));
                    }
                }
            }
        }
    }
    // The grid reaches every outcome a minted token can have.
    let want = [
        "ok",
        "unknown_key",
        "lifetime_too_long",
        "not_yet_valid",
        "expired",
        "revoked",
        "wrong_tenant",
        "wrong_deployment",
    ];
    assert_eq!(codes, want.into_iter().collect());
}

#[test]
fn mutated_tokens_never_verify() {
    let f = Fixture::get();
    let sources = f.all_tokens();
    let valid = minted(0);
    let rows: &[(&[Mutation], &str)] = &[
        // One-bit forgery in the MAC's last character.
        (&[Mutation::FlipBit { at: valid.len() - 1, bit: 0 }], "malformed"),
        // Truncated MAC (GHSA-63x4-8g8c-vhww).
        (&[Mutation::Truncate { len: valid.len() - 1 }], "malformed"),
        // Padding appended to a canonical MAC (one token, one encoding).
        (&[Mutation::Insert { at: valid.len(), bytes: b"=".to_vec() }], "malformed"),
        // A second dot: the MAC part swallows it and fails its alphabet.
        (&[Mutation::Insert { at: valid.len(), bytes: b".".to_vec() }], "malformed"),
        // Kid confusion: the same payload and MAC under another ring key.
        (&[Mutation::SwapPart { part: 1, source: 1 }], "bad_signature"),
        // Another tenant's payload under this token's MAC.
        (&[Mutation::SwapPart { part: 2, source: 3 }], "bad_signature"),
        // Another token's MAC over this payload.
        (&[Mutation::SwapPart { part: 3, source: 4 }], "bad_signature"),
        // Kids compare case-sensitively.
        (&[Mutation::ToggleCase { at: 3 }], "unknown_key"),
        // The version prefix is case-sensitive.
        (&[Mutation::ToggleCase { at: 0 }], "malformed"),
        // Half a token spliced onto a decoy's tail.
        (&[Mutation::Splice { source: 13, from: 40, take: 500, at: 40, len: 500 }], "bad_signature"),
        (&[Mutation::Delete { at: 0, len: 3 }], "malformed"),
    ];
    for (muts, want) in rows {
        let t = mutate::apply(&valid, muts, &sources);
        assert_eq!(verify(&t, IAT, 0, Origin::Untrusted), *want, "{muts:?}");
    }
    // The decoys: a key outside the ring, a forger reusing `k1`.
    assert_eq!(verify(f.decoys[0].as_bytes(), IAT, 0, Origin::Untrusted), "unknown_key");
    assert_eq!(verify(f.decoys[1].as_bytes(), IAT, 0, Origin::Untrusted), "bad_signature");
    // Arbitrary bytes.
    for raw in [&b""[..], b"v1.", b"v1.k1..", b"v1.k1.e30.", &[0xff; 5000]] {
        assert_eq!(verify(raw, IAT, 0, Origin::Untrusted), "malformed");
    }
}

fn claims(iat: IntSpec, exp: IntSpec, extra: Option<&[u8]>) -> ClaimsSpec {
    ClaimsSpec {
        tenant: Some(0),
        tenant_raw: Vec::new(),
        deployment: 0,
        user: b"u_1".to_vec(),
        email: b"a@b.io".to_vec(),
        iat,
        exp,
        extra: extra.map(<[u8]>::to_vec),
    }
}

#[test]
fn signed_claims_reach_every_check_in_order() {
    let raw = |s: &[u8]| IntSpec::Raw(s.to_vec());
    let rows: Vec<(u8, Payload, &str)> = vec![
        // The fixture's own key over fresh claims: the canonical token.
        (0, Payload::Claims(claims(IntSpec::Offset(0), IntSpec::Offset(60), None)), "ok"),
        // A verify-only key still verifies.
        (1, Payload::Claims(claims(IntSpec::Offset(0), IntSpec::Offset(60), None)), "ok"),
        // A key outside the ring; a forger's secret under a ring kid.
        (3, Payload::Claims(claims(IntSpec::Offset(0), IntSpec::Offset(60), None)), "unknown_key"),
        (4, Payload::Claims(claims(IntSpec::Offset(0), IntSpec::Offset(60), None)), "bad_signature"),
        // A valid MAC over non-canonical base64: non-zero trailing bits
        // (itsdangerous#28), padding, an impossible length. The decoder
        // refuses each before any key is looked up.
        (0, Payload::Raw(b"AR".to_vec()), "malformed"),
        (0, Payload::Raw(b"AQ==".to_vec()), "malformed"),
        (0, Payload::Raw(b"AQID_".to_vec()), "malformed"),
        // Non-canonical integers: a second spelling of one time.
        (0, Payload::Claims(claims(raw(b"01700000000"), IntSpec::Offset(60), None)), "bad_claims"),
        (0, Payload::Claims(claims(raw(b"+1700000000"), IntSpec::Offset(60), None)), "bad_claims"),
        // Out of range, and an overflow a naive parser would wrap (branca#21).
        (0, Payload::Claims(claims(IntSpec::Offset(0), raw(b"253402300800"), None)), "bad_claims"),
        (0, Payload::Claims(claims(IntSpec::Offset(0), raw(b"18446744073709551617"), None)), "bad_claims"),
        // A seventh field.
        (0, Payload::Claims(claims(IntSpec::Offset(0), IntSpec::Offset(60), Some(b"admin"))), "bad_claims"),
        // iat == exp.
        (0, Payload::Claims(claims(IntSpec::Offset(0), IntSpec::Offset(0), None)), "bad_claims"),
        // Empty claims.
        (0, Payload::Encode(Vec::new()), "malformed"),
        (0, Payload::Encode(b"\n\n\n\n\n".to_vec()), "bad_claims"),
    ];
    for (key, payload, want) in rows {
        let token = verify_props::signed_token(key, &payload);
        assert_eq!(verify(&token, IAT, 0, Origin::Signed), want, "{payload:?}");
    }
}

fn field(n: &str, v: &str) -> Field {
    (n.as_bytes().to_vec(), v.as_bytes().to_vec())
}

#[test]
fn strip_tables() {
    let rows: Vec<Vec<Field>> = vec![
        // Every spelling a framework folds into X-Vendo-User-Id
        // (oauth2-proxy GHSA-vjrc-mh2v-45x6, Traefik GHSA-rf44-j88r-hh8c).
        vec![field("X_Vendo_User_Id", "evil"), field("x.vendo.user.id", "evil"), field("X-VENDO-USER-ID", "e")],
        // Connection nominations of the namespace (Fabio GHSA-q7p4-7xjv-j3wf).
        vec![field("connection", "keep-alive, X_Vendo_User_Id"), field("connection", " x-vendo-a ,, ")],
        // Session cookies across headers, bare, padded, duplicated.
        vec![
            field("cookie", "a=1; __Host-vendo_session=x"),
            field("cookie", "\t__Host-vendo_session\t=\ty\t;b=2"),
            field("cookie", "__Host-vendo_session"),
            field("cookie", " ; ;"),
        ],
        // Near misses survive untouched.
        vec![
            field("x-vendor-id", "1"),
            field("x-vendo", "2"),
            field("xx-vendo-a", "3"),
            field("cookie", "__host-vendo_session=z"),
        ],
        // obs-text and empty values.
        vec![(b"accept".to_vec(), b"\xa0\xff".to_vec()), field("cookie", ""), field("connection", "")],
    ];
    for row in rows {
        for name in [SESSION, "s", ""] {
            strip_props::check(&row, name);
        }
    }
}

fn admit(host: &str, route: u8, cookie: Option<Vec<u8>>, extra: &[(&str, &str)], now: u64, via: Via) -> String {
    admit_with(Method::GET, host, route, cookie, extra, now, via)
}

fn admit_with(
    method: Method,
    host: &str,
    route: u8,
    cookie: Option<Vec<u8>>,
    extra: &[(&str, &str)],
    now: u64,
    via: Via,
) -> String {
    let mut fields: Vec<_> =
        cookie.map(|c| (b"cookie".to_vec(), [SESSION.as_bytes(), b"=", &c].concat())).into_iter().collect();
    fields.extend(extra.iter().map(|(n, v)| field(n, v)));
    admit_props::check(&AdmitCase {
        method,
        host: host.as_bytes().to_vec(),
        route: fixture::route(route),
        fields,
        now,
        options: 0,
        via,
    })
}

fn parts(attest: bool, uri: &str) -> Via {
    Via::Parts { attest, uri: uri.as_bytes().to_vec() }
}

#[test]
fn admit_reaches_both_outcomes() {
    let forged = [
        ("x_vendo_user_id", "admin"),
        ("X-Vendo-Tenant-Id", "t_2"),
        ("x-vendo-attestation", "v1.a1.0.x"),
        ("connection", "close, X.Vendo.User.Id"),
        ("cookie", "theme=dark"),
    ];
    let t = Some(minted(0));
    type Row<'a> = (&'a str, u8, Option<Vec<u8>>, u64, Via, &'a str);
    let rows: Vec<Row<'_>> = vec![
        ("acme-crm.vendo.run", 0, t.clone(), IAT, Via::Headers, "admitted"),
        ("ACME-CRM.vendo.run.:443", 0, t.clone(), IAT, parts(true, "/inbox?a=1"), "admitted"),
        ("crm.acme.vendo.run", 0, t.clone(), IAT, parts(true, "http://crm.acme.vendo.run/x"), "admitted"),
        // A session for t_1 on a host the store says is t_2's.
        ("acme-crm.vendo.run", 1, t.clone(), IAT, Via::Headers, "wrong_tenant"),
        ("acme-crm.vendo.run", 2, t.clone(), IAT, Via::Headers, "wrong_deployment"),
        // Entries that do not rebuild the host, and the ambiguous split.
        ("acme-crm.vendo.run", 3, t.clone(), IAT, Via::Headers, "route_mismatch"),
        ("acme-crm.vendo.run", 4, t.clone(), IAT, Via::Headers, "route_mismatch"),
        ("acme-crm.vendo.run", 5, t.clone(), IAT, Via::Headers, "not_found"),
        ("acme-crm.vendo.run", 0, None, IAT, Via::Headers, "no_session"),
        ("acme-crm.vendo.run", 0, t.clone(), IAT + 3_660, Via::Headers, "expired"),
        ("acme-crm.vendo.run", 0, Some(minted(2)), RETIRE_AT, Via::Headers, "unknown_key"),
        // Host confusion between Host and the absolute-form target.
        ("acme-crm.vendo.run", 0, t.clone(), IAT, parts(false, "http://other-app.vendo.run/"), "host_mismatch"),
        ("evilvendo.run", 0, t.clone(), IAT, Via::Headers, "not_under_apex"),
        ("admin.vendo.run", 0, t, IAT, Via::Headers, "reserved"),
    ];
    for (host, route, cookie, now, via, want) in rows {
        let got = admit(host, route, cookie.clone(), &forged, now, via.clone());
        assert_eq!(got, want, "{host} route {route} via {via:?}");
    }
    // Two session cookies: cookie tossing from a sibling subdomain.
    let two = [("cookie", "__Host-vendo_session=other")];
    assert_eq!(admit("acme-crm.vendo.run", 0, Some(minted(0)), &two, IAT, Via::Headers), "duplicate_session");
}

/// SPEC §3.2 through both admits: the site check answers after the
/// route and before the session cookie, and its denial forwards nothing.
#[test]
fn admit_refuses_requests_other_sites_started() {
    let t = Some(minted(0));
    const EVIL: (&str, &str) = ("origin", "https://evil-x.vendo.run");
    const FORGED: (&str, &str) = ("x_vendo_user_id", "admin");
    type Row<'a> = (Method, &'a [(&'a str, &'a str)], u8, Option<Vec<u8>>, &'a str);
    let rows: Vec<Row<'_>> = vec![
        // Cross-tenant CSRF: a sibling's auto-submitted form.
        (
            Method::POST,
            &[
                ("sec-fetch-site", "same-site"),
                ("sec-fetch-mode", "navigate"),
                ("sec-fetch-dest", "document"),
                EVIL,
                FORGED,
            ],
            0,
            t.clone(),
            "cross_site_request",
        ),
        // A link from a sibling opens the tool.
        (
            Method::GET,
            &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document"), FORGED],
            0,
            t.clone(),
            "admitted",
        ),
        // fetch() with credentials from a sibling.
        (
            Method::GET,
            &[("sec-fetch-site", "same-site"), ("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty")],
            0,
            t.clone(),
            "cross_site_request",
        ),
        (Method::POST, &[("SEC-FETCH-SITE", " Same-Origin ")], 0, t.clone(), "admitted"),
        // Older browsers: Origin only.
        (Method::DELETE, &[EVIL, FORGED], 0, t.clone(), "cross_site_request"),
        (Method::POST, &[("origin", "null")], 0, t.clone(), "cross_site_request"),
        (
            Method::POST,
            &[("origin", "https://acme-crm.vendo.run@evil-x.vendo.run")],
            0,
            t.clone(),
            "cross_site_request",
        ),
        (Method::POST, &[("origin", "https://ACME-CRM.vendo.run.:8443")], 0, t.clone(), "admitted"),
        (Method::OPTIONS, &[EVIL], 0, t.clone(), "admitted"),
        // SPEC §5 order: route errors first, session errors after.
        (Method::POST, &[EVIL], 3, t.clone(), "route_mismatch"),
        (Method::POST, &[EVIL], 5, t.clone(), "not_found"),
        (Method::POST, &[EVIL], 0, None, "cross_site_request"),
        (Method::POST, &[EVIL], 1, t.clone(), "cross_site_request"),
        (Method::POST, &[], 0, None, "no_session"),
    ];
    for (method, extra, route, cookie, want) in rows {
        for via in [Via::Headers, parts(true, "/inbox")] {
            let got = admit_with(method.clone(), "acme-crm.vendo.run", route, cookie.clone(), extra, IAT, via.clone());
            assert_eq!(got, want, "{method} {extra:?} route {route} via {via:?}");
        }
    }
}

#[test]
fn filter_response_tables() {
    let rows: Vec<(Vec<Field>, usize)> = vec![
        // Cookie tossing in every spelling of Domain.
        (
            vec![
                field("set-cookie", "a=1; Domain=vendo.run"),
                field("Set-Cookie", "b=1;domain =.VENDO.RUN"),
                field("set-cookie", "c=1; Path=/;\tDOMAIN"),
                field("set-cookie", "Domain=kept; Path=/"),
            ],
            3,
        ),
        // Session fixation and shadowing.
        (
            vec![
                field("set-cookie", "__Host-vendo_session=x; Path=/; Secure"),
                field("set-cookie", "__host-vendo_session=x"),
                field("set-cookie", "x __Host-vendo_session=y"),
                field("set-cookie", "ref=__Host-vendo_session"),
            ],
            3,
        ),
        // Set-Cookie2 and the namespace; near misses and others pass.
        (
            vec![
                field("set-cookie2", "a=1"),
                field("X-Vendo-User-Id", "u_admin"),
                field("x_vendo.tenant_id", "t_2"),
                field("x-vendor-id", "1"),
                field("content-type", "text/html"),
            ],
            3,
        ),
        // Fields http cannot hold are judged by the verdict only.
        (vec![field("bad name", "a=1; Domain=vendo.run"), (b"set-cookie".to_vec(), b"a=1\r\n".to_vec())], 0),
        (vec![], 0),
    ];
    for (fields, removed) in &rows {
        assert_eq!(response_props::check(fields, SESSION), *removed, "{fields:?}");
    }
    // An empty or short session name: the reference and the crate agree
    // that every name contains the empty string.
    for name in ["", "s", "sid"] {
        for (fields, _) in &rows {
            response_props::check(fields, name);
        }
    }
}

#[test]
fn roundtrip_edges() {
    let base = RoundtripCase {
        tenant: b"t_1".to_vec(),
        deployment: b"d_1".to_vec(),
        user: b"u_1".to_vec(),
        email: b"a@b.io".to_vec(),
        kid: b"k1".to_vec(),
        secret: vec![1; 32],
        iat: IAT,
        lifetime: 3_600,
        at: 0,
    };
    let rows = [
        // The first and last representable seconds.
        RoundtripCase { iat: 0, lifetime: 0, ..base.clone() },
        RoundtripCase { iat: MAX_SECS - 1, lifetime: 604_799, at: u64::MAX, ..base.clone() },
        // Longest ids, email and kid: the 714-byte bound.
        RoundtripCase {
            tenant: vec![b'a'; 64],
            deployment: vec![b'b'; 64],
            user: vec![b'c'; 64],
            email: vec![b'@'; 300],
            kid: vec![b'k'; 40],
            secret: vec![2; 100],
            iat: MAX_SECS - 604_800,
            lifetime: 604_799,
            ..base.clone()
        },
        // Raw fields the crate must refuse exactly as SPEC §1 and §4 do.
        RoundtripCase {
            tenant: b"t 1".to_vec(),
            email: b"@ab".to_vec(),
            kid: b"k.1".to_vec(),
            secret: vec![0; 31],
            ..base
        },
    ];
    for case in &rows {
        roundtrip_props::check(case);
    }
}

#[test]
fn hosts_match_the_spec_reference() {
    let policy = vendo_isolation::HostPolicy::default();
    let rows: &[&[u8]] = &[
        b"acme-crm.vendo.run",
        b"Acme-CRM.vendo.run:443",
        b"crm.acme.vendo.run.",
        // Port edge values: none, zero, too long, leading zeros.
        b"acme-crm.vendo.run:",
        b"acme-crm.vendo.run:0",
        b"acme-crm.vendo.run:65536",
        b"acme-crm.vendo.run:00080",
        b"acme-crm.vendo.run:443.",
        // Suffix confusion (not at a label boundary) and the apex itself.
        b"evilvendo.run",
        b"VENDO.RUN.",
        // IP literals and all-digit names.
        b"[::1]",
        b"1.2.3.4",
        b"123.vendo.run",
        // Userinfo, percent-encoding, non-ASCII, NUL.
        b"evil@acme-crm.vendo.run",
        b"acme%2dcrm.vendo.run",
        "acmé.vendo.run".as_bytes(),
        b"acme-crm.vendo.run\0",
        // IDNA-reserved `--`, edge hyphens, underscores.
        b"xn--acme.vendo.run",
        b"-acme.vendo.run",
        b"acme_crm.vendo.run",
        // Depth, empty labels, two trailing dots.
        b"a.b.c.vendo.run",
        b"a..vendo.run",
        b"acme-crm.vendo.run..",
        // Reserved labels in any case; reserved names are fine as legacy.
        b"ADMIN.vendo.run",
        b"admin.acme.vendo.run",
        b"",
        b".",
    ];
    for host in rows {
        let ours = policy
            .parse(host)
            .map(|k| (k.as_str().to_owned(), k.form() == vendo_isolation::hosts::HostForm::Legacy))
            .map_err(|e| e.code());
        assert_eq!(ours, reference::parse_host(host), "{:?}", String::from_utf8_lossy(host));
    }
}

fn provider(f: impl FnOnce(&mut provider_props::ProviderCase)) -> String {
    use provider_props::{ProviderCase, RecordSpec, SealSpec};
    // Tenant 0's deployment key, its own openai binding and connection,
    // sealed under the open-only kid: the ordinary call.
    let mut case = ProviderCase {
        fields: vec![
            (b"authorization".to_vec(), format!("Bearer {}", provider_props::key_text()).into_bytes()),
            (b"x_vendo_tenant_id".to_vec(), b"t_globex".to_vec()),
            (b"connection".to_vec(), b"keep-alive, X-Vendo-User-Id".to_vec()),
            (b"cookie".to_vec(), b"__Host-vendo_session=v1.x.y.z".to_vec()),
            (b"api.key".to_vec(), b"sk-other".to_vec()),
            (b"content-type".to_vec(), b"application/json".to_vec()),
        ],
        record: Some(RecordSpec {
            tenant: 0,
            deployment: Some(0),
            right_verifier: true,
            revoked_at: None,
            expires_at: None,
        }),
        now: 1_700_000_000,
        adapter: 0,
        binding: Some((0, 0, 0)),
        connection: Some((0, 0, 0)),
        sealed: SealSpec::For { tenant: 0, connection: 0, provider: 0, kid: 0, nonce: [1; 12], flip: None },
        model: 0,
        body_bytes: 1234,
        max_tokens: Some(500),
        target: "/v1/chat/completions".to_owned(),
    };
    f(&mut case);
    provider_props::check(&case)
}

#[test]
fn provider_decision_reaches_every_outcome() {
    use provider_props::SealSpec;
    type Edit = fn(&mut provider_props::ProviderCase);
    let rows: [(&str, Edit, &str); 24] = [
        ("the ordinary call", |_| {}, "forwarded"),
        (
            "x-api-key presentation, tenant-wide key, anthropic",
            |c| {
                c.fields[0] = (b"x-api-key".to_vec(), provider_props::key_text().into_bytes());
                c.record.as_mut().unwrap().deployment = None;
                c.adapter = 3;
                c.connection = Some((0, 0, 3));
                c.sealed = SealSpec::For { tenant: 0, connection: 0, provider: 3, kid: 1, nonce: [2; 12], flip: None };
                c.model = 1;
            },
            "forwarded",
        ),
        (
            "telegram takes the credential in the path",
            |c| {
                c.adapter = 4;
                c.connection = Some((0, 0, 4));
                c.sealed = SealSpec::For { tenant: 0, connection: 0, provider: 4, kid: 0, nonce: [3; 12], flip: None };
                c.model = 2;
                c.max_tokens = None;
                c.target = "/sendMessage?chat_id=1".to_owned();
            },
            "forwarded",
        ),
        (
            "no key",
            |c| {
                c.fields.remove(0);
            },
            "no_api_key",
        ),
        (
            "the key twice",
            |c| {
                let f = c.fields[0].clone();
                c.fields.push(f);
            },
            "duplicate_api_key",
        ),
        ("a Basic scheme", |c| c.fields[0].1 = b"Basic dXNlcjpwYXNz".to_vec(), "malformed_api_key"),
        ("a typo", |c| c.fields[0].1[20] ^= 1, "malformed_api_key"),
        ("no record", |c| c.record = None, "unknown_api_key"),
        ("another key's verifier", |c| c.record.as_mut().unwrap().right_verifier = false, "bad_api_key"),
        ("revoked now", |c| c.record.as_mut().unwrap().revoked_at = Some(1_700_000_000), "revoked_api_key"),
        ("expired now", |c| c.record.as_mut().unwrap().expires_at = Some(1_700_000_000), "expired_api_key"),
        ("nothing bound", |c| c.binding = None, "no_binding"),
        ("another tenant's binding forged", |c| c.binding = Some((1, 0, 0)), "binding_tenant_mismatch"),
        ("a sibling deployment's binding", |c| c.binding = Some((0, 1, 0)), "binding_deployment_mismatch"),
        ("a connection the binding does not name", |c| c.connection = Some((1, 0, 0)), "binding_connection_mismatch"),
        ("another tenant's connection", |c| c.connection = Some((0, 1, 0)), "connection_tenant_mismatch"),
        ("a notion connection behind openai", |c| c.connection = Some((0, 0, 2)), "provider_mismatch"),
        (
            "sealed for another tenant",
            |c| c.sealed = SealSpec::For { tenant: 1, connection: 0, provider: 0, kid: 0, nonce: [1; 12], flip: None },
            "credential_unreadable",
        ),
        (
            "sealed under a kid the ring lacks",
            |c| c.sealed = SealSpec::For { tenant: 0, connection: 0, provider: 0, kid: 2, nonce: [1; 12], flip: None },
            "credential_unreadable",
        ),
        (
            "a flipped tag",
            |c| {
                c.sealed =
                    SealSpec::For { tenant: 0, connection: 0, provider: 0, kid: 0, nonce: [1; 12], flip: Some((60, 1)) }
            },
            "credential_unreadable",
        ),
        ("not a seal at all", |c| c.sealed = SealSpec::Raw("sk-plaintext".to_owned()), "credential_unreadable"),
        ("an unpriced model", |c| c.model = 4, "unknown_model"),
        (
            "no max_tokens and no model maximum",
            |c| {
                c.adapter = 3;
                c.connection = Some((0, 0, 3));
                c.sealed = SealSpec::For { tenant: 0, connection: 0, provider: 3, kid: 0, nonce: [1; 12], flip: None };
                c.model = 1;
                c.max_tokens = None;
            },
            "unknown_model",
        ),
        (
            "a quote past u64",
            |c| {
                c.adapter = 2;
                c.connection = Some((0, 0, 2));
                c.sealed = SealSpec::For { tenant: 0, connection: 0, provider: 2, kid: 0, nonce: [1; 12], flip: None };
                c.model = 3;
                c.max_tokens = Some(u64::MAX);
            },
            "overflow",
        ),
    ];
    for (name, edit, want) in rows {
        assert_eq!(provider(edit), want, "{name}");
    }
}
