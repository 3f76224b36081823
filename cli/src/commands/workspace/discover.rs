//! Finding the repositories of a workspace: every directory under the root that holds a
//! `.hyperforge/config.toml`.
//!
//! Build output and dependencies (`target/`, `node_modules/`), hidden directories (`.git`
//! internals among them) and symbolic links are not entered, so a walk over a large tree stays
//! quick and never loops. A repository's own subdirectories are not searched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// Directories never entered.
const SKIPPED: &[&str] = &["target", "node_modules"];
/// How deep below the root the walk goes.
const MAX_DEPTH: usize = 12;

/// The repositories under `root` (including `root` itself), sorted by path.
///
/// # Errors
/// `root` cannot be read. Unreadable subdirectories are skipped.
pub fn find_repositories(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    fs::read_dir(root)?;
    walk(root, 0, &mut found);
    found.sort();
    Ok(found)
}

/// As [`find_repositories`], for a command that needs at least one: the workspace commands'
/// usage errors when `root` cannot be read or holds no repository.
///
/// # Errors
/// `root` cannot be read, or holds no repository (usage errors, the latter with a hint).
pub fn repositories_under(root: &Path) -> Result<Vec<PathBuf>, CliError> {
    let paths = find_repositories(root)
        .map_err(|error| CliError::usage(format!("cannot read {}: {error}", root.display())))?;
    if paths.is_empty() {
        return Err(CliError::usage(format!(
            "no repository with a .hyperforge/config.toml under {}",
            root.display()
        ))
        .with_hint("run `hyperforge init` in each repository first"));
    }
    Ok(paths)
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if dir.join(".hyperforge").join("config.toml").is_file() {
        found.push(dir.to_owned());
        return;
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || SKIPPED.contains(&name.as_ref()) {
            continue;
        }
        // file_type does not follow symbolic links: a link is never entered.
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            walk(&entry.path(), depth + 1, found);
        }
    }
}

/// `path` relative to `root`, for reports (`alice-repo`, `acme/tool`; `.` for the root).
pub fn display_name(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
        Ok(relative) => relative.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(root: &Path, relative: &str) {
        let dir = root.join(relative).join(".hyperforge");
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("config.toml"), "forges = [\"github\"]\n").expect("write");
    }

    #[test]
    fn finds_repositories_and_skips_build_dirs() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path();
        repo(root, "alice-repo");
        repo(root, "orgs/acme/tool");
        repo(root, "alice-repo/nested"); // inside a repository: not searched
        repo(root, "target/x");
        repo(root, "web/node_modules/pkg");
        repo(root, ".cache/y");
        fs::create_dir_all(root.join("empty/deeper")).expect("mkdir");
        std::os::unix::fs::symlink(root.join("orgs"), root.join("link")).expect("symlink");

        let found = find_repositories(root).expect("walk");
        let names: Vec<_> = found.iter().map(|p| display_name(root, p)).collect();
        assert_eq!(names, ["alice-repo", "orgs/acme/tool"]);
    }

    #[test]
    fn the_root_itself_can_be_the_repository() {
        let root = tempfile::tempdir().expect("tempdir");
        repo(root.path(), "");
        let found = find_repositories(root.path()).expect("walk");
        assert_eq!(found.len(), 1);
        assert_eq!(display_name(root.path(), &found[0]), ".");
    }

    #[test]
    fn a_missing_root_is_an_error() {
        assert!(find_repositories(Path::new("/nonexistent/hyperforge-workspace")).is_err());
    }
}
