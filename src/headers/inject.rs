//! SPEC §3 step 4: insert the verified identity, and the attestation.

use bytes::Bytes;
use http::HeaderValue;

use super::strip::{StripReport, Stripped};
use super::{ATTESTATION_HEADER, IDENTITY_HEADERS};
use crate::attestation::{AttestationSigner, MAX_ATTESTATION_LEN, RequestTarget};
use crate::headers::Identity;
use crate::session::VerifiedSession;

/// Longest value written into an identity header, in bytes. Identifiers
/// are at most 64 bytes and emails 254, so this never binds; it is a
/// second wall should those rules ever loosen.
pub const MAX_INJECTED_VALUE_LEN: usize = 256;

/// Why [`Stripped::inject`] wrote nothing.
///
/// On every error the map stays stripped: no identity header, no
/// attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// An identity value is empty, longer than [`MAX_INJECTED_VALUE_LEN`],
    /// or holds a byte outside visible ASCII (`0x21`–`0x7E`).
    #[error("identity value is not short visible ascii")]
    InvalidValue,
    /// An attestation was asked for, but the map was stripped without the
    /// request's method and URI ([`strip_request`](crate::headers::strip_request)
    /// or [`Stripped::with_target`] record them).
    #[error("attestation needs the request method and uri")]
    NoTarget,
    /// An attestation was asked for, but the request has neither a URI
    /// authority nor exactly one visible-ASCII `Host` header.
    #[error("attestation needs the request authority")]
    MissingAuthority,
    /// The header map cannot grow (over `http`'s 32768 entries).
    #[error("header map is full")]
    MapFull,
}

impl InjectError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidValue => "invalid_value",
            Self::NoTarget => "no_target",
            Self::MissingAuthority => "missing_authority",
            Self::MapFull => "map_full",
        }
    }
}

/// A failed injection: why, and what the strip had removed, which an
/// operator still wants for spoofing alerts. The map stays stripped, with
/// no identity header and no attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct InjectFailure {
    error: InjectError,
    report: StripReport,
}

impl InjectFailure {
    /// Why nothing was written.
    pub const fn error(&self) -> InjectError {
        self.error
    }

    /// Stable machine-readable code; see [`InjectError::code`].
    pub const fn code(&self) -> &'static str {
        self.error.code()
    }

    /// What the strip had removed.
    pub const fn report(&self) -> &StripReport {
        &self.report
    }

    /// The report, owned.
    pub fn into_report(self) -> StripReport {
        self.report
    }
}

