//! Starting a hub on demand without `AUTH_HUB_HOME`: the default locations under a private
//! `HOME` and XDG directories, the hub's log kept in its state directory (0600).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use auth_hub_tests::{hub_binary, hyperforge_binary, wait_until, Run};

/// `hyperforge ARGS` with every location derived from `root` (no `AUTH_HUB_HOME`), allowed to
/// start a hub.
fn run_in(root: &Path, args: &[&str]) -> Run {
    let output = Command::new(hyperforge_binary())
        .args(args)
        .env("HOME", root)
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("XDG_DATA_HOME", root.join("data"))
        .env("XDG_RUNTIME_DIR", root.join("run"))
        .env("AUTH_HUB_BIN", hub_binary())
        .env_remove("AUTH_HUB_HOME")
        .env_remove("AUTH_HUB_SOCKET")
        .env_remove("AUTH_HUB_TOKEN")
        .env_remove("AUTH_HUB_NO_AUTOSTART")
        .stdin(Stdio::null())
        .output()
        .expect("run hyperforge");
    Run::from(output)
}

/// Stops the hub a test started (by the pid it reports), and waits until it is gone.
struct StopHub(Option<i32>);

impl Drop for StopHub {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the hub this test started and identified by its own status.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            wait_until(Duration::from_secs(10), || {
                (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
            });
        }
    }
}

#[test]
fn a_started_hubs_log_is_kept_in_its_state_directory() {
    let root = tempfile::Builder::new()
        .prefix("home")
        .tempdir()
        .expect("temp dir");
    std::fs::create_dir_all(root.path().join("run")).expect("runtime dir");
    std::fs::set_permissions(
        root.path().join("run"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");

    let status = run_in(root.path(), &["auth", "status"]);
    status.assert_code(5);
    assert!(
        !root.path().join("state").join("auth-hub").exists(),
        "a report starts no hub"
    );

    run_in(root.path(), &["auth", "login"]).assert_code(0);
    let status = run_in(root.path(), &["--json", "auth", "status"]);
    let pid = status.json()["pid"]
        .as_i64()
        .and_then(|pid| i32::try_from(pid).ok());
    let _stop = StopHub(pid);
    status.assert_code(0);

    let log = root
        .path()
        .join("state")
        .join("auth-hub")
        .join("auth-hub.log");
    let mode = std::fs::metadata(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(text.contains("listening"), "{text}");
}
