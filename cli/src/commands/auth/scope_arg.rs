//! The SCOPE argument of `grant` and `revoke`, with `--all-scopes` for the scope `*`: granting
//! or revoking every secret at once is said explicitly, never typed by accident as a bare `*`
//! (which an unquoted shell would expand to file names anyway).

use auth_hub_protocol::command::{command_line, scope_args, ALL_SCOPES_FLAG};
use auth_hub_protocol::SecretScope;
use clap::Args;

use crate::error::CliError;

/// What `*` covers, said wherever it is granted or revoked.
pub(crate) const EVERYTHING: &str = "every secret in the hub, present and future";

/// A scope, or `--all-scopes`.
#[derive(Debug, Args)]
pub struct ScopeArg {
    /// The scope, such as 'github/alice/*' (quote it, so the shell leaves the * alone), or an
    /// exact path.
    #[arg(value_name = "SCOPE", required_unless_present = "all_scopes")]
    pub scope: Option<SecretScope>,
    /// Every secret in the hub, present and future (the scope `*`), instead of a SCOPE.
    #[arg(long, conflicts_with = "scope")]
    pub all_scopes: bool,
}

impl ScopeArg {
    /// The scope asked for; `verb` (`grant`, `revoke`) names the command in the error.
    ///
    /// # Errors
    /// A usage error (exit 2) for a bare `*`, saying what it covers and which flag says so.
    pub fn resolve(&self, verb: &str) -> Result<SecretScope, CliError> {
        match &self.scope {
            _ if self.all_scopes => Ok(SecretScope::everything()),
            Some(scope) if scope.as_str() == "*" => Err(CliError::usage(format!(
                "the scope * is {EVERYTHING}; to {verb} all of it, say so with {ALL_SCOPES_FLAG}"
            ))
            .with_hint(format!(
                "run: {}",
                command_line(["hyperforge", "auth", verb, ALL_SCOPES_FLAG])
            ))),
            Some(scope) => Ok(scope.clone()),
            None => Err(CliError::usage(format!(
                "name a scope to {verb}, or pass {ALL_SCOPES_FLAG}"
            ))),
        }
    }
}

/// `hyperforge auth VERB SCOPE` as the owner would type it, for the request's reason and notes.
pub(crate) fn command(verb: &str, scope: &SecretScope) -> String {
    command_line(["hyperforge", "auth", verb, scope_args(scope.as_str())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(scope: Option<&str>, all_scopes: bool) -> ScopeArg {
        ScopeArg {
            scope: scope.map(|scope| SecretScope::parse(scope).expect("valid scope")),
            all_scopes,
        }
    }

    #[test]
    fn a_bare_star_needs_the_flag() {
        let error = arg(Some("*"), false).resolve("grant").unwrap_err();
        assert_eq!(error.kind().exit_code(), 2);
        assert!(error.message().contains(EVERYTHING), "{}", error.message());
        assert_eq!(
            error.hint(),
            Some("run: hyperforge auth grant --all-scopes")
        );
        let everything = arg(None, true).resolve("revoke").expect("flag given");
        assert_eq!(everything.as_str(), "*");
        assert_eq!(
            arg(Some("github/alice/*"), false)
                .resolve("grant")
                .expect("a scope")
                .as_str(),
            "github/alice/*"
        );
    }

    #[test]
    fn commands_quote_the_scope() {
        let scope = SecretScope::parse("github/alice/*").expect("valid scope");
        assert_eq!(
            command("revoke", &scope),
            "hyperforge auth revoke 'github/alice/*'"
        );
        assert_eq!(
            command("grant", &SecretScope::everything()),
            "hyperforge auth grant --all-scopes"
        );
    }
}
