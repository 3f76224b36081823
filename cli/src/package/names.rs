//! Package names as each registry accepts them, checked when a manifest is read so that a name
//! always forms a valid token path and a valid tag: Cargo `[A-Za-z0-9_-]`, npm lowercase with an
//! optional `@scope/`, PyPI the PEP 508 name; and PEP 503's normalized form PyPI compares by.

use super::Ecosystem;

/// Longest crate name crates.io accepts.
const MAX_CARGO: usize = 64;
/// Longest npm name (scope included) the npm registry accepts.
const MAX_NPM: usize = 214;
/// Longest PyPI name accepted here (PyPI itself has no documented limit; this keeps the name
/// within a tag and a message).
const MAX_PYPI: usize = 128;

/// Why `name` is not a valid package name of `ecosystem`, or `None` when it is.
pub(crate) fn invalid_reason(ecosystem: Ecosystem, name: &str) -> Option<String> {
    match ecosystem {
        Ecosystem::Cargo => cargo(name),
        Ecosystem::Npm => npm(name),
        Ecosystem::Pypi => pypi(name),
    }
}

fn cargo(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_CARGO {
        return Some(format!("a crate name has 1 to {MAX_CARGO} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    {
        return Some("a crate name may hold only the letters A-Z a-z, digits, `_` and `-`".into());
    }
    None
}

fn npm(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_NPM {
        return Some(format!("an npm name has 1 to {MAX_NPM} characters"));
    }
    let rule = "an npm name is lowercase letters, digits and `-._`, not starting with `.` or `_`, with an optional `@scope/` of the same";
    let part_ok = |part: &str| {
        !part.is_empty()
            && !part.starts_with(['.', '_'])
            && part.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_')
            })
    };
    let ok = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, rest)| part_ok(scope) && part_ok(rest)),
        None => part_ok(name),
    };
    (!ok).then(|| rule.to_owned())
}

fn pypi(name: &str) -> Option<String> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = name.len() <= MAX_PYPI
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    (!ok).then(|| {
        format!("a PyPI name (PEP 508) is letters, digits and `._-`, starting and ending with a letter or digit, at most {MAX_PYPI} characters")
    })
}

/// PEP 503's normalized name: lowercase, every run of `-`, `_`, `.` one `-`.
pub(crate) fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// The name a dependency of `ecosystem` is compared by: PEP 503 for PyPI, as written otherwise.
pub(crate) fn comparable(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::Pypi => pep503(name),
        Ecosystem::Cargo | Ecosystem::Npm => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_names() {
        for good in ["wa", "serde_json", "a-b", "X1"] {
            assert_eq!(invalid_reason(Ecosystem::Cargo, good), None, "{good}");
        }
        for bad in ["", "a b", "a.b", "a/b", "é", &"a".repeat(65)] {
            assert!(invalid_reason(Ecosystem::Cargo, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn npm_names() {
        for good in ["wa", "@acme/x", "a.b-c_d", "@a-b/c.d"] {
            assert_eq!(invalid_reason(Ecosystem::Npm, good), None, "{good}");
        }
        for bad in [
            "",
            "Wa",
            "@acme",
            "@acme/",
            "@/x",
            ".x",
            "_x",
            "@acme/x/y",
            "a b",
            "a~b",
            "@Acme/x",
        ] {
            assert!(invalid_reason(Ecosystem::Npm, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn pypi_names() {
        for good in ["wa", "Django", "zope.interface", "a_b-c", "x"] {
            assert_eq!(invalid_reason(Ecosystem::Pypi, good), None, "{good}");
        }
        for bad in ["", "-a", "a-", ".a", "a b", "a/b", "a+b"] {
            assert!(invalid_reason(Ecosystem::Pypi, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn pep503_normalizes() {
        assert_eq!(pep503("Zope.Interface"), "zope-interface");
        assert_eq!(pep503("a__b-.c"), "a-b-c");
        assert_eq!(comparable(Ecosystem::Pypi, "My_Pkg"), "my-pkg");
        assert_eq!(comparable(Ecosystem::Cargo, "My_Pkg"), "My_Pkg");
    }
}
