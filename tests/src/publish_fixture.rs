//! Package repositories for the publish tests, on a [`ForgeWorld`] started with
//! [`ForgeWorld::start_for_publish`]: a Cargo crate, an npm package or a Python project in a
//! git repository initialised for the `github` forge, with `[package] registry = "…"`; tokens
//! stored in the hub; a snapshot of everything a failed publish must leave as it was; and the
//! checks that a registry token never shows up where it must not.

use std::fs;
use std::path::{Path, PathBuf};

use crate::forge_fixture::ForgeWorld;
use crate::registries::{self, names};
use crate::Run;

/// The org every package repository belongs to on the git server.
pub const ORG: &str = "alice";

/// The token stored for `github/alice` (the forge, not a registry).
pub const FORGE_TOKEN: &str = "tok-publish-alice-3c9d1e";

/// A file to write into a package repository: (path inside it, contents).
pub type File = (String, String);

/// A crate `name` at `version` with a library; `deps` are (name, directory relative to the
/// crate, version) of crates it depends on from the test registry (`registry = "testreg"`,
/// path for local builds).
pub fn cargo_files(name: &str, version: &str, deps: &[(&str, &str, &str)]) -> Vec<File> {
    let mut manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
         description = \"a hyperforge publish test\"\nlicense = \"MIT\"\n"
    );
    if !deps.is_empty() {
        manifest.push_str("\n[dependencies]\n");
        for (dep, path, dep_version) in deps {
            manifest.push_str(&format!(
                "{dep} = {{ version = \"{dep_version}\", path = \"{path}\", registry = \"{}\" }}\n",
                names::CARGO
            ));
        }
    }
    vec![
        ("Cargo.toml".into(), manifest),
        ("src/lib.rs".into(), "//! a test crate\n".into()),
        (".gitignore".into(), "/target\n".into()),
    ]
}

/// An npm package `name` at `version`; `deps` are (name, range) entries of `dependencies`.
/// Without dependencies it also gets a `package-lock.json` recording its version.
pub fn npm_files(name: &str, version: &str, deps: &[(&str, &str)]) -> Vec<File> {
    let dependencies: serde_json::Map<String, serde_json::Value> = deps
        .iter()
        .map(|(dep, range)| ((*dep).to_owned(), serde_json::Value::from(*range)))
        .collect();
    let mut manifest = serde_json::json!({
        "name": name,
        "version": version,
        "description": "a hyperforge publish test",
        "main": "index.js",
        "license": "MIT",
    });
    if !deps.is_empty() {
        manifest["dependencies"] = serde_json::Value::Object(dependencies);
    }
    let mut files = vec![
        (
            "package.json".into(),
            format!(
                "{}\n",
                serde_json::to_string_pretty(&manifest).expect("json")
            ),
        ),
        ("index.js".into(), "module.exports = 1;\n".into()),
        (".gitignore".into(), "node_modules/\n*.tgz\n".into()),
    ];
    if deps.is_empty() {
        let lock = serde_json::json!({
            "name": name,
            "version": version,
            "lockfileVersion": 3,
            "requires": true,
            "packages": { "": { "name": name, "version": version, "license": "MIT" } },
        });
        files.push((
            "package-lock.json".into(),
            format!("{}\n", serde_json::to_string_pretty(&lock).expect("json")),
        ));
    }
    files
}

/// A Python project `name` at `version` (setuptools, one module).
pub fn pypi_files(name: &str, version: &str) -> Vec<File> {
    let module = name.replace('-', "_");
    vec![
        (
            "pyproject.toml".into(),
            format!(
                "[build-system]\nrequires = [\"setuptools>=61\"]\n\
                 build-backend = \"setuptools.build_meta\"\n\n\
                 [project]\nname = \"{name}\"\nversion = \"{version}\"\n\
                 description = \"a hyperforge publish test\"\n"
            ),
        ),
        (format!("{module}/__init__.py"), String::new()),
        (
            ".gitignore".into(),
            "dist/\nbuild/\n*.egg-info/\n__pycache__/\n".into(),
        ),
    ]
}

/// Everything a failed publish must leave as it was in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoState {
    /// `HEAD`'s commit.
    pub head: Option<String>,
    /// The index (`git ls-files --stage`).
    pub index: String,
    /// `git status --porcelain` (untracked files included, ignored ones not).
    pub status: String,
    /// `git tag --list`.
    pub tags: String,
    /// The bytes of each file asked for (`None` when missing).
    pub files: Vec<(String, Option<Vec<u8>>)>,
}

