//! `hyperforge completions SHELL` and `hyperforge man [--dir DIR]`: shell completions and manual
//! pages generated from the same clap definitions that parse the command line, so they never
//! drift from it. Neither talks to auth-hub.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::CliError;

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish (also elvish, powershell).
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write hyperforge.1 and one page per subcommand (hyperforge-push.1, …) into DIR, created
    /// if missing, instead of printing hyperforge.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` on stdout.
///
/// # Errors
/// A write error (a closed pipe ends quietly).
pub fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "hyperforge", &mut script);
    write_stdout(&script)
}

/// Prints the manual page on stdout, or writes every page into `args.dir`.
///
/// # Errors
/// The directory cannot be created or written; a write error on stdout.
pub fn man(args: &ManArgs) -> Result<(), CliError> {
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|error| CliError::failure(format!("cannot render the manual: {error}")))?;
            write_stdout(&page)
        }
        Some(dir) => {
            let cannot = |error: std::io::Error| {
                CliError::failure(format!(
                    "cannot write manual pages to {}: {error}",
                    dir.display()
                ))
            };
            std::fs::create_dir_all(dir).map_err(cannot)?;
            clap_mangen::generate_to(Cli::command(), dir).map_err(cannot)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "hyperforge", &mut script);
        String::from_utf8(script).expect("utf-8")
    }

    #[test]
    fn every_shell_completes_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = script(shell);
            for word in [
                "push",
                "workspace",
                "auth",
                "grant",
                "no-wait",
                "completions",
            ] {
                assert!(script.contains(word), "{shell}: {word} missing");
            }
        }
    }

    #[test]
    fn the_manual_names_the_commands() {
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut page)
            .expect("renders");
        let page = String::from_utf8(page).expect("utf-8");
        assert!(
            page.starts_with(".ie") || page.contains(".TH hyperforge 1"),
            "{page}"
        );
        for word in ["push", "workspace", "auth"] {
            assert!(page.contains(word), "{word} in the manual");
        }
    }
}
