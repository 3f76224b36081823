//! The body of `/introspect` and `/token`: `application/x-www-form-urlencoded`, at most
//! [`MAX_BODY`] bytes, within [`BODY_TIMEOUT`]. As RFC 6749 §3.1 says, a parameter sent
//! without a value counts as omitted and none may appear twice. Values carry credentials:
//! they are held zeroized on drop and never shown by `Debug`.

use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Request, StatusCode};
use zeroize::Zeroizing;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a client has to send the whole body once its headers arrived.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most parameters in one body.
const MAX_FIELDS: usize = 32;
/// The only media type accepted.
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// Why a body was refused; each maps to a 4xx status and the OAuth `invalid_request` code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormError {
    /// Another media type, or none.
    #[error("the body must be application/x-www-form-urlencoded")]
    ContentType,
    /// More than [`MAX_BODY`] bytes (announced or sent).
    #[error("the body is larger than 65536 bytes")]
    TooLarge,
    /// Not all there within [`BODY_TIMEOUT`].
    #[error("the body did not arrive within 10 seconds")]
    Timeout,
    /// The connection failed while the body was read.
    #[error("the body could not be read")]
    Read,
    /// A parameter given twice.
    #[error("parameter {0} appears more than once")]
    Duplicate(String),
    /// More than 32 parameters.
    #[error("too many parameters (at most 32)")]
    TooMany,
}

impl FormError {
    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Read | Self::Duplicate(_) | Self::TooMany => StatusCode::BAD_REQUEST,
        }
    }
}

/// A parsed form: each parameter at most once, empty ones dropped.
#[derive(Default)]
pub struct Form {
    fields: Vec<(String, Zeroizing<String>)>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.fields.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Form {
    /// The value of `name`, if sent with a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// Takes the value of `name` out of the form (for handing a credential on without a copy).
    pub fn take(&mut self, name: &str) -> Option<Zeroizing<String>> {
        let index = self.fields.iter().position(|(field, _)| field == name)?;
        Some(self.fields.swap_remove(index).1)
    }
}

/// Reads and parses the body of `request`.
///
/// # Errors
/// A [`FormError`] for a wrong media type, a body too large, slow or broken, or a bad form.
pub async fn read(request: Request<Incoming>) -> Result<Form, FormError> {
    check_headers(request.headers())?;
    let limited = Limited::new(request.into_body(), MAX_BODY);
    let collected = tokio::time::timeout(BODY_TIMEOUT, limited.collect())
        .await
        .map_err(|_| FormError::Timeout)?
        .map_err(|error| {
            if error.downcast_ref::<LengthLimitError>().is_some() {
                FormError::TooLarge
            } else {
                FormError::Read
            }
        })?;
    let body = Zeroizing::new(Vec::from(collected.to_bytes()));
    parse(&body)
}

/// The media type must be the form's; an announced length over the limit is refused before
/// anything is read.
fn check_headers(headers: &HeaderMap) -> Result<(), FormError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .ok_or(FormError::ContentType)?;
    if !media.eq_ignore_ascii_case(FORM_TYPE) {
        return Err(FormError::ContentType);
    }
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(FormError::TooLarge);
    }
    Ok(())
}

/// Parses a form body.
///
/// # Errors
/// [`FormError::Duplicate`] or [`FormError::TooMany`].
pub fn parse(body: &[u8]) -> Result<Form, FormError> {
    let mut form = Form::default();
    for (name, value) in form_urlencoded::parse(body) {
        if value.is_empty() {
            continue;
        }
        if form.fields.iter().any(|(field, _)| *field == name) {
            return Err(FormError::Duplicate(printable(&name)));
        }
        if form.fields.len() == MAX_FIELDS {
            return Err(FormError::TooMany);
        }
        form.fields
            .push((name.into_owned(), Zeroizing::new(value.into_owned())));
    }
    Ok(form)
}

/// A parameter name as it may appear in an error message: short and printable.
fn printable(name: &str) -> String {
    name.chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn decodes_values_and_drops_empty_ones() {
        let form = parse(b"token=TAUTH_ci--z4%2Bx&token_type_hint=&extra=a+b").expect("parses");
        assert_eq!(form.get("token"), Some("TAUTH_ci--z4+x"));
        assert_eq!(form.get("token_type_hint"), None);
        assert_eq!(form.get("extra"), Some("a b"));
    }

    #[test]
    fn a_parameter_twice_is_refused() {
        assert_eq!(
            parse(b"token=a&token=b").unwrap_err(),
            FormError::Duplicate("token".into())
        );
    }

    #[test]
    fn garbage_is_a_form_without_the_wanted_fields() {
        let form = parse(&[0xff, b'=', 0xfe, b'&', b'%', b'z']).expect("lossy, never fails");
        assert_eq!(form.get("token"), None);
    }

    #[test]
    fn too_many_parameters_are_refused() {
        let body: Vec<String> = (0..40).map(|i| format!("p{i}=v")).collect();
        assert_eq!(
            parse(body.join("&").as_bytes()).unwrap_err(),
            FormError::TooMany
        );
    }

    #[test]
    fn debug_shows_names_only() {
        let form = parse(b"token=TAUTH_secret--zabc").expect("parses");
        let shown = format!("{form:?}");
        assert!(
            shown.contains("token") && !shown.contains("secret"),
            "{shown}"
        );
    }

    #[test]
    fn media_type_and_announced_length_are_checked_first() {
        let mut headers = HeaderMap::new();
        assert_eq!(check_headers(&headers), Err(FormError::ContentType));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(check_headers(&headers), Err(FormError::ContentType));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        );
        assert_eq!(check_headers(&headers), Ok(()));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("65537"));
        assert_eq!(check_headers(&headers), Err(FormError::TooLarge));
    }
}
