//! The ecosystems' own tools, run as child processes: `cargo package`/`cargo publish`,
//! `npm pack --dry-run`/`npm publish`, `python3 -m build`/`twine upload`. The token reaches a
//! child only the way that tool documents (an environment variable, or for npm a temporary 0600
//! user config that reads `${NPM_TOKEN}`), never in an argument or a file left behind.
//!
//! Every child runs in the package's directory with its stdin closed (nothing can prompt), no
//! colours, and without `AUTH_HUB_TOKEN` (no tool needs the hub's key). Its output is kept (the
//! last [`OUTPUT_CAP`] bytes of each stream, the token masked should a tool echo it) for the
//! registry's reason. Nothing is time-limited: an upload takes what it takes.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use auth_hub_protocol::command::{command_line, shell_quote};
use auth_hub_protocol::Secret;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use zeroize::Zeroizing;

use super::refusal::{self, RegistryReason};
use super::release::{Plan, ReleaseError};
use super::Ecosystem;

/// The public npm registry, used when the registry names no URL.
pub const NPM_PUBLIC: &str = "https://registry.npmjs.org/";
/// PyPI's upload URL, used when the registry names no URL.
pub const PYPI_UPLOAD: &str = "https://upload.pypi.org/legacy/";
/// The most of each output stream kept (its end, where the errors are).
pub const OUTPUT_CAP: usize = 64 * 1024;

/// The programs one ecosystem's release runs, found on `PATH`.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `cargo`, `npm` or `python3`.
    verify: PathBuf,
    /// `cargo`, `npm` or `twine`.
    publish: PathBuf,
}

/// What verification leaves for the publish: for PyPI, the built distributions, in a private
/// temporary directory removed when this is dropped.
#[derive(Debug)]
pub struct Verified {
    dist: Option<tempfile::TempDir>,
}

/// A command as a person would type it: environment assignments (a token shown as `…`), the
/// program, its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Variables set for the child, with the value shown (`None`: a secret, shown as `…`).
    pub env: Vec<(String, Option<String>)>,
    /// The program's name.
    pub program: &'static str,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Invocation {
    /// The command line, shell-quoted.
    pub fn display(&self) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={}", shell_quote(value)),
                None => format!("{name}=…"),
            })
            .collect();
        words.push(command_line(
            std::iter::once(self.program).chain(self.args.iter().map(String::as_str)),
        ));
        words.join(" ")
    }
}

/// Finds the tools `ecosystem` needs on `PATH`.
///
/// # Errors
/// [`ReleaseError::MissingTool`] naming the first one missing and what to install.
pub fn locate(ecosystem: Ecosystem) -> Result<Tools, ReleaseError> {
    Ok(match ecosystem {
        Ecosystem::Cargo => {
            let cargo = find("cargo")?;
            Tools {
                verify: cargo.clone(),
                publish: cargo,
            }
        }
        Ecosystem::Npm => {
            let npm = find("npm")?;
            Tools {
                verify: npm.clone(),
                publish: npm,
            }
        }
        Ecosystem::Pypi => Tools {
            verify: find("python3")?,
            publish: find("twine")?,
        },
    })
}

/// What to install to get `tool`.
fn install_hint(tool: &str) -> &'static str {
    match tool {
        "cargo" => "install Rust (https://rustup.rs)",
        "npm" => "install Node.js (npm)",
        "python3" => "install Python 3",
        "build" => "pip install build",
        _ => "pip install twine build",
    }
}

/// `name`'s path: the first executable file of that name in a `PATH` directory.
fn find(name: &'static str) -> Result<PathBuf, ReleaseError> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|path| {
            std::fs::metadata(path)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .ok_or(ReleaseError::MissingTool {
            tool: name,
            hint: install_hint(name),
        })
}

