//! `hyperforge auth`: how people and shell scripts use auth-hub. One file per verb, named like
//! the request it sends (`Request::ListGrants` → `grants.rs`), plus the helpers they share:
//! client options, connecting (and starting the hub when none answers), and waiting notes.

pub mod audit;
pub mod deny;
pub mod exec;
pub mod get;
pub mod git_credential;
pub mod grant;
pub mod grants;
pub mod key;
pub mod login;
pub mod ls;
pub mod mv;
pub mod oidc_login;
pub mod pending;
pub mod provider;
pub mod put;
pub mod revoke;
pub mod rm;
pub mod scope_arg;
pub mod status;
pub mod token;
pub mod verify;

use std::path::Path;
use std::time::Duration;

use auth_hub_client::{discover, AuthError, ClientOptions, HubClient};
use auth_hub_protocol::command::grant_command_for;
use auth_hub_protocol::request::HasScope;
use auth_hub_protocol::{
    MasterToken, Permissions, Request, Response, Secret, SecretPath, SecretScope,
};
use clap::Subcommand;

use crate::commands::Context;
use crate::daemon;
use crate::error::{CliError, ErrorKind};
use crate::output;

/// The client name the hub shows to approvers and writes in its audit log.
const CLIENT_NAME: &str = "hyperforge";
/// How long a command waits for the owner's approval unless told otherwise. The hub caps any
/// wait at its own grant timeout, which it does not report; 60 s is its default.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The `auth` verbs.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Create the owner key and save it where hyperforge finds it.
    Login(login::LoginArgs),
    /// Show the hub's state and whether this machine's key works.
    Status(status::StatusArgs),
    /// Print a secret's value (asking for its scope and waiting for approval if needed).
    Get(get::GetArgs),
    /// Store a secret; the value is read from stdin, never from the command line.
    Put(put::PutArgs),
    /// List secret paths (never values).
    Ls(ls::LsArgs),
    /// Delete a secret.
    Rm(rm::RmArgs),
    /// Move secrets into another store backend (copy, verify, then delete the original).
    Mv(mv::MvArgs),
    /// Approve pending requests for a scope, or pre-grant it.
    Grant(grant::GrantArgs),
    /// Refuse pending requests for a scope.
    Deny(deny::DenyArgs),
    /// List requests waiting for approval, or approve them as they arrive (--watch).
    Pending(pending::PendingArgs),
    /// List standing grants.
    Grants(grants::GrantsArgs),
    /// Remove standing grants and kill the access tokens issued under them.
    Revoke(revoke::RevokeArgs),
    /// Run a command with secrets in its environment.
    Exec(exec::ExecArgs),
    /// Manage service keys (for CI and other programs).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Print (and verify) the audit log.
    Audit(audit::AuditArgs),
    /// A git credential helper answering with forge tokens from auth-hub.
    GitCredential(git_credential::GitCredentialArgs),
    /// AuthProvider records (ORG/APP/TYPE): identity providers and key types per app and org.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Print a hub-signed JWT for this machine's key.
    Token(token::TokenArgs),
    /// Validate a hub JWT, a provider JWT or an API key and print its claims.
    Verify(verify::VerifyArgs),
}

/// Runs one `auth` verb.
///
/// # Errors
/// The verb's error, which decides the exit code.
pub async fn run(ctx: &Context, command: AuthCommand) -> Result<(), CliError> {
    match command {
        AuthCommand::Login(args) => login::run(ctx, args).await,
        AuthCommand::Status(args) => status::run(ctx, args).await,
        AuthCommand::Get(args) => get::run(ctx, args).await,
        AuthCommand::Put(args) => put::run(ctx, args).await,
        AuthCommand::Ls(args) => ls::run(ctx, args).await,
        AuthCommand::Rm(args) => rm::run(ctx, args).await,
        AuthCommand::Mv(args) => mv::run(ctx, args).await,
        AuthCommand::Grant(args) => grant::run(ctx, args).await,
        AuthCommand::Deny(args) => deny::run(ctx, args).await,
        AuthCommand::Pending(args) => pending::run(ctx, args).await,
        AuthCommand::Grants(args) => grants::run(ctx, args).await,
        AuthCommand::Revoke(args) => revoke::run(ctx, args).await,
        AuthCommand::Exec(args) => exec::run(ctx, args).await,
        AuthCommand::Key(command) => key::run(ctx, command).await,
        AuthCommand::Audit(args) => audit::run(ctx, args).await,
        AuthCommand::GitCredential(args) => git_credential::run(ctx, args).await,
        AuthCommand::Provider(command) => provider::run(ctx, command).await,
        AuthCommand::Token(args) => token::run(ctx, args).await,
        AuthCommand::Verify(args) => verify::run(ctx, args).await,
    }
}

