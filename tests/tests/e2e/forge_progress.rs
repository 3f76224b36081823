//! Progress of pushes: drawn on a terminal (one line per repository and forge, redrawn in place),
//! and never on a pipe or with `--json`, where the output holds no escape sequence and no
//! carriage return. The terminal is a pseudo-terminal from `script(1)`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::{hyperforge_binary, Run};

/// `work/repo` for github+codeberg under alice, both granted, plus a second commit so there
/// is something to transfer.
fn world() -> (ForgeWorld, PathBuf) {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    world.init(&repo, "github,codeberg", "alice");
    for (forge, token) in [("github", "tok-gh-prog-1"), ("codeberg", "tok-cb-prog-2")] {
        world.server.create_bare(forge, "alice", "repo");
        world.put_token(forge, "alice", token);
        world.grant(&format!("{forge}/alice/*"));
    }
    world.commit(&repo, "DATA.md", &"some data\n".repeat(2000));
    (world, repo)
}

fn assert_plain(run: &Run, what: &str) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r'),
            "{what}: no escape sequence or carriage return on {stream}: {text:?}"
        );
    }
}

/// Runs hyperforge ARGS under a pseudo-terminal (`script -qec`), with the world's environment.
fn on_terminal(world: &ForgeWorld, cwd: &Path, args: &[&str]) -> Run {
    let template = world.hyperforge(cwd);
    let mut command = Command::new("script");
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let line = std::iter::once(hyperforge_binary().display().to_string())
        .chain(args.iter().map(|arg| (*arg).to_owned()))
        .map(|word| format!("'{}'", word.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    command
        .current_dir(cwd)
        .env("TERM", "xterm")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null());
    Run::from(command.output().expect("run script(1)"))
}

#[test]
fn piped_pushes_show_no_progress() {
    let (world, repo) = world();
    let path = repo.display().to_string();
    let run = world.run(&repo, &["push", "--path", &path]);
    run.assert_code(0);
    assert_plain(&run, "push");
    assert!(
        run.stdout.contains("✓ Pushed main to github"),
        "{}",
        run.stdout
    );

    world.commit(&repo, "MORE.md", "more\n");
    let ws = repo.parent().unwrap().display().to_string();
    let run = world.run(&repo, &["workspace", "push", "--path", &ws]);
    run.assert_code(0);
    assert_plain(&run, "workspace push");
    assert!(run.stdout.contains("Pushing repo... ✓"), "{}", run.stdout);
}

#[test]
fn a_terminal_gets_progress_and_json_never_does() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) is not installed: no pseudo-terminal to test with");
        return;
    }
    let (world, repo) = world();
    let path = repo.display().to_string();
    let run = on_terminal(&world, &repo, &["push", "--path", &path]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("✓ Pushed main to codeberg"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\u{1b}["),
        "progress lines drawn and cleared: {:?}",
        run.stdout
    );
    assert!(
        run.stdout.contains("github: ") && run.stdout.contains(" objects"),
        "a line per forge, with git's transfer progress: {:?}",
        run.stdout
    );
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        Some(world.head(&repo))
    );

    world.commit(&repo, "NEXT.md", "next\n");
    let ws = repo.parent().unwrap().display().to_string();
    let run = on_terminal(&world, &repo, &["workspace", "push", "--path", &ws]);
    run.assert_code(0);
    assert!(run.stdout.contains("Pushing repo... ✓"), "{}", run.stdout);
    for drawn in ["repositories pushed", "repo → github", "repo → codeberg"] {
        assert!(
            run.stdout.contains(drawn),
            "{drawn:?} drawn: {:?}",
            run.stdout
        );
    }

    world.commit(&repo, "MORE.md", "more\n");
    let run = on_terminal(&world, &repo, &["--json", "push", "--path", &path]);
    run.assert_code(0);
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no progress with --json: {:?}",
        run.stdout
    );
}
