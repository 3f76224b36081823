//! `config.toml`'s identity sections: `[jwt]` (the hub-signed JWTs: issuer, lifetimes, key
//! rotation) and `[http]` (the opt-in loopback HTTP listener for 1st-layer APIs).
//!
//! No `[http] listen`, no listener. A non-loopback address is refused unless the file also says
//! `allow_non_loopback = true`: the endpoints validate and mint credentials, and a developer's
//! hub is not a network service by accident.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::config::{Checker, ConfigError};

/// Default `[jwt] issuer`.
pub const DEFAULT_JWT_ISSUER: &str = "auth-hub";
/// Default lifetime of a hub JWT.
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(5 * 60);
/// Default longest lifetime a caller may ask for.
pub const DEFAULT_JWT_MAX_TTL: Duration = Duration::from_secs(60 * 60);
/// Default age at which the signing key is replaced.
pub const DEFAULT_JWT_ROTATE: Duration = Duration::from_secs(24 * 60 * 60);

/// `[jwt]`: how the hub signs its own JWTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// The `iss` claim (`issuer`).
    pub issuer: String,
    /// Lifetime when the caller names none (`ttl`).
    pub ttl: Duration,
    /// Longest lifetime granted (`max_ttl`); longer requests are capped.
    pub max_ttl: Duration,
    /// A signing key older than this is replaced at the next signature (`rotate_every`); the
    /// old public key stays in the JWKS for `max_ttl` more, so every token it signed stays
    /// valid until it expires.
    pub rotate_every: Duration,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_JWT_ISSUER.to_owned(),
            ttl: DEFAULT_JWT_TTL,
            max_ttl: DEFAULT_JWT_MAX_TTL,
            rotate_every: DEFAULT_JWT_ROTATE,
        }
    }
}

/// `[http]`: the loopback HTTP listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpSettings {
    /// Where to listen (`listen = "127.0.0.1:8787"`); no listener when absent.
    pub listen: Option<SocketAddr>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJwt {
    issuer: Option<Spanned<String>>,
    ttl: Option<Spanned<String>>,
    max_ttl: Option<Spanned<String>>,
    rotate_every: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    listen: Option<Spanned<String>>,
    #[serde(default)]
    allow_non_loopback: bool,
}

impl Checker<'_> {
    pub(super) fn jwt(&self, raw: RawJwt) -> Result<JwtSettings, ConfigError> {
        let issuer = match raw.issuer {
            None => DEFAULT_JWT_ISSUER.to_owned(),
            Some(issuer) => {
                let text = issuer.get_ref();
                if text.is_empty() || text.len() > 256 || text.chars().any(char::is_control) {
                    return Err(self.invalid(
                        issuer.span(),
                        "jwt.issuer",
                        text,
                        "must be 1 to 256 printable characters",
                    ));
                }
                text.clone()
            }
        };
        let span_of =
            |raw: &Option<Spanned<String>>| raw.as_ref().map(|v| (v.span(), v.get_ref().clone()));
        let max_span = span_of(&raw.max_ttl);
        let ttl = self.duration(raw.ttl, "jwt.ttl", DEFAULT_JWT_TTL)?;
        let max_ttl = self.duration(raw.max_ttl, "jwt.max_ttl", DEFAULT_JWT_MAX_TTL)?;
        let rotate_every =
            self.duration(raw.rotate_every, "jwt.rotate_every", DEFAULT_JWT_ROTATE)?;
        if ttl > max_ttl {
            let (span, text) = max_span.unwrap_or((0..0, String::new()));
            return Err(self.invalid(
                span,
                "jwt.max_ttl",
                &text,
                "must not be shorter than jwt.ttl",
            ));
        }
        Ok(JwtSettings {
            issuer,
            ttl,
            max_ttl,
            rotate_every,
        })
    }

    pub(super) fn http(&self, raw: RawHttp) -> Result<HttpSettings, ConfigError> {
        let Some(listen) = raw.listen else {
            return Ok(HttpSettings::default());
        };
        let text = listen.get_ref();
        let address: SocketAddr = text.parse().map_err(|_| {
            self.invalid(
                listen.span(),
                "http.listen",
                text,
                "expected an IP address and port, such as 127.0.0.1:8787",
            )
        })?;
        if !address.ip().is_loopback() && !raw.allow_non_loopback {
            return Err(self.invalid(
                listen.span(),
                "http.listen",
                text,
                "is not a loopback address; set allow_non_loopback = true in [http] to serve \
                 other machines",
            ));
        }
        Ok(HttpSettings {
            listen: Some(address),
        })
    }
}
