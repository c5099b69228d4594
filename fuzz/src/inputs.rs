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
