//! `hyperforge auth grants`: the standing grants — which key may receive tokens for which scope
//! without a prompt, and until when.

use auth_hub_protocol::request::ListGrants;
use auth_hub_protocol::response::GrantInfo;
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::{json, Value};

use super::{report, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth grants`.
#[derive(Debug, Args)]
pub struct GrantsArgs {}

/// Runs `auth grants`.
///
/// # Errors
/// Not the owner key, no key, unreachable.
pub async fn run(ctx: &Context, _args: GrantsArgs) -> Result<(), CliError> {
    let grants = match report("hyperforge auth grants", Request::ListGrants(ListGrants {})).await? {
        Response::Grants(list) => list.grants,
        other => return Err(unexpected("list_grants", &other)),
    };
    if ctx.out.is_json() {
        ctx.out
            .json(&Value::Array(grants.iter().map(grant_json).collect()))
    } else if grants.is_empty() {
        output::note("no standing grants");
        Ok(())
    } else {
        ctx.out.line(&grants_table(&grants))
    }
}

/// One grant for `--json`.
pub(crate) fn grant_json(grant: &GrantInfo) -> Value {
    json!({
        "key": grant.key_name,
        "scope": grant.scope.as_str(),
        "permissions": grant.permissions.to_string(),
        "created_at": output::time_json(grant.created_at),
        "expires_at": output::opt_time_json(grant.expires_at),
    })
}

/// How long a grant lasts, for people.
pub(crate) fn until(grant: &GrantInfo) -> String {
    grant.expires_at.map_or_else(
        || "until revoked".to_owned(),
        |at| format!("until {}", output::time_human(at)),
    )
}

/// The grants for people.
fn grants_table(grants: &[GrantInfo]) -> String {
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|grant| {
            vec![
                grant.key_name.clone(),
                grant.scope.to_string(),
                grant.permissions.to_string(),
                output::time_human(grant.created_at),
                output::opt_time_human(grant.expires_at),
            ]
        })
        .collect();
    output::table(&["key", "scope", "perm", "granted", "expires"], &rows)
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::{Permissions, SecretScope};
    use chrono::DateTime;

    use super::*;

    #[test]
    fn grants_render() {
        let grant = GrantInfo {
            key_name: "owner".into(),
            scope: SecretScope::parse("github/alice/*").expect("valid scope"),
            permissions: Permissions::READ_WRITE,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            expires_at: None,
        };
        let json = grant_json(&grant);
        assert_eq!(json["scope"], "github/alice/*");
        assert_eq!(json["permissions"], "read+write");
        assert_eq!(json["expires_at"], Value::Null);
        assert_eq!(until(&grant), "until revoked");
        let table = grants_table(&[grant]);
        assert!(
            table.starts_with("key    scope           perm        granted"),
            "{table}"
        );
        assert!(table.trim_end().ends_with('-'), "{table}");
    }
}
