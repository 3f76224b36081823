//! `hyperforge auth ls [PREFIX]`: secret paths with their version and last update, never values.

use auth_hub_protocol::response::SecretEntry;
use clap::Args;
use serde_json::{json, Value};

use super::{connect_keyed, keyed_options};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only paths below this whole-segment prefix, such as github/alice (a trailing / is fine).
    #[arg(value_name = "PREFIX", default_value = "")]
    pub prefix: String,
}

/// Runs `auth ls`.
///
/// # Errors
/// A malformed prefix (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: LsArgs) -> Result<(), CliError> {
    let client = connect_keyed(keyed_options("hyperforge auth ls".into())?).await?;
    let listing = client.list_listing(listing_prefix(&args.prefix)).await?;
    let entries = &listing.entries;
    if ctx.out.is_json() {
        ctx.out
            .json(&Value::Array(entries.iter().map(entry_json).collect()))?;
    } else if entries.is_empty() && listing.warnings.is_empty() {
        output::note("no secrets");
    } else if !entries.is_empty() {
        ctx.out.line(&entries_table(entries))?;
    }
    // A backend that could not list is a partial failure: the rest is shown, then exit 1.
    for warning in &listing.warnings {
        output::note(&format!("warning: {warning}"));
    }
    match listing.warnings.is_empty() {
        true => Ok(()),
        false => Err(CliError::failure(format!(
            "{} backend(s) could not be listed: {}",
            listing.warnings.len(),
            listing.warnings.join("; ")
        ))
        .with_hint("`hyperforge auth status` shows each backend's health")),
    }
}

/// The prefix as the hub takes it: trailing slashes dropped, so `github/` lists what `github`
/// does (a shell's completion of a directory-like path adds one).
fn listing_prefix(prefix: &str) -> &str {
    prefix.trim_end_matches('/')
}

/// One entry for `--json`.
fn entry_json(entry: &SecretEntry) -> Value {
    json!({
        "path": entry.path.as_str(),
        "version": entry.version,
        "created_at": output::time_json(entry.created_at),
        "updated_at": output::time_json(entry.updated_at),
        "backend": entry.backend,
    })
}

/// The entries for people.
fn entries_table(entries: &[SecretEntry]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            vec![
                entry.path.to_string(),
                entry.version.to_string(),
                output::time_human(entry.updated_at),
                entry.backend.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    output::table(&["path", "version", "updated", "backend"], &rows)
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::SecretPath;
    use chrono::DateTime;

    use super::*;

    #[test]
    fn trailing_slashes_are_dropped() {
        assert_eq!(listing_prefix("github/"), "github");
        assert_eq!(listing_prefix("github/alice//"), "github/alice");
        assert_eq!(listing_prefix("github"), "github");
        assert_eq!(listing_prefix("/"), "");
        assert_eq!(listing_prefix(""), "");
    }

    #[test]
    fn entries_render_without_values() {
        let time = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let entry = SecretEntry {
            path: SecretPath::parse("github/alice/token").expect("valid path"),
            version: 2,
            created_at: time,
            updated_at: time,
            backend: Some("team".into()),
        };
        let json = entry_json(&entry);
        assert_eq!(json["path"], "github/alice/token");
        assert_eq!(json["version"], 2);
        assert_eq!(json["updated_at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["backend"], "team");
        let table = entries_table(&[entry]);
        assert!(
            table.starts_with("path                version  updated  "),
            "{table}"
        );
        assert!(table.contains("github/alice/token  2        "), "{table}");
        assert!(
            table
                .lines()
                .next()
                .is_some_and(|head| head.ends_with("backend")),
            "{table}"
        );
        assert!(table.trim_end().ends_with("team"), "{table}");
    }
}
