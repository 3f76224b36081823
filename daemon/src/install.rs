//! `auth-hub install` and `auth-hub uninstall`: the hub as a per-user service.
//!
//! The unit files are the ones in the repository (`systemd/`, `launchd/`), compiled in and rendered
//! for the current user: the binary path becomes the absolute path of the running executable and,
//! for launchd (which expands neither `~` nor specifiers), every `~/` becomes the home directory.
//! An [`Action`] list is built first, so `--dry-run` prints exactly what a real run would do.
//!
//! Without a running systemd user instance (containers, WSL without systemd, SSH sessions without
//! lingering) `install` writes nothing and says how to run the hub instead.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::cli::{InstallArgs, ManagerArgs, UninstallArgs};

/// The socket unit, as shipped in `systemd/`.
pub const SYSTEMD_SOCKET: &str = include_str!("../../systemd/auth-hub.socket");
/// The service unit, as shipped in `systemd/`.
pub const SYSTEMD_SERVICE: &str = include_str!("../../systemd/auth-hub.service");
/// The LaunchAgent, as shipped in `launchd/`.
pub const LAUNCHD_PLIST: &str = include_str!("../../launchd/dev.hyperforge.auth-hub.plist");

/// File name of the socket unit.
pub const SOCKET_UNIT: &str = "auth-hub.socket";
/// File name of the service unit.
pub const SERVICE_UNIT: &str = "auth-hub.service";
/// The LaunchAgent's label, also its file name without `.plist`.
pub const LAUNCHD_LABEL: &str = "dev.hyperforge.auth-hub";

/// The binary path written in the repository's service unit.
const SYSTEMD_TEMPLATE_BIN: &str = "%h/.cargo/bin/auth-hub";
/// The binary path written in the repository's plist.
const LAUNCHD_TEMPLATE_BIN: &str = "~/.cargo/bin/auth-hub";
/// How a home-relative path starts in the repository's plist.
const LAUNCHD_TEMPLATE_HOME: &str = "<string>~/";

/// States of `systemctl --user is-system-running` that mean a user manager answers.
const LIVE_MANAGER_STATES: &[&str] = &[
    "running",
    "degraded",
    "starting",
    "initializing",
    "maintenance",
];

/// What to do instead when no service manager can own the hub.
const WITHOUT_A_SERVICE_MANAGER: &str = "nothing was written; run the hub without a service manager instead: \
add `auth-hub serve >/dev/null 2>&1 &` to your shell profile (a second hub exits at once), or let `hyperforge auth login` start it on demand";

/// Errors of `install` and `uninstall`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// No service manager of the requested kind is reachable for this user.
    #[error("{manager} cannot own the hub here: {reason}; {WITHOUT_A_SERVICE_MANAGER}")]
    NoServiceManager {
        /// The requested manager.
        manager: Manager,
        /// Why it is considered absent.
        reason: String,
    },
    /// The home directory is unknown.
    #[error("cannot determine the home directory: set HOME")]
    NoHome,
    /// The running executable's path is unknown.
    #[error("cannot find the path of the running auth-hub binary")]
    CurrentExe(#[source] io::Error),
    /// A unit file could not be written or removed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or directory involved.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A service-manager command could not be run or failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and standard error, or why it did not start.
        detail: String,
    },
    /// Standard output is gone.
    #[error("cannot print the report: {0}")]
    Output(#[source] io::Error),
}

/// The service manager to install for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// A systemd user instance (Linux).
    Systemd,
    /// launchd LaunchAgents (macOS).
    Launchd,
}

impl Manager {
    /// `--systemd` or `--launchd` when given, else the platform's own.
    pub fn choose(args: &ManagerArgs) -> Self {
        match (args.systemd, args.launchd) {
            (true, _) => Self::Systemd,
            (_, true) => Self::Launchd,
            _ if cfg!(target_os = "macos") => Self::Launchd,
            _ => Self::Systemd,
        }
    }
}

impl fmt::Display for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Systemd => "systemd",
            Self::Launchd => "launchd",
        })
    }
}

/// Who the service is installed for.
#[derive(Debug, Clone)]
pub struct Target {
    /// The running `auth-hub` binary, absolute.
    pub binary: PathBuf,
    /// The user's home directory.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, or `~/.config`.
    pub config_home: PathBuf,
    /// The user's numeric id (launchd's `gui/<uid>` domain).
    pub uid: u32,
}

