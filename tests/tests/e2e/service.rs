//! `auth-hub install`: the rendered units point at the real binary and pass `systemd-analyze
//! verify` without a word, the LaunchAgent parses with a strict plist parser, and a machine without
//! a systemd user instance gets an explanation instead of half-written files.
//!
//! `systemd-analyze` and `python3` come from `scripts/deps`; when one is missing the test that
//! needs it says so and passes, since the tests install nothing themselves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use auth_hub_tests::{hub_binary, Run};

/// Runs `auth-hub <args>` with HOME and XDG_CONFIG_HOME inside `home`, and an empty runtime
/// directory so no user manager of the real machine can answer.
fn hub_in(home: &Path, args: &[&str]) -> Run {
    let runtime = home.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    Run::from(
        Command::new(hub_binary())
            .args(args)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap(),
    )
}

/// The files a dry run would write: (path, contents), split on its `would write PATH:` lines.
fn rendered_files(stdout: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut in_file = false;
    for line in stdout.lines() {
        if let Some(path) = line
            .strip_prefix("would write ")
            .and_then(|rest| rest.strip_suffix(':'))
        {
            files.push((PathBuf::from(path), String::new()));
            in_file = true;
        } else if line.starts_with("would run: ") || line.starts_with("would remove ") {
            in_file = false;
        } else if let (true, Some((_, contents))) = (in_file, files.last_mut()) {
            contents.push_str(line);
            contents.push('\n');
        }
    }
    files
}

fn file_named<'a>(files: &'a [(PathBuf, String)], name: &str) -> &'a str {
    files
        .iter()
        .find(|(path, _)| path.file_name().is_some_and(|file| file == name))
        .map(|(_, contents)| contents.as_str())
        .unwrap_or_else(|| panic!("no {name} in the dry run"))
}

fn tool_missing(program: &str, probe: &str) -> bool {
    let found = Command::new(program)
        .arg(probe)
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        eprintln!("skipped: {program} is not installed (scripts/deps installs it)");
    }
    !found
}

fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn dry_run_prints_units_that_run_this_binary() {
    let home = tempfile::tempdir().unwrap();
    let run = hub_in(home.path(), &["install", "--systemd", "--dry-run"]);
    run.assert_code(0);
    let files = rendered_files(&run.stdout);
    let unit_dir = home.path().join("config").join("systemd").join("user");
    let paths: Vec<&Path> = files.iter().map(|(path, _)| path.as_path()).collect();
    assert_eq!(
        paths,
        [
            unit_dir.join("auth-hub.socket"),
            unit_dir.join("auth-hub.service")
        ],
        "{}",
        run.stdout
    );
    let binary = std::fs::canonicalize(hub_binary()).unwrap();
    let service = file_named(&files, "auth-hub.service");
    let exec = service
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("an ExecStart= line");
    assert_eq!(exec, format!("{} serve", binary.display()));
    assert!(run
        .stdout
        .contains("would run: systemctl --user enable --now auth-hub.socket"));
    assert!(
        !unit_dir.exists(),
        "a dry run writes nothing: {}",
        unit_dir.display()
    );
}

#[test]
fn rendered_units_pass_systemd_analyze_verify_silently() {
    if tool_missing("systemd-analyze", "--version") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let run = hub_in(home.path(), &["install", "--systemd", "--dry-run"]);
    run.assert_code(0);
    let units = home.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let mut paths = Vec::new();
    for (path, contents) in rendered_files(&run.stdout) {
        let copy = units.join(path.file_name().unwrap());
        std::fs::write(&copy, contents).unwrap();
        paths.push(copy);
    }
    assert_eq!(paths.len(), 2);
    // `--user` needs a runtime directory to set up its (offline) manager; none has to be running.
    let output = Command::new("systemd-analyze")
        .args(["verify", "--user", "--man=no", "--generators=no"])
        .args(&paths)
        .env("XDG_RUNTIME_DIR", home.path().join("runtime"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    let said = all_output(&output);
    assert!(
        output.status.success() && said.is_empty(),
        "systemd-analyze verify ({}) said:\n{said}",
        output.status
    );
}

#[test]
fn launchd_plist_parses_strictly_with_the_keys_launchd_needs() {
    if tool_missing("python3", "--version") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let run = hub_in(home.path(), &["install", "--launchd", "--dry-run"]);
    run.assert_code(0);
    let files = rendered_files(&run.stdout);
    let plist = file_named(&files, "dev.hyperforge.auth-hub.plist");
    let plist_path = home.path().join("agent.plist");
    std::fs::write(&plist_path, plist).unwrap();
    let check = r#"
import json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    agent = plistlib.load(f, fmt=plistlib.FMT_XML)
print(json.dumps(agent))
"#;
    let output = Command::new("python3")
        .args(["-c", check])
        .arg(&plist_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", all_output(&output));
    let agent: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let binary = std::fs::canonicalize(hub_binary()).unwrap();
    let home_str = home.path().to_str().unwrap();
    assert_eq!(agent["Label"], "dev.hyperforge.auth-hub");
    assert_eq!(
        agent["ProgramArguments"],
        serde_json::json!([binary.to_str().unwrap(), "serve"])
    );
    assert_eq!(agent["RunAtLoad"], true);
    assert_eq!(agent["KeepAlive"], true);
    let listener = &agent["Sockets"]["Listeners"];
    assert_eq!(listener["SockPathMode"], 0o600);
    assert_eq!(
        listener["SockPathName"],
        format!("{home_str}/Library/Application Support/auth-hub/auth-hub.sock")
    );
    assert_eq!(
        agent["StandardErrorPath"],
        format!("{home_str}/Library/Logs/auth-hub.log")
    );
    assert_eq!(agent["EnvironmentVariables"]["AUTH_HUB_LOG"], "info");
}

#[test]
fn install_without_a_user_manager_explains_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let run = hub_in(home.path(), &["install", "--systemd"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("auth-hub serve") && run.stderr.contains("hyperforge auth login"),
        "says what to do instead: {run:?}"
    );
    assert!(run.stderr.contains("nothing was written"), "{run:?}");
    assert!(
        !home.path().join("config").exists(),
        "no unit file was written"
    );
}

#[test]
fn uninstall_dry_run_lists_the_files_it_would_remove() {
    let home = tempfile::tempdir().unwrap();
    let run = hub_in(home.path(), &["uninstall", "--systemd", "--dry-run"]);
    run.assert_code(0);
    let unit_dir = home.path().join("config").join("systemd").join("user");
    for name in ["auth-hub.socket", "auth-hub.service"] {
        assert!(
            run.stdout
                .contains(&format!("would remove {}", unit_dir.join(name).display())),
            "{}",
            run.stdout
        );
    }
}
