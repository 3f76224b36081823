//! `hyperforge auth get PATH`: print one secret's value, asking for its parent scope and waiting
//! for the owner's approval when needed (`--wait`, `--no-wait`).

use auth_hub_client::{read_once, AuthError, ClientOptions, ReadOnce};
use auth_hub_protocol::{Secret, SecretPath};
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::{connect_keyed, get_announcing, keyed_options, note_if_elsewhere};
use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The secret, such as github/alice/token.
    #[arg(value_name = "PATH")]
    pub path: SecretPath,
    /// `--wait` / `--no-wait`.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `--json` output of `get`: borrows the value, so it is written without another copy.
#[derive(Serialize)]
struct SecretJson<'a> {
    path: &'a str,
    value: &'a str,
    version: u64,
    created_at: Value,
    updated_at: Value,
}

impl<'a> SecretJson<'a> {
    fn new(secret: &'a Secret) -> Self {
        Self {
            path: secret.path.as_str(),
            value: secret.value.expose(),
            version: secret.version,
            created_at: output::opt_time_json(secret.created_at),
            updated_at: output::opt_time_json(secret.updated_at),
        }
    }
}

/// Runs `auth get`.
///
/// # Errors
/// Denied or timed out (3), not found (4), unreachable (5), no key (1).
pub async fn run(ctx: &Context, args: GetArgs) -> Result<(), CliError> {
    let wait = args.wait.duration();
    let mut options = get_options(&args)?;
    options.wait = wait;
    let client = connect_keyed(options).await?;
    let secret = get_announcing(&client, &args.path, wait).await?;
    show(ctx, &secret)
}

/// `auth get` in one round trip, blocking, without starting the async runtime: what a script
/// that reads a secret in a loop pays for. `None` when it cannot finish so and [`run`] must:
/// no key, no hub answering (`run` starts one), the hub gone before it answered, or the scope
/// awaiting the owner's approval (`run` says so and waits). It sends and checks what `run`
/// sends and checks, and reports every other outcome as `run` would: the same output, errors
/// and exit codes.
pub fn run_at_once(ctx: &Context, args: &GetArgs) -> Option<Result<(), CliError>> {
    let options = match get_options(args) {
        Ok(options) if options.master_token.is_some() => options,
        Ok(_) => return None,
        Err(error) => return Some(Err(error)),
    };
    match read_once(&options, &args.path) {
        Ok(ReadOnce::Secret(secret)) => {
            note_if_elsewhere(&options.socket);
            Some(show(ctx, &secret))
        }
        Ok(ReadOnce::NotAtOnce)
        | Err(AuthError::Unreachable { .. } | AuthError::ConnectionLost(_)) => None,
        Err(error) => Some(Err(error.into())),
    }
}

fn get_options(args: &GetArgs) -> Result<ClientOptions, CliError> {
    keyed_options(format!("hyperforge auth get {}", args.path))
}

fn show(ctx: &Context, secret: &Secret) -> Result<(), CliError> {
    if ctx.out.is_json() {
        ctx.out.json(&SecretJson::new(secret))
    } else {
        ctx.out.secret(secret.value.expose())
    }
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::SecretValue;
    use chrono::DateTime;

    use super::*;

    #[test]
    fn json_has_value_and_metadata() {
        let secret = Secret {
            value: SecretValue::from("line1\nline2"),
            path: SecretPath::parse("npm/@acme-corp/token").expect("valid path"),
            created_at: DateTime::from_timestamp(1_700_000_000, 0),
            updated_at: None,
            version: 3,
        };
        let json = serde_json::to_value(SecretJson::new(&secret)).expect("serializes");
        assert_eq!(json["path"], "npm/@acme-corp/token");
        assert_eq!(json["value"], "line1\nline2");
        assert_eq!(json["version"], 3);
        assert_eq!(json["created_at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["updated_at"], Value::Null);
    }
}
