//! The attestation message and the proxy-side signer.

use base64::Engine;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Method, Uri};
use sha2::Sha256;

use super::keys::{AttestationSecret, DeploymentKey, keyed_mac};
use crate::headers::Identity;
use crate::hosts::authority::authority_of;
use crate::time::Timestamp;
use crate::wire::{B64U, MAX_INT_DIGITS, field, write_decimal};

/// Domain-separation tag that starts every attestation message.
pub(crate) const MESSAGE_TAG: &[u8] = b"vendo-attestation-v1\0";
/// Version field of the header.
pub(crate) const VERSION: &str = "v1";
/// Length of the base64url MAC field.
pub(crate) const MAC_B64_LEN: usize = 43;

/// A request has no authority to attest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Neither a URI authority nor exactly one visible-ASCII `Host` header.
    #[error("request has no single authority")]
    MissingAuthority,
}

impl TargetError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthority => "missing_authority",
        }
    }
}

/// The parts of a request an attestation covers.
///
/// - `method`: as sent, case-sensitive (`GET`);
/// - `authority`: the request's one authority ([`crate::hosts::authority_of`]):
///   the URI's authority when it has one (absolute-form, HTTP/2
///   `:authority`), else the value of the one `Host` header, byte for byte;
///   a request with two `Host` headers, or whose `Host` disagrees with the
///   URI, has none;
/// - `path_and_query`: the path (`/` for an absolute URI with an empty
///   path), then `?` and the query when the URI has one: the origin-form
///   request-target exactly as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTarget<'a> {
    method: &'a str,
    authority: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> RequestTarget<'a> {
    /// Reads the covered parts from a request.
    ///
    /// ```
    /// use vendo_isolation::attestation::RequestTarget;
    /// let req = http::Request::post("/a?b=1").header("host", "acme-crm.vendo.run").body(())?;
    /// let t = RequestTarget::new(req.method(), req.uri(), req.headers())?;
    /// assert_eq!((t.method(), t.authority()), ("POST", "acme-crm.vendo.run"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Result<Self, TargetError> {
        let authority = authority_of(uri, headers).map_err(|_| TargetError::MissingAuthority)?;
        Ok(Self { method: method.as_str(), authority, path: uri.path(), query: uri.query() })
    }

    /// The method.
    pub const fn method(&self) -> &'a str {
        self.method
    }

    /// The authority.
    pub const fn authority(&self) -> &'a str {
        self.authority
    }

    /// The path without the query.
    pub const fn path(&self) -> &'a str {
        self.path
    }

    /// The query without its `?`, when the URI has one.
    pub const fn query(&self) -> Option<&'a str> {
        self.query
    }
}

/// The four identity values, in the order the message covers them.
pub(crate) type IdentityValues<'a> = [&'a [u8]; 4];

/// HMAC state over the whole attestation message, ready to finalize or
/// verify. Allocates nothing.
pub(crate) fn message_mac(
    mut mac: Hmac<Sha256>,
    kid: &str,
    ts: &str,
    target: &RequestTarget<'_>,
    identity: IdentityValues<'_>,
) -> Hmac<Sha256> {
    mac.update(MESSAGE_TAG);
    field(&mut mac, &[kid.as_bytes()]);
    field(&mut mac, &[ts.as_bytes()]);
    field(&mut mac, &[target.method.as_bytes()]);
    field(&mut mac, &[target.authority.as_bytes()]);
    match target.query {
        Some(q) => field(&mut mac, &[target.path.as_bytes(), b"?", q.as_bytes()]),
        None => field(&mut mac, &[target.path.as_bytes()]),
    }
    for value in identity {
        field(&mut mac, &[value]);
    }
    mac
}

