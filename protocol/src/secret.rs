//! Newtypes for sensitive strings: secret values, access tokens, master tokens and recovery
//! codes.
//!
//! Each zeroizes its buffer on drop, prints a placeholder from `Debug`, has no `Display`, and hands
//! its text out only through an explicitly named `expose` method, so a stray `{:?}` or log line
//! never leaks one. Comparison of tokens is left to the daemon, which does it in constant time.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::path::SecretPath;

macro_rules! sensitive_string {
    ($(#[$doc:meta])* $name:ident, $placeholder:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps a string; the original buffer is moved, not copied.
            pub fn new(text: String) -> Self {
                Self(Zeroizing::new(text))
            }

            /// The sensitive text. Named so every use is easy to audit.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Length in bytes.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// True when empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($placeholder)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::new(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::new(text.to_owned())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::new)
            }
        }
    };
}

sensitive_string!(
    /// A secret's value, such as a forge token.
    SecretValue,
    "SecretValue(<redacted>)"
);
sensitive_string!(
    /// A short-lived access token issued by the hub for one scope.
    AccessToken,
    "AccessToken(<redacted>)"
);
sensitive_string!(
    /// A master token: the text of an API key (`TAUTH_…`), sent once in the hello.
    MasterToken,
    "MasterToken(<redacted>)"
);
sensitive_string!(
    /// A JSON Web Token (a hub-issued JWT, a provider's id_token or access token): a bearer
    /// credential, so it is treated like a key.
    Jwt,
    "Jwt(<redacted>)"
);
sensitive_string!(
    /// A one-time owner-key recovery code, read from the hub's state directory.
    RecoveryCode,
    "RecoveryCode(<redacted>)"
);

/// A secret value with its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// The value, zeroized on drop.
    pub value: SecretValue,
    /// Where it is stored.
    pub path: SecretPath,
    /// When it was first written (unix milliseconds on the wire).
    #[serde(default, with = "crate::time::opt_millis")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last written (unix milliseconds on the wire).
    #[serde(default, with = "crate::time::opt_millis")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Version number of this value, counting from 1.
    #[serde(default)]
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        let value = SecretValue::from("ghp_verysecret");
        let token = AccessToken::from("at_verysecret");
        let master = MasterToken::from("TAUTH_me--zverysecret");
        for shown in [
            format!("{value:?}"),
            format!("{token:?}"),
            format!("{master:?}"),
        ] {
            assert!(!shown.contains("verysecret"), "{shown}");
        }
        let secret = Secret {
            value,
            path: SecretPath::parse("github/alice/token").unwrap(),
            created_at: None,
            updated_at: None,
            version: 1,
        };
        assert!(!format!("{secret:?}").contains("verysecret"));
    }

    #[test]
    fn serializes_as_plain_string() {
        let bytes = rmp_serde::to_vec_named(&SecretValue::from("v")).unwrap();
        assert_eq!(bytes, rmp_serde::to_vec("v").unwrap());
    }
}
