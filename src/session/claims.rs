//! Claims parsing, run only after the MAC verified (SPEC §4, check 4
//! `bad_claims`).

use crate::ids::{MAX_EMAIL_LEN, MAX_ID_LEN, MIN_EMAIL_LEN};
use crate::wire::parse_canonical_secs;
use crate::{DeploymentId, TenantId, Timestamp};

/// Validated claims: byte spans into the decoded payload, and the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Parsed {
    /// `(start, end)` of tenant id, deployment id, user id and email.
    // INVARIANT: each span is within the parsed buffer, in order, and its
    // bytes passed the field's validation (so they are ASCII).
    pub(super) spans: [(usize, usize); 4],
    pub(super) issued_at: Timestamp,
    pub(super) expires_at: Timestamp,
}

/// Byte classes of the one-pass parser: an id byte (`[A-Za-z0-9_-]`,
/// SPEC §1), a visible ASCII byte (an email's, `0x21`–`0x7E`), and `@`.
const ID: u8 = 1;
const VISIBLE: u8 = 2;
const AT: u8 = 4;

/// The classes of every byte; `LF` and every byte that is not visible
/// ASCII have none.
// Evaluated at compile time: an out-of-range index fails the build.
#[allow(clippy::indexing_slicing)]
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x21;
    while b <= 0x7e {
        let c = b as u8;
        let mut class = VISIBLE;
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            class |= ID;
        }
        if c == b'@' {
            class |= AT;
        }
        t[b] = class;
        b += 1;
    }
    t
};

/// One field as the pass saw it: where it is, and the classes all of its
/// bytes share (`all`) and any of them has (`any`).
#[derive(Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    all: u8,
    any: u8,
}

impl Field {
    const EMPTY: Self = Self { start: 0, end: 0, all: 0, any: 0 };

    const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// `TenantId`, `DeploymentId` and `UserId` rules (SPEC §1).
    const fn is_id(&self) -> bool {
        self.all & ID != 0 && self.len() >= 1 && self.len() <= MAX_ID_LEN
    }

    /// `Email` rules (SPEC §4): visible ASCII, 3–254 bytes, an `@` that
    /// is neither first nor last.
    fn is_email(&self, claims: &[u8]) -> bool {
        let edge_at = claims.get(self.start) == Some(&b'@') || claims.get(self.end.wrapping_sub(1)) == Some(&b'@');
        self.all & VISIBLE != 0
            && self.any & AT != 0
            && (MIN_EMAIL_LEN..=MAX_EMAIL_LEN).contains(&self.len())
            && !edge_at
    }

    /// The field as a canonical decimal timestamp (SPEC §4), read by the
    /// crate's one integer parser.
    fn secs(&self, claims: &[u8]) -> Option<Timestamp> {
        parse_canonical_secs(claims.get(self.start..self.end)?)
    }
}