impl Target {
    /// The current user and executable, from the environment.
    ///
    /// # Errors
    /// [`InstallError::NoHome`] or [`InstallError::CurrentExe`].
    pub fn current() -> Result<Self, InstallError> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|home| home.is_absolute())
            .ok_or(InstallError::NoHome)?;
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .unwrap_or_else(|| home.join(".config"));
        let binary = std::env::current_exe().map_err(InstallError::CurrentExe)?;
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Ok(Self {
            binary,
            home,
            config_home,
            uid,
        })
    }

    /// Where systemd user units go.
    pub fn systemd_dir(&self) -> PathBuf {
        self.config_home.join("systemd").join("user")
    }

    /// Where the LaunchAgent goes.
    pub fn launchd_plist(&self) -> PathBuf {
        self.home
            .join("Library")
            .join("LaunchAgents")
            .join(format!("{LAUNCHD_LABEL}.plist"))
    }
}

/// One step of an install or uninstall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write a file (creating its directory).
    Write {
        /// Destination.
        path: PathBuf,
        /// Rendered contents.
        contents: String,
    },
    /// Remove a file if it exists.
    Remove(PathBuf),
    /// Run a command.
    Run {
        /// Program and arguments.
        argv: Vec<String>,
        /// Whether a failure stops the run (false for clean-ups of what may not exist).
        must_succeed: bool,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Write { path, .. } => write!(f, "write {}", path.display()),
            Self::Remove(path) => write!(f, "remove {}", path.display()),
            Self::Run { argv, .. } => write!(f, "run {}", argv.join(" ")),
        }
    }
}

