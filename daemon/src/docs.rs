//! `auth-hub completions SHELL` and `auth-hub man [--dir DIR]`: shell completions and manual
//! pages generated from the same clap definitions that parse the command line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish (also elvish, powershell).
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write auth-hub.1 and one page per subcommand (auth-hub-serve.1, …) into DIR, created if
    /// missing, instead of printing auth-hub.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` on `out`; exit 0, or 1 on a write error.
pub fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "auth-hub", &mut script);
    finish(out.write_all(&script).and_then(|()| out.flush()))
}

/// Prints the manual page on `out`, or writes every page into `args.dir`; exit 0, or 1 with the
/// error on stderr.
pub fn man(args: &ManArgs, out: &mut dyn Write) -> ExitCode {
    let result = match &args.dir {
        None => clap_mangen::Man::new(Cli::command())
            .render(out)
            .and_then(|()| out.flush()),
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("cannot write manual pages to {}: {error}", dir.display()),
                )
            }),
    };
    finish(result)
}

/// Exit 0; a closed pipe is nobody's problem; any other error is printed, exit 1.
fn finish(result: io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(io::stderr(), "auth-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_completes_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            let code = completions(&CompletionsArgs { shell }, &mut script);
            assert_eq!(code, ExitCode::SUCCESS);
            let script = String::from_utf8(script).expect("utf-8");
            for word in ["serve", "status", "install", "completions"] {
                assert!(script.contains(word), "{shell}: {word} missing");
            }
        }
    }

    #[test]
    fn pages_are_written_for_every_subcommand() {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = ManArgs {
            dir: Some(dir.path().join("man1")),
        };
        assert_eq!(man(&args, &mut io::sink()), ExitCode::SUCCESS);
        for page in ["auth-hub.1", "auth-hub-serve.1", "auth-hub-install.1"] {
            let text = std::fs::read_to_string(dir.path().join("man1").join(page)).expect(page);
            assert!(text.contains(".TH"), "{page} is roff");
        }
    }
}