/// Cargo's environment name for registry `name`: `CARGO_REGISTRIES_<NAME>_<suffix>`, upper-cased,
/// `-` as `_`.
pub fn cargo_registry_env(name: &str, suffix: &str) -> String {
    format!(
        "CARGO_REGISTRIES_{}_{suffix}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// The verification command of `plan`; `dist` is where PyPI's build writes.
pub fn verify_invocation(plan: &Plan, dist: &str) -> Invocation {
    match plan.package.ecosystem {
        Ecosystem::Cargo => {
            let mut args = vec!["package".to_owned(), "--allow-dirty".to_owned()];
            let mut env = Vec::new();
            if let Some(url) = &plan.registry.url {
                args.extend(["--registry".to_owned(), plan.registry.name.clone()]);
                env.push((
                    cargo_registry_env(&plan.registry.name, "INDEX"),
                    Some(url.clone()),
                ));
            }
            Invocation {
                env,
                program: "cargo",
                args,
            }
        }
        Ecosystem::Npm => Invocation {
            env: Vec::new(),
            program: "npm",
            args: vec!["pack".to_owned(), "--dry-run".to_owned()],
        },
        Ecosystem::Pypi => Invocation {
            env: Vec::new(),
            program: "python3",
            args: vec![
                "-m".to_owned(),
                "build".to_owned(),
                "--outdir".to_owned(),
                dist.to_owned(),
            ],
        },
    }
}

/// The publish command of `plan`; `npmrc` is the temporary npm user config, `files` PyPI's
/// distributions.
pub fn publish_invocation(plan: &Plan, npmrc: &str, files: &[String]) -> Invocation {
    match plan.package.ecosystem {
        Ecosystem::Cargo => {
            // This run checked the work tree itself (and committed the bump): cargo's own check would
            // only trip on a lock file it created while verifying.
            let mut args = vec![
                "publish".to_owned(),
                "--no-verify".to_owned(),
                "--allow-dirty".to_owned(),
            ];
            let env = match &plan.registry.url {
                Some(url) => {
                    args.extend(["--registry".to_owned(), plan.registry.name.clone()]);
                    vec![
                        (
                            cargo_registry_env(&plan.registry.name, "INDEX"),
                            Some(url.clone()),
                        ),
                        (cargo_registry_env(&plan.registry.name, "TOKEN"), None),
                    ]
                }
                None => vec![("CARGO_REGISTRY_TOKEN".to_owned(), None)],
            };
            Invocation {
                env,
                program: "cargo",
                args,
            }
        }
        Ecosystem::Npm => Invocation {
            env: vec![
                ("NPM_CONFIG_USERCONFIG".to_owned(), Some(npmrc.to_owned())),
                ("NPM_TOKEN".to_owned(), None),
            ],
            program: "npm",
            args: vec!["publish".to_owned()],
        },
        Ecosystem::Pypi => {
            let mut args = vec![
                "upload".to_owned(),
                "--non-interactive".to_owned(),
                "--disable-progress-bar".to_owned(),
                "--repository-url".to_owned(),
                plan.registry
                    .url
                    .clone()
                    .unwrap_or_else(|| PYPI_UPLOAD.to_owned()),
            ];
            args.extend(files.iter().cloned());
            Invocation {
                env: vec![
                    ("TWINE_USERNAME".to_owned(), Some("__token__".to_owned())),
                    ("TWINE_PASSWORD".to_owned(), None),
                ],
                program: "twine",
                args,
            }
        }
    }
}

/// Verifies that `plan`'s package builds and packs, with the version already bumped in its
/// manifest. Leaves nothing in the repository (PyPI's distributions go to a private temporary
/// directory, kept for the upload).
///
/// # Errors
/// [`ReleaseError::Verify`] with the tool's most telling line; [`ReleaseError::MissingTool`]
/// when Python has no `build` module.
pub async fn verify(tools: &Tools, plan: &Plan) -> Result<Verified, ReleaseError> {
    let dist = match plan.package.ecosystem {
        Ecosystem::Pypi => Some(private_dir().map_err(|error| {
            ReleaseError::Verify(format!("cannot create a temporary directory: {error}"))
        })?),
        _ => None,
    };
    let dist_text = dist
        .as_ref()
        .map(|dir| dir.path().to_string_lossy().into_owned())
        .unwrap_or_default();
    let invocation = verify_invocation(plan, &dist_text);
    let leftovers = BuildLeftovers::before(plan);
    let result = run(&tools.verify, &invocation, &plan.package.dir, &[], None).await;
    leftovers.remove_new();
    let output = result.map_err(|error| {
        ReleaseError::Verify(format!("cannot run {}: {error}", invocation.program))
    })?;
    if output.success {
        return Ok(Verified { dist });
    }
    if plan.package.ecosystem == Ecosystem::Pypi && output.text.contains("No module named build") {
        return Err(ReleaseError::MissingTool {
            tool: "build",
            hint: install_hint("build"),
        });
    }
    Err(ReleaseError::Verify(format!(
        "`{}`: {}",
        invocation.display(),
        refusal::first_error_line(&output.text)
    )))
}

/// Publishes `plan`'s package with `token`, handed over as the tool documents.
///
/// # Errors
/// [`ReleaseError::TokenRefused`] for a 401/403, [`ReleaseError::Registry`] otherwise.
pub async fn publish(
    tools: &Tools,
    plan: &Plan,
    verified: &Verified,
    token: &Secret,
) -> Result<(), ReleaseError> {
    let value = token.value.expose();
    let failed = |error: std::io::Error| {
        ReleaseError::Registry(RegistryReason::Other(format!(
            "cannot run {}: {error}",
            plan.package.ecosystem
        )))
    };
    // Removed when dropped, on success and on failure alike.
    let private = private_dir().map_err(failed)?;
    let mut secret_env: Vec<(String, &str)> = Vec::new();
    let mut npmrc_text = String::new();
    let mut files = Vec::new();
    match plan.package.ecosystem {
        Ecosystem::Cargo => {
            let name = match plan.registry.url {
                Some(_) => cargo_registry_env(&plan.registry.name, "TOKEN"),
                None => "CARGO_REGISTRY_TOKEN".to_owned(),
            };
            secret_env.push((name, value));
        }
        Ecosystem::Npm => {
            let path = private.path().join("npmrc");
            write_npmrc(&path, &npm_config(plan)).map_err(failed)?;
            npmrc_text = path.to_string_lossy().into_owned();
            secret_env.push(("NPM_TOKEN".to_owned(), value));
        }
        Ecosystem::Pypi => {
            if let Some(dist) = &verified.dist {
                let mut found: Vec<String> = std::fs::read_dir(dist.path())
                    .map_err(failed)?
                    .filter_map(Result::ok)
                    .map(|entry| entry.path().to_string_lossy().into_owned())
                    .collect();
                found.sort();
                files = found;
            }
            if files.is_empty() {
                return Err(ReleaseError::Verify(
                    "the build produced no distribution to upload".to_owned(),
                ));
            }
            secret_env.push(("TWINE_PASSWORD".to_owned(), value));
        }
    }
    let invocation = publish_invocation(plan, &npmrc_text, &files);
    let output = run(
        &tools.publish,
        &invocation,
        &plan.package.dir,
        &secret_env,
        Some(value),
    )
    .await
    .map_err(failed)?;
    drop(private);
    if output.success {
        return Ok(());
    }
    match refusal::reason(plan.package.ecosystem, &output.text) {
        RegistryReason::TokenRefused => Err(ReleaseError::TokenRefused(plan.token_path.clone())),
        reason => Err(ReleaseError::Registry(reason)),
    }
}

/// The temporary npm user config: where the package goes and the token line reading
/// `${NPM_TOKEN}` (npm expands it; the value is never in the file).
pub fn npm_config(plan: &Plan) -> String {
    let url = plan
        .registry
        .url
        .clone()
        .unwrap_or_else(|| NPM_PUBLIC.to_owned());
    let url = if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    };
    let registry_line = match plan.package.name.split_once('/') {
        Some((scope, _)) if scope.starts_with('@') => format!("{scope}:registry={url}"),
        _ => format!("registry={url}"),
    };
    let nerf_dart = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    format!("{registry_line}\n//{nerf_dart}:_authToken=${{NPM_TOKEN}}\n")
}

/// Writes the npm config readable by this user only (0600 from its creation).
fn write_npmrc(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// A private (0700) temporary directory outside the repository.
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("hyperforge-publish-")
        .tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

/// What a tool said and whether it succeeded.
struct Captured {
    success: bool,
    /// stderr then stdout, each capped, the token masked.
    text: String,
}

/// Runs `invocation` with `program` in `dir`, with `secret_env` added, stdin closed and no hub
/// key; `secret` is masked in what is kept of the output.
async fn run(
    program: &Path,
    invocation: &Invocation,
    dir: &Path,
    secret_env: &[(String, &str)],
    secret: Option<&str>,
) -> std::io::Result<Captured> {
    let mut command = Command::new(program);
    command
        .args(&invocation.args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("AUTH_HUB_TOKEN")
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        .env("NO_COLOR", "1")
        .env("NPM_CONFIG_COLOR", "false")
        .env("NPM_CONFIG_UPDATE_NOTIFIER", "false")
        .env("NPM_CONFIG_FUND", "false")
        .env("PYTHONUNBUFFERED", "1")
        .kill_on_drop(true);
    for (name, value) in &invocation.env {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    for (name, value) in secret_env {
        command.env(name, value);
    }
    let mut child = command.spawn()?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (stdout, stderr) = tokio::try_join!(read_capped(stdout), read_capped(stderr))?;
    let status = child.wait().await?;
    let mut text = Zeroizing::new(String::from_utf8_lossy(&stderr).into_owned());
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&stdout));
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        text.push_str(&format!(
            "\n{} was stopped by signal {signal}\n",
            invocation.program
        ));
    }
    let text = match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_string(),
    };
    Ok(Captured {
        success: status.success(),
        text,
    })
}

