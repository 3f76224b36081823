//! What a registry said when a publish failed, read from the tool's output (which carries the
//! registry's error body): a refused token, a version that already exists, or its own words.
//!
//! The output is untrusted text (a registry writes part of it), so it is only searched, never
//! interpreted: the one line kept is stripped of control characters and capped at
//! [`MAX_LINE`] characters.

use std::fmt;

use super::Ecosystem;

/// Longest reason kept, in characters.
pub const MAX_LINE: usize = 300;

/// Why a registry refused a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryReason {
    /// HTTP 401/403: the token was refused.
    TokenRefused,
    /// The version is already published.
    VersionExists,
    /// Anything else, in the registry's (or the tool's) words, one line.
    Other(String),
}

impl fmt::Display for RegistryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TokenRefused => f.write_str("the token was refused"),
            Self::VersionExists => f.write_str("this version is already published"),
            Self::Other(reason) => f.write_str(reason),
        }
    }
}

/// Reads the reason out of the stderr and stdout of a failed `cargo publish`, `npm publish` or
/// `twine upload`. Never panics on any input (fuzzed).
pub fn reason(ecosystem: Ecosystem, output: &str) -> RegistryReason {
    // npm's registry answers a republish with 403 too: the conflict is looked for first.
    if version_exists(ecosystem, output) {
        RegistryReason::VersionExists
    } else if token_refused(ecosystem, output) {
        RegistryReason::TokenRefused
    } else {
        RegistryReason::Other(telling_line(output))
    }
}

/// The most telling line of a tool's output, cleaned and capped: the registry's `detail` when
/// cargo shows a JSON error body, else the last line that reads as an error (`error:`,
/// `npm error`, `HTTPError:`, `ERROR`), else the last non-empty line.
pub fn telling_line(output: &str) -> String {
    if let Some(detail) = json_detail(output) {
        let detail = clean(&detail);
        if !detail.is_empty() {
            return cap(detail);
        }
    }
    let lines = || output.lines().map(clean).filter(|line| !line.is_empty());
    let line = lines()
        .rev()
        .find(|line| is_error_line(line) && !is_boilerplate(line))
        .or_else(|| lines().next_back())
        .unwrap_or_else(|| "no output".to_owned());
    cap(strip_prefixes(&line))
}

/// The first error of a failed build (`cargo package`, `npm pack`, `python3 -m build`): the
/// compiler's first complaint says more than the summary lines after it. Cleaned and capped
/// like [`telling_line`], which answers when no line reads as an error.
pub fn first_error_line(output: &str) -> String {
    output
        .lines()
        .map(clean)
        .filter(|line| is_error_line(line) && !is_boilerplate(line))
        .find(|line| {
            let lower = line.to_ascii_lowercase();
            !lower.starts_with("error: could not compile")
                && !lower.starts_with("error: failed to verify")
                && strip_prefixes(line) != *line.trim()
        })
        .map_or_else(|| telling_line(output), |line| cap(strip_prefixes(&line)))
}

/// True for the failure lines of cargo, npm and twine.
fn is_error_line(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.starts_with("error")
        || lower.starts_with("npm error")
        || lower.starts_with("npm err!")
        || lower.starts_with("httperror")
        || lower.starts_with("caused by")
        || lower.contains("responded with an error")
        || lower.contains(" - put ")
}

/// npm's trailing lines that say where the log is, not what went wrong.
fn is_boilerplate(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.contains("a complete log of this run")
        || lower.contains("behind a proxy")
        || lower.contains("'proxy' config")
        || lower.starts_with("npm error syscall")
        || lower.starts_with("npm error errno")
        || lower.starts_with("npm err! syscall")
        || lower.starts_with("npm err! errno")
        || lower.contains("in the debug log")
        || lower.ends_with("npm error")
        || lower.ends_with("npm err!")
}

