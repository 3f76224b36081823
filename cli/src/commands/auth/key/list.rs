//! `hyperforge auth key list` (or `key ls`): the live and expired keys with their scopes —
//! never a token; `--all` adds the revoked ones (soft-deleted, kept for the audit trail) with
//! when and by whom they were revoked.

use auth_hub_protocol::request::ListKeys;
use auth_hub_protocol::response::KeyInfo;
use auth_hub_protocol::{Request, Response};
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;

use super::{key_json, key_state};
use crate::commands::auth::provider::actor_human;
use crate::commands::auth::{report, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth key list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also list revoked keys, with revoked_at and revoked_by.
    #[arg(long)]
    pub all: bool,
}

/// Runs `auth key list`.
///
/// # Errors
/// Not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let keys = match report("hyperforge auth key list", Request::ListKeys(ListKeys {})).await? {
        Response::Keys(list) => list.keys,
        other => return Err(unexpected("list_keys", &other)),
    };
    // The hub sends every record; revoked ones are shown on request.
    let keys: Vec<KeyInfo> = keys
        .into_iter()
        .filter(|info| args.all || info.revoked_at.is_none())
        .collect();
    if ctx.out.is_json() {
        ctx.out
            .json(&Value::Array(keys.iter().map(key_json).collect()))
    } else {
        ctx.out.line(&keys_table(&keys, Utc::now(), args.all))
    }
}

/// The keys for people.
fn keys_table(keys: &[KeyInfo], now: DateTime<Utc>, all: bool) -> String {
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|info| {
            let scopes: Vec<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
            let mut row = vec![
                info.name.clone(),
                if info.owner { "owner" } else { "service" }.to_owned(),
                key_state(info, now).to_owned(),
                if scopes.is_empty() {
                    "-".to_owned()
                } else {
                    scopes.join(" ")
                },
                if info.validate {
                    format!("{}+validate", info.permissions)
                } else {
                    info.permissions.to_string()
                },
                output::time_human(info.created_at),
                output::opt_time_human(info.expires_at),
            ];
            if all {
                row.push(output::opt_time_human(info.revoked_at));
                row.push(
                    info.revoked_by
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), actor_human),
                );
            }
            row
        })
        .collect();
    let mut headers = vec![
        "name", "kind", "state", "scopes", "perm", "created", "expires",
    ];
    if all {
        headers.extend(["revoked", "revoked by"]);
    }
    output::table(&headers, &rows)
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::{Permissions, SecretScope};

    use super::*;

    #[test]
    fn keys_show_state_and_never_a_token() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let ci = KeyInfo {
            name: "ci".into(),
            owner: false,
            scopes: vec![SecretScope::parse("cargo/*").expect("valid scope")],
            permissions: Permissions::READ,
            created_at: now,
            expires_at: Some(now - chrono::Duration::seconds(1)),
            revoked_at: None,
            id: String::new(),
            created_by: None,
            revoked_by: None,
            validate: false,
        };
        assert_eq!(key_state(&ci, now), "expired");
        let json = key_json(&ci);
        assert_eq!(json["name"], "ci");
        assert_eq!(json["scopes"][0], "cargo/*");
        assert!(json.get("key").is_none());
        let table = keys_table(std::slice::from_ref(&ci), now, false);
        assert!(table.contains("ci    service  expired  cargo/*"), "{table}");
        let revoked = KeyInfo {
            revoked_at: Some(now),
            revoked_by: Some(auth_hub_protocol::provider::Actor {
                key: "owner".into(),
                uid: 1000,
                pid: Some(9),
                exe: None,
            }),
            validate: true,
            ..ci
        };
        let table = keys_table(&[revoked], now, true);
        assert!(table.contains("revoked by"), "{table}");
        assert!(table.contains("read+validate"), "{table}");
        assert!(table.contains("owner (uid 1000, pid 9)"), "{table}");
    }
}
