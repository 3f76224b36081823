//! `hyperforge auth provider`: AuthProvider records, addressed as `ORG/APP/TYPE`
//! (`osf/cli/oidc`): add, list, show, update, history, rm (a soft delete). Changes need the
//! owner key; any key may read.

pub mod add;
pub mod history;
pub mod ls;
pub mod rm;
pub mod show;
pub mod update;

use std::collections::BTreeMap;

use auth_hub_client::AuthError;
use auth_hub_protocol::provider::{Actor, ProviderFields, ProviderRecord};
use auth_hub_protocol::{ProviderId, Request, Response};
use clap::Subcommand;
use serde_json::{json, Map, Value};

use crate::commands::auth::{connect_keyed_with, keyed_options, owner_required, Autostart};
use crate::commands::Context;
use crate::error::{CliError, ErrorKind};
use crate::output;

/// The `auth provider` verbs.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Create a record (owner key).
    Add(add::AddArgs),
    /// List the records (live ones; --all adds removed ones).
    Ls(ls::LsArgs),
    /// Show one record.
    Show(show::ShowArgs),
    /// Change a record, making a new version (owner key).
    Update(update::UpdateArgs),
    /// Every version of a record: who changed what, and when.
    History(history::HistoryArgs),
    /// Remove a record (a soft delete: its history stays; owner key).
    Rm(rm::RmArgs),
}

/// Runs one `auth provider` verb.
///
/// # Errors
/// The verb's error.
pub async fn run(ctx: &Context, command: ProviderCommand) -> Result<(), CliError> {
    match command {
        ProviderCommand::Add(args) => add::run(ctx, args).await,
        ProviderCommand::Ls(args) => ls::run(ctx, args).await,
        ProviderCommand::Show(args) => show::run(ctx, args).await,
        ProviderCommand::Update(args) => update::run(ctx, args).await,
        ProviderCommand::History(args) => history::run(ctx, args).await,
        ProviderCommand::Rm(args) => rm::run(ctx, args).await,
    }
}

/// Who may send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Any key; never starts a hub (a read).
    AnyKey,
    /// The owner key (a change); starts a hub when none answers.
    Owner,
}

/// Sends one provider request as `command` (shown in the audit log and errors) and maps the
/// hub's refusals to messages about the record `id`: not found (4), conflict (1), invalid
/// fields (2).
///
/// # Errors
/// No key, unreachable (5), a service key for a change (3), and the hub's refusals.
pub(crate) async fn send(
    command: &str,
    needs: Needs,
    id: Option<&ProviderId>,
    request: Request,
) -> Result<Response, CliError> {
    let autostart = match needs {
        Needs::AnyKey => Autostart::Never,
        Needs::Owner => Autostart::IfNeeded,
    };
    let client = connect_keyed_with(keyed_options(command.to_owned())?, autostart).await?;
    if needs == Needs::Owner {
        let welcome = client.welcome().await?;
        if !welcome.owner {
            return Err(owner_required(command, welcome.key_name.as_deref()));
        }
    }
    client
        .call(request)
        .await
        .map_err(|error| provider_error(error, id))
}

/// The hub's refusal as a message about a provider record rather than a secret.
fn provider_error(error: AuthError, id: Option<&ProviderId>) -> CliError {
    match (error, id) {
        (AuthError::SecretNotFound { .. }, Some(id)) => {
            CliError::new(ErrorKind::NotFound, format!("no provider {id}"))
                .with_hint("`hyperforge auth provider ls --all` lists the records")
        }
        (AuthError::Conflict(message), Some(id)) => CliError::failure(message).with_hint(format!(
            "change it with `hyperforge auth provider update {id} …`, or remove it first"
        )),
        (AuthError::BadRequest(message), _) => CliError::usage(message),
        (other, _) => other.into(),
    }
}

/// Parses an `ORG/APP/TYPE` argument.
///
/// # Errors
/// A usage error (2) saying what is wrong.
pub(crate) fn parse_id(text: &str) -> Result<ProviderId, CliError> {
    ProviderId::parse(text).map_err(|error| CliError::usage(error.to_string()))
}

/// Parses `--attr k=v` values.
///
/// # Errors
/// A usage error (2) for a value without `=`.
pub(crate) fn parse_attrs(attrs: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    attrs
        .iter()
        .map(|attr| {
            attr.split_once('=')
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .ok_or_else(|| CliError::usage(format!("--attr {attr:?} must be KEY=VALUE")))
        })
        .collect()
}

/// The fields flags shared by `add` and `update`.
#[derive(Debug, Default, clap::Args)]
pub struct FieldArgs {
    /// The OpenID issuer URL (required for oidc and auth0).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The OAuth client id (required for oidc and auth0).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// A scope requested at login (repeatable; default openid).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// An audience accepted in a provider JWT (repeatable; default the client id).
    #[arg(long = "audience", value_name = "AUD")]
    pub audiences: Vec<String>,
    /// A signature algorithm accepted (repeatable): RS256 RS384 RS512 PS256 PS384 PS512 ES256
    /// ES384 EdDSA; by default the hub's set.
    #[arg(long = "algorithm", value_name = "ALG")]
    pub algorithms: Vec<String>,
    /// The service the record belongs to (`/allai/chat/slack`).
    #[arg(long, value_name = "HANDLE")]
    pub service_handle: Option<String>,
    /// An extra attribute (repeatable).
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
}

/// Who changed a record, for people: `key (uid 1000, pid 42, /usr/bin/hyperforge)`.
pub(crate) fn actor_human(actor: &Actor) -> String {
    let mut parts = vec![format!("uid {}", actor.uid)];
    if let Some(pid) = actor.pid {
        parts.push(format!("pid {pid}"));
    }
    if let Some(exe) = &actor.exe {
        parts.push(exe.clone());
    }
    format!("{} ({})", actor.key, parts.join(", "))
}

