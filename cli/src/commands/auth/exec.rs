//! `hyperforge auth exec -e VAR=PATH … -- CMD ARGS…`: run a command with secrets added to its
//! environment — the one place a secret enters a child's environment, because the user asked for
//! exactly that. This process prints no value; it replaces itself with the command, so the exit
//! code (and signals) are the command's own.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use auth_hub_client::{AuthClient, AuthError};
use auth_hub_protocol::duration::parse_duration;
use auth_hub_protocol::response::ScopeResult;
use auth_hub_protocol::{Permissions, SecretPath, SecretScope, SecretValue};
use clap::Args;

use super::{announce_wait, connect_keyed, keyed_options, wait_for};
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// VAR=PATH: set VAR in the command's environment to the secret at PATH (repeatable).
    #[arg(
        short = 'e',
        long = "env",
        value_name = "VAR=PATH",
        value_parser = parse_binding,
        required = true
    )]
    pub env: Vec<EnvBinding>,
    /// How long to wait for approval (90, 90s, 5m); the hub caps it at its grant timeout.
    #[arg(long, value_name = "SECS", value_parser = parse_duration, conflicts_with = "no_wait")]
    pub wait: Option<Duration>,
    /// Do not wait: if a scope needs approval, fail at once (exit 3).
    #[arg(long)]
    pub no_wait: bool,
    /// The command to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// One `-e VAR=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvBinding {
    /// The environment variable's name.
    pub var: String,
    /// The secret it receives.
    pub path: SecretPath,
}