/// The socket and service units with the binary path filled in.
pub fn render_systemd(binary: &Path) -> [(&'static str, String); 2] {
    let exec = systemd_quote(&binary.to_string_lossy());
    [
        (SOCKET_UNIT, SYSTEMD_SOCKET.to_owned()),
        (
            SERVICE_UNIT,
            SYSTEMD_SERVICE.replace(SYSTEMD_TEMPLATE_BIN, &exec),
        ),
    ]
}

/// The LaunchAgent with the binary path and home directory filled in.
pub fn render_launchd(binary: &Path, home: &Path) -> String {
    let home = xml_escape(home.to_string_lossy().trim_end_matches('/'));
    LAUNCHD_PLIST
        .replace(LAUNCHD_TEMPLATE_BIN, &xml_escape(&binary.to_string_lossy()))
        .replace(LAUNCHD_TEMPLATE_HOME, &format!("<string>{home}/"))
}

/// The steps of `install` for `manager`.
pub fn install_plan(manager: Manager, target: &Target) -> Vec<Action> {
    match manager {
        Manager::Systemd => {
            let dir = target.systemd_dir();
            let mut plan: Vec<Action> = render_systemd(&target.binary)
                .into_iter()
                .map(|(name, contents)| Action::Write {
                    path: dir.join(name),
                    contents,
                })
                .collect();
            plan.push(systemctl(&["daemon-reload"], true));
            plan.push(systemctl(&["enable", "--now", SOCKET_UNIT], true));
            // A hub already running from an older install picks up the new binary and units.
            plan.push(systemctl(&["try-restart", SERVICE_UNIT], true));
            plan
        }
        Manager::Launchd => {
            let plist = target.launchd_plist();
            vec![
                // A previous install is unloaded first; it may not exist.
                launchctl(&["bootout", &launchd_service(target)], false),
                Action::Write {
                    path: plist.clone(),
                    contents: render_launchd(&target.binary, &target.home),
                },
                launchctl(
                    &[
                        "bootstrap",
                        &format!("gui/{}", target.uid),
                        &plist.to_string_lossy(),
                    ],
                    true,
                ),
            ]
        }
    }
}

/// The steps of `uninstall` for `manager`.
pub fn uninstall_plan(manager: Manager, target: &Target) -> Vec<Action> {
    match manager {
        Manager::Systemd => {
            let dir = target.systemd_dir();
            vec![
                systemctl(&["disable", "--now", SOCKET_UNIT, SERVICE_UNIT], false),
                Action::Remove(dir.join(SOCKET_UNIT)),
                Action::Remove(dir.join(SERVICE_UNIT)),
                systemctl(&["daemon-reload"], false),
            ]
        }
        Manager::Launchd => vec![
            launchctl(&["bootout", &launchd_service(target)], false),
            Action::Remove(target.launchd_plist()),
        ],
    }
}

/// `auth-hub install`: writes and enables the units for the current user, printing each step to
/// `out`; with `dry_run`, prints the rendered files and the commands and touches nothing.
///
/// # Errors
/// [`InstallError::NoServiceManager`] (before anything is written) when the manager does not
/// answer; otherwise the first file or command that failed.
pub fn install(args: &InstallArgs, out: &mut impl Write) -> Result<(), InstallError> {
    let (manager, dry_run) = (Manager::choose(&args.manager), args.dry_run);
    let target = Target::current()?;
    let plan = install_plan(manager, &target);
    if dry_run {
        return print_plan(&plan, out);
    }
    check_manager(manager).map_err(|reason| InstallError::NoServiceManager { manager, reason })?;
    execute(&plan, out)?;
    writeln!(out, "auth-hub is installed as a {manager} user service").map_err(InstallError::Output)
}

/// `auth-hub uninstall`: stops and disables the service and removes its files, printing each
/// step; with `dry_run`, only prints them. Without a reachable manager the files are still
/// removed.
///
/// # Errors
/// The first file that could not be removed, or a required command that failed.
pub fn uninstall(args: &UninstallArgs, out: &mut impl Write) -> Result<(), InstallError> {
    let (manager, dry_run) = (Manager::choose(&args.manager), args.dry_run);
    let target = Target::current()?;
    let mut plan = uninstall_plan(manager, &target);
    if dry_run {
        return print_plan(&plan, out);
    }
    if let Err(reason) = check_manager(manager) {
        writeln!(
            out,
            "{manager} is not reachable ({reason}): only removing files"
        )
        .map_err(InstallError::Output)?;
        plan.retain(|action| !matches!(action, Action::Run { .. }));
    }
    execute(&plan, out)
}

/// Prints `error` as `auth-hub: …` and turns the outcome into the process exit code.
pub fn exit_code(result: Result<(), InstallError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("auth-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print_plan(plan: &[Action], out: &mut impl Write) -> Result<(), InstallError> {
    let mut print = || -> io::Result<()> {
        writeln!(out, "dry run: nothing is written and no command is run")?;
        for action in plan {
            match action {
                Action::Write { path, contents } => {
                    writeln!(out, "would write {}:", path.display())?;
                    write!(out, "{contents}")?;
                    if !contents.ends_with('\n') {
                        writeln!(out)?;
                    }
                }
                Action::Remove(path) => writeln!(out, "would remove {}", path.display())?,
                Action::Run { argv, .. } => writeln!(out, "would run: {}", argv.join(" "))?,
            }
        }
        Ok(())
    };
    print().map_err(InstallError::Output)
}

fn execute(plan: &[Action], out: &mut impl Write) -> Result<(), InstallError> {
    for action in plan {
        match action {
            Action::Write { path, contents } => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(|source| InstallError::File {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                fs::write(path, contents).map_err(|source| InstallError::File {
                    path: path.clone(),
                    source,
                })?;
                writeln!(out, "wrote {}", path.display()).map_err(InstallError::Output)?;
            }
            Action::Remove(path) => match fs::remove_file(path) {
                Ok(()) => {
                    writeln!(out, "removed {}", path.display()).map_err(InstallError::Output)?;
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(InstallError::File {
                        path: path.clone(),
                        source,
                    })
                }
            },
            Action::Run { argv, must_succeed } => {
                writeln!(out, "ran {}", argv.join(" ")).map_err(InstallError::Output)?;
                match run(argv) {
                    Err(error) if *must_succeed => return Err(error),
                    Err(error) => {
                        writeln!(out, "  (ignored: {error})").map_err(InstallError::Output)?
                    }
                    Ok(()) => {}
                }
            }
        }
    }
    Ok(())
}

/// Runs `argv`, failing with its status and standard error.
fn run(argv: &[String]) -> Result<(), InstallError> {
    let command = argv.join(" ");
    let (program, args) = argv.split_first().ok_or_else(|| InstallError::Command {
        command: command.clone(),
        detail: "empty command".into(),
    })?;
    let output =
        Command::new(program)
            .args(args)
            .output()
            .map_err(|error| InstallError::Command {
                command: command.clone(),
                detail: error.to_string(),
            })?;
    if output.status.success() {
        return Ok(());
    }
    Err(InstallError::Command {
        command,
        detail: format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    })
}

/// Fails, saying why, unless `manager` answers for this user.
fn check_manager(manager: Manager) -> Result<(), String> {
    match manager {
        Manager::Systemd => {
            if std::env::var_os("XDG_RUNTIME_DIR").is_none_or(|dir| dir.is_empty()) {
                return Err("XDG_RUNTIME_DIR is not set, so there is no user session".into());
            }
            let output = Command::new("systemctl")
                .args(["--user", "is-system-running"])
                .output()
                .map_err(|error| format!("cannot run systemctl ({error})"))?;
            let state = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if LIVE_MANAGER_STATES.contains(&state.as_str()) {
                return Ok(());
            }
            Err(format!(
                "no systemd user instance answers (`systemctl --user is-system-running` says {:?})",
                if state.is_empty() { "nothing" } else { &state }
            ))
        }
        Manager::Launchd => match Command::new("launchctl").arg("version").output() {
            Ok(_) => Ok(()),
            Err(error) => Err(format!("cannot run launchctl ({error})")),
        },
    }
}

fn systemctl(args: &[&str], must_succeed: bool) -> Action {
    let mut argv = vec!["systemctl".to_owned(), "--user".to_owned()];
    argv.extend(args.iter().map(|arg| (*arg).to_owned()));
    Action::Run { argv, must_succeed }
}

fn launchctl(args: &[&str], must_succeed: bool) -> Action {
    let mut argv = vec!["launchctl".to_owned()];
    argv.extend(args.iter().map(|arg| (*arg).to_owned()));
    Action::Run { argv, must_succeed }
}

fn launchd_service(target: &Target) -> String {
    format!("gui/{}/{LAUNCHD_LABEL}", target.uid)
}

/// A path as one `ExecStart=` word: `%` and `$` are doubled so systemd expands neither, and a
/// path with spaces, quotes or backslashes is double-quoted with C-style escapes.
fn systemd_quote(path: &str) -> String {
    let plain = path.replace('%', "%%").replace('$', "$$");
    if !plain
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'))
    {
        return plain;
    }
    let escaped = plain.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            binary: PathBuf::from("/opt/hub tools/auth-hub"),
            home: PathBuf::from("/home/alice"),
            config_home: PathBuf::from("/home/alice/.config"),
            uid: 1000,
        }
    }

    #[test]
    fn the_templates_hold_the_paths_the_renderer_replaces() {
        assert_eq!(SYSTEMD_SERVICE.matches(SYSTEMD_TEMPLATE_BIN).count(), 1);
        assert_eq!(LAUNCHD_PLIST.matches(LAUNCHD_TEMPLATE_BIN).count(), 1);
        assert!(LAUNCHD_PLIST.contains(LAUNCHD_TEMPLATE_HOME));
    }

    #[test]
    fn systemd_units_point_at_the_binary() {
        let [(socket_name, socket), (service_name, service)] =
            render_systemd(Path::new("/usr/local/bin/auth-hub"));
        assert_eq!((socket_name, service_name), (SOCKET_UNIT, SERVICE_UNIT));
        assert!(socket.contains("ListenStream=%t/auth-hub/auth-hub.sock"));
        assert!(service.contains("\nExecStart=/usr/local/bin/auth-hub serve\n"));
        assert!(!service.contains(".cargo/bin"));
    }

    #[test]
    fn systemd_quotes_unusual_paths() {
        assert_eq!(systemd_quote("/a/b"), "/a/b");
        assert_eq!(systemd_quote("/a%b/$c"), "/a%%b/$$c");
        assert_eq!(systemd_quote("/hub tools/x\"y"), "\"/hub tools/x\\\"y\"");
    }

    #[test]
    fn launchd_plist_has_absolute_paths_only() {
        let plist = render_launchd(Path::new("/opt/a&b/auth-hub"), Path::new("/Users/alice/"));
        assert!(plist.contains("<string>/opt/a&amp;b/auth-hub</string>"));
        assert!(plist.contains(
            "<string>/Users/alice/Library/Application Support/auth-hub/auth-hub.sock</string>"
        ));
        assert!(plist.contains("<string>/Users/alice/Library/Logs/auth-hub.log</string>"));
        assert!(!plist.contains("<string>~"), "{plist}");
    }

    #[test]
    fn install_writes_before_enabling() {
        let plan = install_plan(Manager::Systemd, &target());
        let written: Vec<_> = plan
            .iter()
            .filter_map(|action| match action {
                Action::Write { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            written,
            [
                PathBuf::from("/home/alice/.config/systemd/user/auth-hub.socket"),
                PathBuf::from("/home/alice/.config/systemd/user/auth-hub.service"),
            ]
        );
        assert!(
            matches!(plan.get(2), Some(Action::Run { argv, .. }) if argv.join(" ") == "systemctl --user daemon-reload")
        );
        let launchd = install_plan(Manager::Launchd, &target());
        assert!(launchd.iter().any(|action| matches!(action, Action::Run { argv, must_succeed: true }
            if argv.join(" ") == "launchctl bootstrap gui/1000 /home/alice/Library/LaunchAgents/dev.hyperforge.auth-hub.plist")));
    }

    #[test]
    fn uninstall_removes_what_install_writes() {
        for manager in [Manager::Systemd, Manager::Launchd] {
            let written: Vec<_> = install_plan(manager, &target())
                .into_iter()
                .filter_map(|action| match action {
                    Action::Write { path, .. } => Some(path),
                    _ => None,
                })
                .collect();
            let removed: Vec<_> = uninstall_plan(manager, &target())
                .into_iter()
                .filter_map(|action| match action {
                    Action::Remove(path) => Some(path),
                    _ => None,
                })
                .collect();
            assert_eq!(written, removed, "{manager}");
        }
    }
}
