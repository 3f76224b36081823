//! Versions as the three ecosystems write them for a release (`MAJOR.MINOR.PATCH`, with an
//! optional pre-release or local suffix kept as written) and the `--bump` argument.
//!
//! Only three-part versions are accepted: PEP 440 allows `1.2` (and `1.2.3.4`), but a release
//! bump needs a patch number to move, so `1.2` is refused with the hint to write `1.2.0`.
//!
//! Bumping follows semver (and `npm version`): `patch`, `minor` and `major` drop the suffix, and
//! a pre-release is released rather than skipped, so `1.3.0-rc.1` → `patch` → `1.3.0` (and
//! `minor` gives `1.3.0` too, `major` gives `2.0.0`); the PEP 440 pre-releases `1.3.0rc1`,
//! `1.3.0a1`, `1.3.0.dev0` count as pre-releases the same way. Any other suffix (`+build`,
//! `.post1`) is dropped and the number moves on: `1.2.3+build` → `patch` → `1.2.4`.

use std::fmt;
use std::str::FromStr;

/// A release version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    /// Whatever follows `MAJOR.MINOR.PATCH` as written (`-rc.1`, `+build`, `rc1`), or empty.
    pub suffix: String,
}

/// A version or `--bump` value that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VersionError(pub String);

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_version(text)
    }
}

/// Longest version accepted, in bytes: longer than any version a registry takes.
const MAX_LEN: usize = 64;

/// The version grammar, for messages.
const GRAMMAR: &str =
    "MAJOR.MINOR.PATCH with an optional suffix such as -rc.1, +build, rc1, .post1";

fn parse_version(text: &str) -> Result<Version, VersionError> {
    let fail = |why: String| {
        Err(VersionError(format!(
            "invalid version `{}`: {why}",
            shown(text)
        )))
    };
    if text.is_empty() {
        return Err(VersionError(format!(
            "the version is empty (expected {GRAMMAR})"
        )));
    }
    if text.len() > MAX_LEN {
        return fail(format!("longer than {MAX_LEN} characters"));
    }
    if text.starts_with(['v', 'V']) {
        return fail(format!(
            "write it without the `v` (e.g. `{}`)",
            shown(&text[1..])
        ));
    }
    let mut numbers = [0u64; 3];
    let mut rest = text;
    for (index, number) in numbers.iter_mut().enumerate() {
        let part = ["major", "minor", "patch"][index];
        if index > 0 {
            match rest.strip_prefix('.') {
                Some(after) => rest = after,
                None if index == 2 && rest.is_empty() => {
                    return fail(format!(
                        "a release version has three numbers; write `{text}.0`"
                    ))
                }
                None if rest.is_empty() => {
                    return fail(format!("the {part} number is missing (expected {GRAMMAR})"))
                }
                None => return fail(format!("expected {GRAMMAR}")),
            }
        }
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return fail(format!("the {part} number is missing (expected {GRAMMAR})"));
        }
        let (written, after) = rest.split_at(digits);
        if written.len() > 1 && written.starts_with('0') {
            return fail(format!("the {part} number `{written}` has a leading zero"));
        }
        *number = written.parse().map_err(|_| {
            VersionError(format!(
                "invalid version `{}`: the {part} number is too large",
                shown(text)
            ))
        })?;
        rest = after;
    }
    if let Err(why) = check_suffix(rest) {
        return fail(why);
    }
    Ok(Version {
        major: numbers[0],
        minor: numbers[1],
        patch: numbers[2],
        suffix: rest.to_owned(),
    })
}