/// Parses `VAR=PATH`: VAR is `[A-Za-z_][A-Za-z0-9_]*`, PATH a valid secret path.
fn parse_binding(text: &str) -> Result<EnvBinding, String> {
    let (var, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected VAR=PATH, got {text:?}"))?;
    if !is_env_name(var) {
        return Err(format!(
            "{var:?} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
        ));
    }
    let path = SecretPath::parse(path).map_err(|error| error.to_string())?;
    Ok(EnvBinding {
        var: var.to_owned(),
        path,
    })
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The distinct parent scopes of the bindings, in order.
fn scopes_of(bindings: &[EnvBinding]) -> Vec<SecretScope> {
    let mut seen = HashSet::new();
    bindings
        .iter()
        .map(|binding| binding.path.parent_scope())
        .filter(|scope| seen.insert(scope.as_str().to_owned()))
        .collect()
}

/// Runs `auth exec`. Returns only if the command could not be started.
///
/// # Errors
/// A repeated VAR (2), denied (3), not found (4), unreachable (5), the command cannot run (1).
pub async fn run(_ctx: &Context, args: ExecArgs) -> Result<(), CliError> {
    let mut vars = HashSet::new();
    if let Some(twice) = args.env.iter().find(|b| !vars.insert(b.var.as_str())) {
        return Err(CliError::usage(format!(
            "{} is set twice with -e",
            twice.var
        )));
    }
    let (program, program_args) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::usage("no command given after --"))?;
    let program_name = program.to_string_lossy().into_owned();
    let wait = wait_for(args.wait, args.no_wait);

    let mut options = keyed_options(format!("hyperforge auth exec {program_name}"))?;
    options.wait = wait;
    // The connection closes at the end of this block, before the command starts.
    let values = {
        let client = connect_keyed(options).await?;
        let scopes = scopes_of(&args.env);
        announce_wait(&client, &scopes, Permissions::READ, wait).await;
        if scopes.len() > 1 {
            // Several scopes are shown to the owner and decided together.
            for outcome in client
                .request_scopes(&scopes, Permissions::READ, wait)
                .await?
            {
                if let ScopeResult::Error(reply) = outcome.result {
                    return Err(AuthError::from(reply).into());
                }
            }
        }
        let mut values: Vec<(&str, SecretValue)> = Vec::with_capacity(args.env.len());
        for binding in &args.env {
            let secret = client.get_secret(&binding.path).await?;
            values.push((&binding.var, secret.value));
        }
        values
    };

    let mut command = Command::new(program);
    command.args(program_args);
    for (var, value) in &values {
        command.env(var, value.expose());
    }
    let error = command.exec();
    let sizes: Vec<(&str, usize)> = values
        .iter()
        .map(|(var, value)| (*var, var.len() + 1 + value.expose().len()))
        .collect();
    Err(exec_error(&program_name, &error, &sizes))
}

/// Linux's limit on one `NAME=value` string handed to a program (`MAX_ARG_STRLEN`, 32 pages).
const MAX_ENV_STRING: usize = 128 * 1024;

/// Why the command could not start. "Argument list too long" from a secret too large for the
/// environment names the variable and the limit, rather than blaming arguments.
fn exec_error(program: &str, error: &std::io::Error, sizes: &[(&str, usize)]) -> CliError {
    let too_large = sizes.iter().find(|(_, size)| *size >= MAX_ENV_STRING);
    match too_large {
        Some((var, size)) if error.raw_os_error() == Some(libc::E2BIG) => CliError::failure(format!(
            "cannot run {program}: {var} would hold {} KiB, and the system passes at most {} KiB per environment variable",
            size.div_ceil(1024),
            MAX_ENV_STRING / 1024
        ))
        .with_hint("hand a value this large over on a pipe instead: `hyperforge auth get PATH | PROGRAM`"),
        _ => CliError::failure(format!("cannot run {program}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[test]
    fn a_value_too_large_for_the_environment_is_named() {
        let e2big = std::io::Error::from_raw_os_error(libc::E2BIG);
        let error = exec_error("true", &e2big, &[("SMALL", 10), ("X", 200_002)]);
        assert_eq!(error.kind().exit_code(), 1);
        assert_eq!(
            error.message(),
            "cannot run true: X would hold 196 KiB, and the system passes at most 128 KiB per environment variable"
        );
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let other = exec_error("nope", &missing, &[("X", 200_002)]);
        assert!(
            other.message().starts_with("cannot run nope: "),
            "{}",
            other.message()
        );
    }

    use super::*;
    use crate::cli::{Cli, Command as Top};
    use crate::commands::auth::AuthCommand;

    #[test]
    fn bindings_parse_and_validate() {
        let binding = parse_binding("CARGO_REGISTRY_TOKEN=cargo/token").expect("valid");
        assert_eq!(binding.var, "CARGO_REGISTRY_TOKEN");
        assert_eq!(binding.path.as_str(), "cargo/token");
        assert!(parse_binding("_x1=npm/@acme/token").is_ok());
        for bad in [
            "1BAD=cargo/token",
            "=cargo/token",
            "A-B=cargo/token",
            "NOEQUALS",
            "X=a/../b",
            "X=",
        ] {
            assert!(parse_binding(bad).is_err(), "{bad}");
        }
        // Only the first '=' splits; the path may not contain one anyway.
        assert!(parse_binding("X=a=b").is_err());
    }

    #[test]
    fn scopes_are_distinct() {
        let bindings = [
            parse_binding("A=github/alice/token").expect("valid"),
            parse_binding("B=github/alice/ci/token").expect("valid"),
            parse_binding("C=github/alice/other").expect("valid"),
        ];
        let scopes: Vec<String> = scopes_of(&bindings).iter().map(|s| s.to_string()).collect();
        assert_eq!(scopes, ["github/alice/*", "github/alice/ci/*"]);
    }

    #[test]
    fn command_follows_double_dash() {
        let cli = Cli::try_parse_from([
            "hyperforge",
            "auth",
            "exec",
            "-e",
            "T=cargo/token",
            "--",
            "sh",
            "-c",
            "echo $T",
        ])
        .expect("parses");
        let Top::Auth(AuthCommand::Exec(args)) = cli.command else {
            panic!("parsed as exec");
        };
        assert_eq!(args.command, ["sh", "-c", "echo $T"]);
        assert_eq!(args.env.len(), 1);
        let error = Cli::try_parse_from([
            "hyperforge",
            "auth",
            "exec",
            "-e",
            "1BAD=cargo/token",
            "--",
            "true",
        ])
        .expect_err("bad var");
        assert_eq!(error.exit_code(), 2);
        assert!(Cli::try_parse_from(["hyperforge", "auth", "exec", "--", "true"]).is_err());
    }
}