/// Parses `tenant LF deployment LF user LF email LF iat LF exp`.
///
/// Exactly six fields; `iat < exp`. Every id and the email are checked
/// with the same rules as their types (SPEC §1, §4), which also rejects
/// any byte that is not ASCII, so the spans are valid UTF-8.
///
/// `tenant` and `deployment` are the ids the caller will compare the
/// first two fields with (checks 8 and 9). Both are valid ids, so a
/// field equal to one is valid without looking at its bytes again; any
/// other field is classified byte by byte, in one pass that also finds
/// the fields. The result is the same whatever ids are passed: a test
/// pins it to the types' own validators.
pub(super) fn parse(claims: &[u8], tenant: &TenantId, deployment: &DeploymentId) -> Option<Parsed> {
    let mut fields = [Field::EMPTY; 6];
    let mut n = 0usize;
    let mut start = 0usize;
    for want in [tenant.as_str().as_bytes(), deployment.as_str().as_bytes()] {
        let end = start.checked_add(want.len())?;
        if claims.get(start..end) != Some(want) || claims.get(end) != Some(&b'\n') {
            break;
        }
        *fields.get_mut(n)? = Field { start, end, all: ID, any: ID };
        n = n.saturating_add(1);
        start = end.saturating_add(1);
    }
    let (mut all, mut any) = (0xffu8, 0u8);
    for (i, &b) in claims.iter().enumerate().skip(start) {
        let class = CLASS.get(usize::from(b)).copied().unwrap_or(0);
        if b == b'\n' {
            *fields.get_mut(n)? = Field { start, end: i, all, any };
            n = n.saturating_add(1);
            start = i.saturating_add(1);
            (all, any) = (0xff, 0);
        } else {
            all &= class;
            any |= class;
        }
    }
    *fields.get_mut(n)? = Field { start, end: claims.len(), all, any };
    if n != 5 {
        return None;
    }
    let [tenant, deployment, user, email, iat, exp] = fields;
    if !(tenant.is_id() && deployment.is_id() && user.is_id() && email.is_email(claims)) {
        return None;
    }
    let issued_at = iat.secs(claims)?;
    let expires_at = exp.secs(claims)?;
    if issued_at >= expires_at {
        return None;
    }
    let spans = [tenant, deployment, user, email].map(|f| (f.start, f.end));
    Some(Parsed { spans, issued_at, expires_at })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Email, UserId};

    /// The rule written with the types' own validators and the shared
    /// integer parser: what the one-pass parser must agree with.
    fn reference(claims: &[u8]) -> Option<Parsed> {
        let mut fields = claims.split(|&b| b == b'\n');
        let mut spans = [(0usize, 0usize); 4];
        let mut start = 0usize;
        for span in &mut spans {
            let field = fields.next()?;
            let end = start.checked_add(field.len())?;
            *span = (start, end);
            start = end.checked_add(1)?;
        }
        let (iat, exp) = (fields.next()?, fields.next()?);
        if fields.next().is_some() {
            return None;
        }
        let [t, d, u, e] = spans.map(|(s, e)| core::str::from_utf8(&claims[s..e]).ok());
        TenantId::validate(t?).ok()?;
        DeploymentId::validate(d?).ok()?;
        UserId::validate(u?).ok()?;
        Email::validate(e?).ok()?;
        let (issued_at, expires_at) = (parse_canonical_secs(iat)?, parse_canonical_secs(exp)?);
        (issued_at < expires_at).then_some(Parsed { spans, issued_at, expires_at })
    }

    /// Fields near the rules' edges: valid ones, and each kind of wrong.
    fn field() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[A-Za-z0-9_-]{0,66}".prop_map(String::into_bytes),
            "[!-~]{0,3}@[!-~]{0,3}".prop_map(String::into_bytes),
            "[a-z@.]{1,8}".prop_map(String::into_bytes),
            "(0|[1-9][0-9]{0,12}|0[0-9]{1,3})".prop_map(String::into_bytes),
            "2534023007[0-9]{2}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..6),
            Just(vec![b'a'; 254]).prop_map(|mut v| {
                v[100] = b'@';
                v
            }),
            Just(vec![b'a'; 255]).prop_map(|mut v| {
                v[100] = b'@';
                v
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_096))]

        #[test]
        fn one_pass_agrees_with_the_validators(
            fields in proptest::collection::vec(field(), 0..8),
            lf_at_end in any::<bool>(),
            expected in proptest::collection::vec(0usize..4, 2),
        ) {
            let mut claims = fields.join(&b'\n');
            if lf_at_end {
                claims.push(b'\n');
            }
            // The expected ids: the claims' own first fields when they are
            // ids (the fast path), another id, a prefix or an extension of
            // the field.
            let pick = |which: usize, i: usize| -> String {
                let own = String::from_utf8_lossy(fields.get(i).map_or(&[][..], |f| &f[..])).into_owned();
                let id = match which {
                    0 => own,
                    1 => "t_1".to_owned(),
                    2 => own.get(..own.len().saturating_sub(1)).unwrap_or_default().to_owned(),
                    _ => format!("{own}x"),
                };
                if TenantId::validate(&id).is_ok() { id } else { "t_1".to_owned() }
            };
            let t: TenantId = pick(expected[0], 0).parse().unwrap();
            let d: DeploymentId = pick(expected[1], 1).parse().unwrap();
            let want = reference(&claims);
            prop_assert_eq!(parse(&claims, &t, &d), want, "{:?}", String::from_utf8_lossy(&claims));
        }

        #[test]
        fn one_pass_agrees_on_valid_shapes(
            t in "[A-Za-z0-9_-]{1,64}", d in "[A-Za-z0-9_-]{1,64}", u in "[A-Za-z0-9_-]{1,64}",
            local in "[!-~]{1,20}", domain in "[!-~]{1,20}", iat in 0u64..2_000_000_000, life in 1u64..1_000,
        ) {
            let claims = format!("{t}\n{d}\n{u}\n{local}@{domain}\n{iat}\n{}", iat.saturating_add(life));
            let (tenant, deployment): (TenantId, DeploymentId) = (t.parse().unwrap(), d.parse().unwrap());
            let other: TenantId = "t_1".parse().unwrap();
            prop_assert_eq!(parse(claims.as_bytes(), &tenant, &deployment), reference(claims.as_bytes()));
            prop_assert_eq!(parse(claims.as_bytes(), &other, &deployment), reference(claims.as_bytes()));
        }
    }

    #[test]
    fn canonical_integers() {
        let ok = |s: &str| parse_canonical_secs(s.as_bytes()).map(Timestamp::unix_seconds);
        assert_eq!(ok("0"), Some(0));
        assert_eq!(ok("1"), Some(1));
        assert_eq!(ok("1700000000"), Some(1_700_000_000));
        assert_eq!(ok("253402300799"), Some(253_402_300_799));
        // Each row: a second spelling of one value, or a value out of range.
        assert_eq!(ok(""), None);
        assert_eq!(ok("00"), None);
        assert_eq!(ok("01"), None);
        assert_eq!(ok("+1"), None);
        assert_eq!(ok("-1"), None);
        assert_eq!(ok(" 1"), None);
        assert_eq!(ok("1 "), None);
        assert_eq!(ok("1e3"), None);
        assert_eq!(ok("0x10"), None);
        assert_eq!(ok("253402300800"), None);
        assert_eq!(ok("999999999999"), None);
        assert_eq!(ok("1000000000000"), None);
        assert_eq!(ok("18446744073709551616"), None);
        assert_eq!(ok("٣"), None);
    }

    #[test]
    fn expected_ids_are_taken_whole_or_scanned() {
        // The expected tenant and deployment are matched in place only
        // when the field is exactly them; a field of the same length that
        // differs, or one that starts with them and goes on, is scanned
        // like any other field.
        let (t, d): (TenantId, DeploymentId) = ("t_1".parse().unwrap(), "d_1".parse().unwrap());
        for claims in [
            &b"t!1\nd_1\nu_1\na@b.io\n10\n20"[..],
            b"t_1\nd!1\nu_1\na@b.io\n10\n20",
            b"t_12\nd_1\nu_1\na@b.io\n10\n20",
            b"t_1\nd_12\nu_1\na@b.io\n10\n20",
            b"t_2\nd_1\nu_1\na@b.io\n10\n20",
        ] {
            assert_eq!(parse(claims, &t, &d), reference(claims), "{:?}", String::from_utf8_lossy(claims));
        }
        assert_eq!(parse(b"t!1\nd_1\nu_1\na@b.io\n10\n20", &t, &d), None);
        let longer = parse(b"t_12\nd_1\nu_1\na@b.io\n10\n20", &t, &d).unwrap();
        assert_eq!(longer.spans[0], (0, 4), "the whole field, not the expected id's prefix");
    }

    #[test]
    fn parses_six_fields() {
        let (t, d): (TenantId, DeploymentId) = ("t_1".parse().unwrap(), "d_1".parse().unwrap());
        let p = parse(b"t_1\nd_1\nu_1\na@b.io\n10\n20", &t, &d).unwrap();
        assert_eq!(parse(b"t_1\nd_1\nu_1\na@b.io\n10\n20", &"t_2".parse().unwrap(), &d), Some(p));
        assert_eq!(p.spans, [(0, 3), (4, 7), (8, 11), (12, 18)]);
        assert_eq!(p.issued_at.unix_seconds(), 10);
        assert_eq!(p.expires_at.unix_seconds(), 20);
    }

    #[test]
    fn rejects_bad_claims() {
        let cases: &[&[u8]] = &[
            b"t\nd\nu\na@b\n10",
            b"t\nd\nu\na@b\n10\n20\n",
            b"t\nd\nu\na@b\n10\n20\nx",
            b"t\r\nd\nu\na@b\n10\n20",
            b"\nd\nu\na@b\n10\n20",
            b"t\nd\nu\nab\n10\n20",
            b"t\nd\nu\na@b\n20\n20",
            b"t\nd\nu\na@b\n21\n20",
            b"t\nd\nu\na@b\n010\n20",
            b"t\nd\n\xff\na@b\n10\n20",
            b"t\nd\nu\na@b\n10\n253402300800",
            b"",
        ];
        for (i, case) in cases.iter().enumerate() {
            let (t, d): (TenantId, DeploymentId) = ("t".parse().unwrap(), "d".parse().unwrap());
            assert_eq!(parse(case, &t, &d), None, "case {i}");
        }
    }
}
