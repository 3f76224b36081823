//! Policy rules and the decision they give for one requested scope.
//!
//! Rules are tried in order and the first match wins. A rule matches a request when its scope
//! covers the requested scope, its permissions include the requested ones, and it names the
//! requesting key (a rule without `keys` applies to the owner key only). With no match the owner
//! key gets the policy's default and a service key is denied; a service key's own pre-granted
//! scopes and standing grants are checked by the caller before the policy is consulted.
//!
//! `[policy] declared` ([`DeclaredAction`]) sits between the rules and the default: with
//! `"allow"`, an owner-key read of a scope that a registered repository declares is allowed when
//! no rule matched (so an explicit `deny` or `prompt` rule still wins, and service keys are
//! unaffected).

use std::fmt;
use std::time::Duration;

use auth_hub_protocol::{Access, Permissions, SecretScope};
use serde::Deserialize;

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Issue a token at once.
    Allow,
    /// Refuse at once.
    Deny,
    /// Park the request until the owner approves or denies it, or the grant timeout ends it.
    Prompt,
}

impl Action {
    /// The name used in `config.toml`: `allow`, `deny` or `prompt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::Prompt => "prompt",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[policy] declared`: what the owner key gets for a scope a registered repository declares in
/// its `.hyperforge/config.toml` when no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredAction {
    /// Issue a token without a prompt (reads only; explicit rules still win).
    Allow,
    /// No special treatment: the policy's default applies.
    #[default]
    Prompt,
}

impl DeclaredAction {
    /// The name used in `config.toml`: `allow` or `prompt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Prompt => "prompt",
        }
    }
}

/// One `[[policy.rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The pattern; the rule applies to requested scopes it covers.
    pub scope: SecretScope,
    /// The keys the rule applies to; `None` means the owner key only.
    pub keys: Option<Vec<String>>,
    /// What to do on a match.
    pub action: Action,
    /// The rule matches only requests whose permissions these include.
    pub permissions: Permissions,
}

impl Rule {
    /// True when this rule applies to `wanted` (pattern and permissions) asked by `key_name`.
    pub fn matches(&self, key_name: &str, is_owner: bool, wanted: &Access) -> bool {
        let key_matches = match &self.keys {
            Some(keys) => keys.iter().any(|key| key == key_name),
            None => is_owner,
        };
        key_matches
            && self.permissions.includes(wanted.permissions)
            && self.scope.covers_scope(&wanted.scope)
    }
}

/// The `[policy]` table: default action, timeouts and ordered rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The action for the owner key when no rule matches.
    pub default: Action,
    /// How long a prompted request waits for the owner.
    pub grant_timeout: Duration,
    /// How long an access token lives.
    pub token_ttl: Duration,
    /// The rules, first match wins.
    pub rules: Vec<Rule>,
    /// What the owner key gets for a declared scope no rule matches.
    pub declared: DeclaredAction,
}

/// Default [`Policy::grant_timeout`]: one minute.
pub const DEFAULT_GRANT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`Policy::token_ttl`]: ten minutes.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(600);

impl Default for Policy {
    /// Prompt for everything, 60 s grant timeout, 10 min tokens, no rules.
    fn default() -> Self {
        Self {
            default: Action::Prompt,
            grant_timeout: DEFAULT_GRANT_TIMEOUT,
            token_ttl: DEFAULT_TOKEN_TTL,
            rules: Vec::new(),
            declared: DeclaredAction::Prompt,
        }
    }
}

/// The policy's answer for one requested scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyDecision {
    /// What to do.
    pub action: Action,
    /// The index of the rule that decided, or `None` for the fallback.
    pub rule: Option<usize>,
}

impl PolicyDecision {
    /// True when no rule matched and `[policy] declared = "allow"` allowed a declared scope.
    pub fn by_declared(&self, policy: &Policy) -> bool {
        self.rule.is_none()
            && self.action == Action::Allow
            && policy.declared == DeclaredAction::Allow
            && policy.default != Action::Allow
    }
}

