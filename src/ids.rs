//! Typed identifiers (SPEC §1).
//!
//! Every identifier is a newtype over `String` with a private field. The only
//! ways in are [`FromStr`](core::str::FromStr), `TryFrom<&str>`, `TryFrom<String>` and serde, and
//! all of them run the same validation, so holding a [`TenantId`] is proof
//! that the check ran.

/// Longest identifier accepted, in bytes (SPEC §1).
pub const MAX_ID_LEN: usize = 64;
/// Longest slug accepted, in bytes: one DNS label (SPEC §1, RFC 1035 §2.3.4).
pub const MAX_SLUG_LEN: usize = 63;

/// Why a string is not a valid identifier or slug.
///
/// The message names the rule that failed and, for a bad character, its
/// byte offset, so a caller can fix its input; it never echoes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value is empty.
    #[error("{kind} is empty")]
    Empty {
        /// The identifier type, for example `tenant id`.
        kind: &'static str,
    },
    /// The value is longer than its type allows.
    #[error("{kind} is {len} bytes, longer than {max}")]
    TooLong {
        /// The identifier type.
        kind: &'static str,
        /// The length that was given.
        len: usize,
        /// The longest length allowed.
        max: usize,
    },
    /// A byte outside the type's alphabet.
    #[error("{kind} has a byte outside {alphabet} at offset {offset}")]
    InvalidByte {
        /// The identifier type.
        kind: &'static str,
        /// The alphabet the type allows.
        alphabet: &'static str,
        /// Byte offset of the first offending byte.
        offset: usize,
    },
    /// The value is shorter than its type allows.
    #[error("{kind} is {len} bytes, shorter than {min}")]
    TooShort {
        /// The identifier type.
        kind: &'static str,
        /// The length that was given.
        len: usize,
        /// The shortest length allowed.
        min: usize,
    },
    /// An email without `@`.
    #[error("{kind} has no '@'")]
    NoAt {
        /// The identifier type.
        kind: &'static str,
    },
    /// An email that starts or ends with `@`.
    #[error("{kind} starts or ends with '@'")]
    EdgeAt {
        /// The identifier type.
        kind: &'static str,
    },
    /// A slug starts or ends with `-`.
    #[error("{kind} starts or ends with '-'")]
    EdgeHyphen {
        /// The identifier type.
        kind: &'static str,
    },
    /// A slug contains `--` (reserved by IDNA, RFC 5890 §2.3.1).
    #[error("{kind} contains '--' at offset {offset}")]
    DoubleHyphen {
        /// The identifier type.
        kind: &'static str,
        /// Byte offset of the first `-` of the pair.
        offset: usize,
    },
}

impl IdError {
    /// Stable machine-readable code for this error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Empty { .. } => "empty",
            Self::TooLong { .. } => "too_long",
            Self::InvalidByte { .. } => "invalid_byte",
            Self::TooShort { .. } => "too_short",
            Self::NoAt { .. } => "no_at",
            Self::EdgeAt { .. } => "edge_at",
            Self::EdgeHyphen { .. } => "edge_hyphen",
            Self::DoubleHyphen { .. } => "double_hyphen",
        }
    }
}

const ID_ALPHABET: &str = "[A-Za-z0-9_-]";
const SLUG_ALPHABET: &str = "[a-z0-9-]";

/// Validates SPEC §1 identifier syntax: 1–64 bytes of `[A-Za-z0-9_-]`.
pub(crate) const fn check_id(kind: &'static str, s: &[u8]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind, len: s.len(), max: MAX_ID_LEN });
    }
    let mut i = 0;
    while let Some(&b) = s.split_at(i).1.first() {
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(IdError::InvalidByte { kind, alphabet: ID_ALPHABET, offset: i });
        }
        // INVARIANT: i < s.len() <= 64, so the increment cannot overflow.
        i = i.saturating_add(1);
    }
    Ok(())
}

/// Validates SPEC §1 slug syntax: 1–63 bytes of `[a-z0-9-]`, no edge `-`,
/// no `--`.
pub(crate) const fn check_slug(kind: &'static str, s: &[u8]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_SLUG_LEN {
        return Err(IdError::TooLong { kind, len: s.len(), max: MAX_SLUG_LEN });
    }
    let mut i = 0;
    let mut prev_hyphen = false;
    while let Some(&b) = s.split_at(i).1.first() {
        let hyphen = b == b'-';
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || hyphen) {
            return Err(IdError::InvalidByte { kind, alphabet: SLUG_ALPHABET, offset: i });
        }
        if hyphen && prev_hyphen {
            return Err(IdError::DoubleHyphen { kind, offset: i.saturating_sub(1) });
        }
        prev_hyphen = hyphen;
        i = i.saturating_add(1);
    }
    match (s.first(), s.last()) {
        (Some(b'-'), _) | (_, Some(b'-')) => Err(IdError::EdgeHyphen { kind }),
        _ => Ok(()),
    }
}

