//! `Gate::admit` and `Gate::admit_headers` on requests mixing valid,
//! mutated, foreign and forged sessions, forged identity headers in many
//! spellings, `Connection` nominations, several `Cookie` headers, valid,
//! legacy and hostile hosts, route entries right and wrong, and `now`
//! around the validity window, methods and Fetch Metadata and `Origin`
//! fields of this site, a sibling's and none. The decision equals SPEC §5
//! `forward` over the components (§3.2 from the reference, between the
//! route and the session cookie); an admitted request carries exactly the
//! verified identity (and an attestation the tool-side verifier accepts);
//! a denied one carries nothing of the namespace and no session cookie.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vendo_isolation::session::SESSION_COOKIE_NAME;
use vendo_isolation_fuzz::admit_props::{AdmitCase, Via, check, host};
use vendo_isolation_fuzz::fixture;
use vendo_isolation_fuzz::inputs::{FieldSpec, MethodSpec, SiteFieldSpec, TokenChoice};

/// Where the session cookie goes; the first variant is the ordinary
/// request, so an exhausted input is admitted.
#[derive(Debug, Arbitrary)]
enum Session {
    OwnHeader,
    Absent,
    Bare,
    TwiceInOne,
    TwiceAcrossHeaders,
}

#[derive(Debug, Arbitrary)]
enum ViaSpec {
    Headers,
    Parts { attest: bool, uri: u8, raw_uri: Vec<u8> },
}

#[derive(Debug, Arbitrary)]
struct Input {
    token: TokenChoice,
    session: Session,
    host: u8,
    host_raw: Vec<u8>,
    route: u8,
    fields: Vec<FieldSpec>,
    method: MethodSpec,
    site: Vec<SiteFieldSpec>,
    now_choice: u8,
    now_offset: i64,
    options: u8,
    via: ViaSpec,
}

const URIS: [&str; 6] = [
    "/inbox?page=2",
    "http://acme-crm.vendo.run/x",
    "http://ACME-CRM.vendo.run/x",
    "http://other-app.vendo.run/x",
    "http://evil@acme-crm.vendo.run/x",
    "*",
];

fuzz_target!(|input: Input| {
    let (token, _) = input.token.bytes();
    let name = SESSION_COOKIE_NAME.as_bytes();
    let pair = [name, b"=", &token].concat();
    let mut fields = Vec::new();
    match input.session {
        Session::OwnHeader => fields.push((b"cookie".to_vec(), pair.clone())),
        Session::Absent => {}
        Session::Bare => fields.push((b"cookie".to_vec(), [b"theme=dark; ", name].concat())),
        Session::TwiceInOne => fields.push((b"cookie".to_vec(), [&pair[..], b"; ", &pair].concat())),
        Session::TwiceAcrossHeaders => {
            fields.push((b"cookie".to_vec(), pair.clone()));
            fields.push((b"cookie".to_vec(), [name, b"=other"].concat()));
        }
    }
    fields.extend(input.fields.iter().map(|f| f.render(name, &token)));
    fields.extend(input.site.iter().map(SiteFieldSpec::render));
    let via = match input.via {
        ViaSpec::Headers => Via::Headers,
        ViaSpec::Parts { attest, uri, raw_uri } => {
            let uri = URIS.get(usize::from(uri)).map_or(raw_uri, |u| u.as_bytes().to_vec());
            Via::Parts { attest, uri }
        }
    };
    check(&AdmitCase {
        method: input.method.method(),
        host: host(input.host, &input.host_raw),
        route: fixture::route(input.route),
        fields,
        now: fixture::now(input.now_choice, input.now_offset),
        options: input.options,
        via,
    });
});