/// Reads a pipe to its end, keeping its last [`OUTPUT_CAP`] bytes.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return Ok(kept);
    };
    let mut chunk = [0u8; 8192];
    loop {
        let read = pipe.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..read]);
        if kept.len() > 2 * OUTPUT_CAP {
            kept.drain(..kept.len() - OUTPUT_CAP);
        }
    }
    if kept.len() > OUTPUT_CAP {
        kept.drain(..kept.len() - OUTPUT_CAP);
    }
    Ok(kept)
}

/// The directories a Python build may write into the package (`build/`, `*.egg-info`) that were
/// not there before it, removed afterwards so verification leaves nothing behind.
struct BuildLeftovers {
    /// Directories watched, with the names they held before.
    watched: Vec<(PathBuf, Vec<std::ffi::OsString>)>,
}

impl BuildLeftovers {
    fn before(plan: &Plan) -> Self {
        let mut watched = Vec::new();
        if plan.package.ecosystem == Ecosystem::Pypi {
            for dir in [plan.package.dir.clone(), plan.package.dir.join("src")] {
                if let Ok(names) = names_in(&dir) {
                    watched.push((dir, names));
                }
            }
        }
        Self { watched }
    }

    fn remove_new(&self) {
        for (dir, before) in &self.watched {
            let Ok(now) = names_in(dir) else { continue };
            for name in now {
                let text = name.to_string_lossy();
                let build_output = text == "build" || text.ends_with(".egg-info");
                if build_output && !before.contains(&name) {
                    let _ = std::fs::remove_dir_all(dir.join(&name));
                }
            }
        }
    }
}

