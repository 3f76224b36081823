//! Fuzz target `remote_url`: git remote URLs as `git remote get-url` may print them, and forge
//! base URLs as a config may give them.
//!
//! Input: UTF-8 text; before the first NUL it is the URL, after it a forge URL's base path
//! (default empty). Checks that:
//! - [`RemoteUrl::parse`], [`owner_from_remote`] and [`normalize_url`] never panic;
//! - a parsed remote has a non-empty host and only non-empty segments without `/`;
//! - an owner is always one valid secret path segment (never a `~user`), or `None`, and only
//!   when the URL parses;
//! - [`normalize_url`] is idempotent.
//!
//! Found here and fixed: `normalize_url` accepted hosts with characters no host has (`:` outside
//! brackets, `'`, non-ASCII) and an empty port, and was then not idempotent (`http://a:b:` gave
//! `http://a:b`, which it refused). The inputs are in `fuzz/regressions/remote_url/` and a unit
//! test of `cli/src/forge/mod.rs`.

#![no_main]

use auth_hub_protocol::SecretPath;
use hyperforge::forge::normalize_url;
use hyperforge::org::{owner_from_remote, RemoteUrl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (url, base_path) = text.split_once('\0').unwrap_or((text, ""));

    let remote = RemoteUrl::parse(url);
    if let Some(remote) = &remote {
        assert!(!remote.host.is_empty(), "empty host in {remote:?}");
        for segment in &remote.segments {
            assert!(
                !segment.is_empty() && !segment.contains('/'),
                "segment {segment:?}"
            );
        }
    }
    for base in [base_path, ""] {
        if let Some(owner) = owner_from_remote(url, base) {
            assert!(remote.is_some(), "an owner from an unparsable url {url:?}");
            assert!(
                !owner.contains('/')
                    && !owner.starts_with('~')
                    && SecretPath::parse(&owner).is_ok(),
                "owner {owner:?} of {url:?} is not a path segment"
            );
        }
    }

    if let Ok(normal) = normalize_url(url) {
        assert_eq!(
            normalize_url(&normal).as_ref(),
            Ok(&normal),
            "normalize_url is not idempotent"
        );
    }
});
