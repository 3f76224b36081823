//! `hyperforge auth login`: create the hub's owner key on a session without a key, and save it
//! where the client finds it (the OS keychain, else a 0600 file). The key is shown only with
//! `--print`, once.
//!
//! `--recover` replaces a lost owner key: the hub writes a one-time code into its 0700 state
//! directory, this command (running as the same user) reads it and sends it back, and the hub
//! revokes the old owner key and creates a new one; secrets, grants and service keys are kept.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use auth_hub_client::{discover, AuthError, HubClient};
use auth_hub_protocol::request::{Login, Recover, StartRecovery, Status};
use auth_hub_protocol::response::KeyCreated;
use auth_hub_protocol::{RecoveryCode, Request, Response};
use clap::Args;
use serde_json::json;
use zeroize::Zeroizing;

use super::{connect, options, unexpected, ConnectError};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// What to do when the hub has an owner key and this machine has no valid one.
const RECOVER_HINT: &str =
    "set AUTH_HUB_TOKEN to the owner key (or a key from `hyperforge auth key create`); \
     if the owner key is lost, replace it with `hyperforge auth login --recover`";
/// The longest code file read.
const MAX_CODE: u64 = 1024;

/// Arguments of `auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The owner key's name.
    #[arg(long, value_name = "NAME", default_value = "owner")]
    pub name: String,
    /// Also print the new key once on stdout (to keep it in a password manager).
    #[arg(long)]
    pub print: bool,
    /// Replace a lost owner key: prove local control of the hub's state (a one-time code it
    /// writes into its state directory), revoke the old owner key and save a new one. Secrets,
    /// grants and service keys are kept.
    #[arg(long, conflicts_with_all = ["provider", "refresh"])]
    pub recover: bool,
    /// Log in as an app user at this OIDC provider (ORG/APP/TYPE, e.g. `osf/cli/oidc`) with the
    /// device flow: prints a URL and a code to approve, then the hub stores the tokens under
    /// `oidc/ORG/APP/TYPE/`. Needs this machine's key (the owner's).
    #[arg(long, value_name = "ORG/APP/TYPE")]
    pub provider: Option<String>,
    /// With --provider: refresh the stored login with its refresh token instead.
    #[arg(long, requires = "provider")]
    pub refresh: bool,
}

/// Runs `auth login`.
///
/// # Errors
/// Hub unreachable; a hub that already has an owner while this machine has no valid key; the
/// key cannot be saved.
pub async fn run(ctx: &Context, args: LoginArgs) -> Result<(), CliError> {
    if let Some(provider) = &args.provider {
        return super::oidc_login::run(ctx, provider, args.refresh).await;
    }
    let client = connect(options(None, "hyperforge auth login".into())?).await?;
    let status = match client.call(Request::Status(Status {})).await? {
        Response::Status(status) => status,
        other => return Err(unexpected("status", &other)),
    };
    if args.recover {
        if status.has_owner {
            return recover(ctx, &client, args.print).await;
        }
        output::note("this hub has no owner key yet: creating one");
    } else if status.has_owner {
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
    save_and_report(ctx, created, args.print, false)
}

/// Replaces the owner key through the hub's one-time code.
async fn recover(ctx: &Context, client: &HubClient, print: bool) -> Result<(), CliError> {
    let started = match client
        .call(Request::StartRecovery(StartRecovery {}))
        .await?
    {
        Response::RecoveryStarted(started) => started,
        other => return Err(unexpected("start_recovery", &other)),
    };
    let code = read_code(Path::new(&started.code_file))?;
    let created = match client.call(Request::Recover(Recover { code })).await? {
        Response::KeyCreated(created) => created,
        other => return Err(unexpected("recover", &other)),
    };
    save_and_report(ctx, created, print, true)
}

/// Reads the one-time code the hub wrote: the proof that this process can read the hub's state.
fn read_code(path: &Path) -> Result<RecoveryCode, CliError> {
    let mut text = Zeroizing::new(String::new());
    let read = File::open(path).and_then(|file| file.take(MAX_CODE).read_to_string(&mut text));
    if let Err(error) = read {
        return Err(CliError::failure(format!(
            "cannot read the recovery code {}: {error}",
            path.display()
        ))
        .with_hint("run this as the user the hub runs as: only it can read the hub's state"));
    }
    Ok(RecoveryCode::new(text.trim().to_owned()))
}

/// Saves a new owner key and says so (or prints it once if it cannot be saved).
fn save_and_report(
    ctx: &Context,
    created: KeyCreated,
    print: bool,
    recovered: bool,
) -> Result<(), CliError> {
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
            "recovered": recovered,
        });
        if print {
            report["key"] = json!(key.expose());
        }
        return ctx.out.json(&report);
    }
    let message = if recovered {
        format!(
            "recovered: new owner key {name} saved to {saved_to}; the old owner key no longer \
             works (secrets, grants and service keys are kept)"
        )
    } else {
        format!("logged in as {name}; key saved to {saved_to}")
    };
    if print {
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
        .with_hint(RECOVER_HINT));
    };
    let client: HubClient =
        match connect(options(Some(token), "hyperforge auth login".into())?).await {
            Ok(client) => client,
            Err(ConnectError::Auth(AuthError::InvalidMasterToken { .. })) => {
                return Err(CliError::failure(
                    "this hub already has an owner key, and the key found here is not valid for it",
                )
                .with_hint(RECOVER_HINT))
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
