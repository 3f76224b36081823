//! One hub per state directory, whatever its socket: a second hub on the same home refuses and
//! names the first's pid and socket; clients whose derived socket differs find the running hub
//! through its record instead of starting another; an explicit `AUTH_HUB_SOCKET` that misses the
//! running hub says so; racing autostarts end with one hub; `auth-hub stop` stops it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use auth_hub_tests::{hub_binary, hyperforge_binary, wait_until, Run};

/// How long a hub gets to listen.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A home directory and the hubs started on it by hand; every hub still running is stopped on
/// drop (also those a `hyperforge` command started), and the log printed if the test failed.
struct Home {
    dir: tempfile::TempDir,
    hubs: Vec<Child>,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("one").tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.path().join("config.toml"), "").unwrap();
        Self {
            dir,
            hubs: Vec::new(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path().join("hub.log")).unwrap_or_default()
    }

    /// `auth-hub serve --home HOME --socket SOCKET`, not waited for.
    fn serve(&self, socket: &Path) -> Command {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path().join("hub.log"))
            .unwrap();
        let mut command = Command::new(hub_binary());
        command
            .args(["serve", "--store", "file", "--home"])
            .arg(self.path())
            .arg("--socket")
            .arg(socket)
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .env("AUTH_HUB_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        command
    }

    /// Starts a hub on `socket` and waits until it accepts.
    fn start(&mut self, socket: &Path) -> u32 {
        let child = self.serve(socket).spawn().unwrap();
        let pid = child.id();
        self.hubs.push(child);
        let up = wait_until(START_LIMIT, || UnixStream::connect(socket).ok());
        assert!(up.is_some(), "hub did not listen:\n{}", self.log());
        pid
    }

    /// `hyperforge ARGS` with `AUTH_HUB_HOME` and the given extra variables; autostart is on
    /// unless the caller turns it off.
    fn hyperforge(&self, args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut command = Command::new(hyperforge_binary());
        command
            .args(args)
            .env("AUTH_HUB_HOME", self.path())
            .env("AUTH_HUB_BIN", hub_binary())
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .env_remove("AUTH_HUB_NO_AUTOSTART")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        Run::from(child.wait_with_output().unwrap())
    }

    /// `auth-hub ARGS --home HOME`.
    fn hub_command(&self, args: &[&str]) -> Run {
        let output = Command::new(hub_binary())
            .args(args)
            .arg("--home")
            .arg(self.path())
            .env_remove("AUTH_HUB_SOCKET")
            .env_remove("AUTH_HUB_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run::from(output)
    }

    /// The running hub's record, as clients read it.
    fn record(&self) -> Option<serde_json::Value> {
        let text = fs::read_to_string(self.path().join("state").join("hub.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // Hubs started by `hyperforge` are not our children: stop them through their record.
        let _ = self.hub_command(&["stop", "--timeout", "5"]);
        for child in &mut self.hubs {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- hub log ----\n{}", self.log());
            let started = fs::read_to_string(self.path().join("auth-hub.log")).unwrap_or_default();
            eprintln!("---- autostarted hub log ----\n{started}");
        }
    }
}

fn socket_in(home: &Path, name: &str) -> PathBuf {
    home.join(name)
}

#[test]
fn a_second_hub_on_the_same_state_refuses_naming_the_first() {
    let mut home = Home::new();
    let first = socket_in(home.path(), "first.sock");
    let pid = home.start(&first);

    let second = socket_in(home.path(), "second.sock");
    let output = home.serve(&second).stderr(Stdio::piped()).output().unwrap();
    let run = Run::from(output);
    assert_ne!(run.code, 0, "the second hub must not start: {run:?}");
    assert!(
        run.stderr.contains(&format!("pid {pid}")),
        "names the running hub's pid: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&first.display().to_string()),
        "names the running hub's socket: {}",
        run.stderr
    );
    assert!(run.stderr.contains("auth-hub stop"), "{}", run.stderr);
    assert!(!second.exists(), "the refused hub bound its socket");
    // The first is untouched and still records itself.
    assert!(UnixStream::connect(&first).is_ok());
    let record = home.record().expect("record");
    assert_eq!(record["pid"], pid);
    assert_eq!(record["socket"], first.display().to_string());
}

#[test]
fn clients_of_both_sockets_reach_one_hub_and_their_writes_survive_a_restart() {
    let mut home = Home::new();
    // The hub listens somewhere other than the socket clients derive from AUTH_HUB_HOME
    // (`HOME/auth-hub.sock`), as for a cron job without XDG_RUNTIME_DIR.
    let live = socket_in(home.path(), "live.sock");
    let pid = home.start(&live);
    let derived = home.path().join("auth-hub.sock");

    // Autostart is on: a client that missed the hub would start a second one on `derived`.
    home.hyperforge(&["auth", "login"], &[], None)
        .assert_code(0);
    assert!(!derived.exists(), "a second hub was started");
    home.hyperforge(&["auth", "put", "a/derived"], &[], Some("one"))
        .assert_code(0);
    let explicit = [("AUTH_HUB_SOCKET", live.to_str().unwrap())];
    home.hyperforge(&["auth", "put", "a/explicit"], &explicit, Some("two"))
        .assert_code(0);
    home.hyperforge(&["auth", "grant", "a/*"], &explicit, None)
        .assert_code(0);
    let status = home.hyperforge(&["--json", "auth", "status"], &[], None);
    status.assert_code(0);
    assert_eq!(status.json()["socket"], live.display().to_string());
    assert_eq!(status.json()["pid"], pid);
    assert!(!derived.exists(), "a second hub was started");

    // `auth-hub stop` stops it, and says so; a second stop finds none.
    let stopped = home.hub_command(&["stop"]);
    stopped.assert_code(0);
    assert!(
        stopped
            .stdout
            .contains(&format!("stopped auth-hub (pid {pid}")),
        "{stopped:?}"
    );
    let status = home.hubs[0].wait().unwrap();
    assert!(status.success(), "the hub exits cleanly on stop: {status}");
    assert!(home.record().is_none(), "the record is removed on exit");
    let again = home.hub_command(&["stop"]);
    again.assert_code(0);
    assert!(again.stdout.contains("not running"), "{again:?}");

    // Restarted (on its usual socket this time), it has both writes.
    home.start(&live);
    for (path, value) in [("a/derived", "one\n"), ("a/explicit", "two\n")] {
        let get = home.hyperforge(&["auth", "get", path, "--no-wait"], &[], None);
        get.assert_code(0);
        assert_eq!(get.stdout, value, "{path}");
    }
    let audit = home.hyperforge(&["auth", "audit", "--verify"], &[], None);
    audit.assert_code(0);
}

#[test]
fn an_explicit_socket_that_misses_the_running_hub_says_where_it_is() {
    let mut home = Home::new();
    let live = socket_in(home.path(), "live.sock");
    let pid = home.start(&live);
    let wrong = socket_in(home.path(), "wrong.sock");
    let run = home.hyperforge(
        &["auth", "status"],
        &[("AUTH_HUB_SOCKET", wrong.to_str().unwrap())],
        None,
    );
    run.assert_code(5);
    assert!(run.stderr.contains(&format!("pid {pid}")), "{}", run.stderr);
    assert!(
        run.stderr.contains(&live.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("AUTH_HUB_SOCKET"), "{}", run.stderr);
    assert!(!wrong.exists(), "no hub was started on the wrong socket");
}

#[test]
fn racing_autostarts_end_with_one_hub() {
    let home = Home::new();
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let mut command = Command::new(hyperforge_binary());
            command
                .args(["auth", "ls"])
                .env("AUTH_HUB_HOME", home.path())
                .env("AUTH_HUB_BIN", hub_binary())
                .env_remove("AUTH_HUB_TOKEN")
                .env_remove("AUTH_HUB_SOCKET")
                .env_remove("AUTH_HUB_NO_AUTOSTART")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    for racer in racers {
        let run = Run::from(racer.wait_with_output().unwrap());
        // Every racer reached a hub: none reports "unreachable"; they fail only for want of a key.
        assert_ne!(run.code, 5, "a racer found no hub: {run:?}");
    }
    let record = home.record().expect("one hub recorded");
    let socket = PathBuf::from(record["socket"].as_str().unwrap());
    assert!(UnixStream::connect(&socket).is_ok());
    let stopped = home.hub_command(&["stop"]);
    stopped.assert_code(0);
    assert!(stopped.stdout.contains("stopped auth-hub"), "{stopped:?}");
    // No other hub is left on the state: stop again finds none.
    assert!(home.hub_command(&["stop"]).stdout.contains("not running"));
}

#[test]
fn an_explicit_socket_reaching_another_states_hub_is_pointed_out() {
    let mut home = Home::new();
    let live = socket_in(home.path(), "live.sock");
    let pid = home.start(&live);
    let mut other = Home::new();
    let elsewhere = socket_in(other.path(), "other.sock");
    other.start(&elsewhere);
    let run = home.hyperforge(
        &["auth", "status"],
        &[("AUTH_HUB_SOCKET", elsewhere.to_str().unwrap())],
        None,
    );
    // The explicit socket is used as given ...
    run.assert_code(0);
    // ... and the user is told it is not the hub of this state.
    assert!(run.stderr.contains(&format!("(pid {pid})")), "{run:?}");
    assert!(run.stderr.contains(&live.display().to_string()), "{run:?}");
}

#[test]
fn a_stale_record_does_not_block_a_new_hub() {
    let home = Home::new();
    let state = home.path().join("state");
    fs::create_dir_all(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    // A crashed hub's record whose pid now belongs to another live process (this test): the
    // record looks alive, but nobody holds the lock and nothing listens on its socket.
    let dead = home.path().join("dead.sock");
    let record = serde_json::json!({
        "version": 1,
        "pid": std::process::id(),
        "socket": dead,
        "inherited": false,
    });
    fs::write(state.join("hub.json"), record.to_string()).unwrap();

    home.hyperforge(&["auth", "login"], &[], None)
        .assert_code(0);
    let record = home.record().expect("the new hub's record");
    assert_ne!(record["pid"], std::process::id());
    assert_eq!(
        record["socket"],
        home.path().join("auth-hub.sock").display().to_string()
    );
    home.hyperforge(&["auth", "status"], &[], None)
        .assert_code(0);
}