/// A suffix: empty, or `-pre`, `+build`, `.post1`, `rc1`… made of ASCII letters, digits and
/// `. - + _`, with no empty dot-separated part, at most one `+`, and ending in a letter or digit.
fn check_suffix(suffix: &str) -> Result<(), String> {
    let Some(first) = suffix.chars().next() else {
        return Ok(());
    };
    if first == '.' && suffix[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a release version has three numbers (MAJOR.MINOR.PATCH), not four".to_owned());
    }
    if !(first.is_ascii_alphabetic() || matches!(first, '-' | '+' | '.' | '_')) {
        return Err(format!(
            "unexpected `{}` after the patch number",
            first.escape_default()
        ));
    }
    if let Some(bad) = suffix
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_')))
    {
        return Err(format!(
            "the suffix `{}` may hold letters, digits and `.-+_`, not `{}`",
            suffix.escape_default(),
            bad.escape_default()
        ));
    }
    if suffix.matches('+').count() > 1 {
        return Err(format!("the suffix `{suffix}` has more than one `+`"));
    }
    if !suffix.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "the suffix `{suffix}` ends in `{}`",
            &suffix[suffix.len() - 1..]
        ));
    }
    let body = suffix.strip_prefix(['-', '+', '.', '_']).unwrap_or(suffix);
    if body.split(['.', '+']).any(str::is_empty) {
        return Err(format!("the suffix `{suffix}` has an empty part"));
    }
    Ok(())
}

/// `text` for a message: at most [`MAX_LEN`] characters, control characters escaped.
fn shown(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(MAX_LEN)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > MAX_LEN {
        shown.push('…');
    }
    shown
}

impl Version {
    /// The pre-release part, when the suffix is one: semver `-rc.1` (without any `+build`), or a
    /// PEP 440 `a1`, `b2`, `rc1`, `.dev0` (and their long spellings).
    fn pre_release(&self) -> Option<&str> {
        let suffix = self.suffix.split('+').next().unwrap_or_default();
        if let Some(pre) = suffix.strip_prefix('-') {
            return Some(pre);
        }
        let lower = suffix.trim_start_matches(['.', '_']).to_ascii_lowercase();
        let pep440 = [
            "alpha", "beta", "preview", "pre", "rc", "dev", "a", "b", "c",
        ];
        pep440
            .iter()
            .any(|tag| lower.starts_with(tag))
            .then_some(suffix)
    }

    fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    /// The same numbers without a suffix.
    fn release(&self) -> Self {
        Self {
            suffix: String::new(),
            ..self.clone()
        }
    }

    /// True when `self` is a later release than `other`: a greater `MAJOR.MINOR.PATCH`; or, for
    /// the same numbers, `other` a pre-release and `self` the release, or both semver
    /// pre-releases compared as semver does. Anything else with the same numbers (PEP 440
    /// suffixes against each other, build metadata) is not known to be later.
    pub fn is_later_than(&self, other: &Self) -> bool {
        use std::cmp::Ordering;
        match self.triple().cmp(&other.triple()) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => match (self.pre_release(), other.pre_release()) {
                (None, Some(_)) => self.suffix.is_empty() || self.suffix.starts_with('+'),
                (Some(new), Some(old))
                    if self.suffix.starts_with('-') && other.suffix.starts_with('-') =>
                {
                    semver_pre_cmp(new, old) == Ordering::Greater
                }
                _ => false,
            },
        }
    }
}

/// Semver's precedence of two pre-release strings (`rc.1` vs `rc.2`): identifiers compared one
/// by one, numeric ones as numbers and below alphanumeric ones, a shorter list first.
fn semver_pre_cmp(left: &str, right: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let mut left_parts = left.split('.');
    let mut right_parts = right.split('.');
    loop {
        match (left_parts.next(), right_parts.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(l), Some(r)) => {
                let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                let order = match (numeric(l), numeric(r)) {
                    // Longer digit strings (without leading zeros) are larger; u64 may not fit.
                    (true, true) => l
                        .trim_start_matches('0')
                        .len()
                        .cmp(&r.trim_start_matches('0').len())
                        .then_with(|| l.trim_start_matches('0').cmp(r.trim_start_matches('0'))),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => l.cmp(r),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}{}",
            self.major, self.minor, self.patch, self.suffix
        )
    }
}

