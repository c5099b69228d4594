//! `arbitrary` inputs for the targets. Fuzz-only: the regression tests
//! build the shared case types directly and never include this file.

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::fixture;
use crate::mutate::Mutation;
use crate::verify_props::{ClaimsSpec, IntSpec, Payload};

fn small(u: &mut Unstructured<'_>) -> Result<usize> {
    Ok(usize::from(u16::arbitrary(u)?))
}

impl<'a> Arbitrary<'a> for Mutation {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=6u8)? {
            0 => Self::FlipBit { at: small(u)?, bit: u.arbitrary()? },
            1 => Self::Truncate { len: small(u)? },
            2 => Self::Delete { at: small(u)?, len: usize::from(u.arbitrary::<u8>()?) },
            3 => Self::Insert { at: small(u)?, bytes: u.arbitrary()? },
            4 => Self::Splice {
                source: u.arbitrary::<u8>()?.into(),
                from: small(u)?,
                take: small(u)?,
                at: small(u)?,
                len: small(u)?,
            },
            5 => Self::SwapPart { part: u.arbitrary()?, source: u.arbitrary::<u8>()?.into() },
            _ => Self::ToggleCase { at: small(u)? },
        })
    }
}

impl<'a> Arbitrary<'a> for IntSpec {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=3u8)? {
            0 => Self::Offset(i64::from(u.arbitrary::<i16>()?)),
            1 => Self::Offset(u.arbitrary()?),
            2 => Self::Raw(u.arbitrary()?),
            _ => Self::Raw(
                [&b"0"[..], b"00", b"01", b"+1", b"-1", b" 1", b"253402300799", b"253402300800", b"1e3"]
                    [usize::from(u.arbitrary::<u8>()? % 9)]
                .to_vec(),
            ),
        })
    }
}

impl<'a> Arbitrary<'a> for ClaimsSpec {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        // Mostly a known tenant (exhausted input gives the right one).
        let tenant = if u.arbitrary::<u8>()? < 224 { Some(u.arbitrary()?) } else { None };
        Ok(Self {
            tenant,
            tenant_raw: u.arbitrary()?,
            deployment: u.arbitrary()?,
            user: if u.arbitrary()? { b"u_1".to_vec() } else { u.arbitrary()? },
            email: if u.arbitrary()? { b"a@b.io".to_vec() } else { u.arbitrary()? },
            iat: u.arbitrary()?,
            exp: u.arbitrary()?,
            extra: u.arbitrary()?,
        })
    }
}

impl<'a> Arbitrary<'a> for Payload {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=2u8)? {
            0 => Self::Claims(u.arbitrary()?),
            1 => Self::Encode(u.arbitrary()?),
            _ => Self::Raw(u.arbitrary()?),
        })
    }
}

/// When and against what a token is checked.
#[derive(Debug, Arbitrary)]
pub struct Context {
    /// See [`fixture::now`].
    pub now_choice: u8,
    /// See [`fixture::now`].
    pub now_offset: i64,
    /// See [`fixture::options`].
    pub options: u8,
    /// Index into [`fixture::TENANTS`].
    pub tenant: u8,
    /// Index into [`fixture::DEPLOYMENTS`].
    pub deployment: u8,
}

impl Context {
    /// Unix seconds.
    pub fn now(&self) -> u64 {
        fixture::now(self.now_choice, self.now_offset)
    }
}

/// Which token a request or a verification carries.
#[derive(Debug, Arbitrary)]
pub enum TokenChoice {
    /// A token the ring minted, as it is.
    Minted(u8),
    /// A minted token or a decoy, then edited.
    Mutated(u8, Vec<Mutation>),
    /// Signed here over chosen claims or payload, then edited.
    Signed(u8, Payload, Vec<Mutation>),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl TokenChoice {
    /// The bytes, and whether they were signed here.
    pub fn bytes(&self) -> (Vec<u8>, bool) {
        let f = fixture::Fixture::get();
        let sources = f.all_tokens();
        match self {
            Self::Minted(i) => (f.minted[usize::from(*i) % f.minted.len()].token.clone().into_bytes(), false),
            Self::Mutated(i, muts) => {
                (crate::mutate::apply(sources[usize::from(*i) % sources.len()], muts, &sources), false)
            }
            Self::Signed(key, payload, muts) => {
                let signed = crate::verify_props::signed_token(*key, payload);
                (crate::mutate::apply(&signed, muts, &sources), true)
            }
            Self::Raw(b) => (b.clone(), false),
        }
    }
}

const PADS: [&[u8]; 6] = [b"", b" ", b"\t", b" \t ", b"\xa0", b"\x0b"];

fn pad(i: u8) -> &'static [u8] {
    PADS[usize::from(i) % PADS.len()]
}

