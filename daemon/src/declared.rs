//! Declared scopes: what each registered repository's `.hyperforge/config.toml` says it needs.
//!
//! A repository declares one scope per forge it mirrors to, `{forge}/{org}/*`, with the org taken
//! from `[forge.<name>].org`, else the top-level `org`. The hub reads the file leniently: it looks
//! only at `org`, `forges` and `[forge.<name>].org` and ignores every other key (the `hyperforge`
//! CLI validates the file strictly). A file that cannot be parsed is an error for that repository
//! alone; a forge with no org is listed as "org unknown" (the hub never reads git remotes); a
//! vanished file is "config missing". The [`DeclaredBook`] keeps the latest reading per
//! repository; [`crate::watch`] refreshes it when a file changes, and the `status` handler
//! ([`crate::handler::status`]) judges each declared scope for the owner key.
//!
//! Reading a registered repository's config is the one place the hub opens a file at a path a
//! client chose; it opens only `<repo>/.hyperforge/config.toml`, only a regular file, at most
//! [`MAX_CONFIG_BYTES`], without blocking (a FIFO planted there cannot hang the hub).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use auth_hub_protocol::response::DeclaredRepoError;
use auth_hub_protocol::SecretScope;

/// The directory inside a repository that holds hyperforge's config.
pub const CONFIG_DIR: &str = ".hyperforge";
/// The config file's name inside [`CONFIG_DIR`].
pub const CONFIG_FILE: &str = "config.toml";
/// Largest repository config read; a bigger file is an error for that repository.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// `<repo>/.hyperforge/config.toml`.
pub fn config_path(repo: &Path) -> PathBuf {
    repo.join(CONFIG_DIR).join(CONFIG_FILE)
}

/// One forge a repository mirrors to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredForge {
    /// The forge's name as listed in `forges`.
    pub forge: String,
    /// Its org, or `None` when neither its table nor the top level names one.
    pub org: Option<String>,
}

impl DeclaredForge {
    /// The declared scope `{forge}/{org}/*`, when the org is known.
    pub fn scope(&self) -> Option<String> {
        self.org
            .as_ref()
            .map(|org| format!("{}/{org}/*", self.forge))
    }
}

