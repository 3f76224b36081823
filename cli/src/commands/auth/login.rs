//! `hyperforge auth login`: create the hub's owner key on a session without a key, and save it
//! where the client finds it (the OS keychain, else a 0600 file). The key is shown only with
//! `--print`, once.

use auth_hub_client::{discover, AuthError, HubClient};
use auth_hub_protocol::request::{Login, Status};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::json;

use super::{connect, options, unexpected, ConnectError};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The owner key's name.
    #[arg(long, value_name = "NAME", default_value = "owner")]
    pub name: String,
    /// Also print the new key once on stdout (to keep it in a password manager).
    #[arg(long)]
    pub print: bool,
}

/// Runs `auth login`.
///
/// # Errors
/// Hub unreachable; a hub that already has an owner while this machine has no valid key; the
/// key cannot be saved.
pub async fn run(ctx: &Context, args: LoginArgs) -> Result<(), CliError> {
    let client = connect(options(None, "hyperforge auth login".into())?).await?;
    let status = match client.call(Request::Status(Status {})).await? {
        Response::Status(status) => status,
        other => return Err(unexpected("status", &other)),
    };
    if status.has_owner {
        return already_owned(ctx).await;
    }
    let created = match client
        .call(Request::Login(Login {
            name: args.name.clone(),
        }))
        .await?
    {
        Response::KeyCreated(created) => created,
        other => return Err(unexpected("login", &other)),
    };
    let key = created
        .key
        .ok_or_else(|| CliError::failure("the hub created the owner key but did not send it"))?;
    let saved_to = match discover::save_master_token(&key) {
        Ok(saved_to) => saved_to,
        Err(error) => {
            // The hub keeps only a hash: unless shown now, the owner key would be lost for good.
            ctx.out.secret(key.expose())?;
            return Err(CliError::failure(format!(
                "the owner key {} was created but could not be saved: {error}",
                created.info.name
            ))
            .with_hint(
                "the key is printed above, this once: keep it and set AUTH_HUB_TOKEN to it",
            ));
        }
    };
    let name = &created.info.name;
    if ctx.out.is_json() {
        let mut report = json!({
            "name": name,
            "saved_to": saved_to,
            "already_logged_in": false,
        });
        if args.print {
            report["key"] = json!(key.expose());
        }
        return ctx.out.json(&report);
    }
    let message = format!("logged in as {name}; key saved to {saved_to}");
    if args.print {
        output::note(&message);
        output::note("the key follows on stdout; it is not shown again");
        ctx.out.secret(key.expose())
    } else {
        ctx.out.line(&message)
    }
}

/// The hub has an owner: fine if this machine's key works, else explain.
async fn already_owned(ctx: &Context) -> Result<(), CliError> {
    let Some(token) = discover::master_token()? else {
        return Err(CliError::failure(
            "this hub already has an owner key, and none is saved on this machine",
        )
        .with_hint(
            "set AUTH_HUB_TOKEN to the owner key (or a key from `hyperforge auth key create`)",
        ));
    };
    let client: HubClient =
        match connect(options(Some(token), "hyperforge auth login".into())?).await {
            Ok(client) => client,
            Err(ConnectError::Auth(AuthError::InvalidMasterToken { .. })) => {
                return Err(CliError::failure(
                    "this hub already has an owner key, and the key found here is not valid for it",
                )
                .with_hint(
                    "set AUTH_HUB_TOKEN to the owner key; a lost owner key means a new hub home",
                ))
            }
            Err(error) => return Err(error.into()),
        };
    let welcome = client.welcome().await?;
    let name = welcome.key_name.unwrap_or_else(|| "?".to_owned());
    if ctx.out.is_json() {
        return ctx.out.json(&json!({
            "name": name,
            "owner": welcome.owner,
            "already_logged_in": true,
        }));
    }
    let kind = if welcome.owner {
        ""
    } else {
        " (a service key, not the owner)"
    };
    ctx.out.line(&format!("already logged in as {name}{kind}"))
}
