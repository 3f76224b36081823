//! Fuzz target `secret_path`: secret paths and scope patterns from arbitrary text.
//!
//! Input: UTF-8 text, split at the first newline into a path-ish part and a scope-ish part (so a
//! run explores pairs). Checks that:
//! - parsing never panics, and `parse(display(x)) == x` for paths and scopes;
//! - a path's parent scope parses, is a wildcard, covers the path, and every scope that covers
//!   the parent scope covers the path too;
//! - `covers_path` and `covers_scope` agree: a scope covers a path exactly when it covers the
//!   exact scope naming that path; `*` covers everything; every scope covers itself;
//! - a wildcard `p/*` covers `p/x` for any valid segment `x`, and never `p` itself.

#![no_main]

use auth_hub_protocol::{SecretPath, SecretScope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, second) = text.split_once('\n').unwrap_or((text, text));

    let path = SecretPath::parse(first).ok();
    let scope = SecretScope::parse(second).ok();
    // Also both readings of each half, so a valid text of either kind is checked as both.
    let _ = SecretScope::parse(first);
    let _ = SecretPath::parse(second);

    if let Some(path) = &path {
        check_path(path);
    }
    if let Some(scope) = &scope {
        check_scope(scope);
    }
    if let (Some(path), Some(scope)) = (&path, &scope) {
        let exact = SecretScope::parse(path.as_str()).expect("a valid path is a valid exact scope");
        assert_eq!(scope.covers_path(path), scope.covers_scope(&exact));
        if scope.covers_scope(&path.parent_scope()) {
            assert!(
                scope.covers_path(path),
                "{scope:?} covers the parent of {path:?}"
            );
        }
        if scope.covers_path(path) {
            assert!(
                path.starts_with_segments(scope.prefix()),
                "{scope:?} covers {path:?} which does not start with its prefix"
            );
        }
    }
});

fn check_path(path: &SecretPath) {
    let reparsed = SecretPath::parse(&path.to_string()).expect("a displayed path parses");
    assert_eq!(&reparsed, path);
    assert_eq!(path.segments().collect::<Vec<_>>().join("/"), path.as_str());
    assert!(path.starts_with_segments(""));
    assert!(path.starts_with_segments(path.as_str()));

    let parent = path.parent_scope();
    let reparsed = SecretScope::parse(&parent.to_string()).expect("a parent scope parses");
    assert_eq!(reparsed, parent);
    assert!(parent.is_wildcard());
    assert!(
        parent.covers_path(path),
        "{parent:?} does not cover {path:?}"
    );
    assert!(SecretScope::everything().covers_path(path));
    assert!(SecretScope::everything().covers_scope(&parent));

    let exact = SecretScope::parse(path.as_str()).expect("a valid path is a valid exact scope");
    assert!(!exact.is_wildcard());
    assert!(exact.covers_path(path));
    assert!(parent.covers_scope(&exact));
    assert!(!exact.covers_scope(&parent));
}

fn check_scope(scope: &SecretScope) {
    let reparsed = SecretScope::parse(&scope.to_string()).expect("a displayed scope parses");
    assert_eq!(&reparsed, scope);
    assert!(scope.covers_scope(scope), "{scope:?} does not cover itself");
    assert!(SecretScope::everything().covers_scope(scope));
    if !scope.is_wildcard() {
        let path = SecretPath::parse(scope.as_str()).expect("an exact scope is a valid path");
        assert!(scope.covers_path(&path));
        return;
    }
    let prefix = scope.prefix();
    if prefix.is_empty() {
        return;
    }
    let below = format!("{prefix}/x");
    if let Ok(below) = SecretPath::parse(&below) {
        assert!(
            scope.covers_path(&below),
            "{scope:?} does not cover {below:?}"
        );
        assert_eq!(below.parent_scope(), *scope);
    }
    let itself = SecretPath::parse(prefix).expect("a wildcard's prefix is a valid path");
    assert!(
        !scope.covers_path(&itself),
        "{scope:?} covers its own prefix"
    );
}