impl Policy {
    /// Decides `wanted` for `key_name`, knowing whether a registered repository declares a scope
    /// covering it: the first matching rule's action; otherwise, for the owner key's read of a
    /// declared scope under `declared = "allow"`, [`Action::Allow`]; otherwise
    /// [`Policy::default`] for the owner key and [`Action::Deny`] for a service key.
    pub fn decide(
        &self,
        key_name: &str,
        is_owner: bool,
        wanted: &Access,
        declared: bool,
    ) -> PolicyDecision {
        if let Some(index) = self
            .rules
            .iter()
            .position(|rule| rule.matches(key_name, is_owner, wanted))
        {
            return PolicyDecision {
                action: self.rules[index].action,
                rule: Some(index),
            };
        }
        let action = if is_owner
            && declared
            && self.declared == DeclaredAction::Allow
            && Permissions::READ.includes(wanted.permissions)
        {
            Action::Allow
        } else if is_owner {
            self.default
        } else {
            Action::Deny
        };
        PolicyDecision { action, rule: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(pattern: &str, permissions: Permissions) -> Access {
        Access::new(
            SecretScope::parse(pattern).expect("valid test scope"),
            permissions,
        )
    }

    fn rule(pattern: &str, keys: Option<&[&str]>, action: Action, perms: Permissions) -> Rule {
        Rule {
            scope: scope(pattern, perms).scope,
            keys: keys.map(|keys| keys.iter().map(|k| (*k).to_owned()).collect()),
            action,
            permissions: perms,
        }
    }

    fn policy(default: Action, rules: Vec<Rule>) -> Policy {
        Policy {
            default,
            rules,
            ..Policy::default()
        }
    }

    const READ: Permissions = Permissions::READ;

    #[test]
    fn first_match_wins() {
        let policy = policy(
            Action::Prompt,
            vec![
                rule("github/acme/secret/*", None, Action::Deny, READ),
                rule("github/acme/*", None, Action::Allow, READ),
                rule("github/*", None, Action::Deny, READ),
            ],
        );
        let decide = |pattern| policy.decide("owner", true, &scope(pattern, READ), false);
        assert_eq!(
            decide("github/acme/secret/token"),
            PolicyDecision {
                action: Action::Deny,
                rule: Some(0)
            }
        );
        assert_eq!(
            decide("github/acme/token"),
            PolicyDecision {
                action: Action::Allow,
                rule: Some(1)
            }
        );
        assert_eq!(decide("github/acme/*").rule, Some(1));
        assert_eq!(decide("github/other/*").rule, Some(2));
        // `github/acme/*` does not cover the wider `github/*`; the third rule does.
        assert_eq!(decide("github/*").rule, Some(2));
        assert_eq!(
            decide("cargo/token"),
            PolicyDecision {
                action: Action::Prompt,
                rule: None
            }
        );
    }

    #[test]
    fn keys_select_who_a_rule_applies_to() {
        let policy = policy(
            Action::Allow,
            vec![
                rule("cargo/*", Some(&["ci", "release"]), Action::Allow, READ),
                rule("npm/*", None, Action::Deny, READ),
            ],
        );
        let cargo = scope("cargo/token", READ);
        let npm = scope("npm/token", READ);
        assert_eq!(
            policy.decide("ci", false, &cargo, false).action,
            Action::Allow
        );
        assert_eq!(policy.decide("release", false, &cargo, false).rule, Some(0));
        // A rule naming keys does not apply to the owner unless it is named.
        assert_eq!(
            policy.decide("owner", true, &cargo, false),
            PolicyDecision {
                action: Action::Allow,
                rule: None
            }
        );
        // A rule without keys applies to the owner only.
        assert_eq!(
            policy.decide("owner", true, &npm, false).action,
            Action::Deny
        );
        assert_eq!(
            policy.decide("ci", false, &npm, false),
            PolicyDecision {
                action: Action::Deny,
                rule: None
            }
        );
        assert_eq!(policy.decide("other", false, &cargo, false).rule, None);
    }

    #[test]
    fn permissions_must_include_the_request() {
        let policy = policy(
            Action::Prompt,
            vec![
                rule("npm/*", None, Action::Allow, READ),
                rule("npm/*", None, Action::Deny, Permissions::READ_WRITE),
            ],
        );
        let read = scope("npm/token", READ);
        let write = scope("npm/token", Permissions::WRITE);
        let both = scope("npm/token", Permissions::READ_WRITE);
        assert_eq!(policy.decide("owner", true, &read, false).rule, Some(0));
        assert_eq!(policy.decide("owner", true, &write, false).rule, Some(1));
        assert_eq!(policy.decide("owner", true, &both, false).rule, Some(1));
    }

    #[test]
    fn owner_falls_back_to_default_service_to_deny() {
        for default in [Action::Allow, Action::Deny, Action::Prompt] {
            let policy = policy(default, Vec::new());
            let wanted = scope("pypi/token", READ);
            assert_eq!(policy.decide("owner", true, &wanted, false).action, default);
            assert_eq!(
                policy.decide("ci", false, &wanted, false).action,
                Action::Deny
            );
        }
        assert_eq!(Action::Prompt.to_string(), "prompt");
    }

    #[test]
    fn declared_allow_fills_in_for_the_owner_only_and_rules_win() {
        let mut policy = policy(
            Action::Prompt,
            vec![
                rule("github/alice/secret/*", None, Action::Deny, READ),
                rule("gitlab/*", None, Action::Prompt, READ),
            ],
        );
        let token = scope("github/alice/token", READ);
        // `declared = "prompt"` (the default) changes nothing.
        assert_eq!(
            policy.decide("owner", true, &token, true).action,
            Action::Prompt
        );
        policy.declared = DeclaredAction::Allow;
        let decision = policy.decide("owner", true, &token, true);
        assert_eq!(decision.action, Action::Allow);
        assert!(decision.by_declared(&policy));
        // Not declared, a service key, or a write: the usual answer.
        assert_eq!(
            policy.decide("owner", true, &token, false).action,
            Action::Prompt
        );
        assert_eq!(
            policy.decide("ci", false, &token, true).action,
            Action::Deny
        );
        let write = scope("github/alice/token", Permissions::READ_WRITE);
        assert_eq!(
            policy.decide("owner", true, &write, true).action,
            Action::Prompt
        );
        // Explicit rules still win.
        let denied = scope("github/alice/secret/token", READ);
        assert_eq!(
            policy.decide("owner", true, &denied, true).action,
            Action::Deny
        );
        let prompted = scope("gitlab/alice/token", READ);
        assert_eq!(
            policy.decide("owner", true, &prompted, true),
            PolicyDecision {
                action: Action::Prompt,
                rule: Some(1)
            }
        );
        assert_eq!(DeclaredAction::Allow.as_str(), "allow");
    }
}
