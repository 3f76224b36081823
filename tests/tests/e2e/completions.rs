//! Shell completions and manual pages of both binaries, generated from their clap definitions:
//! every shell's script is non-empty and knows the subcommands, the bash script parses
//! (`bash -n`), and the pages render with groff (or, where groff is missing, are roff text).

use std::path::Path;
use std::process::{Command, Stdio};

use auth_hub_tests::{hub_binary, hyperforge_binary, Run};

fn run(binary: &Path, args: &[&str]) -> Run {
    Run::from(
        Command::new(binary)
            .args(args)
            .env("AUTH_HUB_NO_AUTOSTART", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run the binary"),
    )
}

/// `(binary, subcommands every completion must know)`.
fn binaries() -> [(std::path::PathBuf, &'static str, &'static [&'static str]); 2] {
    [
        (
            hyperforge_binary(),
            "hyperforge",
            &[
                "init",
                "push",
                "publish",
                "workspace",
                "auth",
                "grant",
                "completions",
                "man",
            ],
        ),
        (
            hub_binary(),
            "auth-hub",
            &[
                "serve",
                "status",
                "install",
                "uninstall",
                "completions",
                "man",
            ],
        ),
    ]
}

#[test]
fn completions_for_every_shell_know_the_subcommands() {
    for (binary, name, subcommands) in binaries() {
        for shell in ["bash", "zsh", "fish"] {
            let out = run(&binary, &["completions", shell]);
            out.assert_code(0);
            assert!(!out.stdout.trim().is_empty(), "{name} {shell}: empty");
            for sub in subcommands {
                assert!(
                    out.stdout.contains(sub),
                    "{name} {shell} completion knows {sub}"
                );
            }
            if shell == "bash" {
                let dir = tempfile::tempdir().unwrap();
                let script = dir.path().join(name);
                std::fs::write(&script, &out.stdout).unwrap();
                let check = Command::new("bash")
                    .arg("-n")
                    .arg(&script)
                    .output()
                    .unwrap();
                assert!(
                    check.status.success(),
                    "bash -n {name}: {}",
                    String::from_utf8_lossy(&check.stderr)
                );
            }
        }
        run(&binary, &["completions", "tcsh"]).assert_code(2);
    }
}

#[test]
fn manual_pages_render_for_every_subcommand() {
    let groff = Command::new("groff").arg("--version").output().is_ok();
    let pages: [(std::path::PathBuf, &str, &[&str]); 2] = [
        (
            hyperforge_binary(),
            "hyperforge",
            &[
                "init",
                "push",
                "publish",
                "workspace-push",
                "auth-grant",
                "completions",
            ],
        ),
        (
            hub_binary(),
            "auth-hub",
            &["serve", "status", "install", "completions"],
        ),
    ];
    for (binary, name, subcommands) in pages {
        let page = run(&binary, &["man"]);
        page.assert_code(0);
        assert!(
            page.stdout.contains(&format!(".TH {name} 1")),
            "{name}: roff"
        );

        let dir = tempfile::tempdir().unwrap();
        let man1 = dir.path().join("man1");
        run(&binary, &["man", "--dir", man1.to_str().unwrap()]).assert_code(0);
        for sub in subcommands.iter().chain(&[""]) {
            let file = if sub.is_empty() {
                man1.join(format!("{name}.1"))
            } else {
                man1.join(format!("{name}-{sub}.1"))
            };
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(text.contains(".SH NAME"), "{} is a page", file.display());
            if groff {
                let rendered = Command::new("groff")
                    .args(["-man", "-Tutf8", "-P-cbou"])
                    .arg(&file)
                    .output()
                    .unwrap();
                assert!(rendered.status.success(), "groff {}", file.display());
                let text = String::from_utf8_lossy(&rendered.stdout);
                assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
            }
        }
    }
}
