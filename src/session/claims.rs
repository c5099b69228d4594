//! Claims parsing, run only after the MAC verified (SPEC §4, check 4
//! `bad_claims`).

use crate::wire::parse_canonical_secs;
use crate::{DeploymentId, Email, TenantId, Timestamp, UserId};

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

/// Parses `tenant LF deployment LF user LF email LF iat LF exp`.
///
/// Exactly six fields; `iat < exp`. Every id and the email are checked
/// with the same rules as their types (SPEC §1, §4), which also rejects
/// any byte that is not ASCII, so the spans are valid UTF-8.
pub(super) fn parse(claims: &[u8]) -> Option<Parsed> {
    // No separate UTF-8 pass: every field below accepts ASCII only, so a
    // byte that is not ASCII anywhere fails its field (SPEC §4 `bad_claims`).
    let mut fields = claims.split(|&b| b == b'\n');
    let mut spans = [(0usize, 0usize); 4];
    let mut start = 0usize;
    for span in &mut spans {
        let field = fields.next()?;
        let end = start.checked_add(field.len())?;
        *span = (start, end);
        start = end.checked_add(1)?;
    }
    let iat = fields.next()?;
    let exp = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    let [tenant, deployment, user, email] =
        spans.map(|(s, e)| claims.get(s..e).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or_default());
    TenantId::validate(tenant).ok()?;
    DeploymentId::validate(deployment).ok()?;
    UserId::validate(user).ok()?;
    Email::validate(email).ok()?;
    let issued_at = parse_canonical_secs(iat)?;
    let expires_at = parse_canonical_secs(exp)?;
    if issued_at >= expires_at {
        return None;
    }
    Some(Parsed { spans, issued_at, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn parses_six_fields() {
        let p = parse(b"t_1\nd_1\nu_1\na@b.io\n10\n20").unwrap();
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
            assert_eq!(parse(case), None, "case {i}");
        }
    }
}
