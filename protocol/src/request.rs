//! Requests: the envelope with its client-chosen `id`, and one struct per operation.
//!
//! On the wire a request is `{"id": u64, "request": {"<operation>": {fields…}}}`: the operation is
//! an externally tagged enum with `snake_case` names, and every operation is a map of named fields,
//! even when it has none (`{"status": {}}`), so fields can be added without breaking old peers.

use serde::{Deserialize, Serialize};

use crate::identity::{IssueJwt, Jwks, OidcLogin, OidcRefresh, ValidateJwt, ValidateKey};
use crate::path::SecretPath;
use crate::provider::{
    AddProvider, ListProviders, ProviderHistory, RemoveProvider, ShowProvider, UpdateProvider,
};
use crate::scope::{Permissions, SecretScope};
use crate::secret::{AccessToken, MasterToken, RecoveryCode, SecretValue};

/// One request and the id its response will carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// Chosen by the client; echoed in the response. Ids may be reused once answered.
    pub id: u64,
    /// The operation.
    pub request: Request,
}

/// The `id` of a request body that does not decode as a whole (an unknown operation, a missing or
/// ill-typed field), so that the `bad_request` answering it can carry the id the client waits on.
/// `None` when the body is not a map with an unsigned integer `id`.
pub fn request_id(body: &[u8]) -> Option<u64> {
    /// Only the id; every other key (the request) is skipped unread.
    #[derive(Deserialize)]
    struct IdOnly {
        id: u64,
    }
    crate::frame::decode_body::<IdOnly>(body)
        .ok()
        .map(|only| only.id)
}

/// Every operation a client can ask for.
///
/// Not `#[non_exhaustive]`: the hub's dispatch matches every variant, so adding an operation
/// without a handler does not compile. Clients build requests; they have no reason to match one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Ask for access tokens to one or more scopes.
    RequestScope(RequestScope),
    /// Read a secret with an access token.
    GetSecret(GetSecret),
    /// Read a secret, asking for its parent scope in the same request (no separate
    /// `request_scope` round trip; never waits for the owner).
    GetSecretScoped(GetSecretScoped),
    /// Create or replace a secret.
    PutSecret(PutSecret),
    /// List secret paths.
    ListSecrets(ListSecrets),
    /// Delete a secret.
    DeleteSecret(DeleteSecret),
    /// Would a scope be granted without a prompt?
    HasScope(HasScope),
    /// Create the owner key (session without a key, hub without an owner).
    Login(Login),
    /// The hub's state.
    Status(Status),
    /// Owner: requests waiting for a decision.
    ListPending(ListPending),
    /// Owner: approve pending requests, or pre-grant.
    Grant(Grant),
    /// Owner: refuse pending requests.
    Deny(Deny),
    /// Owner: standing grants.
    ListGrants(ListGrants),
    /// Owner: remove standing grants and kill their tokens.
    Revoke(Revoke),
    /// Owner: create a service key.
    CreateKey(CreateKey),
    /// Owner: import a legacy `MELT_` key.
    ImportKey(ImportKey),
    /// Owner: list keys.
    ListKeys(ListKeys),
    /// Owner: revoke a key and its tokens.
    RevokeKey(RevokeKey),
    /// Owner: read and verify the audit log.
    ReadAudit(ReadAudit),
    /// Owner: receive `pending_added` / `pending_resolved` events on this connection.
    WatchPending(WatchPending),
    /// Owner: register a repository (its `.hyperforge/config.toml` is then watched).
    RegisterRepo(RegisterRepo),
    /// Owner: forget a registered repository.
    UnregisterRepo(UnregisterRepo),
    /// Owner: the registered repositories.
    ListRepos(ListRepos),
    /// Begin replacing a lost owner key: the hub writes a one-time code into its state directory
    /// (keyless session).
    StartRecovery(StartRecovery),
    /// Replace the owner key, proving local control with that code (keyless session).
    Recover(Recover),
    /// Owner: move the secrets at a path or under a scope into one backend.
    MoveSecrets(MoveSecrets),
    /// Owner: create an AuthProvider record (`crate::provider`).
    AddProvider(AddProvider),
    /// Owner: change an AuthProvider record (a new version).
    UpdateProvider(UpdateProvider),
    /// AuthProvider records.
    ListProviders(ListProviders),
    /// One AuthProvider record.
    ShowProvider(ShowProvider),
    /// Every version of an AuthProvider record.
    ProviderHistory(ProviderHistory),
    /// Owner: soft-delete an AuthProvider record.
    RemoveProvider(RemoveProvider),
    /// Is an API key active? (`validate` permission; `crate::identity`)
    ValidateKey(ValidateKey),
    /// Validate a hub or provider JWT (`validate` permission).
    ValidateJwt(ValidateJwt),
    /// Issue a hub-signed JWT (for another's credential: `validate` permission).
    IssueJwt(IssueJwt),
    /// The hub's public signing keys.
    Jwks(Jwks),
    /// Owner: store the tokens of an OIDC device login after validating its id_token.
    OidcLogin(OidcLogin),
    /// Owner: refresh an OIDC login with its refresh token.
    OidcRefresh(OidcRefresh),
}

