//! An independent JWT validator for the hub's tokens: `tests/clients/verify_jwt.py` (PyJWT with
//! `cryptography`) run on the venv `./scripts/deps` creates at
//! `${HYPERFORGE_TEST_CACHE:-$HOME/.cache/hyperforge-tests}/pyjwt-venv`. It shares nothing with the
//! hub but the JWKS, so a token it accepts is one any standard library accepts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::registries::cache_dir;
use crate::Run;

/// Where the JWKS comes from.
#[derive(Debug, Clone, Copy)]
pub enum JwksSource<'a> {
    /// The JWK Set document itself (passed on stdin).
    Json(&'a str),
    /// An HTTP URL serving it (`/.well-known/jwks.json`).
    Url(&'a str),
}

/// The venv's python.
///
/// # Panics
/// When the venv is missing (run `./scripts/deps`).
pub fn python() -> PathBuf {
    let python = cache_dir().join("pyjwt-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/deps to install PyJWT",
        python.display()
    );
    python
}

/// The script's path.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/verify_jwt.py")
}

/// Runs `verify_jwt.py` on `token` with the issuer and audience expected; on success its
/// stdout is the verified claims as JSON.
///
/// # Panics
/// When the script cannot be started.
pub fn verify(token: &str, jwks: JwksSource<'_>, issuer: &str, audience: &str) -> Run {
    let mut command = Command::new(python());
    command
        .arg(script())
        .args(["--issuer", issuer, "--audience", audience]);
    let stdin = match jwks {
        JwksSource::Json(json) => {
            command.args(["--jwks", "-", token]);
            json.to_owned()
        }
        JwksSource::Url(url) => {
            command.args(["--jwks-url", url, "-"]);
            token.to_owned()
        }
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start verify_jwt.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write verify_jwt.py's stdin");
    Run::from(child.wait_with_output().expect("verify_jwt.py output"))
}
