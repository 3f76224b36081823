//! The test harness's authenticating git server on its own: plain `git clone` and `git push`
//! with a credential helper that knows the token work; a wrong token and no token are refused;
//! a large (chunked) push works; the request log shows what was served and what was refused.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use auth_hub_tests::forge_fixture::real_git;
use fake_forge::git_server::GitServer;

/// A scratch directory with an isolated git environment.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("gitsrv").tempdir().unwrap();
        fs::create_dir_all(dir.path().join("home")).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A credential helper that answers `get` with `token`.
    fn helper(&self, name: &str, token: &str) -> String {
        let path = self.path().join(format!("{name}.sh"));
        fs::write(
            &path,
            format!(
                "#!/bin/sh\ncat > /dev/null\nif [ \"$1\" = get ]; then printf 'username=someone\\npassword={token}\\n'; fi\n"
            ),
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    fn git(&self, dir: &Path, helper: Option<&str>, args: &[&str]) -> Output {
        let mut command = Command::new(real_git());
        command
            .current_dir(dir)
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("home/.config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(["-c", "credential.helper="]);
        if let Some(helper) = helper {
            command.args(["-c", &format!("credential.helper={helper}")]);
        }
        command.args(args).stdin(Stdio::null()).output().unwrap()
    }

    fn git_ok(&self, dir: &Path, helper: Option<&str>, args: &[&str]) -> String {
        let output = self.git(dir, helper, args);
        assert!(
            output.status.success(),
            "git {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A repository with one commit on `main`.
    fn repo(&self, name: &str) -> PathBuf {
        let path = self.path().join(name);
        fs::create_dir_all(&path).unwrap();
        self.git_ok(&path, None, &["init", "--quiet", "-b", "main"]);
        fs::write(path.join("README.md"), "hello\n").unwrap();
        self.git_ok(&path, None, &["add", "README.md"]);
        self.git_ok(&path, None, &["commit", "--quiet", "-m", "first"]);
        path
    }

    fn head(&self, repo: &Path) -> String {
        self.git_ok(repo, None, &["rev-parse", "HEAD"])
            .trim()
            .to_owned()
    }
}

#[test]
fn push_and_clone_with_the_accepted_token() {
    let server = GitServer::start();
    server.create_bare("github", "alice", "repo");
    server.accept_token("github", "alice", "tok-right");
    let scratch = Scratch::new();
    let helper = scratch.helper("right", "tok-right");
    let repo = scratch.repo("work");
    let url = format!("{}/github/alice/repo.git", server.base_url());

    scratch.git_ok(&repo, Some(&helper), &["push", "--quiet", &url, "main"]);
    assert_eq!(
        server.head_of("github", "alice", "repo", "main"),
        Some(scratch.head(&repo))
    );
    assert_eq!(server.head_of("github", "alice", "repo", "nope"), None);

    scratch.git_ok(
        scratch.path(),
        Some(&helper),
        &["clone", "--quiet", &url, "clone"],
    );
    let clone = scratch.path().join("clone");
    assert_eq!(scratch.head(&clone), scratch.head(&repo));
    assert_eq!(
        fs::read_to_string(clone.join("README.md")).unwrap(),
        "hello\n"
    );

    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.method == "POST"
            && r.path == "/github/alice/repo.git/git-receive-pack"
            && r.authorized
            && r.username.as_deref() == Some("someone")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/git-upload-pack") && r.authorized),
        "{requests:#?}"
    );
}

#[test]
fn wrong_token_and_anonymous_requests_are_refused() {
    let server = GitServer::start();
    server.create_bare("github", "alice", "repo");
    server.accept_token("github", "alice", "tok-right");
    let scratch = Scratch::new();
    let repo = scratch.repo("work");
    let url = format!("{}/github/alice/repo.git", server.base_url());

    let wrong = scratch.helper("wrong", "tok-wrong");
    let output = scratch.git(&repo, Some(&wrong), &["push", &url, "main"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Authentication failed"), "{stderr}");
    assert_eq!(server.head_of("github", "alice", "repo", "main"), None);

    // No helper and no prompt: git cannot authenticate at all.
    let output = scratch.git(scratch.path(), None, &["clone", &url, "anon"]);
    assert!(!output.status.success());
    assert!(!scratch.path().join("anon/.git").exists());

    // A token accepted for another org does not open this one.
    server.accept_token("github", "bob", "tok-bob");
    let bob = scratch.helper("bob", "tok-bob");
    let output = scratch.git(scratch.path(), Some(&bob), &["clone", &url, "asbob"]);
    assert!(!output.status.success());

    // Revocation: once another token is accepted, the old one is refused.
    let right = scratch.helper("right", "tok-right");
    scratch.git_ok(&repo, Some(&right), &["push", "--quiet", &url, "main"]);
    server.accept_token("github", "alice", "tok-rotated");
    let output = scratch.git(scratch.path(), Some(&right), &["clone", &url, "stale"]);
    assert!(!output.status.success());

    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| !r.authorized && r.username.is_none()),
        "an anonymous request was logged as refused: {requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| !r.authorized && r.username.as_deref() == Some("someone")),
        "a wrong-token request was logged as refused: {requests:#?}"
    );
    assert!(requests.iter().any(|r| r.authorized));
}

#[test]
fn a_large_push_is_streamed_through() {
    let server = GitServer::start();
    server.create_bare("codeberg", "alice", "big");
    server.accept_token("codeberg", "alice", "tok-big");
    let scratch = Scratch::new();
    let helper = scratch.helper("big", "tok-big");
    let repo = scratch.repo("work");

    // 3 MB of incompressible bytes: larger than git's http.postBuffer, so the pack goes out
    // with chunked transfer encoding.
    let mut random = Vec::with_capacity(3 << 20);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while random.len() < 3 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        random.extend_from_slice(&state.to_le_bytes());
    }
    fs::File::create(repo.join("blob.bin"))
        .unwrap()
        .write_all(&random)
        .unwrap();
    scratch.git_ok(&repo, None, &["add", "blob.bin"]);
    scratch.git_ok(&repo, None, &["commit", "--quiet", "-m", "big"]);

    let url = format!("{}/codeberg/alice/big.git", server.base_url());
    scratch.git_ok(&repo, Some(&helper), &["push", "--quiet", &url, "main"]);
    assert_eq!(
        server.head_of("codeberg", "alice", "big", "main"),
        Some(scratch.head(&repo))
    );

    scratch.git_ok(
        scratch.path(),
        Some(&helper),
        &["clone", "--quiet", &url, "back"],
    );
    assert_eq!(
        fs::read(scratch.path().join("back/blob.bin")).unwrap(),
        random
    );
}