/// Why a repository's config declares nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeclarationError {
    /// The file does not exist (or its repository or `.hyperforge/` does not).
    #[error("config missing")]
    Missing,
    /// The file exists but could not be read, or is not a regular file, or is too big.
    #[error("cannot read {file}: {reason}")]
    Unreadable {
        /// The config file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Not valid TOML.
    #[error("{file}{at}: {message}")]
    Syntax {
        /// The config file.
        file: String,
        /// `:line:column`, when the parser knows.
        at: String,
        /// The parser's message.
        message: String,
    },
    /// A key the hub reads has the wrong type, or gives an invalid scope.
    #[error("{file}: invalid {key}: {reason}")]
    Invalid {
        /// The config file.
        file: String,
        /// The key, such as `forges` or `forge.github.org`.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Reads and parses `<repo>/.hyperforge/config.toml`.
///
/// # Errors
/// [`DeclarationError::Missing`], [`DeclarationError::Unreadable`], or as [`parse`].
pub fn read(repo: &Path) -> Result<Vec<DeclaredForge>, DeclarationError> {
    let path = config_path(repo);
    let file = path.display().to_string();
    let unreadable = |reason: String| DeclarationError::Unreadable {
        file: file.clone(),
        reason,
    };
    let handle = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
    {
        Ok(handle) => handle,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(DeclarationError::Missing)
        }
        // `.hyperforge` or the repository replaced by a file.
        Err(error) if error.raw_os_error() == Some(libc::ENOTDIR) => {
            return Err(DeclarationError::Missing)
        }
        Err(error) => return Err(unreadable(error.to_string())),
    };
    let text = read_limited(handle).map_err(unreadable)?;
    parse(&text, &file)
}

/// Reads a regular file of at most [`MAX_CONFIG_BYTES`] as UTF-8.
fn read_limited(handle: File) -> Result<String, String> {
    let meta = handle.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    let mut bytes = Vec::new();
    handle
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!("larger than {MAX_CONFIG_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())
}

/// Parses a repository config's text leniently: only `org`, `forges` and `[forge.<name>].org`
/// are read; `file` is only used in errors. A file without `forges` declares nothing.
///
/// ```
/// use auth_hub::declared::parse;
/// let forges = parse("org = \"alice\"\nforges = [\"github\", \"work\"]\n\
///     [forge.work]\norg = \"acme\"\nurl = \"https://git.example.com\"\n[package]\nname = \"x\"\n",
///     "config.toml").unwrap();
/// assert_eq!(forges[0].scope().as_deref(), Some("github/alice/*"));
/// assert_eq!(forges[1].scope().as_deref(), Some("work/acme/*"));
/// ```
///
/// # Errors
/// [`DeclarationError::Syntax`] for malformed TOML; [`DeclarationError::Invalid`] when `org`,
/// `forges` or a forge's `org` has the wrong type, or a forge and org do not make a valid scope.
pub fn parse(text: &str, file: &str) -> Result<Vec<DeclaredForge>, DeclarationError> {
    let table: toml::Table = toml::from_str(text).map_err(|error| DeclarationError::Syntax {
        file: file.to_owned(),
        at: error
            .span()
            .map(|span| {
                let (line, column) = locate(text, span.start);
                format!(":{line}:{column}")
            })
            .unwrap_or_default(),
        message: match error.message().trim() {
            "" => "invalid toml syntax".to_owned(),
            message => message.to_owned(),
        },
    })?;
    let invalid = |key: &str, reason: &str| DeclarationError::Invalid {
        file: file.to_owned(),
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    let top_org = match table.get("org") {
        None => None,
        Some(toml::Value::String(org)) => Some(org.clone()),
        Some(_) => return Err(invalid("org", "expected a string")),
    };
    let names = match table.get("forges") {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(names)) => names,
        Some(_) => return Err(invalid("forges", "expected an array of forge names")),
    };
    let tables = match table.get("forge") {
        None => None,
        Some(toml::Value::Table(tables)) => Some(tables),
        Some(_) => return Err(invalid("forge", "expected a table of forge tables")),
    };
    let mut seen = BTreeSet::new();
    let mut forges = Vec::new();
    for name in names {
        let Some(name) = name.as_str() else {
            return Err(invalid("forges", "expected an array of forge names"));
        };
        if !seen.insert(name) {
            continue;
        }
        let key = format!("forge.{name}.org");
        let own_org = match tables.and_then(|tables| tables.get(name)) {
            None => None,
            Some(toml::Value::Table(forge)) => match forge.get("org") {
                None => None,
                Some(toml::Value::String(org)) => Some(org.clone()),
                Some(_) => return Err(invalid(&key, "expected a string")),
            },
            Some(_) => return Err(invalid(&format!("forge.{name}"), "expected a table")),
        };
        let forge = DeclaredForge {
            forge: name.to_owned(),
            org: own_org.or_else(|| top_org.clone()),
        };
        if let Some(scope) = forge.scope() {
            if let Err(error) = SecretScope::parse(&scope) {
                let reason = format!("{scope:?} is not a valid scope: {error}");
                return Err(invalid(&key, &reason));
            }
        }
        forges.push(forge);
    }
    Ok(forges)
}

/// 1-based line and column of byte `offset` in `text`.
fn locate(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The latest reading of every registered repository's config.
#[derive(Debug, Default)]
pub struct DeclaredBook {
    repos: BTreeMap<String, Result<Vec<DeclaredForge>, DeclarationError>>,
    /// Every declared scope, parsed once per change, for the scope handler's lookups.
    scopes: Vec<SecretScope>,
}

impl DeclaredBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `reading` for `repo`; returns true when it differs from the previous one.
    pub fn set(
        &mut self,
        repo: &str,
        reading: Result<Vec<DeclaredForge>, DeclarationError>,
    ) -> bool {
        if self.repos.get(repo) == Some(&reading) {
            return false;
        }
        self.repos.insert(repo.to_owned(), reading);
        self.rebuild();
        true
    }

    /// Forgets `repo` (unregistered).
    pub fn remove(&mut self, repo: &str) {
        if self.repos.remove(repo).is_some() {
            self.rebuild();
        }
    }

    /// Forgets every repository not in `registered`.
    pub fn retain(&mut self, registered: &BTreeSet<String>) {
        let before = self.repos.len();
        self.repos.retain(|repo, _| registered.contains(repo));
        if self.repos.len() != before {
            self.rebuild();
        }
    }

    /// The repositories with a reading.
    pub fn repos(&self) -> impl Iterator<Item = &str> {
        self.repos.keys().map(String::as_str)
    }

    /// True when a declared scope covers `wanted` (permissions are not considered).
    pub fn covers(&self, wanted: &SecretScope) -> bool {
        self.scopes.iter().any(|scope| scope.covers_scope(wanted))
    }

    /// Each declared scope with the repositories declaring it, sorted.
    pub fn scopes(&self) -> BTreeMap<String, Vec<String>> {
        let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (repo, reading) in &self.repos {
            for forge in reading.iter().flatten() {
                if let Some(scope) = forge.scope() {
                    let repos = scopes.entry(scope).or_default();
                    if repos.last() != Some(repo) {
                        repos.push(repo.clone());
                    }
                }
            }
        }
        scopes
    }

    /// Repositories whose config could not be read, and forges without an org.
    pub fn errors(&self) -> Vec<DeclaredRepoError> {
        let mut errors = Vec::new();
        for (repo, reading) in &self.repos {
            match reading {
                Err(error) => errors.push(DeclaredRepoError {
                    repo: repo.clone(),
                    error: error.to_string(),
                }),
                Ok(forges) => {
                    errors.extend(forges.iter().filter(|f| f.org.is_none()).map(|forge| {
                        DeclaredRepoError {
                            repo: repo.clone(),
                            error: format!(
                                "forge {}: org unknown (set org in {CONFIG_DIR}/{CONFIG_FILE})",
                                forge.forge
                            ),
                        }
                    }))
                }
            }
        }
        errors
    }

    fn rebuild(&mut self) {
        self.scopes = self
            .scopes()
            .keys()
            .filter_map(|scope| SecretScope::parse(scope).ok())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forges(text: &str) -> Vec<DeclaredForge> {
        parse(text, "config.toml").expect("valid config")
    }

    fn scope(text: &str) -> SecretScope {
        SecretScope::parse(text).expect("valid test scope")
    }

    #[test]
    fn org_per_forge_then_top_level_then_unknown() {
        let found = forges(
            "org = \"alice\"\nforges = [\"github\", \"codeberg\", \"github\"]\n\
             [forge.codeberg]\norg = \"team\"\nkind = \"gitea\"\n",
        );
        let scopes: Vec<_> = found.iter().map(DeclaredForge::scope).collect();
        assert_eq!(
            scopes,
            [
                Some("github/alice/*".into()),
                Some("codeberg/team/*".into())
            ]
        );
        let unknown = forges("forges = [\"gitlab\"]\n");
        assert_eq!(unknown[0].org, None);
        assert!(forges("org = \"alice\"\n").is_empty());
        // Keys the hub does not read are ignored, whatever they hold.
        assert_eq!(
            forges("org = \"a\"\nforges = [\"github\"]\nsomething = [1, 2]\n[package]\nx = 1\n")
                .len(),
            1
        );
    }

    #[test]
    fn bad_files_are_precise_errors() {
        let syntax = parse(
            "org = \"alice\"\nforges = [\n",
            "/r/.hyperforge/config.toml",
        )
        .expect_err("unclosed array");
        let shown = syntax.to_string();
        assert!(shown.starts_with("/r/.hyperforge/config.toml:"), "{shown}");
        assert!(matches!(syntax, DeclarationError::Syntax { .. }), "{shown}");
        for (text, key) in [
            ("forges = \"github\"\n", "forges"),
            ("forges = [1]\n", "forges"),
            ("org = 3\nforges = []\n", "org"),
            (
                "forges = [\"github\"]\n[forge.github]\norg = 1\n",
                "forge.github.org",
            ),
            (
                "org = \"a//b\"\nforges = [\"github\"]\n",
                "forge.github.org",
            ),
            ("org = \"alice\"\nforges = [\"\"]\n", "forge..org"),
        ] {
            match parse(text, "c") {
                Err(DeclarationError::Invalid { key: got, .. }) => assert_eq!(got, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn read_handles_missing_files_and_non_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(read(dir.path()), Err(DeclarationError::Missing));
        assert_eq!(
            read(&dir.path().join("no-such-repo")),
            Err(DeclarationError::Missing)
        );
        std::fs::create_dir(dir.path().join(CONFIG_DIR)).expect("mkdir");
        std::fs::create_dir(config_path(dir.path())).expect("a directory named config.toml");
        assert!(matches!(
            read(dir.path()),
            Err(DeclarationError::Unreadable { .. })
        ));
        std::fs::remove_dir(config_path(dir.path())).expect("rmdir");
        let fifo = std::ffi::CString::new(config_path(dir.path()).to_str().expect("utf-8"))
            .expect("no nul");
        // SAFETY: mkfifo with a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read(dir.path()),
            Err(DeclarationError::Unreadable { .. })
        ));
        std::fs::remove_file(config_path(dir.path())).expect("rm fifo");
        std::fs::write(
            config_path(dir.path()),
            "org = \"alice\"\nforges = [\"github\"]\n",
        )
        .expect("write");
        assert_eq!(read(dir.path()).expect("valid").len(), 1);
    }

    #[test]
    fn book_lists_scopes_errors_and_coverage() {
        let mut book = DeclaredBook::new();
        assert!(book.set("/b", Ok(forges("org = \"alice\"\nforges = [\"github\"]\n"))));
        assert!(!book.set("/b", Ok(forges("org = \"alice\"\nforges = [\"github\"]\n"))));
        book.set(
            "/a",
            Ok(forges(
                "org = \"alice\"\nforges = [\"github\", \"gitlab\", \"x\"]\n[forge.x]\n",
            )),
        );
        book.set("/c", Err(DeclarationError::Missing));
        book.set("/d", Ok(forges("forges = [\"codeberg\"]\n")));
        let scopes = book.scopes();
        assert_eq!(
            scopes.get("github/alice/*"),
            Some(&vec!["/a".to_owned(), "/b".to_owned()])
        );
        assert_eq!(scopes.len(), 3);
        assert!(book.covers(&scope("github/alice/token")));
        assert!(book.covers(&scope("gitlab/alice/*")));
        assert!(!book.covers(&scope("github/bob/token")));
        assert!(!book.covers(&scope("github/*")));
        let errors = book.errors();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].repo, "/c");
        assert_eq!(errors[0].error, "config missing");
        assert!(
            errors[1].error.contains("codeberg: org unknown"),
            "{errors:?}"
        );

        book.retain(&["/a".to_owned()].into_iter().collect());
        assert_eq!(book.repos().collect::<Vec<_>>(), ["/a"]);
        book.remove("/a");
        assert!(!book.covers(&scope("github/alice/token")));
    }
}