/// Client options for this process: the discovered socket, `master_token`, and `reason` shown to
/// the owner with any scope request. Values are not cached (`secret_ttl` 0): a CLI process is
/// one-shot.
///
/// # Errors
/// A failure when no socket path can be derived.
pub(crate) fn options(
    master_token: Option<MasterToken>,
    reason: String,
) -> Result<ClientOptions, CliError> {
    Ok(ClientOptions {
        socket: discover::socket_path()?,
        master_token,
        client_name: CLIENT_NAME.to_owned(),
        client_version: env!("CARGO_PKG_VERSION").to_owned(),
        wait: DEFAULT_WAIT,
        secret_ttl: Duration::ZERO,
        max_frame: auth_hub_protocol::DEFAULT_MAX_FRAME,
        reason,
    })
}

/// Options with this machine's key (`AUTH_HUB_TOKEN`, else the saved key), or without one when
/// there is none: [`connect_keyed`] then reports it, after checking that a hub answers.
///
/// # Errors
/// A failure when the saved key cannot be read.
pub(crate) fn keyed_options(reason: String) -> Result<ClientOptions, CliError> {
    options(discover::master_token()?, reason)
}

/// Why connecting failed: the hub's answer (callers may match it), or no hub to answer.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The hub refused the hello, or answered it with an error.
    Auth(AuthError),
    /// No hub answered (none was started, or starting one failed); the error says how to
    /// start one.
    NoHub(CliError),
}

impl From<ConnectError> for CliError {
    fn from(error: ConnectError) -> Self {
        match error {
            ConnectError::Auth(error) => error.into(),
            ConnectError::NoHub(error) => error,
        }
    }
}

/// A failed connect, sorted: no hub answering (with the hint that starts one), or the hub's
/// refusal.
fn connect_failed(error: AuthError) -> ConnectError {
    match error {
        error @ (AuthError::Unreachable { .. }
        | AuthError::ConnectionLost(_)
        | AuthError::Unavailable(_)) => {
            ConnectError::NoHub(daemon::with_start_hint(CliError::from(error)))
        }
        other => ConnectError::Auth(other),
    }
}

/// Whether a command may start a hub when none answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Autostart {
    /// The command needs a hub to do its work (`get`, `put`, `login`, `grant`, …): start one.
    IfNeeded,
    /// A read-only report (`status`, `pending`, `grants`, `key list`, `audit`): it describes
    /// what runs, so it never starts a hub; with none running it says so (exit 5).
    Never,
}

/// Connects and completes the hello. When no hub answers, starts one (unless autostart is off or
/// a service manager owns it, see [`crate::daemon`]) and tries once more.
///
/// # Errors
/// [`ConnectError`].
pub(crate) async fn connect(options: ClientOptions) -> Result<HubClient, ConnectError> {
    connect_welcomed(options, Autostart::IfNeeded).await
}

/// [`connect_with`], then waits for the hub's answer to the hello: for a command that must know
/// whether its key was taken before it asks anything (`status`).
///
/// # Errors
/// As [`connect_with`], and the refused hello ([`ConnectError::Auth`]).
pub(crate) async fn connect_welcomed(
    options: ClientOptions,
    autostart: Autostart,
) -> Result<HubClient, ConnectError> {
    let client = connect_with(options, autostart).await?;
    client.welcome().await.map_err(connect_failed)?;
    Ok(client)
}