/// Declares a validated string newtype: private field, `validate` as the
/// one rule, and every way in (`FromStr`, `TryFrom`, serde) through it.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $check:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Returns the value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Builds the value from a string that already passed this
            /// type's validation (a verified session's claims), without
            /// a failure path to handle.
            #[allow(dead_code)]
            pub(crate) fn from_validated(s: &str) -> Self {
                debug_assert!(Self::validate(s).is_ok(), "from_validated on an invalid value");
                Self(s.to_owned())
            }

            /// Checks `s` against this type's rule without allocating.
            pub const fn validate(s: &str) -> Result<(), $crate::ids::IdError> {
                $check($kind, s.as_bytes())
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, $crate::ids::IdError> {
                Self::validate(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::ids::IdError;
            fn try_from(s: &str) -> Result<Self, $crate::ids::IdError> {
                s.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ids::IdError;
            fn try_from(s: String) -> Result<Self, $crate::ids::IdError> {
                Self::validate(&s)?;
                Ok(Self(s))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0.as_bytes() == other.as_bytes()
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::try_from(s).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use string_newtype;

string_newtype!(
    /// The tenant that owns deployments, connections and credits.
    ///
    /// 1–64 bytes of `[A-Za-z0-9_-]`, compared byte for byte.
    ///
    /// ```
    /// use vendo_isolation::TenantId;
    /// let t: TenantId = "t_acme-1".parse()?;
    /// assert_eq!(t.as_str(), "t_acme-1");
    /// assert!("t acme".parse::<TenantId>().is_err());
    /// # Ok::<(), vendo_isolation::ids::IdError>(())
    /// ```
    TenantId, "tenant id", check_id
);
string_newtype!(
    /// One running instance of a tool, owned by exactly one tenant.
    ///
    /// 1–64 bytes of `[A-Za-z0-9_-]`, compared byte for byte.
    DeploymentId, "deployment id", check_id
);
string_newtype!(
    /// An end user of a deployment.
    ///
    /// 1–64 bytes of `[A-Za-z0-9_-]`, compared byte for byte.
    UserId, "user id", check_id
);
string_newtype!(
    /// A credential record for an external provider, owned by one tenant.
    ///
    /// 1–64 bytes of `[A-Za-z0-9_-]`, compared byte for byte.
    ConnectionId, "connection id", check_id
);
string_newtype!(
    /// A row binding a deployment to a connection.
    ///
    /// 1–64 bytes of `[A-Za-z0-9_-]`, compared byte for byte.
    BindingId, "binding id", check_id
);
string_newtype!(
    /// The tenant's name in hostnames.
    ///
    /// 1–63 bytes of `[a-z0-9-]`, no leading or trailing `-`, never `--`.
    /// The crate never lowercases a slug for you: `"Acme"` is refused.
    ///
    /// ```
    /// use vendo_isolation::TenantSlug;
    /// assert!("acme".parse::<TenantSlug>().is_ok());
    /// assert!("Acme".parse::<TenantSlug>().is_err());
    /// assert!("xn--acme".parse::<TenantSlug>().is_err());
    /// ```
    TenantSlug, "tenant slug", check_slug
);
string_newtype!(
    /// The deployment's name in hostnames.
    ///
    /// 1–63 bytes of `[a-z0-9-]`, no leading or trailing `-`, never `--`.
    DeploymentSlug, "deployment slug", check_slug
);

/// Shortest email accepted, in bytes (SPEC §4).
pub const MIN_EMAIL_LEN: usize = 3;
/// Longest email accepted, in bytes (SPEC §4, RFC 5321 §4.5.3.1.3).
pub const MAX_EMAIL_LEN: usize = 254;

/// Validates SPEC §4 email syntax: 3–254 bytes of `0x21..=0x7E`, at least
/// one `@`, not first and not last.
pub(crate) const fn check_email(kind: &'static str, s: &[u8]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_EMAIL_LEN {
        return Err(IdError::TooLong { kind, len: s.len(), max: MAX_EMAIL_LEN });
    }
    let mut i = 0;
    let mut has_at = false;
    while let Some(&b) = s.split_at(i).1.first() {
        if !(b >= 0x21 && b <= 0x7e) {
            return Err(IdError::InvalidByte { kind, alphabet: EMAIL_ALPHABET, offset: i });
        }
        has_at |= b == b'@';
        i = i.saturating_add(1);
    }
    if s.len() < MIN_EMAIL_LEN {
        return Err(IdError::TooShort { kind, len: s.len(), min: MIN_EMAIL_LEN });
    }
    match (has_at, s.first(), s.last()) {
        (false, _, _) => Err(IdError::NoAt { kind }),
        (true, Some(b'@'), _) | (true, _, Some(b'@')) => Err(IdError::EdgeAt { kind }),
        _ => Ok(()),
    }
}

const EMAIL_ALPHABET: &str = "visible ASCII";

string_newtype!(
    /// An end user's email address as the session carries it (SPEC §4).
    ///
    /// 3–254 bytes of visible ASCII (`0x21`–`0x7E`), at least one `@`, not
    /// first and not last. Internationalized addresses are out of scope for
    /// session v1. Visible ASCII also means the value can go into an HTTP
    /// header as it is: no CR, LF, NUL or byte ≥ 0x80 can be carried.
    ///
    /// ```
    /// use vendo_isolation::Email;
    /// assert!("a@b.io".parse::<Email>().is_ok());
    /// assert!("a b@c".parse::<Email>().is_err());
    /// assert!("@ab".parse::<Email>().is_err());
    /// ```
    Email, "email", check_email
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rules() {
        assert!(TenantId::validate("a").is_ok());
        assert!(TenantId::validate(&"a".repeat(64)).is_ok());
        assert_eq!(TenantId::validate(&"a".repeat(65)), Err(IdError::TooLong { kind: "tenant id", len: 65, max: 64 }));
        assert_eq!(TenantId::validate(""), Err(IdError::Empty { kind: "tenant id" }));
        assert_eq!(UserId::validate("ab/c").map_err(|e| e.code()), Err("invalid_byte"));
        assert_eq!(
            UserId::validate("abé"),
            Err(IdError::InvalidByte { kind: "user id", alphabet: ID_ALPHABET, offset: 2 })
        );
    }

    #[test]
    fn slug_rules() {
        assert!(TenantSlug::validate("a-b-c").is_ok());
        assert_eq!(TenantSlug::validate("-a").map_err(|e| e.code()), Err("edge_hyphen"));
        assert_eq!(TenantSlug::validate("a-").map_err(|e| e.code()), Err("edge_hyphen"));
        assert_eq!(TenantSlug::validate("xn--a"), Err(IdError::DoubleHyphen { kind: "tenant slug", offset: 2 }));
        assert_eq!(TenantSlug::validate("A").map_err(|e| e.code()), Err("invalid_byte"));
        assert_eq!(TenantSlug::validate("a_b").map_err(|e| e.code()), Err("invalid_byte"));
        assert!(DeploymentSlug::validate(&"a".repeat(63)).is_ok());
        assert_eq!(DeploymentSlug::validate(&"a".repeat(64)).map_err(|e| e.code()), Err("too_long"));
    }

    #[test]
    fn email_rules() {
        assert!(Email::validate("a@b").is_ok());
        assert!(Email::validate("a@b@c").is_ok());
        assert_eq!(Email::validate("ab").map_err(|e| e.code()), Err("too_short"));
        assert_eq!(Email::validate("abc").map_err(|e| e.code()), Err("no_at"));
        assert_eq!(Email::validate("@bc").map_err(|e| e.code()), Err("edge_at"));
        assert_eq!(Email::validate("bc@").map_err(|e| e.code()), Err("edge_at"));
        assert_eq!(Email::validate("a\r@b").map_err(|e| e.code()), Err("invalid_byte"));
        assert_eq!(Email::validate("a\u{7f}@b").map_err(|e| e.code()), Err("invalid_byte"));
        assert!(Email::validate(&format!("a@{}", "b".repeat(252))).is_ok());
        assert_eq!(Email::validate(&format!("a@{}", "b".repeat(253))).map_err(|e| e.code()), Err("too_long"));
    }

    #[test]
    fn serde_validates() {
        let ok: TenantId = serde_json::from_str("\"t_1\"").unwrap();
        assert_eq!(ok, "t_1");
        let err = serde_json::from_str::<TenantId>("\"t 1\"").unwrap_err().to_string();
        assert!(err.contains("outside [A-Za-z0-9_-] at offset 1"), "{err}");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"t_1\"");
    }
}