impl Request {
    /// The operation's wire name, for logs and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequestScope(_) => "request_scope",
            Self::GetSecret(_) => "get_secret",
            Self::GetSecretScoped(_) => "get_secret_scoped",
            Self::PutSecret(_) => "put_secret",
            Self::ListSecrets(_) => "list_secrets",
            Self::DeleteSecret(_) => "delete_secret",
            Self::HasScope(_) => "has_scope",
            Self::Login(_) => "login",
            Self::Status(_) => "status",
            Self::ListPending(_) => "list_pending",
            Self::Grant(_) => "grant",
            Self::Deny(_) => "deny",
            Self::ListGrants(_) => "list_grants",
            Self::Revoke(_) => "revoke",
            Self::CreateKey(_) => "create_key",
            Self::ImportKey(_) => "import_key",
            Self::ListKeys(_) => "list_keys",
            Self::RevokeKey(_) => "revoke_key",
            Self::ReadAudit(_) => "read_audit",
            Self::WatchPending(_) => "watch_pending",
            Self::RegisterRepo(_) => "register_repo",
            Self::UnregisterRepo(_) => "unregister_repo",
            Self::ListRepos(_) => "list_repos",
            Self::StartRecovery(_) => "start_recovery",
            Self::Recover(_) => "recover",
            Self::MoveSecrets(_) => "move_secrets",
            Self::AddProvider(_) => "add_provider",
            Self::UpdateProvider(_) => "update_provider",
            Self::ListProviders(_) => "list_providers",
            Self::ShowProvider(_) => "show_provider",
            Self::ProviderHistory(_) => "provider_history",
            Self::RemoveProvider(_) => "remove_provider",
            Self::ValidateKey(_) => "validate_key",
            Self::ValidateJwt(_) => "validate_jwt",
            Self::IssueJwt(_) => "issue_jwt",
            Self::Jwks(_) => "jwks",
            Self::OidcLogin(_) => "oidc_login",
            Self::OidcRefresh(_) => "oidc_refresh",
        }
    }
}

/// Ask for one access token per scope. Several scopes are shown to the owner and decided together;
/// the response has one outcome per scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestScope {
    /// The scopes wanted, such as `github/alice/*`. 1 to 64 of them.
    pub scopes: Vec<SecretScope>,
    /// The rights wanted under every scope.
    pub permissions: Permissions,
    /// How long the client will wait for an owner's decision, in milliseconds; 0 means "do not
    /// wait": a scope that needs a prompt is `denied` at once, with the command that grants it.
    /// The hub caps this at its grant timeout.
    #[serde(default)]
    pub wait_ms: u64,
    /// Why, shown to the owner.
    #[serde(default)]
    pub reason: String,
}

/// Read one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSecret {
    /// A token whose scope covers `path` with read permission.
    pub access_token: AccessToken,
    /// The secret.
    pub path: SecretPath,
}

/// Read one secret without holding a token: the hub decides `path`'s parent scope with read
/// permission exactly as a `request_scope` with `wait_ms` 0 would (same grants, policy and
/// audit), and when it is granted, issues the token and reads the secret with it. The answer is a
/// `scoped_secret` (the token, to cache as a `request_scope` grant, and the secret); a scope that
/// needs the owner's approval is answered `needs_approval` with nothing recorded, and the client
/// then takes the ordinary path (`request_scope` with its wait, then `get_secret`). A scope
/// refused outright is the `denied` error `request_scope` would have put in its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSecretScoped {
    /// The secret; the scope asked for is its parent scope (`github/alice/token` →
    /// `github/alice/*`).
    pub path: SecretPath,
}

/// Create or replace one secret. The owner key may omit the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutSecret {
    /// A token whose scope covers `path` with write permission; optional for the owner key.
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// The secret.
    pub path: SecretPath,
    /// The new value.
    pub value: SecretValue,
}

/// List secret paths below a prefix. With a token, only paths its scope covers; without one (owner
/// key only), every path. Values are never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSecrets {
    /// A token with read permission; optional for the owner key.
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// Whole-segment prefix such as `github/alice`; empty for all.
    #[serde(default)]
    pub prefix: String,
}

/// Delete one secret. The owner key may omit the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteSecret {
    /// A token whose scope covers `path` with write permission; optional for the owner key.
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// The secret.
    pub path: SecretPath,
    /// Remove every version everywhere (`auth rm --destroy`: OpenBao's KV v2 destroy of all
    /// versions and the metadata) rather than the backend's ordinary delete (OpenBao: a soft
    /// delete). Sent only when true, so older peers see the request they know.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
}