/// `error: `, `npm error `, `npm ERR! `, `ERROR ` taken off the front of a line.
fn strip_prefixes(line: &str) -> String {
    let mut rest = line.trim();
    loop {
        let before = rest;
        for prefix in [
            "npm error",
            "npm ERR!",
            "error:",
            "ERROR",
            "Error:",
            "Caused by:",
        ] {
            if let Some(tail) = strip_prefix_ignore_case(rest, prefix) {
                rest = tail.trim_start();
            }
        }
        if rest == before {
            break;
        }
    }
    if rest.is_empty() {
        line.trim().to_owned()
    } else {
        rest.to_owned()
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// One line: control characters become spaces, runs of whitespace one space, ANSI escape
/// sequences dropped; a very long line is cut (well past [`MAX_LINE`], which [`cap`] applies).
fn clean(line: &str) -> String {
    let mut out = String::with_capacity(line.len().min(4 * MAX_LINE));
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                while let Some(&next) = chars.peek() {
                    chars.next();
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            continue;
        }
        let c = if c.is_control() { ' ' } else { c };
        if c.is_whitespace() && out.ends_with(' ') {
            continue;
        }
        out.push(if c.is_whitespace() { ' ' } else { c });
        if out.len() > 8 * MAX_LINE {
            break;
        }
    }
    out.trim().to_owned()
}

/// At most [`MAX_LINE`] characters, with `…` when cut.
fn cap(line: String) -> String {
    if line.chars().count() <= MAX_LINE {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_LINE - 1).collect();
    cut.push('…');
    cut
}

/// The first `"detail": "…"` string of a JSON error body (crates.io's
/// `{"errors":[{"detail":"…"}]}`), decoded.
fn json_detail(output: &str) -> Option<String> {
    let start = output.find("\"detail\"")?;
    let rest = output.get(start + "\"detail\"".len()..)?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    if !rest.starts_with('"') {
        return None;
    }
    let mut strings = serde_json::Deserializer::from_str(rest).into_iter::<String>();
    strings.next()?.ok()
}

/// The version is already there: cargo's "already uploaded"/"already exists", npm's E409,
/// EPUBLISHCONFLICT and "cannot publish over", twine's 409 or "File already exists".
fn version_exists(ecosystem: Ecosystem, output: &str) -> bool {
    let lower = output.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|needle| lower.contains(needle));
    match ecosystem {
        Ecosystem::Cargo => any(&[
            "is already uploaded",
            "already exists on",
            "already exists in",
            "crate version already exists",
            "status 409",
        ]),
        Ecosystem::Npm => any(&[
            "epublishconflict",
            "code e409",
            "npm error 409",
            "npm err! 409",
            "409 conflict",
            "cannot publish over the previously published version",
            "cannot modify pre-existing version",
            "this package is already present",
        ]),
        Ecosystem::Pypi => any(&[
            "409 conflict",
            "file already exists",
            "already exists. see",
            "this filename has already been used",
        ]),
    }
}

