//! The two command lines a script runs in a loop, recognised without clap: `hyperforge
//! --version` and `hyperforge auth get PATH` (with `--json` before or after any word).
//!
//! clap builds the definition of every command and argument before it looks at the first word;
//! for a one-shot `auth get` that is a noticeable share of the process's own work. This only
//! takes the plain forms whose meaning is beyond doubt and hands everything else to clap (a second
//! `--json`, `-v`, `--wait`, `--`, a path clap would refuse, help, any other command), so clap stays
//! the one definition of the command line and of every message and exit code. The tests check
//! that both agree.

use std::ffi::OsString;

use auth_hub_protocol::SecretPath;

use crate::cli::{Cli, Command};
use crate::commands::auth::get::GetArgs;
use crate::commands::auth::AuthCommand;
use crate::commands::wait::WaitArgs;

/// What the fast path recognised.
#[derive(Debug)]
pub enum Fast {
    /// `--version` or `-V` alone: print `hyperforge VERSION` and exit 0, as clap does.
    Version,
    /// A command line clap would parse to this.
    Parsed(Box<Cli>),
}

/// The version line clap prints for `--version`.
pub fn version_line() -> String {
    format!("hyperforge {}\n", env!("CARGO_PKG_VERSION"))
}

/// `args` (without the program name) as one of the fast forms, or `None` for clap to parse.
pub fn parse(args: &[OsString]) -> Option<Fast> {
    if let [only] = args {
        if only == "--version" || only == "-V" {
            return Some(Fast::Version);
        }
    }
    let mut json = false;
    let mut words = Vec::with_capacity(3);
    for arg in args {
        let arg = arg.to_str()?;
        if arg == "--json" && !json {
            json = true;
        } else if arg.starts_with('-') || words.len() == 3 {
            return None;
        } else {
            words.push(arg);
        }
    }
    let ["auth", "get", path] = words.as_slice() else {
        return None;
    };
    let path = SecretPath::parse(path).ok()?;
    Some(Fast::Parsed(Box::new(Cli {
        json,
        verbose: 0,
        command: Command::Auth(AuthCommand::Get(GetArgs {
            path,
            wait: WaitArgs::default(),
        })),
    })))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    fn args(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    fn clap(line: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("hyperforge").chain(line.iter().copied()))
    }

    #[test]
    fn the_fast_forms_parse_as_clap_parses_them() {
        for line in [
            &["auth", "get", "github/alice/token"][..],
            &["--json", "auth", "get", "npm/@acme-corp/token"],
            &["auth", "--json", "get", "a/b"],
            &["auth", "get", "--json", "a/b"],
            &["auth", "get", "a/b", "--json"],
        ] {
            let Some(Fast::Parsed(fast)) = parse(&args(line)) else {
                panic!("{line:?} takes the fast path");
            };
            let slow = clap(line).expect("clap parses it");
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{line:?}");
        }
    }

    #[test]
    fn everything_else_goes_to_clap() {
        for line in [
            &[][..],
            &["auth"],
            &["auth", "get"],
            &["auth", "get", "a/b", "c/d"],
            &["auth", "get", "a/b", "--json", "--json"],
            &["auth", "get", "-v", "a/b"],
            &["auth", "get", "a/b", "--no-wait"],
            &["auth", "get", "--wait", "5", "a/b"],
            &["auth", "get", "--", "a/b"],
            &["auth", "get", "-"],
            &["auth", "get", ""],
            &["auth", "put", "a/b"],
            &["auth", "get", "--help"],
            &["--version", "auth"],
            &["--version", "--version"],
            &["--help"],
            &["get", "auth", "a/b"],
        ] {
            assert!(parse(&args(line)).is_none(), "{line:?} is left to clap");
        }
    }

    #[test]
    fn a_path_clap_refuses_is_left_to_clap() {
        for path in [
            "", "/a/b", "a//b", "a/../b", "a b/c", "a/b/", "\\x", "ok/path",
        ] {
            let line = ["auth", "get", path];
            match (parse(&args(&line)), clap(&line)) {
                (None, Err(_)) => {}
                (Some(Fast::Parsed(fast)), Ok(slow)) => {
                    assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{path:?}");
                }
                (fast, slow) => panic!("{path:?}: fast {fast:?}, clap {slow:?}"),
            }
        }
    }

    #[test]
    fn version_is_what_clap_prints() {
        for flag in ["--version", "-V"] {
            assert!(matches!(parse(&args(&[flag])), Some(Fast::Version)));
            let error = clap(&[flag]).expect_err("clap stops at --version");
            assert_eq!(error.kind(), clap::error::ErrorKind::DisplayVersion);
            assert!(!error.use_stderr());
            assert_eq!(error.to_string(), version_line());
        }
        assert_eq!(Cli::command().render_version(), version_line());
    }
}
