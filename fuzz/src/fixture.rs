//! One fixed world for the session and proxy properties: a key ring, the
//! tokens it minted, decoys it did not, routes, and verification policies.

use std::sync::OnceLock;

use vendo_isolation::session::{SessionClaims, VerifyOptions, mint_session};
use vendo_isolation::{KeyRing, RouteEntry, SessionKey, Timestamp};

use super::reference::{self, Claims, MAX_SECS, ModelKey, ModelOptions};

/// Issued-at of the ordinary session.
pub const IAT: u64 = 1_700_000_000;
/// Its expiry.
pub const EXP: u64 = IAT + 3_600;
/// When the verify-only key `kr` retires.
pub const RETIRE_AT: u64 = IAT + 1_800;

/// The tenant and deployment every route and ordinary token is for.
pub const TENANT: &str = "t_1";
/// See [`TENANT`].
pub const DEPLOYMENT: &str = "d_1";

/// Tenants a verifier may expect: the right one, another, one differing
/// only by case, one with the right one as prefix.
pub const TENANTS: [&str; 4] = [TENANT, "t_2", "T_1", "t_10"];
/// Deployments a verifier may expect, in the same spirit.
pub const DEPLOYMENTS: [&str; 4] = [DEPLOYMENT, "d_2", "D_1", "d_1-"];

/// A token the ring's own keys minted, with what it carries.
#[derive(Debug)]
pub struct Minted {
    /// The token.
    pub token: String,
    /// Its claims.
    pub claims: Claims,
    /// The key that signed it.
    pub kid: &'static str,
}

/// The world.
#[derive(Debug)]
pub struct Fixture {
    /// The verifying ring as the reference sees it.
    pub keys: Vec<ModelKey>,
    /// The same ring as the crate holds it; see [`Fixture::ring`].
    pub ring: KeyRing,
    /// Tokens minted by keys of the ring: the only ones that may verify.
    pub minted: Vec<Minted>,
    /// Tokens signed by keys outside the ring, or by a forger reusing a
    /// ring kid with another secret: never verify.
    pub decoys: Vec<String>,
}

const K1: &[u8] = &[0x11; 32];
const K0: &[u8] = &[0x22; 40];
const KR: &[u8] = &[0x33; 32];
const KX: &[u8] = &[0x44; 32];
const FORGED: &[u8] = &[0x55; 32];

fn claims(t: &str, d: &str, u: &str, e: &str, iat: u64, exp: u64) -> Claims {
    Claims { tenant: t.into(), deployment: d.into(), user: u.into(), email: e.into(), iat, exp }
}

/// Mints through the crate (`mint_session`) with a one-key ring; the
/// reference mint must give the same bytes.
fn crate_mint(c: &Claims, kid: &str, secret: &[u8]) -> String {
    let ts = |s| Timestamp::from_unix_seconds(s).unwrap();
    let sc = SessionClaims::new(
        c.tenant.parse().unwrap(),
        c.deployment.parse().unwrap(),
        c.user.parse().unwrap(),
        c.email.parse().unwrap(),
        ts(c.iat),
        ts(c.exp),
    )
    .unwrap();
    let token = mint_session(&sc, &KeyRing::new(SessionKey::new(kid, secret).unwrap()));
    assert_eq!(token, reference::mint(c, kid, secret), "crate and reference mint differ");
    token
}

impl Fixture {
    fn build() -> Self {
        let keys = vec![
            ModelKey { kid: "k1".into(), secret: K1.to_vec(), primary: true, retire_at: None },
            ModelKey { kid: "k0".into(), secret: K0.to_vec(), primary: false, retire_at: None },
            ModelKey { kid: "kr".into(), secret: KR.to_vec(), primary: false, retire_at: Some(RETIRE_AT) },
        ];
        let long_id = "Z".repeat(64);
        let long_email = format!("{}@{}", "e".repeat(126), "x".repeat(127));
        let table: Vec<(Claims, &'static str)> = vec![
            (claims(TENANT, DEPLOYMENT, "u_1", "a@b.io", IAT, EXP), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_1", "a@b.io", IAT, EXP), "k0"),
            (claims(TENANT, DEPLOYMENT, "u_1", "a@b.io", IAT, EXP), "kr"),
            (claims("t_2", DEPLOYMENT, "u_2", "c@d.io", IAT, EXP), "k1"),
            (claims(TENANT, "d_2", "u_1", "a@b.io", IAT, EXP), "k1"),
            (claims("T_1", DEPLOYMENT, "u_1", "a@b.io", IAT, EXP), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_3", "long@life", IAT, IAT + 604_801), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_4", "la@ter", IAT + 7_200, IAT + 10_800), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_5", "s@hort", IAT, IAT + 1), "k1"),
            (claims(TENANT, DEPLOYMENT, &long_id, &long_email, IAT, EXP), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_6", "e@poch", 0, 1), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_7", "e@nd", MAX_SECS - 1, MAX_SECS), "k1"),
            (claims(TENANT, DEPLOYMENT, "u_8", "!#$%&'*+/=?^_`{|}~;,\"@x", IAT, EXP), "k1"),
        ];
        let secret = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap().secret.clone();
        let minted = table
            .into_iter()
            .map(|(c, kid)| Minted { token: crate_mint(&c, kid, &secret(kid)), claims: c, kid })
            .collect();
        let ordinary = claims(TENANT, DEPLOYMENT, "u_1", "a@b.io", IAT, EXP);
        let decoys = vec![reference::mint(&ordinary, "kx", KX), reference::mint(&ordinary, "k1", FORGED)];
        Self { keys, ring: Self::ring(), minted, decoys }
    }