/// A cookie name: the session cookie's, a near miss, or any.
#[derive(Debug, Arbitrary)]
pub enum CookieName {
    /// Exactly the session cookie's name.
    Session,
    /// Near misses: case, prefix, suffix, quoting.
    NearMiss(u8),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl CookieName {
    fn render(&self, session: &[u8]) -> Vec<u8> {
        match self {
            Self::Session => session.to_vec(),
            Self::NearMiss(i) => match i % 5 {
                0 => session.to_ascii_lowercase(),
                1 => [b"x", session].concat(),
                2 => [session, b"x"].concat(),
                3 => [b"\"", session, b"\""].concat(),
                _ => session.iter().map(|b| if *b == b'_' { b'-' } else { *b }).collect(),
            },
            Self::Raw(b) => b.clone(),
        }
    }
}

/// One `name=value` of a `Cookie` header.
#[derive(Debug, Arbitrary)]
pub struct PairSpec {
    name: CookieName,
    /// `None`: the token under test; else these bytes.
    value: Option<Vec<u8>>,
    /// Whether the pair has `=`.
    eq: bool,
    pads: [u8; 4],
}

impl PairSpec {
    fn render(&self, session: &[u8], token: &[u8]) -> Vec<u8> {
        let mut out = [pad(self.pads[0]), &self.name.render(session), pad(self.pads[1])].concat();
        if self.eq {
            out.push(b'=');
            out.extend_from_slice(pad(self.pads[2]));
            out.extend_from_slice(self.value.as_deref().unwrap_or(token));
            out.extend_from_slice(pad(self.pads[3]));
        }
        out
    }
}

const MANAGED_PREFIXES: [&str; 10] = [
    "x-vendo-",
    "X_VENDO_",
    "x.vendo.",
    "X-vEnDo_",
    "x_vendo.",
    "x-vendo",
    "x-vend0-",
    "xx-vendo-",
    "x-vendor-",
    "-x-vendo-",
];
const SUFFIXES: [&str; 6] = ["user-id", "tenant_id", "deployment.id", "user-email", "attestation", ""];
const PLAIN: [&str; 8] = ["accept", "host", "cookie", "connection", "keep-alive", "upgrade", "te", "x-forwarded-for"];

/// A name or `Connection` token.
#[derive(Debug, Arbitrary)]
pub enum NameSpec {
    /// A prefix spelling (managed or near miss) and a suffix.
    Prefixed(u8, u8),
    /// A prefix spelling and any suffix.
    PrefixedRaw(u8, Vec<u8>),
    /// An ordinary name.
    Plain(u8),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl NameSpec {
    fn render(&self) -> Vec<u8> {
        let prefix = |i: &u8| MANAGED_PREFIXES[usize::from(*i) % MANAGED_PREFIXES.len()].as_bytes();
        match self {
            Self::Prefixed(p, s) => [prefix(p), SUFFIXES[usize::from(*s) % SUFFIXES.len()].as_bytes()].concat(),
            Self::PrefixedRaw(p, s) => [prefix(p), s].concat(),
            Self::Plain(i) => PLAIN[usize::from(*i) % PLAIN.len()].as_bytes().to_vec(),
            Self::Raw(b) => b.clone(),
        }
    }
}

/// One header field.
#[derive(Debug, Arbitrary)]
pub enum FieldSpec {
    /// A `Cookie` header.
    Cookie(Vec<PairSpec>, bool),
    /// A `Connection` header: tokens, each with padding, `,,` when asked.
    Connection(Vec<(NameSpec, u8, bool)>),
    /// Any name, any value.
    Field(NameSpec, Vec<u8>),
}

impl FieldSpec {
    /// `(name, value)` bytes; `token` fills cookie values left open.
    pub fn render(&self, session: &[u8], token: &[u8]) -> (Vec<u8>, Vec<u8>) {
        match self {
            Self::Cookie(pairs, trailing) => {
                let mut v = pairs.iter().map(|p| p.render(session, token)).collect::<Vec<_>>().join(&b';');
                if *trailing {
                    v.push(b';');
                }
                (b"cookie".to_vec(), v)
            }
            Self::Connection(tokens) => {
                let mut v = Vec::new();
                for (i, (t, p, empty)) in tokens.iter().enumerate() {
                    if i > 0 {
                        v.push(b',');
                    }
                    if *empty {
                        v.push(b',');
                    }
                    v.extend_from_slice(pad(*p));
                    v.extend_from_slice(&t.render());
                    v.extend_from_slice(pad(p >> 4));
                }
                (b"connection".to_vec(), v)
            }
            Self::Field(n, v) => (n.render(), v.clone()),
        }
    }
}

const METHODS: [&str; 10] = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "get", "Post", "PROPFIND"];

/// A request method: a common one, a case variant, or any bytes (an
/// invalid token becomes `GET`).
#[derive(Debug, Arbitrary)]
pub enum MethodSpec {
    /// Index into the dictionary; the first is `GET`.
    Dict(u8),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl MethodSpec {
    /// The method.
    pub fn method(&self) -> http::Method {
        let bytes = match self {
            Self::Dict(i) => METHODS[usize::from(*i) % METHODS.len()].as_bytes(),
            Self::Raw(b) => b.as_slice(),
        };
        http::Method::from_bytes(bytes).unwrap_or(http::Method::GET)
    }
}

const SITES: [&str; 10] = [
    "same-origin",
    "same-site",
    "cross-site",
    "none",
    "SAME-ORIGIN",
    " Same-Site\t",
    "same-origin, none",
    "same_origin",
    "",
    "null",
];
const MODES: [&str; 7] = ["navigate", "NAVIGATE", " navigate ", "cors", "no-cors", "same-origin", "websocket"];
const DESTS: [&str; 7] = ["document", "Document\t", "iframe", "frame", "empty", "image", "documents"];
const SCHEMES: [&str; 6] = ["https", "http", "HTTPS", "", "1x", "ws"];
const ORIGIN_HOSTS: [&str; 9] = [
    "acme-crm.vendo.run",
    "ACME-CRM.vendo.run.",
    "crm.acme.vendo.run",
    "evil-x.vendo.run",
    "acme-crm.vendo.run.evil-x.vendo.run",
    "acme-crm.vendo.run@evil-x.vendo.run",
    "vendo.run",
    "",
    "[::1]",
];
const PORTS: [&str; 6] = ["", ":443", ":8443", ":", ":8x", ":99999999"];
const TAILS: [&str; 6] = ["", "/", "/path", "?q", "#f", "."];

/// One value: from a dictionary, or any bytes.
#[derive(Debug, Arbitrary)]
pub enum ValueSpec {
    /// Index into the field's dictionary.
    Dict(u8),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl ValueSpec {
    fn render(&self, dict: &[&str]) -> Vec<u8> {
        match self {
            Self::Dict(i) => dict[usize::from(*i) % dict.len()].as_bytes().to_vec(),
            Self::Raw(b) => b.clone(),
        }
    }
}

/// An `Origin` value.
#[derive(Debug, Arbitrary)]
pub enum OriginSpec {
    /// `null`: sandboxed frames, `data:` URLs.
    Null,
    /// `scheme://host port tail`, each from a dictionary, padded.
    Built {
        /// Index into the schemes.
        scheme: u8,
        /// Index into the hosts.
        host: u8,
        /// Index into the ports.
        port: u8,
        /// Index into the tails (path, query, fragment, dot).
        tail: u8,
        /// Surrounding spaces or tabs.
        pad: u8,
    },
    /// Any bytes.
    Raw(Vec<u8>),
}

impl OriginSpec {
    fn render(&self) -> Vec<u8> {
        let pick = |d: &[&'static str], i: u8| d[usize::from(i) % d.len()];
        match self {
            Self::Null => b"null".to_vec(),
            Self::Built { scheme, host, port, tail, pad } => format!(
                "{p}{}://{}{}{}{q}",
                pick(&SCHEMES, *scheme),
                pick(&ORIGIN_HOSTS, *host),
                pick(&PORTS, *port),
                pick(&TAILS, *tail),
                p = pick(&["", " ", "\t"], *pad),
                q = pick(&["", "\t", " "], pad >> 4),
            )
            .into_bytes(),
            Self::Raw(b) => b.clone(),
        }
    }
}

/// A Fetch Metadata or `Origin` field (SPEC §3.2), its name in lower or
/// upper case.
#[derive(Debug, Arbitrary)]
pub enum SiteFieldSpec {
    /// `Sec-Fetch-Site`.
    Site(ValueSpec, bool),
    /// `Sec-Fetch-Mode`.
    Mode(ValueSpec, bool),
    /// `Sec-Fetch-Dest`.
    Dest(ValueSpec, bool),
    /// `Origin`.
    Origin(OriginSpec, bool),
}

impl SiteFieldSpec {
    /// `(name, value)` bytes.
    pub fn render(&self) -> (Vec<u8>, Vec<u8>) {
        let (name, value, upper) = match self {
            Self::Site(v, u) => ("sec-fetch-site", v.render(&SITES), u),
            Self::Mode(v, u) => ("sec-fetch-mode", v.render(&MODES), u),
            Self::Dest(v, u) => ("sec-fetch-dest", v.render(&DESTS), u),
            Self::Origin(o, u) => ("origin", o.render(), u),
        };
        let name = if *upper { name.to_ascii_uppercase() } else { name.to_owned() };
        (name.into_bytes(), value)
    }
}

const SET_COOKIE_NAMES: [&str; 10] = [
    "theme",
    "__Host-cart",
    "Domain",
    "sid",
    "SID",
    "",
    "__Host-vendo_session",
    "__host-vendo_session",
    "x __Host-vendo_session",
    " __HOST-VENDO_SESSION ",
];
const ATTRIBUTES: [&str; 8] =
    ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=0", "Path=/domain", "xdomain=1", "Domains=vendo.run"];
const DOMAIN_NAMES: [&str; 6] = ["Domain", "domain", "DOMAIN", "DoMaIn", "domain ", "\tDomain"];
const DOMAIN_VALUES: [&str; 6] = ["=vendo.run", "=.vendo.run", " =VENDO.RUN", "=", "", "=acme-crm.vendo.run"];
const SEPARATORS: [&str; 4] = ["; ", ";", " ;\t", ";;"];

/// One `Set-Cookie` attribute.
#[derive(Debug, Arbitrary)]
pub enum AttributeSpec {
    /// An ordinary attribute, or a near miss of `Domain`.
    Dict(u8),
    /// `Domain` in some spelling with some value.
    Domain(u8, u8),
    /// Any bytes.
    Raw(Vec<u8>),
}

/// One response header field (SPEC §3.3).
#[derive(Debug, Arbitrary)]
pub enum ResponseFieldSpec {
    /// A `Set-Cookie`: name, whether it has `=`, value, attributes with
    /// their separators; the name of the header in some case.
    SetCookie {
        /// Cookie name.
        name: ValueSpec,
        /// Whether `=` follows the name.
        eq: bool,
        /// Cookie value.
        value: Vec<u8>,
        /// `(separator, attribute)`.
        attributes: Vec<(u8, AttributeSpec)>,
        /// `Set-Cookie` spelled in upper case.
        upper: bool,
    },
    /// A `Set-Cookie2`.
    SetCookie2(Vec<u8>),
    /// Any name (namespace spellings, near misses, ordinary), any value.
    Field(NameSpec, Vec<u8>),
}

impl ResponseFieldSpec {
    /// `(name, value)` bytes.
    pub fn render(&self) -> (Vec<u8>, Vec<u8>) {
        match self {
            Self::SetCookie { name, eq, value, attributes, upper } => {
                let mut v = name.render(&SET_COOKIE_NAMES);
                if *eq {
                    v.push(b'=');
                    v.extend_from_slice(value);
                }
                for (sep, a) in attributes {
                    v.extend_from_slice(SEPARATORS[usize::from(*sep) % SEPARATORS.len()].as_bytes());
                    match a {
                        AttributeSpec::Dict(i) => {
                            v.extend_from_slice(ATTRIBUTES[usize::from(*i) % ATTRIBUTES.len()].as_bytes());
                        }
                        AttributeSpec::Domain(n, d) => {
                            v.extend_from_slice(DOMAIN_NAMES[usize::from(*n) % DOMAIN_NAMES.len()].as_bytes());
                            v.extend_from_slice(DOMAIN_VALUES[usize::from(*d) % DOMAIN_VALUES.len()].as_bytes());
                        }
                        AttributeSpec::Raw(b) => v.extend_from_slice(b),
                    }
                }
                let header = if *upper { "SET-COOKIE" } else { "set-cookie" };
                (header.as_bytes().to_vec(), v)
            }
            Self::SetCookie2(v) => (b"set-cookie2".to_vec(), v.clone()),
            Self::Field(n, v) => (n.render(), v.clone()),
        }
    }
}

/// The session cookie's name a target runs with: the default, a short one,
/// the empty string, or any text.
#[derive(Debug, Arbitrary)]
pub enum SessionName {
    /// `__Host-vendo_session`.
    Default,
    /// `sid`.
    Short,
    /// The empty name.
    Empty,
    /// Any text.
    Raw(String),
}

impl SessionName {
    /// The name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Default => vendo_isolation::session::SESSION_COOKIE_NAME,
            Self::Short => "sid",
            Self::Empty => "",
            Self::Raw(s) => s.as_str(),
        }
    }
}