/// Signs attestations with the platform secret at one instant.
///
/// Built per request with [`AttestationSecret::signer`] and handed to
/// [`crate::headers::Stripped::inject`].
#[derive(Debug, Clone, Copy)]
pub struct AttestationSigner<'a> {
    secret: &'a AttestationSecret,
    // A key the caller derived earlier and kept, used when it is this
    // secret's key for the deployment being signed for.
    cached: Option<&'a DeploymentKey>,
    now: Timestamp,
}

impl AttestationSecret {
    /// A signer that stamps attestations with `now`.
    pub const fn signer(&self, now: Timestamp) -> AttestationSigner<'_> {
        AttestationSigner { secret: self, cached: None, now }
    }
}

impl<'a> AttestationSigner<'a> {
    /// Signs with `key` instead of deriving the deployment's key from the
    /// secret on every request (two SHA-256 blocks to derive it and two to
    /// key the HMAC with it), for a caller that keeps each deployment's
    /// [`DeploymentKey`] beside its route entry.
    ///
    /// The key is used only for an identity of its own deployment and
    /// only when its key id is the secret's: otherwise the signer derives
    /// the key as usual, so a stale or misplaced key costs time, never a
    /// wrong attestation. The key's bytes are trusted to be
    /// [`AttestationSecret::deployment_key`]'s; a key built from other
    /// bytes signs attestations that no tool verifies.
    ///
    /// ```
    /// use vendo_isolation::AttestationSecret;
    /// use vendo_isolation::attestation::RequestTarget;
    /// # use vendo_isolation::headers::Identity;
    /// # let identity = Identity::for_tests("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?);
    /// let secret = AttestationSecret::new("a1", &[7; 32])?;
    /// let key = secret.deployment_key(&"d_1".parse()?); // once per deployment
    /// let now = vendo_isolation::Timestamp::from_unix_seconds(1_700_000_000)?;
    /// let (parts, ()) = http::Request::get("/x").header("host", "acme-crm.vendo.run").body(())?.into_parts();
    /// let target = RequestTarget::new(&parts.method, &parts.uri, &parts.headers)?;
    ///
    /// let cached = secret.signer(now).with_deployment_key(&key).sign(&target, &identity);
    /// assert_eq!(cached, secret.signer(now).sign(&target, &identity));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub const fn with_deployment_key(mut self, key: &'a DeploymentKey) -> Self {
        self.cached = Some(key);
        self
    }

    /// The HMAC keyed for `deployment`: the cached key's schedule when it
    /// is this secret's key for it, else derived now.
    fn deployment_mac(&self, deployment: &[u8]) -> Hmac<Sha256> {
        match self.cached {
            Some(key) if key.deployment_id().as_str().as_bytes() == deployment && key.kid() == self.secret.kid() => {
                key.mac()
            }
            _ => keyed_mac(&self.secret.derive_bytes(deployment)),
        }
    }

    /// The `x-vendo-attestation` value for `target` and `identity`, marked
    /// sensitive, under the key of the identity's deployment. One
    /// allocation: the value's buffer.
    ///
    /// [`crate::headers::Stripped::inject`] calls this; call it directly only to
    /// test a verifier.
    pub fn sign(&self, target: &RequestTarget<'_>, identity: &Identity) -> HeaderValue {
        let values = [
            identity.tenant_id().as_str().as_bytes(),
            identity.deployment_id().as_str().as_bytes(),
            identity.user_id().as_str().as_bytes(),
            identity.email().as_str().as_bytes(),
        ];
        let mut buf = [0u8; MAX_ATTESTATION_LEN];
        let text = self.sign_into(target, values, &mut buf);
        // INVARIANT: the value is `[A-Za-z0-9_.-]` only, always a valid
        // header value; the fallback cannot verify, so it fails closed.
        let mut value = HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("v1"));
        value.set_sensitive(true);
        value
    }

    /// Writes `v1.{kid}.{ts}.{mac}` for `target` and the four identity
    /// values (tenant, deployment, user, email) into `buf`, without
    /// allocating, and returns it. The key is the deployment's, derived
    /// from `values[1]`.
    pub(crate) fn sign_into<'b>(
        &self,
        target: &RequestTarget<'_>,
        values: IdentityValues<'_>,
        buf: &'b mut [u8; MAX_ATTESTATION_LEN],
    ) -> &'b str {
        let [_, deployment, _, _] = values;
        let mac = self.deployment_mac(deployment);
        let mut ts_buf = [0u8; 20];
        let ts = write_decimal(self.now.unix_seconds(), &mut ts_buf);
        let kid = self.secret.kid();
        let tag = message_mac(mac, kid, ts, target, values).finalize().into_bytes();
        let mut b64 = [0u8; MAC_B64_LEN];
        // INVARIANT: 32 bytes encode to exactly 43 unpadded characters.
        let written = B64U.encode_slice(tag.as_slice(), &mut b64).unwrap_or(0);
        let mut len = 0usize;
        for part in [
            VERSION.as_bytes(),
            b".",
            kid.as_bytes(),
            b".",
            ts.as_bytes(),
            b".",
            b64.get(..written).unwrap_or_default(),
        ] {
            // INVARIANT: "v1" + kid (<= 32) + ts (<= 20) + 43 + 3 dots fits
            // MAX_ATTESTATION_LEN; a part that would not is left out, and
            // the truncated value can never verify.
            let end = len.saturating_add(part.len());
            if let Some(dst) = buf.get_mut(len..end) {
                dst.copy_from_slice(part);
                len = end;
            }
        }
        buf.get(..len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
    }
}