/// Would `scope` with `permissions` be granted to this session's key right now without a prompt?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HasScope {
    /// The scope.
    pub scope: SecretScope,
    /// The rights.
    pub permissions: Permissions,
}

/// Create the owner key. Only on a session without a key, and only while the hub has no owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// The key's name; `owner` when empty.
    #[serde(default)]
    pub name: String,
}

/// The hub's state. Allowed without a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {}

/// Requests waiting for a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPending {}

/// Approve every pending request for a scope that `scope` covers (or the one with `request_id`).
/// With nothing pending, pre-grant `scope` to `key` (the owner key by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The scope to grant.
    pub scope: SecretScope,
    /// Rights granted; read unless the owner asked for write too.
    pub permissions: Permissions,
    /// How long the standing grant lasts, in milliseconds; none means until revoked.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
    /// Approve the waiting requests only; keep no standing grant.
    #[serde(default)]
    pub once: bool,
    /// Decide only this pending request.
    #[serde(default)]
    pub request_id: Option<u64>,
    /// The key a pre-grant is for; the owner key when absent.
    #[serde(default)]
    pub key: Option<String>,
}

/// Refuse every pending request for a scope that `scope` covers (or the one with `request_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deny {
    /// The scope to refuse.
    pub scope: SecretScope,
    /// Decide only this pending request.
    #[serde(default)]
    pub request_id: Option<u64>,
}

/// Standing grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListGrants {}

/// Remove the standing grants that `scope` covers and kill the access tokens issued for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    /// The scope to revoke.
    pub scope: SecretScope,
    /// Only this key's grants; every key's when absent.
    #[serde(default)]
    pub key: Option<String>,
}

/// Create a service key with pre-granted scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateKey {
    /// The key's name, unique among live keys.
    pub name: String,
    /// Scopes the key receives without a prompt.
    #[serde(default)]
    pub scopes: Vec<SecretScope>,
    /// Rights under those scopes.
    pub permissions: Permissions,
    /// When the key stops working (unix milliseconds); never when absent.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    /// May validate other credentials and exchange them for hub JWTs (a 1st-layer API's key).
    /// Sent only when true, so older peers see the request they know.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub validate: bool,
}

/// Import a legacy `MELT_…` (or an existing `TAUTH_…`) key as a service key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportKey {
    /// The key's full text.
    pub key: MasterToken,
    /// Scopes the key receives without a prompt.
    #[serde(default)]
    pub scopes: Vec<SecretScope>,
    /// Rights under those scopes.
    pub permissions: Permissions,
    /// When the key stops working (unix milliseconds); never when absent.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
}

/// Every key, live and revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListKeys {}

/// Revoke a service key: soft-delete it and kill its access tokens at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeKey {
    /// The key's name.
    pub name: String,
}

/// Read the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadAudit {
    /// Only the last `limit` lines; all when 0.
    #[serde(default)]
    pub limit: u32,
    /// Also verify the hash chain of the whole log.
    #[serde(default)]
    pub verify: bool,
}

/// Subscribe this connection to pending-request events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchPending {}

/// Register a repository with the hub. Registering a registered path again changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRepo {
    /// The repository's absolute, canonical path; the hub checks its shape
    /// ([`validate_repo_path`](crate::repo_path::validate_repo_path)) and never touches the
    /// filesystem there.
    pub path: String,
}

/// Forget a registered repository. Forgetting an unknown path changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnregisterRepo {
    /// The path it was registered with.
    pub path: String,
}

/// The registered repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRepos {}

/// Begin recovering a lost owner key. The hub writes a fresh one-time code into a 0600 file in
/// its 0700 state directory and answers where (`recovery_started`); only a process that can read
/// that directory (the hub's own user) can then send the code with [`Recover`]. A keyless
/// session only; the hub must have an owner key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRecovery {}

/// Replace the owner key: the old one is revoked and its access tokens killed; secrets, grants
/// (they follow the owner's name) and service keys stay. A keyless session only. The code is
/// single use: a wrong, expired or reused code is refused and the recovery must start again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recover {
    /// The code read from the file `start_recovery` named.
    pub code: RecoveryCode,
}

/// Move every secret that `target` covers into the backend `to_backend`: each is copied, read
/// back and compared, and only then deleted from the backend it was in. A failure at any step
/// leaves the value where it was; the answer (`secrets_moved`) reports each path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveSecrets {
    /// The backend's name (`[store.backend.<name>]`, or `file` for the local store).
    pub to_backend: String,
    /// An exact path (`team/deploy/token`), a scope (`team/*`), or `*` for every secret.
    pub target: SecretScope,
}