fn names_in(dir: &Path) -> std::io::Result<Vec<std::ffi::OsString>> {
    Ok(std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_registry_variables_are_upper_case_with_underscores() {
        assert_eq!(
            cargo_registry_env("my-reg", "TOKEN"),
            "CARGO_REGISTRIES_MY_REG_TOKEN"
        );
        assert_eq!(
            cargo_registry_env("local", "INDEX"),
            "CARGO_REGISTRIES_LOCAL_INDEX"
        );
    }

    #[test]
    fn a_missing_tool_names_what_to_install() {
        let error = find("hyperforge-no-such-tool").expect_err("missing");
        assert!(matches!(
            error,
            ReleaseError::MissingTool {
                tool: "hyperforge-no-such-tool",
                ..
            }
        ));
        assert_eq!(install_hint("npm"), "install Node.js (npm)");
        assert_eq!(install_hint("twine"), "pip install twine build");
    }

    #[test]
    fn invocations_show_no_secret() {
        let invocation = Invocation {
            env: vec![
                ("A".to_owned(), Some("sparse+http://x/".to_owned())),
                ("T".to_owned(), None),
            ],
            program: "cargo",
            args: vec!["publish".to_owned(), "a b".to_owned()],
        };
        assert_eq!(
            invocation.display(),
            "A=sparse+http://x/ T=… cargo publish 'a b'"
        );
    }

    #[tokio::test]
    async fn output_is_capped_at_its_end() {
        let data = vec![b'x'; 3 * OUTPUT_CAP + 5];
        let mut data = data;
        data.extend_from_slice(b"tail");
        let kept = read_capped(Some(&data[..])).await.expect("read");
        assert_eq!(kept.len(), OUTPUT_CAP);
        assert!(kept.ends_with(b"tail"));
    }

    #[test]
    fn private_directories_are_0700_and_outside_the_repository() {
        let dir = private_dir().expect("temp dir");
        let mode = std::fs::metadata(dir.path())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let path = dir.path().join("npmrc");
        write_npmrc(&path, "x").expect("write");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let kept = dir.path().to_owned();
        drop(dir);
        assert!(!kept.exists(), "removed when dropped");
    }
}
