//! Commands printed for people to run: every argument shell-quoted, so a hint pasted into bash or
//! zsh runs as printed (`hyperforge auth grant 'github/alice/*'`, never a `*` the shell expands to
//! file names). The hub's `denied` replies carry [`grant_command_for`]'s text, and the CLI builds
//! its hints with the same functions, so both print the same command.

use std::borrow::Cow;

use crate::Permissions;

/// The flag `hyperforge auth grant` and `revoke` need for the scope `*` (every secret), which is
/// never accepted as a bare argument.
pub const ALL_SCOPES_FLAG: &str = "--all-scopes";

/// `arg` as one POSIX shell word: unchanged when it holds only characters no shell treats
/// specially, else in single quotes (a `'` inside becomes `'\''`).
///
/// ```
/// use auth_hub_protocol::command::shell_quote;
/// assert_eq!(shell_quote("github/alice/token"), "github/alice/token");
/// assert_eq!(shell_quote("github/alice/*"), "'github/alice/*'");
/// assert_eq!(shell_quote("it's"), r"'it'\''s'");
/// assert_eq!(shell_quote(""), "''");
/// ```
pub fn shell_quote(arg: &str) -> Cow<'_, str> {
    let plain = !arg.is_empty()
        && !arg.starts_with('~')
        && arg.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '/' | '.' | '_' | '-' | '@' | '%' | '+' | '=' | ':' | ',')
        });
    if plain {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
    }
}

/// `args` as one shell command line, each argument quoted by [`shell_quote`].
///
/// ```
/// use auth_hub_protocol::command::command_line;
/// assert_eq!(command_line(["hyperforge", "auth", "revoke", "a/*"]), "hyperforge auth revoke 'a/*'");
/// ```
pub fn command_line<'a>(args: impl IntoIterator<Item = &'a str>) -> String {
    args.into_iter()
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scope argument(s) of `hyperforge auth grant` / `revoke`: `--all-scopes` for `*`, else the
/// scope itself.
pub fn scope_args(scope: &str) -> &str {
    if scope == "*" {
        ALL_SCOPES_FLAG
    } else {
        scope
    }
}

/// The command an owner runs to grant `scope` for reading to the owner key.
///
/// ```
/// use auth_hub_protocol::grant_command;
/// assert_eq!(grant_command("github/alice/*"), "hyperforge auth grant 'github/alice/*'");
/// assert_eq!(grant_command("*"), "hyperforge auth grant --all-scopes");
/// ```
pub fn grant_command(scope: &str) -> String {
    grant_command_for(scope, Permissions::READ, None)
}

/// The command an owner runs to grant `scope` with `permissions` (`--write` when write is
/// needed), to the service key `key` when given (`--key NAME`; without it a grant goes to the
/// owner key).
///
/// ```
/// use auth_hub_protocol::{command::grant_command_for, Permissions};
/// assert_eq!(
///     grant_command_for("pypi/*", Permissions::WRITE, Some("ci")),
///     "hyperforge auth grant 'pypi/*' --write --key ci"
/// );
/// ```
pub fn grant_command_for(scope: &str, permissions: Permissions, key: Option<&str>) -> String {
    let mut args = vec!["hyperforge", "auth", "grant", scope_args(scope)];
    if permissions.write {
        args.push("--write");
    }
    if let Some(key) = key {
        args.extend(["--key", key]);
    }
    command_line(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_plain() {
        for word in [
            "hyperforge",
            "github/alice/token",
            "npm/@acme-corp/token",
            "ci.key_2",
            "--write",
            "a=b,c:d+e%f",
        ] {
            assert_eq!(shell_quote(word), word);
        }
    }

    #[test]
    fn metacharacters_are_quoted() {
        for (word, quoted) in [
            ("*", "'*'"),
            ("github/alice/*", "'github/alice/*'"),
            ("a b", "'a b'"),
            ("$HOME", "'$HOME'"),
            ("~/x", "'~/x'"),
            ("a;rm -rf /", "'a;rm -rf /'"),
            ("`x`", "'`x`'"),
            ("a\nb", "'a\nb'"),
            ("?", "'?'"),
            ("[ab]", "'[ab]'"),
            ("{a,b}", "'{a,b}'"),
            ("!x", "'!x'"),
            ("it's", r"'it'\''s'"),
            ("", "''"),
        ] {
            assert_eq!(shell_quote(word), quoted, "{word:?}");
        }
    }

    #[test]
    fn quoted_words_survive_a_real_shell() {
        // The property that matters: sh reads the printed word back as the original argument.
        let words = ["github/alice/*", "it's", "a b", "$HOME", "*", ""];
        let line = command_line(["printf", "%s\\n"].into_iter().chain(words));
        let Ok(output) = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .current_dir(std::env::temp_dir())
            .output()
        else {
            return; // no sh on this machine: the table tests above still hold
        };
        let printed = String::from_utf8_lossy(&output.stdout);
        let expected: String = words.iter().map(|word| format!("{word}\n")).collect();
        assert_eq!(printed, expected, "{line}");
    }

    #[test]
    fn grant_commands() {
        assert_eq!(
            grant_command("github/alice/*"),
            "hyperforge auth grant 'github/alice/*'"
        );
        assert_eq!(
            grant_command("github/alice/token"),
            "hyperforge auth grant github/alice/token"
        );
        assert_eq!(grant_command("*"), "hyperforge auth grant --all-scopes");
        assert_eq!(
            grant_command_for("cargo/*", Permissions::READ_WRITE, None),
            "hyperforge auth grant 'cargo/*' --write"
        );
        assert_eq!(
            grant_command_for("cargo/*", Permissions::READ, Some("ci")),
            "hyperforge auth grant 'cargo/*' --key ci"
        );
    }
}