/// `--bump patch|minor|major|X.Y.Z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bump {
    /// `1.2.3` → `1.2.4`.
    Patch,
    /// `1.2.3` → `1.3.0`.
    Minor,
    /// `1.2.3` → `2.0.0`.
    Major,
    /// Exactly this version, which must be greater than the current one.
    Exact(Version),
}

impl FromStr for Bump {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "patch" => Ok(Self::Patch),
            "minor" => Ok(Self::Minor),
            "major" => Ok(Self::Major),
            other if other.starts_with(|c: char| c.is_ascii_digit()) => {
                other.parse().map(Self::Exact)
            }
            other => Err(VersionError(format!(
                "invalid bump `{}`: expected patch, minor, major or a version such as 1.2.3",
                shown(other)
            ))),
        }
    }
}

impl Bump {
    /// The version after `current`.
    ///
    /// # Errors
    /// An exact version that is not greater than `current`.
    pub fn apply(&self, current: &Version) -> Result<Version, VersionError> {
        let overflow = || {
            VersionError(format!(
                "version {current} cannot be bumped: a number is too large"
            ))
        };
        let pre = current.pre_release().is_some();
        let next = match self {
            Self::Patch if pre => current.release(),
            Self::Patch => Version {
                patch: current.patch.checked_add(1).ok_or_else(overflow)?,
                ..current.release()
            },
            Self::Minor if pre && current.patch == 0 => current.release(),
            Self::Minor => Version {
                minor: current.minor.checked_add(1).ok_or_else(overflow)?,
                patch: 0,
                ..current.release()
            },
            Self::Major if pre && current.minor == 0 && current.patch == 0 => current.release(),
            Self::Major => Version {
                major: current.major.checked_add(1).ok_or_else(overflow)?,
                minor: 0,
                patch: 0,
                suffix: String::new(),
            },
            Self::Exact(version) => {
                if !version.is_later_than(current) {
                    return Err(VersionError(format!(
                        "version {version} is not later than the current version {current}"
                    )));
                }
                version.clone()
            }
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        text.parse::<Version>().expect_err(text).to_string()
    }

    #[test]
    fn parses_three_numbers_and_keeps_the_suffix_verbatim() {
        let version = v("1.22.333");
        assert_eq!((version.major, version.minor, version.patch), (1, 22, 333));
        assert_eq!(version.suffix, "");
        for (text, suffix) in [
            ("1.0.0-rc.1", "-rc.1"),
            ("1.0.0+build.5", "+build.5"),
            ("1.0.0-alpha-1+sha.abc", "-alpha-1+sha.abc"),
            ("1.0.0rc1", "rc1"),
            ("1.0.0a1", "a1"),
            ("1.0.0.post1", ".post1"),
            ("1.0.0.dev0", ".dev0"),
            ("0.0.0", ""),
        ] {
            let version = v(text);
            assert_eq!(version.suffix, suffix, "{text}");
            assert_eq!(version.to_string(), text);
        }
        let max = format!("{}.0.0", u64::MAX);
        assert_eq!(v(&max).major, u64::MAX);
    }

    #[test]
    fn refuses_with_a_precise_reason() {
        assert!(err("1.2").contains("write `1.2.0`"), "{}", err("1.2"));
        assert!(err("1").contains("minor number is missing"), "{}", err("1"));
        assert!(err("1.2.3.4").contains("not four"), "{}", err("1.2.3.4"));
        assert!(err("01.2.3").contains("leading zero"), "{}", err("01.2.3"));
        assert!(err("1.02.3").contains("minor number `02`"));
        assert!(err("v1.2.3").contains("without the `v`"));
        assert!(err("").contains("empty"));
        assert!(err("1.2.x").contains("patch number is missing"));
        assert!(err("18446744073709551616.0.0").contains("too large"));
        assert!(err(&format!("1.0.0-{}", "a".repeat(80))).contains("longer than 64"));
        assert!(err("1.0.0-").contains("ends in `-`"));
        assert!(err("1.0.0-rc..1").contains("empty part"));
        assert!(err("1.0.0-.rc").contains("empty part"));
        assert!(err("1.0.0+a+b").contains("more than one `+`"));
        assert!(
            err("1.0.0 ").contains("unexpected ` `"),
            "{}",
            err("1.0.0 ")
        );
        assert!(err("1.0.0-a/x").contains("not `/`"));
        assert!(err("1.0.0\n").contains("\\n"), "{}", err("1.0.0\n"));
        assert!(err(" 1.0.0").contains("major number is missing"));
    }

    #[test]
    fn bump_arguments() {
        assert_eq!("patch".parse(), Ok(Bump::Patch));
        assert_eq!("minor".parse(), Ok(Bump::Minor));
        assert_eq!("major".parse(), Ok(Bump::Major));
        assert_eq!("2.0.0-rc.1".parse(), Ok(Bump::Exact(v("2.0.0-rc.1"))));
        let error = "Patch".parse::<Bump>().expect_err("capitalized");
        assert!(error.to_string().contains("patch, minor, major"), "{error}");
        assert!("1.2".parse::<Bump>().is_err());
    }

    #[test]
    fn bumps_drop_the_suffix_and_release_a_pre_release() {
        let cases = [
            ("1.2.3", Bump::Patch, "1.2.4"),
            ("1.2.3", Bump::Minor, "1.3.0"),
            ("1.2.3", Bump::Major, "2.0.0"),
            ("0.1.9", Bump::Patch, "0.1.10"),
            ("1.3.0-rc.1", Bump::Patch, "1.3.0"),
            ("1.3.0-rc.1", Bump::Minor, "1.3.0"),
            ("1.3.0-rc.1", Bump::Major, "2.0.0"),
            ("2.0.0-beta", Bump::Major, "2.0.0"),
            ("1.3.1-rc.1", Bump::Minor, "1.4.0"),
            ("1.3.0rc1", Bump::Patch, "1.3.0"),
            ("1.3.0.dev0", Bump::Patch, "1.3.0"),
            ("1.2.3+build", Bump::Patch, "1.2.4"),
            ("1.2.3.post1", Bump::Patch, "1.2.4"),
        ];
        for (current, bump, expected) in cases {
            assert_eq!(
                bump.apply(&v(current)).expect("applies").to_string(),
                expected,
                "{current} {bump:?}"
            );
        }
        let top = v(&format!("1.2.{}", u64::MAX));
        assert!(Bump::Patch
            .apply(&top)
            .expect_err("overflow")
            .to_string()
            .contains("too large"));
    }

    #[test]
    fn an_exact_version_must_be_later() {
        let ok = |current: &str, new: &str| Bump::Exact(v(new)).apply(&v(current));
        for (current, new) in [
            ("1.2.3", "1.2.4"),
            ("1.2.3", "1.10.0"),
            ("1.2.3", "2.0.0-rc.1"),
            ("1.3.0-rc.1", "1.3.0"),
            ("1.3.0-rc.1", "1.3.0-rc.2"),
            ("1.3.0-rc.9", "1.3.0-rc.10"),
            ("1.3.0-alpha", "1.3.0-beta"),
            ("1.3.0-rc.1", "1.3.0-rc.1.1"),
            ("1.3.0-1", "1.3.0-alpha"),
            ("1.3.0rc1", "1.3.0"),
        ] {
            assert_eq!(ok(current, new), Ok(v(new)), "{current} → {new}");
        }
        for (current, new) in [
            ("1.2.3", "1.2.3"),
            ("1.2.3", "1.2.2"),
            ("1.2.3", "0.9.9"),
            ("1.2.3", "1.2.3-rc.1"),
            ("1.3.0-rc.2", "1.3.0-rc.1"),
            ("1.3.0", "1.3.0+build"),
            ("1.3.0rc1", "1.3.0rc2"),
            ("1.3.0.post1", "1.3.0.post2"),
        ] {
            let error = ok(current, new).expect_err(new);
            assert_eq!(
                error.to_string(),
                format!("version {new} is not later than the current version {current}")
            );
        }
    }
}
