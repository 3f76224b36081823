//! A real Secret Service for tests: gnome-keyring's secrets component on a private D-Bus session
//! bus in a temp dir, its login keyring created and unlocked non-interactively (`--unlock` reads
//! the password on stdin), checked with `secret-tool`. Stopped on drop.
//!
//! The bus runs from its own configuration with no service directories, so nothing is
//! D-Bus-activated behind the test's back: when gnome-keyring is not running, nobody answers.
//! gnome-keyring gets a fresh `HOME` and `XDG_*` directories, so its keyring files stay in the
//! temp dir. Needs `dbus-daemon`, `gnome-keyring-daemon` and `secret-tool` (`./scripts/deps`).
//!
//! This file uses only `std` and `tempfile`, so the daemon's own keychain test includes it too
//! (`#[path]`), proving the backend against the real Secret Service without the whole harness.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The throwaway password of the login keyring.
const KEYRING_PASSWORD: &str = "test-keyring-password";

/// A private D-Bus session bus with gnome-keyring on it.
pub struct SecretService {
    dir: tempfile::TempDir,
    bus: Option<Child>,
    keyring: Option<Child>,
}

impl SecretService {
    /// Starts the bus and gnome-keyring, and waits until the Secret Service answers. Panics with
    /// the daemons' logs if it does not within 20 s.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("secret-service")
            .tempdir()
            .expect("temp dir");
        for sub in ["home", "data", "config", "cache", "run"] {
            fs::create_dir(dir.path().join(sub)).expect("create dir");
        }
        fs::write(
            dir.path().join("bus.conf"),
            bus_config(&dir.path().join("bus")),
        )
        .expect("write bus config");
        let bus = Command::new("dbus-daemon")
            .arg(format!(
                "--config-file={}",
                dir.path().join("bus.conf").display()
            ))
            .args(["--nofork", "--nopidfile"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(&dir.path().join("dbus.log")))
            .spawn()
            .expect("spawn dbus-daemon (./scripts/deps installs it)");
        let mut service = Self {
            dir,
            bus: Some(bus),
            keyring: None,
        };
        let socket = service.dir.path().join("bus");
        if !poll(Duration::from_secs(20), || socket.exists()) {
            panic!(
                "the private D-Bus session bus did not start:\n{}",
                service.logs()
            );
        }
        service.start_keyring();
        service
    }

