//! The `hyperforge` library: everything the `hyperforge` binary does, behind one entry point
//! ([`main`]), so the binary stays a one-liner. Kept as a library so that the parsers of
//! untrusted text (`.hyperforge/config.toml`, the user's config, git remote URLs) can be driven
//! from outside the binary, by the fuzz targets in `fuzz/`. Only those modules are public; the
//! rest is private to the crate.

mod cli;
mod commands;
pub mod config;
mod daemon;
mod error;
mod fast_args;
pub mod forge;
mod git;
mod oidc;
pub mod org;
mod output;
pub mod package;
mod progress;
mod project;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{CliError, ErrorKind};

/// Runs the `hyperforge` command line: parses the process arguments, sets up tracing when
/// asked, runs the command on a single-threaded runtime, and turns the outcome into an exit code.
/// A plain `auth get PATH` that one round trip answers needs no runtime and starts none.
///
/// Failures are not returned as a `Result`: they are printed on stderr (`error: …`, `hint: …`)
/// and turned into a non-zero exit code (2 for usage errors).
pub fn main() -> ExitCode {
    // `--version` and a plain `auth get PATH` skip building clap's definition of every command.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let parsed = match fast_args::parse(&args) {
        Some(fast_args::Fast::Version) => {
            let _ = std::io::stdout()
                .lock()
                .write_all(fast_args::version_line().as_bytes());
            return ExitCode::SUCCESS;
        }
        Some(fast_args::Fast::Parsed(cli)) => {
            if let cli::Command::Auth(commands::auth::AuthCommand::Get(args)) = &cli.command {
                let ctx = commands::Context::new(cli.json);
                if let Some(result) = commands::auth::get::run_at_once(&ctx, args) {
                    return exit_code(result);
                }
            }
            Ok(*cli)
        }
        None => cli::Cli::try_parse(),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2. A closed pipe
            // while printing help is nobody's problem.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(ErrorKind::Usage.exit_code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if cli.verbose > 0 {
        init_tracing(cli.verbose);
    }
    // One thread: a CLI command waits on one socket at a time, and start-up cost matters
    // (`hyperforge auth get` in a script should cost little more than one round trip).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&CliError::failure(format!("cannot start: {error}"))),
    };
    let result = runtime.block_on(commands::run(cli));
    // Do not wait for anything still blocked (a stdin reader of `pending --watch`).
    runtime.shutdown_background();
    exit_code(result)
}

/// A command's outcome as the process's exit code, its error reported.
fn exit_code(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A hub that stopped during the command (after the connect, so the client's own
        // reconnect failed) gets the hint a failed connect gets.
        Err(error) => report(&daemon::with_start_hint(error)),
    }
}

/// Prints the error (`error: …`, `hint: …`) on stderr and returns its exit code.
fn report(error: &CliError) -> ExitCode {
    let _ = std::io::stderr()
        .lock()
        .write_all(error.report().as_bytes());
    error.exit_code()
}

/// Logs to stderr: `-v` for this program and its client library, `-vv` for everything.
/// `HYPERFORGE_LOG` (an env-filter directive) overrides both.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        1 => "warn,hyperforge=debug,auth_hub_client=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HYPERFORGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: `2> file` and pipes get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