/// Longest `x-vendo-attestation` value: `v1.` + kid + `.` + timestamp +
/// `.` + 43. Exact: a timestamp has at most [`MAX_INT_DIGITS`] digits, and
/// the longest kid at the last timestamp fills the buffer.
pub(crate) const MAX_ATTESTATION_LEN: usize =
    2 + 1 + super::keys::MAX_ATTESTATION_KID_LEN + 1 + MAX_INT_DIGITS + 1 + MAC_B64_LEN;

#[cfg(test)]
mod tests {
    use http::header::HOST;

    use super::*;

    #[test]
    fn authority_rules() {
        let m = Method::GET;
        let mut h = HeaderMap::new();
        let origin: Uri = "/p?q".parse().unwrap();
        // No Host: nothing to bind the attestation to.
        assert_eq!(RequestTarget::new(&m, &origin, &h), Err(TargetError::MissingAuthority));
        h.append(HOST, HeaderValue::from_static("a.vendo.run"));
        let t = RequestTarget::new(&m, &origin, &h).unwrap();
        assert_eq!((t.authority(), t.path(), t.query()), ("a.vendo.run", "/p", Some("q")));
        // Two Host headers: which one the tool reads is ambiguous
        // (request smuggling), so there is none.
        h.append(HOST, HeaderValue::from_static("b.vendo.run"));
        assert_eq!(RequestTarget::new(&m, &origin, &h).unwrap_err().code(), "missing_authority");
        // The URI's authority is the one covered (RFC 9112 §3.2.2), and a
        // Host that disagrees with it leaves the request without one: the
        // tool would otherwise verify one host and serve another.
        let absolute: Uri = "http://C.vendo.run".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(RequestTarget::new(&m, &absolute, &h).unwrap().authority(), "C.vendo.run");
        h.append(HOST, HeaderValue::from_static("c.vendo.run"));
        let t = RequestTarget::new(&m, &absolute, &h).unwrap();
        assert_eq!((t.authority(), t.path(), t.query()), ("C.vendo.run", "/", None));
        h.insert(HOST, HeaderValue::from_static("d.vendo.run"));
        assert_eq!(RequestTarget::new(&m, &absolute, &h), Err(TargetError::MissingAuthority));
        let userinfo: Uri = "http://evil@c.vendo.run/".parse().unwrap();
        assert_eq!(RequestTarget::new(&m, &userinfo, &HeaderMap::new()), Err(TargetError::MissingAuthority));
    }
}