/// Whether `s` may be an identity value: 1–256 bytes of visible ASCII. No
/// CR, LF or NUL can split or end a header (request smuggling), no byte ≥
/// 0x80 can be read differently by the tool's framework.
fn valid_identity_value(s: &[u8]) -> bool {
    !s.is_empty() && s.len() <= MAX_INJECTED_VALUE_LEN && s.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// An identity value as a sensitive header value, or the SPEC §3 refusal.
#[cfg(test)]
pub(crate) fn identity_value(s: String) -> Result<HeaderValue, InjectError> {
    if !valid_identity_value(s.as_bytes()) {
        return Err(InjectError::InvalidValue);
    }
    let mut value = HeaderValue::try_from(s).map_err(|_| InjectError::InvalidValue)?;
    value.set_sensitive(true);
    Ok(value)
}

impl Stripped<'_> {
    /// Inserts the identity headers (SPEC §3 step 4), replacing any value,
    /// each marked sensitive; with `attestation`, also the
    /// `x-vendo-attestation` header over the request and those values.
    ///
    /// All values are built before the first insert, so on error the map
    /// is left stripped and carries no identity. Returns what
    /// [`crate::headers::strip`] removed.
    ///
    /// ```
    /// use vendo_isolation::{AttestationSecret, Timestamp};
    /// use vendo_isolation::headers::{Identity, strip_request};
    /// # let identity = Identity::for_tests("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?);
    /// let secret = AttestationSecret::new("k1", &[7; 32])?;
    /// let now = Timestamp::from_unix_seconds(1_700_000_000)?;
    /// let (mut parts, ()) = http::Request::get("/x").header("host", "acme-crm.vendo.run").body(())?.into_parts();
    ///
    /// strip_request(&mut parts, "__Host-vendo_session").inject(identity, Some(&secret.signer(now)))?;
    /// assert_eq!(parts.headers["x-vendo-tenant-id"], "t_1");
    /// assert!(parts.headers["x-vendo-attestation"].to_str()?.starts_with("v1.k1.1700000000."));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inject(
        self,
        identity: Identity,
        attestation: Option<&AttestationSigner<'_>>,
    ) -> Result<StripReport, InjectFailure> {
        let values = [
            identity.tenant_id().as_str(),
            identity.deployment_id().as_str(),
            identity.user_id().as_str(),
            identity.email().as_str(),
        ];
        self.inject_verified(values, attestation)
    }

    /// [`inject`](Self::inject) from the verified session itself, without
    /// building an owned [`Identity`] first: what [`crate::Gate`] does.
    ///
    /// Every value, the attestation included, is a slice of one shared
    /// buffer: two allocations in all (the buffer and its shared header),
    /// whatever the number of headers.
    pub fn inject_session(
        self,
        session: &VerifiedSession,
        attestation: Option<&AttestationSigner<'_>>,
    ) -> Result<StripReport, InjectFailure> {
        let values = [session.tenant_id(), session.deployment_id(), session.user_id(), session.email()];
        self.inject_verified(values, attestation)
    }

    /// The four values (tenant, deployment, user, email), in SPEC §3 order.
    fn inject_verified(
        self,
        values: [&str; 4],
        attestation: Option<&AttestationSigner<'_>>,
    ) -> Result<StripReport, InjectFailure> {
        let mut stripped = self;
        match stripped.write_identity(values, attestation) {
            Ok(()) => Ok(stripped.report),
            Err(error) => Err(InjectFailure { error, report: core::mem::take(&mut stripped.report) }),
        }
    }

    fn write_identity(
        &mut self,
        values: [&str; 4],
        attestation: Option<&AttestationSigner<'_>>,
    ) -> Result<(), InjectError> {
        if !values.iter().all(|v| valid_identity_value(v.as_bytes())) {
            return Err(InjectError::InvalidValue);
        }
        // The attestation reads the values, so it is signed first, into a
        // stack buffer.
        let mut signed = [0u8; MAX_ATTESTATION_LEN];
        let attestation = match attestation {
            None => None,
            Some(signer) => {
                let (method, uri) = self.target.ok_or(InjectError::NoTarget)?;
                let target =
                    RequestTarget::new(method, uri, self.headers).map_err(|_| InjectError::MissingAuthority)?;
                let bytes = values.map(str::as_bytes);
                Some(signer.sign_into(&target, bytes, &mut signed))
            }
        };
        let total = values.iter().chain(attestation.iter()).fold(0usize, |n, v| n.saturating_add(v.len()));
        let mut buf = Vec::with_capacity(total);
        for v in values.iter().chain(attestation.iter()) {
            buf.extend_from_slice(v.as_bytes());
        }
        // INVARIANT: `capacity == len`, so the buffer becomes the `Bytes`
        // without a copy; each slice then shares it.
        let buf = Bytes::from(buf);
        let mut start = 0usize;
        let mut slice = |len: usize| -> Result<HeaderValue, InjectError> {
            let end = start.saturating_add(len);
            let part = buf.get(start..end).map(|_| buf.slice(start..end)).ok_or(InjectError::InvalidValue)?;
            start = end;
            let mut value = HeaderValue::from_maybe_shared(part).map_err(|_| InjectError::InvalidValue)?;
            value.set_sensitive(true);
            Ok(value)
        };
        let [t, d, u, e] = values;
        let identity = [slice(t.len())?, slice(d.len())?, slice(u.len())?, slice(e.len())?];
        let attestation = match attestation {
            Some(a) => Some(slice(a.len())?),
            None => None,
        };
        let count = if attestation.is_some() { 5 } else { 4 };
        self.headers.try_reserve(count).map_err(|_| InjectError::MapFull)?;
        let all = IDENTITY_HEADERS.into_iter().zip(identity).chain(attestation.map(|v| (ATTESTATION_HEADER, v)));
        for (name, value) in all {
            if self.headers.try_insert(name, value).is_err() {
                // Fail closed: take back whatever went in.
                for name in IDENTITY_HEADERS.iter().chain([&ATTESTATION_HEADER]) {
                    self.headers.remove(name);
                }
                return Err(InjectError::MapFull);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_value_refuses_header_breaking_bytes() {
        // Each row: a byte that would split a header (CRLF injection,
        // request smuggling), end it early (NUL), or be decoded
        // differently downstream (obs-text, DEL, space).
        for bad in ["a\rb", "a\nb", "a\0b", "a\u{80}b", "é", "a\u{7f}", "a b", "\tab", ""] {
            assert_eq!(identity_value(bad.to_owned()), Err(InjectError::InvalidValue), "{bad:?}");
        }
        let long = "a".repeat(MAX_INJECTED_VALUE_LEN + 1);
        assert_eq!(identity_value(long), Err(InjectError::InvalidValue));
        let max = "a".repeat(MAX_INJECTED_VALUE_LEN);
        assert!(identity_value(max).unwrap().is_sensitive());
        assert_eq!(identity_value("!~".to_owned()).unwrap(), "!~");
    }
}
