//! Reading the two config files: the repository's `.hyperforge/config.toml` and the user's own
//! config, each parsed into its type and checked through [`super::parse`].

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::parse::{key_span, Source};
use super::{
    ConfigError, RepoConfig, UserConfig, FORGE_KEYS, REGISTRY_KEYS, REPO_CONFIG, REPO_KEYS,
};

impl RepoConfig {
    /// `repo_root/.hyperforge/config.toml`.
    pub fn path(repo_root: &Path) -> PathBuf {
        repo_root.join(REPO_CONFIG)
    }

    /// Reads the repository's config; `None` when the file does not exist.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when it cannot be read, [`ConfigError::Invalid`] when it is not valid.
    pub fn load(repo_root: &Path) -> Result<Option<Self>, ConfigError> {
        let file = Self::path(repo_root);
        match read_optional(&file)? {
            Some(text) => Self::parse(&text, &file).map(Some),
            None => Ok(None),
        }
    }

    /// Parses and validates the text of a repository config read from `file`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the line and with a hint: TOML syntax, unknown keys, wrong
    /// types, bad values, a missing, empty or repeating `forges` list, `[forges.<name>]` tables.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let source = Source { file, text };
        let document = source.document()?;
        let root = document.as_table();
        let mut config = RepoConfig {
            file: file.to_owned(),
            ..RepoConfig::default()
        };
        let mut saw_forges = false;
        for (key, item) in root.iter() {
            let span = key_span(root, key, item);
            match key {
                "org" => config.org = Some(source.org(item, "at the top level")?),
                "forges" => {
                    saw_forges = true;
                    (config.forges, config.forges_lines) = source.forge_list(item, span)?;
                }
                "forge" => config.forge = source.forge_tables(item, span)?,
                "package" => config.package = Some(source.package(item, span)?),
                "registry" => config.registry = source.registry_tables(item, span)?,
                other => {
                    return Err(source.error(
                        span,
                        format!("unknown key `{other}` at the top level"),
                        format!("the top level of {REPO_CONFIG} may hold: {REPO_KEYS}"),
                    ))
                }
            }
        }
        if !saw_forges {
            return Err(source.error(
                None,
                "no `forges` list".to_owned(),
                "name the forges to mirror to, e.g.\n  forges = [\"github\", \"codeberg\"]"
                    .to_owned(),
            ));
        }
        Ok(config)
    }

    /// The file this config was read from (empty for one built in code).
    #[cfg(test)]
    pub fn file(&self) -> &Path {
        &self.file
    }
}

impl UserConfig {
    /// The user config's path: `HYPERFORGE_CONFIG` when set, else
    /// `$XDG_CONFIG_HOME/hyperforge/config.toml`, else `~/.config/hyperforge/config.toml`; `None`
    /// when there is no home directory either.
    pub fn path() -> Option<PathBuf> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if let Some(path) = non_empty("HYPERFORGE_CONFIG") {
            return Some(PathBuf::from(path));
        }
        if let Some(dir) = non_empty("XDG_CONFIG_HOME").map(PathBuf::from) {
            if dir.is_absolute() {
                return Some(dir.join("hyperforge").join("config.toml"));
            }
        }
        non_empty("HOME").map(|home| {
            PathBuf::from(home)
                .join(".config")
                .join("hyperforge")
                .join("config.toml")
        })
    }

    /// Reads the user config; a missing file (or no home directory) is an empty config.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when it cannot be read, [`ConfigError::Invalid`] when it is not valid.
    pub fn load() -> Result<Self, ConfigError> {
        let Some(file) = Self::path() else {
            return Ok(Self::default());
        };
        match read_optional(&file)? {
            Some(text) => Self::parse(&text, &file),
            None => Ok(Self {
                forge: BTreeMap::new(),
                registry: BTreeMap::new(),
                file: Some(file),
            }),
        }
    }

    /// Parses and validates the text of a user config read from `file`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the line and with a hint: TOML syntax, anything but
    /// `[forge.<name>]` and `[registry.<name>]` tables, unknown keys, wrong types, bad values.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let source = Source { file, text };
        let document = source.document()?;
        let root = document.as_table();
        let mut forge = BTreeMap::new();
        let mut registry = BTreeMap::new();
        for (key, item) in root.iter() {
            let span = key_span(root, key, item);
            match key {
                "forge" => forge = source.forge_tables(item, span)?,
                "registry" => registry = source.registry_tables(item, span)?,
                other => {
                    return Err(source.error(
                        span,
                        format!("unknown key `{other}` at the top level"),
                        format!(
                            "the user config holds only [forge.<name>] tables (keys: {FORGE_KEYS}) and [registry.<name>] tables (keys: {REGISTRY_KEYS})"
                        ),
                    ))
                }
            }
        }
        Ok(Self {
            forge,
            registry,
            file: Some(file.to_owned()),
        })
    }

    /// The file this config was (or would have been) read from.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// Reads a file; `None` when it does not exist.
pub(super) fn read_optional(file: &Path) -> Result<Option<String>, ConfigError> {
    match fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            file: file.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_config_path_and_load() {
        // The only test that touches these variables; they are put back at the end.
        let names = ["HYPERFORGE_CONFIG", "XDG_CONFIG_HOME", "HOME"];
        let saved: Vec<_> = names.iter().map(std::env::var_os).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("user.toml");
        std::env::set_var("HYPERFORGE_CONFIG", &file);
        assert_eq!(UserConfig::path(), Some(file.clone()));
        let empty = UserConfig::load().expect("a missing file is an empty config");
        assert!(empty.forge.is_empty());
        assert_eq!(empty.file(), Some(file.as_path()));
        fs::write(
            &file,
            "[forge.github]\nurl = \"http://127.0.0.1:9/github\"\n",
        )
        .expect("write");
        let loaded = UserConfig::load().expect("loads");
        assert_eq!(
            loaded.forge["github"].url.as_deref(),
            Some("http://127.0.0.1:9/github")
        );
        fs::write(&file, "[forge.github]\nhost = \"x\"\n").expect("write");
        let error = UserConfig::load().expect_err("invalid");
        assert_eq!(
            error.to_string(),
            format!("{}:2: unknown key `host` in [forge.github]", file.display())
        );
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("goes in `url`")));

        std::env::set_var("HYPERFORGE_CONFIG", "");
        std::env::set_var("XDG_CONFIG_HOME", dir.path());
        assert_eq!(
            UserConfig::path(),
            Some(dir.path().join("hyperforge/config.toml"))
        );
        std::env::set_var("XDG_CONFIG_HOME", "relative");
        std::env::set_var("HOME", "/home/someone");
        assert_eq!(
            UserConfig::path(),
            Some(PathBuf::from(
                "/home/someone/.config/hyperforge/config.toml"
            ))
        );
        for (name, value) in names.iter().zip(saved) {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }

    #[test]
    fn load_missing_repo_config_is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(RepoConfig::load(dir.path()).expect("loads"), None);
        assert_eq!(
            RepoConfig::path(dir.path()),
            dir.path().join(".hyperforge/config.toml")
        );
    }
}
