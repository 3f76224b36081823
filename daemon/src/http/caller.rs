//! Who is calling a POST endpoint: the API key sent as `Authorization: Bearer <key>` (RFC 6750
//! §2.1; a key in the body or the query is not looked at). A missing or refused key is a 401;
//! whether the key may `validate` is each endpoint's question.

use std::net::SocketAddr;

use auth_hub_protocol::MasterToken;
use hyper::header::{self, HeaderMap};
use hyper::Response;

use super::reply::{self, Body};
use crate::audit::AuditRecord;
use crate::hub::Hub;
use crate::identity::ops;
use crate::keys::KeyRecord;

/// Why no bearer key could be read.
#[derive(Debug, PartialEq, Eq)]
enum NoBearer {
    /// No `Authorization` header.
    Missing,
    /// One that is not `Bearer <key>`, or several.
    Malformed,
}

/// The key of `Authorization: Bearer <key>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Result<MasterToken, NoBearer> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(NoBearer::Missing)?;
    if values.next().is_some() {
        return Err(NoBearer::Malformed);
    }
    let text = value.to_str().map_err(|_| NoBearer::Malformed)?;
    let (scheme, credential) = text.split_once(' ').ok_or(NoBearer::Malformed)?;
    let credential = credential.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() {
        return Err(NoBearer::Malformed);
    }
    Ok(MasterToken::from(credential))
}

/// The live key of the request's bearer credential, or the 401 to answer (audited as `event`
/// with the refusal; the credential itself is never logged).
pub fn authenticate(
    hub: &Hub,
    headers: &HeaderMap,
    peer: SocketAddr,
    event: &str,
) -> Result<KeyRecord, Box<Response<Body>>> {
    let refuse = |outcome: &str, sent: bool, description: &str| {
        let detail = super::peer_detail(peer);
        if let Err(error) = hub.audit.append(&AuditRecord {
            event,
            outcome,
            detail: Some(&detail),
            ..Default::default()
        }) {
            tracing::error!(%error, "cannot append to the audit log");
        }
        Box::new(reply::unauthorized(sent, description))
    };
    let token = match bearer(headers) {
        Ok(token) => token,
        Err(NoBearer::Missing) => {
            return Err(refuse(
                "no_credentials",
                false,
                "send your service key as Authorization: Bearer <key>",
            ))
        }
        Err(NoBearer::Malformed) => {
            return Err(refuse(
                "invalid_master_token",
                true,
                "the Authorization header must be Bearer <key>",
            ))
        }
    };
    ops::authenticate_bearer(hub, &token).map_err(|_| {
        refuse(
            "invalid_master_token",
            true,
            "the bearer key is not a live API key of this hub",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_a_bearer_key_with_any_scheme_case() {
        let token = bearer(&headers(&["bearer TAUTH_api--zabc"])).expect("bearer");
        assert_eq!(token.expose(), "TAUTH_api--zabc");
        let token = bearer(&headers(&["Bearer  TAUTH_api--zabc "])).expect("bearer");
        assert_eq!(token.expose(), "TAUTH_api--zabc");
    }

    #[test]
    fn other_schemes_empty_and_repeated_headers_are_refused() {
        assert_eq!(bearer(&headers(&[])).unwrap_err(), NoBearer::Missing);
        for bad in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer   ",
            "TAUTH_api--zabc",
        ] {
            assert_eq!(
                bearer(&headers(&[bad])).unwrap_err(),
                NoBearer::Malformed,
                "{bad}"
            );
        }
        assert_eq!(
            bearer(&headers(&["Bearer a", "Bearer b"])).unwrap_err(),
            NoBearer::Malformed
        );
    }
}