    /// Starts gnome-keyring on the bus (again, after [`SecretService::stop_keyring`]: the same
    /// keyring files, unlocked with the same password) and waits until it answers.
    pub fn start_keyring(&mut self) {
        let root = self.dir.path();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus_address())
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log_file(&root.join("gnome-keyring.log")))
            .spawn()
            .expect("spawn gnome-keyring-daemon (./scripts/deps installs it)");
        let mut stdin = keyring.stdin.take().expect("piped stdin");
        stdin
            .write_all(KEYRING_PASSWORD.as_bytes())
            .expect("write the keyring password");
        drop(stdin);
        self.keyring = Some(keyring);
        // The login collection exists and is unlocked once a search through it succeeds.
        let ready = poll(Duration::from_secs(20), || {
            self.dbus_send(&[
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .is_some_and(|out| out.contains("boolean false"))
        });
        if !ready {
            panic!(
                "gnome-keyring did not serve an unlocked login keyring:\n{}",
                self.logs()
            );
        }
    }

    /// The bus address, as `DBUS_SESSION_BUS_ADDRESS` wants it.
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.dir.path().join("bus").display())
    }

    /// The environment a hub needs to use this Secret Service.
    pub fn hub_env(&self) -> Vec<(String, OsString)> {
        vec![(
            "DBUS_SESSION_BUS_ADDRESS".to_owned(),
            OsString::from(self.bus_address()),
        )]
    }

    /// A bus address where nothing listens: a hub given it finds no Secret Service.
    pub fn dead_bus_address(&self) -> String {
        format!("unix:path={}", self.dir.path().join("nobody").display())
    }

    /// The secret of the item matching `attributes` (`secret-tool lookup`), or `None`.
    pub fn lookup(&self, attributes: &[(&str, &str)]) -> Option<String> {
        let output = self.secret_tool("lookup", attributes);
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Every item matching `attributes` (`secret-tool search --all`): for each, its attributes
    /// plus `label` and (when unlocked) `secret`.
    pub fn search(&self, attributes: &[(&str, &str)]) -> Vec<BTreeMap<String, String>> {
        let output = self.secret_tool("search", attributes);
        // secret-tool prints each item's header, label and secret on stdout and its attributes on
        // stderr, item after item in the same order: an attribute name already seen in the
        // current group starts the next item's (the hub's items all have the same names).
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut items: Vec<BTreeMap<String, String>> = Vec::new();
        for line in stdout.lines() {
            if line.starts_with('[') {
                items.push(BTreeMap::new());
            } else if let (Some(item), Some((key, value))) =
                (items.last_mut(), line.split_once(" = "))
            {
                item.insert(key.to_owned(), value.to_owned());
            }
        }
        let mut groups: Vec<BTreeMap<String, String>> = Vec::new();
        for (key, value) in stderr.lines().filter_map(|line| {
            line.strip_prefix("attribute.")
                .and_then(|rest| rest.split_once(" = "))
        }) {
            let next = groups.last().is_none_or(|group| group.contains_key(key));
            if next {
                groups.push(BTreeMap::new());
            }
            if let Some(group) = groups.last_mut() {
                group.insert(key.to_owned(), value.to_owned());
            }
        }
        for (item, group) in items.iter_mut().zip(groups) {
            item.extend(group);
        }
        items
    }

    /// Locks the login collection, as logging out or a screen lock would.
    pub fn lock(&self) {
        let out = self.dbus_send(&[
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ]);
        assert!(
            out.is_some(),
            "cannot lock the login keyring:\n{}",
            self.logs()
        );
        let locked = self.dbus_send(&[
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Collection",
            "string:Locked",
        ]);
        assert!(
            locked.is_some_and(|out| out.contains("boolean true")),
            "the login keyring did not lock"
        );
    }

    /// Stops gnome-keyring (the bus stays): the Secret Service is gone from the bus.
    pub fn stop_keyring(&mut self) {
        if let Some(mut keyring) = self.keyring.take() {
            let _ = keyring.kill();
            let _ = keyring.wait();
        }
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- dbus-daemon\n{}\n--- gnome-keyring-daemon\n{}",
            read("dbus.log"),
            read("gnome-keyring.log")
        )
    }

    fn secret_tool(&self, verb: &str, attributes: &[(&str, &str)]) -> Output {
        let mut command = Command::new("secret-tool");
        command.arg(verb);
        if verb == "search" {
            command.arg("--all");
        }
        for (name, value) in attributes {
            command.args([name, value]);
        }
        command
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus_address())
            .stdin(Stdio::null())
            .output()
            .expect("run secret-tool (./scripts/deps installs it)")
    }

    /// `dbus-send` to the login collection (`Properties.Get`) or the service; `None` on failure.
    fn dbus_send(&self, call: &[&str]) -> Option<String> {
        let object = if call[0].starts_with("org.freedesktop.DBus.Properties") {
            "/org/freedesktop/secrets/collection/login"
        } else {
            "/org/freedesktop/secrets"
        };
        let output = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--reply-timeout=2000",
                "--dest=org.freedesktop.secrets",
                object,
            ])
            .args(call)
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus_address())
            .stdin(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        self.stop_keyring();
        if let Some(mut bus) = self.bus.take() {
            let _ = bus.kill();
            let _ = bus.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

fn log_file(path: &PathBuf) -> fs::File {
    fs::File::create(path).expect("create log file")
}

/// Retries `check` with doubling backoff until it holds or `limit` passes.
fn poll(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
