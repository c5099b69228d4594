//! Attestation: a tool can prove a request came through the proxy.
//!
//! Identity headers are only as trustworthy as the path the request took: a
//! request sent straight to a tool's backend can carry any
//! `x-vendo-user-id`. So the proxy adds one more header in its namespace,
//! `x-vendo-attestation`, an HMAC over the request and the four identity
//! values under a key that only the proxy and that one deployment hold.
//! Being in the namespace, an inbound `x-vendo-attestation` is always
//! stripped ([`crate::strip`]); it cannot be smuggled through the proxy.
//!
//! # Keys
//!
//! The platform holds one attestation secret of at least 32 bytes under a
//! key id ([`AttestationSecret`]). Each deployment gets its own 32-byte key
//! ([`DeploymentKey`]):
//!
//! ```text
//! deployment_key = HMAC-SHA256(secret, "vendo-attestation-key-v1" %x00 deployment_id)
//! ```
//!
//! A tool holds only its own key, so it cannot forge attestations for any
//! other deployment, nor learn the secret. The `%x00` tag keeps this
//! derivation apart from every other use of HMAC in the platform.
//!
//! # Header format
//!
//! ```text
//! x-vendo-attestation = "v1." kid "." ts "." mac
//! kid  = 1*32 ( ALPHA / DIGIT / "_" / "-" )
//! ts   = unix seconds when the proxy signed: decimal, no sign,
//!        no leading zero (except "0"), at most 253402300799
//! mac  = b64u( HMAC-SHA256( deployment_key, message ) )   ; 43 characters
//!
//! message  = "vendo-attestation-v1" %x00
//!            field(kid) field(ts) field(method) field(authority) field(path_and_query)
//!            field(tenant_id) field(deployment_id) field(user_id) field(email)
//! field(x) = len(x) as 4-byte big-endian unsigned integer, then the bytes of x
//! ```
//!
//! - `b64u` is base64url without padding, canonical, as in SPEC §4.
//! - `kid` and `ts` are the exact text of the header's fields.
//! - `method` is the request method as sent (`GET`), case-sensitive.
//! - `authority` is the request URI's authority if it has one, else the
//!   value of the single `Host` header, byte for byte. Two `Host` headers
//!   mean no authority, and the request is refused.
//! - `path_and_query` is the request-target in origin-form exactly as sent:
//!   path, then `?` and the query if the target has a `?`.
//! - the four identity values are the values of `x-vendo-tenant-id`,
//!   `x-vendo-deployment-id`, `x-vendo-user-id` and `x-vendo-user-email`.
//!
//! Length prefixes make the encoding unambiguous: no two different field
//! lists give the same message, so moving bytes between the path and the
//! user id, say, changes the MAC.
//!
//! # Verifying, in any language
//!
//! A tool accepts a request only if all of these hold, checked in this
//! order ([`AttestationVerifier`] implements them, allocation-free):
//!
//! 1. no header name has a collision key (lowercase, `_` and `.` mapped to
//!    `-`) starting with `x-vendo-` other than the four identity headers
//!    and `x-vendo-attestation`; each of those five appears exactly once;
//!    no `Connection` token has such a collision key;
//! 2. the attestation has the shape above and its `kid` names a key held;
//! 3. the MAC, recomputed over the request as received, is equal, compared
//!    in constant time;
//! 4. the identity values have their SPEC §1 / §4 syntax;
//! 5. `now - skew <= ts` and `now <= ts + max_age + skew` (defaults: 60 s
//!    age, 5 s skew);
//! 6. `x-vendo-deployment-id` is the tool's own deployment.
//!
//! # Worked example
//!
//! Secret `000102…1f` (the 32 bytes 0 to 31), kid `k2024`, deployment
//! `d_1`, signed at `1700000000`, request `GET /api/items?page=2` with
//! `Host: acme-crm.vendo.run`, identity `t_1`, `d_1`, `u_1`, `a@b.io`:
//!
//! ```text
//! deployment_key = 55e58a686c6d1d410b86b791e94255e247245c6a4960dae75163c9a8cad1d809
//! x-vendo-attestation: v1.k2024.1700000000.UKVcKgRcZRtrc3J3nJSHgnQ_hjuSN7f2niV9AP_EcrM
//! ```
//!
//! The same in Python:
//!
//! ```text
//! import base64, hashlib, hmac, struct
//! secret = bytes(range(32))
//! key = hmac.new(secret, b"vendo-attestation-key-v1\x00" + b"d_1", hashlib.sha256).digest()
//! fields = ["k2024", "1700000000", "GET", "acme-crm.vendo.run", "/api/items?page=2",
//!           "t_1", "d_1", "u_1", "a@b.io"]
//! msg = b"vendo-attestation-v1\x00" + b"".join(
//!     struct.pack(">I", len(f.encode())) + f.encode() for f in fields)
//! mac = base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).rstrip(b"=")
//! assert mac == b"UKVcKgRcZRtrc3J3nJSHgnQ_hjuSN7f2niV9AP_EcrM"
//! # compare with hmac.compare_digest in a real verifier
//! ```
//!
//! And in Rust:
//!
//! ```
//! use vendo_isolation::{AttestationSecret, Identity, Timestamp, strip_request};
//! let secret = AttestationSecret::new("k2024", &(0u8..32).collect::<Vec<_>>())?;
//! let key = secret.deployment_key(&"d_1".parse()?);
//! assert_eq!(key.expose_secret()[..4], [0x55, 0xe5, 0x8a, 0x68]);
//!
//! # let identity = Identity::for_tests("t_1".parse()?, "d_1".parse()?, "u_1".parse()?, "a@b.io".parse()?);
//! let (mut parts, ()) =
//!     http::Request::get("/api/items?page=2").header("host", "acme-crm.vendo.run").body(())?.into_parts();
//! let now = Timestamp::from_unix_seconds(1_700_000_000)?;
//! strip_request(&mut parts, "__Host-vendo_session").inject(identity, Some(&secret.signer(now)))?;
//! assert_eq!(parts.headers["x-vendo-attestation"], "v1.k2024.1700000000.UKVcKgRcZRtrc3J3nJSHgnQ_hjuSN7f2niV9AP_EcrM");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does not cover
//!
//! The body, and every header outside the namespace, are not signed: the
//! link from proxy to tool still needs TLS. An attestation proves origin,
//! not uniqueness: whoever can read the forwarded request can replay it
//! within `max_age + skew`. The authority and path are those the proxy
//! forwards; a hop that rewrites them makes every attestation fail.

mod keys;
mod sign;
mod verify;

pub use keys::*;
pub use sign::{AttestationSigner, RequestTarget, TargetError};
pub use verify::*;