impl ForgeWorld {
    /// Writes `files` into `dir` (creating it), makes it a git repository initialised for
    /// `github` under [`ORG`] with `[package] registry = "{registry}"`, commits everything on
    /// `main` and creates the bare repository on the server (named after `dir`). A Cargo crate
    /// gets its `Cargo.lock` from `cargo generate-lockfile` first, as a real one would have.
    pub fn package_repo(&self, dir: &Path, registry: &str, files: &[File]) -> PathBuf {
        self.init_repo_at(dir);
        for (path, contents) in files {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
            fs::write(path, contents).expect("write package file");
        }
        if dir.join("Cargo.toml").exists() {
            let output = self
                .tool_command("cargo", dir)
                .args(["generate-lockfile", "--offline"])
                .env(
                    "CARGO_REGISTRIES_TESTREG_INDEX",
                    registries::registries().cargo.index_url(),
                )
                .output()
                .expect("run cargo generate-lockfile");
            Run::from(output).assert_code(0);
        }
        let name = dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("a repository directory name");
        self.init(dir, "github", ORG);
        let config = dir.join(".hyperforge/config.toml");
        let mut text = fs::read_to_string(&config).expect("read .hyperforge/config.toml");
        text.push_str(&format!("\n[package]\nregistry = \"{registry}\"\n"));
        fs::write(&config, text).expect("write .hyperforge/config.toml");
        self.git(dir, &["add", "--all"]);
        self.git(dir, &["commit", "--quiet", "-m", "the package"]);
        self.server.create_bare("github", ORG, name);
        dir.to_path_buf()
    }

    /// Stores and grants the forge token for [`ORG`] on `github`.
    pub fn forge_ready(&self) {
        self.put_token("github", ORG, FORGE_TOKEN);
        self.grant(&format!("github/{ORG}/*"));
    }

    /// Stores `token` at `path` in the hub.
    pub fn put_secret(&self, path: &str, token: &str) {
        self.hub
            .run(&["auth", "put", path], Some(&format!("{token}\n")))
            .assert_code(0);
    }

    /// The state of `repo` a failed publish must not change, with the bytes of `files`.
    pub fn repo_state(&self, repo: &Path, files: &[&str]) -> RepoState {
        RepoState {
            head: self.rev(repo, "HEAD"),
            index: self.git(repo, &["ls-files", "--stage"]),
            status: self.git(repo, &["status", "--porcelain", "--untracked-files=all"]),
            tags: self.git(repo, &["tag", "--list"]),
            files: files
                .iter()
                .map(|file| ((*file).to_owned(), fs::read(repo.join(file)).ok()))
                .collect(),
        }
    }

    /// The subject of `HEAD`'s commit message.
    pub fn head_subject(&self, repo: &Path) -> String {
        self.git(repo, &["log", "-1", "--format=%s"])
            .trim()
            .to_owned()
    }

    /// The directories of every package tool run whose argv contains `word` (such as
    /// `publish`), in the order they ran: one (tool, working directory, argv) per run.
    pub fn tool_runs(&self, word: &str) -> Vec<(String, String, String)> {
        let mut runs = Vec::new();
        let (mut tool, mut cwd) = (String::new(), String::new());
        for line in self.tool_log().lines() {
            if let Some(name) = line.strip_prefix("TOOL: ") {
                tool = name.to_owned();
            } else if let Some(dir) = line.strip_prefix("CWD: ") {
                cwd = dir.to_owned();
            } else if let Some(argv) = line.strip_prefix("ARGV:") {
                if argv.split_whitespace().any(|arg| arg == word) {
                    runs.push((tool.clone(), cwd.clone(), argv.trim().to_owned()));
                }
            }
        }
        runs
    }

    /// Checks that `token` reached no process's argv, no git process at all, no file under
    /// `HOME` or `repos`, and no output in `runs`; and that where it reached a package tool, it
    /// was only through one of the environment variables `allowed_env` (the mechanism that
    /// tool documents). When `expect_used`, it must have reached a tool that way at least once.
    pub fn assert_token_hidden(
        &self,
        token: &str,
        allowed_env: &[&str],
        expect_used: bool,
        repos: &[&Path],
        runs: &[&Run],
    ) {
        assert!(
            !self.git_log().contains(token),
            "the registry token reached a git process"
        );
        let mut used = false;
        for line in self.tool_log().lines() {
            if !line.contains(token) {
                continue;
            }
            let variable = line
                .strip_prefix("ENV: ")
                .and_then(|assignment| assignment.split_once('='))
                .filter(|(_, value)| *value == token)
                .map(|(name, _)| name);
            match variable {
                Some(name) if allowed_env.contains(&name) => used = true,
                _ => panic!(
                    "the token reached a package tool other than through {allowed_env:?}: {}",
                    line.replace(token, "<TOKEN>")
                ),
            }
        }
        assert!(
            used || !expect_used,
            "the token never reached a package tool through {allowed_env:?}"
        );
        let mut roots = vec![self.home()];
        roots.extend(repos.iter().map(|repo| repo.to_path_buf()));
        for root in roots {
            let found = files_containing(&root, token.as_bytes());
            assert!(found.is_empty(), "files hold the token: {found:?}");
        }
        for run in runs {
            assert!(
                !run.stdout.contains(token) && !run.stderr.contains(token),
                "the token is in hyperforge's output"
            );
        }
    }
}

/// Every regular file under `root` (recursively, symlinks not followed) containing `needle`.
pub fn files_containing(root: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let holds = fs::read(&path).is_ok_and(|bytes| {
                    !needle.is_empty() && bytes.windows(needle.len()).any(|window| window == needle)
                });
                if holds {
                    found.push(path);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_containing_finds_nested_files_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        fs::write(dir.path().join("a/b/hit"), "xx secret-1 yy").expect("write");
        fs::write(dir.path().join("a/miss"), "secret-").expect("write");
        assert_eq!(
            files_containing(dir.path(), b"secret-1"),
            [dir.path().join("a/b/hit")]
        );
    }
}