    /// The process-wide fixture.
    pub fn get() -> &'static Self {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(Self::build)
    }

    /// The crate's ring for [`Fixture::keys`]: `k1` primary, `k0` and
    /// `kr` verify-only, `kr` retired at [`RETIRE_AT`].
    pub fn ring() -> KeyRing {
        let mut ring = KeyRing::new(SessionKey::new("k1", K1).unwrap());
        ring.add_verify_only(SessionKey::new("k0", K0).unwrap(), None).unwrap();
        ring.add_verify_only(
            SessionKey::new("kr", KR).unwrap(),
            Some(Timestamp::from_unix_seconds(RETIRE_AT).unwrap()),
        )
        .unwrap();
        ring
    }

    /// Every token, minted or decoy: material for splices.
    pub fn all_tokens(&self) -> Vec<&[u8]> {
        self.minted.iter().map(|m| m.token.as_bytes()).chain(self.decoys.iter().map(|d| d.as_bytes())).collect()
    }

    /// The secret a signer uses for `kid`: a ring key's, or `None` for a
    /// kid outside the ring.
    pub fn secret(&self, kid: &str) -> Option<&[u8]> {
        self.keys.iter().find(|k| k.kid == kid).map(|k| k.secret.as_slice())
    }
}

/// Keys a signer may sign with: the ring's, one outside it, and a forger
/// reusing `k1` with another secret.
pub fn signing_key(index: u8) -> (&'static str, &'static [u8]) {
    match index % 5 {
        0 => ("k1", K1),
        1 => ("k0", K0),
        2 => ("kr", KR),
        3 => ("kx", KX),
        _ => ("k1", FORGED),
    }
}

/// Verification policies: the default; tight (no leeway, one hour,
/// re-issue in the last ten minutes); a revocation floor; and extremes
/// that would overflow a careless `now + leeway`.
pub fn options(index: u8) -> (VerifyOptions, ModelOptions) {
    let model = match index % 4 {
        0 => ModelOptions { leeway: 60, max_lifetime: 604_800, min_iat: None, reissue_within: 0 },
        1 => ModelOptions { leeway: 0, max_lifetime: 3_600, min_iat: None, reissue_within: 600 },
        2 => ModelOptions { leeway: 300, max_lifetime: 604_800, min_iat: Some(IAT + 1), reissue_within: 0 },
        _ => ModelOptions { leeway: u64::MAX, max_lifetime: u64::MAX, min_iat: None, reissue_within: u64::MAX },
    };
    let mut o = VerifyOptions::new()
        .with_leeway_secs(model.leeway)
        .with_max_lifetime_secs(model.max_lifetime)
        .with_reissue_within_secs(model.reissue_within);
    if let Some(m) = model.min_iat {
        o = o.with_min_issued_at(Timestamp::from_unix_seconds(m).unwrap());
    }
    (o, model)
}

/// `now` from a fuzzer's choice: an offset around [`IAT`] that hits the
/// window edges often, or any second.
pub fn now(choice: u8, offset: i64) -> u64 {
    const EDGES: [i64; 12] = [0, -61, -60, -301, -300, 1, 1_799, 1_800, 3_599, 3_600, 3_659, 3_660];
    let secs = match choice % 4 {
        0 => i128::from(IAT) + i128::from(EDGES[(offset.unsigned_abs() % 12) as usize]),
        1 => i128::from(IAT) + i128::from(offset % 20_000),
        2 => i128::from(offset),
        _ => i128::from(MAX_SECS) - i128::from(offset.unsigned_abs() % 100),
    };
    secs.clamp(0, i128::from(MAX_SECS)) as u64
}

/// Route entries: right; another tenant's entry for the same slugs;
/// another deployment; slugs that do not rebuild the host (`acme-crm` +
/// `x`, and the ambiguous split `acme` + `crm-x`).
pub fn route(index: u8) -> Option<RouteEntry> {
    let (t, d, ts, ds) = match index % 6 {
        0 => (TENANT, DEPLOYMENT, "acme", "crm"),
        1 => ("t_2", DEPLOYMENT, "acme", "crm"),
        2 => (TENANT, "d_2", "acme", "crm"),
        3 => (TENANT, DEPLOYMENT, "acme-crm", "x"),
        4 => (TENANT, DEPLOYMENT, "acme", "crm-x"),
        _ => return None,
    };
    Some(RouteEntry {
        tenant_id: t.parse().unwrap(),
        deployment_id: d.parse().unwrap(),
        tenant_slug: ts.parse().unwrap(),
        deployment_slug: ds.parse().unwrap(),
    })
}