/// The registry refused the credential: HTTP 401 or 403 in the tool's words.
fn token_refused(ecosystem: Ecosystem, output: &str) -> bool {
    let lower = output.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|needle| lower.contains(needle));
    let http = any(&[
        "status 401",
        "status 403",
        "401 unauthorized",
        "403 forbidden",
        "got 401",
        "got 403",
    ]);
    http || match ecosystem {
        Ecosystem::Cargo => any(&[
            "invalid authentication token",
            "authentication failed",
            "the given api token does not match",
            "must be logged in",
        ]),
        Ecosystem::Npm => any(&[
            "code e401",
            "code e403",
            "npm error 401",
            "npm error 403",
            "npm err! 401",
            "npm err! 403",
            "unable to authenticate",
            "need auth",
        ]),
        Ecosystem::Pypi => any(&[
            "httperror: 401",
            "httperror: 403",
            "invalid or non-existent authentication",
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARGO_403: &str = "    Updating `myreg` index\n   Uploading wa v0.1.1 (/tmp/wa)\n\
error: failed to publish to registry at http://127.0.0.1:35817/\n\nCaused by:\n  \
the remote server responded with an error (status 403 Forbidden): invalid token\n";

    const CARGO_EXISTS: &str = "   Uploading wa v0.1.0 (/w/wa)\nerror: failed to publish to \
registry at https://crates.io\n\nCaused by:\n  the remote server responded with an error \
(status 400 Bad Request): crate wa@0.1.0 already exists on crates.io index\n";

    const CARGO_BODY: &str = "error: failed to publish to registry at http://127.0.0.1:9/\n\n\
Caused by:\n  failed to get a 200 OK response, got 400\n  headers:\n  \tHTTP/1.1 400\n  body:\n  \
{\"errors\":[{\"detail\":\"missing field `description`\\nin manifest\"}]}\n";

    const NPM_401: &str = "npm notice Publishing to http://127.0.0.1:4873/ with tag latest\n\
npm error code E401\nnpm error 401 Unauthorized - PUT http://127.0.0.1:4873/wa - \
authorization required\nnpm error A complete log of this run can be found in: /h/.npm/_logs/x.log\n";

    const NPM_REPUBLISH: &str = "npm error code E403\nnpm error 403 403 Forbidden - PUT \
https://registry.npmjs.org/wa - You cannot publish over the previously published versions: \
0.1.0.\nnpm error 403 In most cases, you or one of your dependencies are requesting\n";

    const NPM_CONFLICT: &str = "npm ERR! code E409\nnpm ERR! 409 Conflict - PUT \
http://127.0.0.1:4873/wa - this package is already present\n";

    const NPM_OTHER: &str = "npm error code E400\nnpm error 400 Bad Request - PUT \
http://127.0.0.1:4873/wa - invalid package name\nnpm error A complete log of this run can be \
found in: /h/.npm/_logs/x.log\n";

    const TWINE_403: &str = "Uploading distributions to http://127.0.0.1:8080/\nUploading \
wa-0.1.1-py3-none-any.whl\nWARNING  Error during upload. Retry with the --verbose option for \
more details.\nERROR    HTTPError: 403 Forbidden from http://127.0.0.1:8080/\n         \
Forbidden\n";

    const TWINE_EXISTS: &str = "ERROR    HTTPError: 400 Bad Request from \
https://upload.pypi.org/legacy/\n         File already exists ('wa-0.1.0.tar.gz', with \
blake2_256 hash 'x'). See https://pypi.org/help/#file-name-reuse for more information.\n";

    const TWINE_409: &str =
        "ERROR    HTTPError: 409 Conflict from http://127.0.0.1:8080/\n         Conflict\n";

    #[test]
    fn refused_tokens_are_recognised() {
        assert_eq!(
            reason(Ecosystem::Cargo, CARGO_403),
            RegistryReason::TokenRefused
        );
        assert_eq!(
            reason(Ecosystem::Npm, NPM_401),
            RegistryReason::TokenRefused
        );
        assert_eq!(
            reason(Ecosystem::Pypi, TWINE_403),
            RegistryReason::TokenRefused
        );
        assert_eq!(
            reason(
                Ecosystem::Pypi,
                "ERROR    HTTPError: 401 Unauthorized from http://x/\n"
            ),
            RegistryReason::TokenRefused
        );
    }

    #[test]
    fn republishing_is_a_conflict_even_when_npm_says_403() {
        assert_eq!(
            reason(Ecosystem::Cargo, CARGO_EXISTS),
            RegistryReason::VersionExists
        );
        assert_eq!(
            reason(Ecosystem::Npm, NPM_REPUBLISH),
            RegistryReason::VersionExists
        );
        assert_eq!(
            reason(Ecosystem::Npm, NPM_CONFLICT),
            RegistryReason::VersionExists
        );
        assert_eq!(
            reason(Ecosystem::Npm, "npm error code EPUBLISHCONFLICT\n"),
            RegistryReason::VersionExists
        );
        assert_eq!(
            reason(Ecosystem::Pypi, TWINE_EXISTS),
            RegistryReason::VersionExists
        );
        assert_eq!(
            reason(Ecosystem::Pypi, TWINE_409),
            RegistryReason::VersionExists
        );
    }

    #[test]
    fn other_refusals_keep_the_registrys_words() {
        assert_eq!(
            reason(Ecosystem::Cargo, CARGO_BODY),
            RegistryReason::Other("missing field `description` in manifest".into())
        );
        assert_eq!(
            reason(Ecosystem::Npm, NPM_OTHER),
            RegistryReason::Other(
                "400 Bad Request - PUT http://127.0.0.1:4873/wa - invalid package name".into()
            )
        );
        assert_eq!(
            reason(
                Ecosystem::Cargo,
                "error: failed to publish to registry at http://x/\n\nCaused by:\n  \
                 the remote server responded with an error (status 500 Internal Server Error): boom\n"
            ),
            RegistryReason::Other(
                "the remote server responded with an error (status 500 Internal Server Error): boom"
                    .into()
            )
        );
        assert_eq!(
            reason(Ecosystem::Pypi, ""),
            RegistryReason::Other("no output".into())
        );
    }

    #[test]
    fn the_line_kept_is_clean_and_capped() {
        let long = format!("error: \u{1b}[31m{}\u{1b}[0m\tend\r\n", "é".repeat(1000));
        let RegistryReason::Other(line) = reason(Ecosystem::Cargo, &long) else {
            panic!("not a refusal");
        };
        assert_eq!(line.chars().count(), MAX_LINE);
        assert!(line.ends_with('…'));
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(!line.contains("[31m"));
        assert_eq!(
            telling_line("a\n\u{7}b\u{1b}[1m c \n\n"),
            "b c",
            "control characters go"
        );
    }

    #[test]
    fn npm_network_failures_show_the_reason_not_the_proxy_advice() {
        let output = "npm error code ECONNREFUSED\nnpm error syscall connect\nnpm error errno \
ECONNREFUSED\nnpm error FetchError: request to http://127.0.0.1:9/@acme%2fwjs failed, reason: \
connect ECONNREFUSED 127.0.0.1:9\nnpm error\nnpm error If you are behind a proxy, please make \
sure that the\nnpm error 'proxy' config is set properly.  See: 'npm help config'\n";
        assert_eq!(
            reason(Ecosystem::Npm, output),
            RegistryReason::Other(
                "FetchError: request to http://127.0.0.1:9/@acme%2fwjs failed, reason: connect \
ECONNREFUSED 127.0.0.1:9"
                    .into()
            )
        );
    }

    #[test]
    fn a_failed_build_shows_its_first_error() {
        let cargo = "   Packaging wa v0.1.1 (/w)\n   Verifying wa v0.1.1 (/w)\n   Compiling wa \
v0.1.1 (/w/target/package/wa-0.1.1)\nerror: expected one of `!` or `::`, found `<eof>`\n --> \
src/lib.rs:15:1\n\nerror: could not compile `wa` (lib) due to 1 previous error\nerror: failed \
to verify package tarball\n";
        assert_eq!(
            first_error_line(cargo),
            "expected one of `!` or `::`, found `<eof>`"
        );
        assert_eq!(first_error_line("all fine\nbut failed"), "but failed");
    }

    #[test]
    fn broken_json_details_fall_back_to_lines() {
        for output in [
            "\"detail\"",
            "\"detail\":",
            "\"detail\": \"unterminated",
            "\"detail\": 3\nerror: x",
            "{\"detail\":\"\\ud800\"}",
        ] {
            let _ = reason(Ecosystem::Cargo, output);
        }
        assert_eq!(telling_line("\"detail\": 3\nerror: x"), "x");
    }
}