fn actor_json(actor: &Actor) -> Value {
    json!({
        "key": actor.key,
        "uid": actor.uid,
        "pid": actor.pid,
        "exe": actor.exe,
    })
}

fn fields_json(fields: &ProviderFields) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("service_handle".into(), json!(fields.service_handle));
    map.insert("issuer".into(), json!(fields.issuer));
    map.insert("client_id".into(), json!(fields.client_id));
    map.insert("scopes".into(), json!(fields.scopes));
    map.insert("audiences".into(), json!(fields.audiences));
    map.insert("algorithms".into(), json!(fields.algorithms));
    map.insert("extra".into(), json!(fields.extra));
    map
}

/// A record for `--json`: its address and parts, `version`, the fields, and who and when.
pub(crate) fn record_json(record: &ProviderRecord) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), json!(record.id.to_string()));
    map.insert("org".into(), json!(record.id.org()));
    map.insert("app".into(), json!(record.id.app()));
    map.insert("type".into(), json!(record.id.kind()));
    map.insert("version".into(), json!(record.version));
    map.extend(fields_json(&record.fields));
    map.insert("created_at".into(), output::time_json(record.created_at));
    map.insert("created_by".into(), actor_json(&record.created_by));
    map.insert("updated_at".into(), output::time_json(record.updated_at));
    map.insert("updated_by".into(), actor_json(&record.updated_by));
    map.insert(
        "deleted_at".into(),
        output::opt_time_json(record.deleted_at),
    );
    Value::Object(map)
}

/// A record for people: one `name: value` line per set field.
pub(crate) fn record_human(record: &ProviderRecord) -> String {
    let fields = &record.fields;
    let mut lines = vec![format!(
        "provider {} (version {})",
        record.id, record.version
    )];
    let mut add = |name: &str, value: String| lines.push(format!("  {name}: {value}"));
    if let Some(deleted) = record.deleted_at {
        add("removed", output::time_human(deleted));
    }
    if let Some(handle) = &fields.service_handle {
        add("service handle", handle.clone());
    }
    if let Some(issuer) = &fields.issuer {
        add("issuer", issuer.clone());
    }
    if let Some(client_id) = &fields.client_id {
        add("client id", client_id.clone());
    }
    if !fields.scopes.is_empty() {
        add("scopes", fields.scopes.join(" "));
    }
    if !fields.audiences.is_empty() {
        add("audiences", fields.audiences.join(" "));
    }
    if !fields.algorithms.is_empty() {
        add("algorithms", fields.algorithms.join(" "));
    } else if record.id.is_oidc() {
        add("algorithms", "(the hub's default set)".to_owned());
    }
    for (key, value) in &fields.extra {
        add(&format!("attr {key}"), value.clone());
    }
    add(
        "created",
        format!(
            "{} by {}",
            output::time_human(record.created_at),
            actor_human(&record.created_by)
        ),
    );
    add(
        "updated",
        format!(
            "{} by {}",
            output::time_human(record.updated_at),
            actor_human(&record.updated_by)
        ),
    );
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn record() -> ProviderRecord {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let actor = Actor {
            key: "owner".into(),
            uid: 1000,
            pid: Some(42),
            exe: Some("/usr/bin/hyperforge".into()),
        };
        ProviderRecord {
            id: ProviderId::parse("osf/cli/oidc").expect("address"),
            version: 2,
            fields: ProviderFields {
                issuer: Some("https://id.example.com".into()),
                client_id: Some("cli".into()),
                extra: [("team".to_owned(), "infra".to_owned())].into(),
                ..ProviderFields::default()
            },
            created_at: at,
            created_by: actor.clone(),
            updated_at: at,
            updated_by: actor,
            deleted_at: None,
        }
    }

    #[test]
    fn a_record_reads_the_same_in_json_and_for_people() {
        let record = record();
        let json = record_json(&record);
        assert_eq!(json["id"], "osf/cli/oidc");
        assert_eq!(json["type"], "oidc");
        assert_eq!(json["version"], 2);
        assert_eq!(json["extra"]["team"], "infra");
        assert_eq!(json["updated_by"]["pid"], 42);
        assert_eq!(json["deleted_at"], Value::Null);
        let text = record_human(&record);
        assert!(
            text.starts_with("provider osf/cli/oidc (version 2)"),
            "{text}"
        );
        assert!(text.contains("attr team: infra"), "{text}");
        assert!(
            text.contains("by owner (uid 1000, pid 42, /usr/bin/hyperforge)"),
            "{text}"
        );
    }

    #[test]
    fn refusals_name_the_record() {
        let id = ProviderId::parse("osf/cli/oidc").expect("address");
        let missing = provider_error(
            AuthError::SecretNotFound {
                path: String::new(),
            },
            Some(&id),
        );
        assert_eq!(missing.kind().exit_code(), 4);
        assert_eq!(missing.message(), "no provider osf/cli/oidc");
        let taken = provider_error(AuthError::Conflict("exists".into()), Some(&id));
        assert_eq!(taken.kind().exit_code(), 1);
        assert!(taken
            .hint()
            .is_some_and(|hint| hint.contains("auth provider update osf/cli/oidc")));
        let invalid = provider_error(AuthError::BadRequest("bad issuer".into()), Some(&id));
        assert_eq!(invalid.kind().exit_code(), 2);
        assert!(parse_attrs(&["novalue".into()]).is_err());
        assert!(parse_id("osf/cli").is_err());
    }
}