/// Connects, leaving the hello to travel with the first request (its refusal is that request's
/// error): one round trip for both. Starts a hub as [`connect`] does if `autostart` allows it.
///
/// # Errors
/// [`ConnectError`]; with [`Autostart::Never`] and no hub, a "not running" error (exit 5).
pub(crate) async fn connect_with(
    options: ClientOptions,
    autostart: Autostart,
) -> Result<HubClient, ConnectError> {
    match HubClient::open(options.clone()).await {
        Err(AuthError::Unreachable { socket, source }) => {
            // A hub owns this state but listens elsewhere than an explicit AUTH_HUB_SOCKET.
            if let Some(hub) = daemon::hub_elsewhere(&socket) {
                return Err(ConnectError::NoHub(daemon::elsewhere_error(&socket, &hub)));
            }
            if autostart == Autostart::Never {
                return Err(ConnectError::NoHub(daemon::not_running(&socket, &source)));
            }
            if !daemon::may_autostart() {
                return Err(connect_failed(AuthError::Unreachable { socket, source }));
            }
            let socket = daemon::start(&socket, &source)
                .await
                .map_err(ConnectError::NoHub)?;
            HubClient::open(ClientOptions { socket, ..options })
                .await
                .map_err(connect_failed)
        }
        Ok(client) => {
            note_if_elsewhere(&options.socket);
            Ok(client)
        }
        Err(other) => Err(connect_failed(other)),
    }
}

/// Notes when an explicit `AUTH_HUB_SOCKET` reached a hub, but not the one that owns this
/// state directory.
pub(crate) fn note_if_elsewhere(socket: &Path) {
    if let Some(hub) = daemon::hub_elsewhere(socket) {
        output::note(&format!(
            "AUTH_HUB_SOCKET points at {}, but the hub that owns this state directory (pid {}) \
             listens on {}",
            socket.display(),
            hub.pid,
            hub.socket.display()
        ));
    }
}

/// Connects with the key in `options` (from [`keyed_options`]). Without a key it still connects
/// first, so that "no hub" (exit 5) wins over "no key" (exit 1): a script learns the first thing
/// to fix, and the hub gets started for the `login` that follows.
///
/// # Errors
/// Connection errors, then [`AuthError::NoKey`].
pub(crate) async fn connect_keyed(options: ClientOptions) -> Result<HubClient, CliError> {
    connect_keyed_with(options, Autostart::IfNeeded).await
}

/// [`connect_keyed`], starting a hub only if `autostart` allows it.
///
/// # Errors
/// Connection errors, then [`AuthError::NoKey`].
pub(crate) async fn connect_keyed_with(
    options: ClientOptions,
    autostart: Autostart,
) -> Result<HubClient, CliError> {
    let has_key = options.master_token.is_some();
    let client = connect_with(options, autostart).await?;
    if has_key {
        Ok(client)
    } else {
        Err(AuthError::NoKey.into())
    }
}

/// Connects with this machine's key (starting a hub if none answers) and sends one request of
/// the owner's verbs. `reason` names the command for the owner and the audit log.
///
/// # Errors
/// No key, connection errors, a key that is not the owner key (exit 3, checked before the
/// request is sent), and the hub's error reply.
pub(crate) async fn call(reason: &str, request: Request) -> Result<Response, CliError> {
    call_with(reason, request, Autostart::IfNeeded).await
}

/// [`call`] for a read-only report (`pending`, `grants`, `key list`, `audit`): never starts a
/// hub.
///
/// # Errors
/// As [`call`]; no hub is "not running" (exit 5).
pub(crate) async fn report(reason: &str, request: Request) -> Result<Response, CliError> {
    call_with(reason, request, Autostart::Never).await
}

async fn call_with(
    reason: &str,
    request: Request,
    autostart: Autostart,
) -> Result<Response, CliError> {
    let client = connect_keyed_with(keyed_options(reason.to_owned())?, autostart).await?;
    let welcome = client.welcome().await?;
    if !welcome.owner {
        return Err(owner_required(reason, welcome.key_name.as_deref()));
    }
    Ok(client.call(request).await?)
}

/// An owner verb run with a service key: access denied (exit 3), naming the key.
pub(crate) fn owner_required(command: &str, key_name: Option<&str>) -> CliError {
    let key = key_name.map_or_else(
        || "another key".to_owned(),
        |name| format!("service key {name:?}"),
    );
    CliError::new(
        ErrorKind::Denied,
        format!("only the owner key may run `{command}`; this ran with {key}"),
    )
    .with_hint("run it as the owner, without AUTH_HUB_TOKEN set to a service key")
}

