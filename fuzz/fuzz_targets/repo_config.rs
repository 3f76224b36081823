//! Fuzz target `repo_config`: a repository's `.hyperforge/config.toml` and the user's
//! `~/.config/hyperforge/config.toml`, parsed and resolved into forges.
//!
//! Input: UTF-8 text; before the first NUL it is the repository config, after it the user config
//! (without a NUL both are the same text). Checks that:
//! - parsing either never panics, and an error names a line inside the text and has a hint;
//! - a parsed repository config has a non-empty `forges` list without repeats, and every org in
//!   either file is one valid secret path segment;
//! - for every forge the two resolve to, with the org the config gives, the token path
//!   `{forge}/{org}/token` is valid, and the org read back from the fetch and push URLs
//!   hyperforge writes is that org.
//!
//! Found here and fixed: a forge `url` whose host had characters no host has (non-ASCII, `'`, a
//! `:` outside brackets) was accepted, and the org could not be read back from the remote URLs
//! written for it. The input is in `fuzz/regressions/repo_config/` and a unit test of
//! `cli/src/forge/mod.rs`.

#![no_main]

use std::collections::BTreeSet;
use std::path::Path;

use auth_hub_protocol::SecretPath;
use hyperforge::config::{ConfigError, RepoConfig, UserConfig};
use hyperforge::forge::resolve_forges;
use hyperforge::org::owner_from_remote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (repo_text, user_text) = text.split_once('\0').unwrap_or((text, text));

    let repo = RepoConfig::parse(repo_text, Path::new(".hyperforge/config.toml"));
    let user = UserConfig::parse(user_text, Path::new("hyperforge/config.toml"));
    if let Err(error) = &repo {
        check_error(error, repo_text);
    }
    if let Err(error) = &user {
        check_error(error, user_text);
    }
    if let Ok(repo) = &repo {
        assert!(!repo.forges.is_empty(), "an empty forges list was accepted");
        let unique: BTreeSet<&String> = repo.forges.iter().collect();
        assert_eq!(
            unique.len(),
            repo.forges.len(),
            "a repeated forge was accepted"
        );
        repo.org.iter().for_each(|org| check_org(org));
        repo.forge
            .values()
            .filter_map(|f| f.org.as_ref())
            .for_each(|org| check_org(org));
    }
    if let Ok(user) = &user {
        user.forge
            .values()
            .filter_map(|f| f.org.as_ref())
            .for_each(|org| check_org(org));
    }
    let (Ok(repo), Ok(user)) = (repo, user) else {
        return;
    };
    let Ok(forges) = resolve_forges(&repo, &user) else {
        return;
    };
    for forge in forges {
        let Some(org) = forge.org.clone().or_else(|| repo.org.clone()) else {
            continue;
        };
        forge
            .secret_path(&org)
            .expect("a configured org gives a valid token path");
        for url in [forge.fetch_url(&org, "repo"), forge.push_url(&org, "repo")] {
            assert_eq!(
                owner_from_remote(&url, forge.base_path()).as_deref(),
                Some(org.as_str()),
                "the owner of {url} (base path {:?})",
                forge.base_path()
            );
        }
    }
});

fn check_org(org: &str) {
    assert!(
        !org.contains('/') && SecretPath::parse(org).is_ok(),
        "org {org:?} accepted"
    );
}

fn check_error(error: &ConfigError, text: &str) {
    assert!(!error.to_string().is_empty());
    assert!(
        error.hint().is_some_and(|hint| !hint.is_empty()),
        "no hint: {error}"
    );
    if let ConfigError::Invalid { location, .. } = error {
        if let Some(line) = location.line {
            let lines = text.split('\n').count();
            assert!(
                line >= 1 && line <= lines,
                "line {line} of {lines}: {error}"
            );
        }
        if let Some(column) = location.column {
            assert!(column >= 1, "column {column}: {error}");
        }
    }
}