/// The error for a successful reply of the wrong kind.
pub(crate) fn unexpected(request: &str, response: &Response) -> CliError {
    CliError::failure(format!(
        "the hub answered {request} with an unexpected {} reply",
        response.name()
    ))
}

/// The note printed before waiting for approval of `scope` with `permissions`.
pub(crate) fn waiting_note(
    scope: &SecretScope,
    permissions: Permissions,
    wait: Duration,
) -> String {
    // Round up, so a sub-second wait does not read "up to 0s".
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    format!(
        "waiting for approval of {scope} (up to {secs}s): run `{}`",
        grant_command_for(scope.as_str(), permissions, None)
    )
}

/// Before a request that may wait: tells the user, on stderr, about every scope that is not
/// available now with `permissions`, with the command that grants it. Silent when not waiting.
pub(crate) async fn announce_wait(
    client: &HubClient,
    scopes: &[SecretScope],
    permissions: Permissions,
    wait: Duration,
) {
    if wait.is_zero() {
        return;
    }
    for scope in scopes {
        let request = Request::HasScope(HasScope {
            scope: scope.clone(),
            permissions,
        });
        // Only a request that will really wait for the owner gets the note, with the wait the
        // hub will actually allow; granted or refused scopes are answered at once anyway.
        if let Ok(Response::HasScope(reply)) = client.call(request).await {
            if reply.needs_approval {
                let hub_limit = Duration::from_millis(reply.grant_timeout_ms);
                let wait = if hub_limit.is_zero() {
                    wait
                } else {
                    wait.min(hub_limit)
                };
                output::note(&waiting_note(scope, permissions, wait));
            }
        }
    }
}

/// Reads `path`: in the common case one request (in the hello's write on a fresh connection);
/// a scope left to the owner gets the wait note, then the wait of up to `wait`.
///
/// # Errors
/// As [`HubClient::get_secret_waiting`].
pub(crate) async fn get_announcing(
    client: &HubClient,
    path: &SecretPath,
    wait: Duration,
) -> Result<Secret, AuthError> {
    if let Some(secret) = client.get_secret_now(path).await? {
        return Ok(secret);
    }
    announce_wait(client, &[path.parent_scope()], Permissions::READ, wait).await;
    client.get_secret_waiting(path).await
}

/// `--wait D` / `--no-wait` as a duration (the default when neither is given).
pub(crate) fn wait_for(wait: Option<Duration>, no_wait: bool) -> Duration {
    if no_wait {
        Duration::ZERO
    } else {
        wait.unwrap_or(DEFAULT_WAIT)
    }
}

/// Milliseconds for the wire, refusing values that do not fit.
pub(crate) fn millis(duration: Duration, what: &str) -> Result<u64, CliError> {
    u64::try_from(duration.as_millis()).map_err(|_| CliError::usage(format!("{what} is too long")))
}

/// "1 grant", "2 grants".
pub(crate) fn plural(count: impl Into<u64>, one: &str, many: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_note_is_exact() {
        let scope = SecretScope::parse("github/alice/*").expect("valid scope");
        assert_eq!(
            waiting_note(&scope, Permissions::READ, Duration::from_secs(60)),
            "waiting for approval of github/alice/* (up to 60s): run `hyperforge auth grant 'github/alice/*'`"
        );
        assert!(
            waiting_note(&scope, Permissions::READ, Duration::from_millis(1500))
                .contains("(up to 2s)")
        );
    }

    #[test]
    fn owner_verbs_with_a_service_key_are_denied() {
        let error = owner_required("hyperforge auth grant", Some("ci"));
        assert_eq!(error.kind().exit_code(), 3);
        assert_eq!(
            error.message(),
            "only the owner key may run `hyperforge auth grant`; this ran with service key \"ci\""
        );
    }

    #[test]
    fn wait_flags() {
        assert_eq!(wait_for(None, false), DEFAULT_WAIT);
        assert_eq!(wait_for(None, true), Duration::ZERO);
        assert_eq!(
            wait_for(Some(Duration::from_secs(5)), false),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1u32, "grant", "grants"), "1 grant");
        assert_eq!(plural(0u32, "grant", "grants"), "0 grants");
    }
}
