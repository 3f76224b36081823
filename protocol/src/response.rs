//! Responses: the envelope echoing the request's `id`, its result, and one struct per answer.
//!
//! Everything the hub sends after the hello is a [`ServerMessage`]: a response to a request, or a
//! pushed event. On the wire: `{"response": {"id": 7, "result": {"ok": {"secret": {…}}}}}` or
//! `{"response": {"id": 7, "result": {"error": {"code": "denied", …}}}}` or `{"event": {…}}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error_code::ErrorReply;
use crate::event::Event;
use crate::identity::{IssuedJwt, JwksReply, JwtValidation, KeyValidation, OidcSession};
use crate::path::SecretPath;
use crate::provider::{Actor, ProviderHistoryReply, ProviderList, ProviderReply};
use crate::scope::{Permissions, SecretScope};
use crate::secret::{AccessToken, MasterToken, Secret};

/// A frame from the hub after the hello.
// Responses are decoded one at a time and handed on, never kept in bulk; boxing the large one
// would cost an allocation per reply for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to one request.
    Response(ResponseEnvelope),
    /// Something the client subscribed to.
    Event(Event),
}

/// The answer to the request with the same `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    /// The request's id; 0 when the request could not be decoded far enough to read its id.
    pub id: u64,
    /// Success or failure.
    pub result: ResponseResult,
}

/// Success with a response, or failure with an error reply.
// Large because `Response` is (see there); same reasoning: one per reply, never kept in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseResult {
    /// The operation succeeded.
    Ok(Response),
    /// The operation failed.
    Error(ErrorReply),
}

/// Every successful answer; the variant is named for what it carries.
// `#[non_exhaustive]`: clients (this workspace's and others') match the one answer they expect and
// must keep compiling when a new operation adds an answer.
// `StatusReply` is the largest variant by far; a response is built and decoded once per reply
// and never kept in bulk, so boxing it would only cost an allocation and a noisier API.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    /// To `request_scope`.
    Scopes(ScopeOutcomes),
    /// To `get_secret`.
    Secret(Secret),
    /// To `get_secret_scoped` when its scope was granted.
    ScopedSecret(ScopedSecret),
    /// To `get_secret_scoped` when its scope needs the owner's approval.
    NeedsApproval(NeedsApproval),
    /// To `put_secret`.
    Written(Written),
    /// To `list_secrets`.
    Secrets(SecretList),
    /// To `delete_secret`.
    Deleted(Deleted),
    /// To `has_scope`.
    HasScope(HasScopeReply),
    /// To `login`, `create_key` and `import_key` (for an import, `key` echoes nothing new).
    KeyCreated(KeyCreated),
    /// To `status`.
    Status(StatusReply),
    /// To `list_pending` and `watch_pending`.
    Pending(PendingList),
    /// To `grant`.
    Granted(GrantReply),
    /// To `deny`.
    Denied(DenyReply),
    /// To `list_grants`.
    Grants(GrantList),
    /// To `revoke`.
    Revoked(RevokeReply),
    /// To `list_keys`.
    Keys(KeyList),
    /// To `revoke_key`.
    KeyRevoked(KeyRevokeReply),
    /// To `read_audit`.
    Audit(AuditReply),
    /// To `register_repo`.
    RepoRegistered(RepoRegistered),
    /// To `unregister_repo`.
    RepoUnregistered(RepoUnregistered),
    /// To `list_repos`.
    Repos(RepoList),
    /// To `start_recovery`.
    RecoveryStarted(RecoveryStarted),
    /// To `move_secrets`.
    SecretsMoved(MoveReport),
    /// To `add_provider`, `update_provider`, `show_provider` and `remove_provider`.
    Provider(ProviderReply),
    /// To `list_providers`.
    Providers(ProviderList),
    /// To `provider_history`.
    ProviderHistory(ProviderHistoryReply),
    /// To `validate_key`.
    KeyValidation(KeyValidation),
    /// To `validate_jwt`.
    JwtValidation(JwtValidation),
    /// To `issue_jwt`.
    JwtIssued(IssuedJwt),
    /// To `jwks`.
    Jwks(JwksReply),
    /// To `oidc_login` and `oidc_refresh`.
    OidcSession(OidcSession),
}

impl Response {
    /// The answer's wire name (`secret`, `written`, …), for messages: never its content, which
    /// may hold a secret.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Scopes(_) => "scopes",
            Self::Secret(_) => "secret",
            Self::ScopedSecret(_) => "scoped_secret",
            Self::NeedsApproval(_) => "needs_approval",
            Self::Written(_) => "written",
            Self::Secrets(_) => "secrets",
            Self::Deleted(_) => "deleted",
            Self::HasScope(_) => "has_scope",
            Self::KeyCreated(_) => "key_created",
            Self::Status(_) => "status",
            Self::Pending(_) => "pending",
            Self::Granted(_) => "granted",
            Self::Denied(_) => "denied",
            Self::Grants(_) => "grants",
            Self::Revoked(_) => "revoked",
            Self::Keys(_) => "keys",
            Self::KeyRevoked(_) => "key_revoked",
            Self::Audit(_) => "audit",
            Self::RepoRegistered(_) => "repo_registered",
            Self::RepoUnregistered(_) => "repo_unregistered",
            Self::Repos(_) => "repos",
            Self::RecoveryStarted(_) => "recovery_started",
            Self::SecretsMoved(_) => "secrets_moved",
            Self::Provider(_) => "provider",
            Self::Providers(_) => "providers",
            Self::ProviderHistory(_) => "provider_history",
            Self::KeyValidation(_) => "key_validation",
            Self::JwtValidation(_) => "jwt_validation",
            Self::JwtIssued(_) => "jwt_issued",
            Self::Jwks(_) => "jwks",
            Self::OidcSession(_) => "oidc_session",
        }
    }
}

/// One outcome per scope asked for, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOutcomes {
    /// The outcomes.
    pub outcomes: Vec<ScopeOutcome>,
}

/// What was decided for one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOutcome {
    /// The scope asked for.
    pub scope: SecretScope,
    /// A token, or why not.
    pub result: ScopeResult,
}

/// A token for the scope, or the error (`denied`, `timeout`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeResult {
    /// Granted.
    Granted(ScopeToken),
    /// Not granted.
    Error(ErrorReply),
}

/// An access token bound to a scope, permissions and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeToken {
    /// The opaque token; send it with `get_secret`.
    pub access_token: AccessToken,
    /// The rights it carries.
    pub permissions: Permissions,
    /// When it stops working (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub expires_at: DateTime<Utc>,
}

/// A `get_secret_scoped` answered: the token issued for the path's parent scope and the secret
/// read with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedSecret {
    /// The scope the token was issued for: the path's parent scope.
    pub scope: SecretScope,
    /// The token, with read permission; reuse it with `get_secret` until it expires.
    pub token: ScopeToken,
    /// The secret.
    pub secret: Secret,
}

/// A `get_secret_scoped` whose scope needs the owner's approval: nothing was issued, read,
/// parked or recorded. Ask with `request_scope` (and its wait) instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsApproval {
    /// The scope that needs approval.
    pub scope: SecretScope,
}

/// A secret was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// Where.
    pub path: SecretPath,
    /// The new version number.
    pub version: u64,
    /// When (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub updated_at: DateTime<Utc>,
}

/// Paths, with metadata but never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretList {
    /// Sorted by path.
    pub entries: Vec<SecretEntry>,
    /// Backends that could not be listed, one line each naming the backend; their paths are
    /// missing from `entries`. Empty when every backend answered.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One listed secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretEntry {
    /// Where.
    pub path: SecretPath,
    /// Current version number.
    pub version: u64,
    /// First written (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub created_at: DateTime<Utc>,
    /// Last written (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub updated_at: DateTime<Utc>,
    /// The store backend that holds it (`file`, or a `[store.backend.<name>]`); `None` from
    /// hubs that predate named backends.
    #[serde(default)]
    pub backend: Option<String>,
}

/// A secret was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// Where.
    pub path: SecretPath,
}

/// Whether the scope would be granted without a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HasScopeReply {
    /// True when policy, a standing grant or the key's own scopes allow it now.
    pub granted: bool,
    /// True when a `request_scope` would wait for the owner (false: granted or denied at once).
    #[serde(default)]
    pub needs_approval: bool,
    /// The hub's grant timeout: the longest a `request_scope` waits, in milliseconds.
    #[serde(default)]
    pub grant_timeout_ms: u64,
}

/// A new key; its text is shown this once and never stored by the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    /// The full key text (`TAUTH_…`). For `import_key`, absent.
    #[serde(default)]
    pub key: Option<MasterToken>,
    /// The key's record.
    pub info: KeyInfo,
}

/// What the hub knows about a key (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Its name.
    pub name: String,
    /// True for the owner key.
    pub owner: bool,
    /// Its pre-granted scopes.
    #[serde(default)]
    pub scopes: Vec<SecretScope>,
    /// Rights under those scopes.
    #[serde(default)]
    pub permissions: Permissions,
    /// Created (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub created_at: DateTime<Utc>,
    /// Expires (unix milliseconds), if ever.
    #[serde(default, with = "crate::time::opt_millis")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked (unix milliseconds), if so.
    #[serde(default, with = "crate::time::opt_millis")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The seed's `APIKey.id`: hex SHA-256 of (name, stored value hash, soft-deleted flag), so
    /// it changes when the key is revoked. Empty from an older hub.
    #[serde(default)]
    pub id: String,
    /// Who created it, when known.
    #[serde(default)]
    pub created_by: Option<Actor>,
    /// Who revoked it, when revoked and known.
    #[serde(default)]
    pub revoked_by: Option<Actor>,
    /// May validate other credentials and issue hub JWTs for them.
    #[serde(default)]
    pub validate: bool,
}

/// The hub's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReply {
    /// Hub version.
    pub server_version: String,
    /// Protocol version.
    pub protocol_version: u32,
    /// Process id.
    pub pid: u32,
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Socket path.
    pub socket: String,
    /// The hub's home directory.
    pub home: String,
    /// The store (`file`, `memory`).
    pub store: String,
    /// Where the store's data key lives (`keychain`, `key file PATH`, `none`).
    pub key_source: String,
    /// The policy file.
    pub policy_file: String,
    /// The last load of the policy file failed with this error; the previous policy is in force.
    #[serde(default)]
    pub policy_error: Option<String>,
    /// Live keys.
    pub keys: u32,
    /// Standing grants.
    pub grants: u32,
    /// Pending requests.
    pub pending: u32,
    /// True once `login` has created the owner key.
    pub has_owner: bool,
    /// The session's key name, if the hello carried a valid key.
    #[serde(default)]
    pub session_key: Option<String>,
    /// True when the session's key is the owner key.
    #[serde(default)]
    pub session_owner: bool,
    /// Registered repositories.
    #[serde(default)]
    pub registered_repos: u64,
    /// The scopes registered repositories declare in their `.hyperforge/config.toml`, sorted by
    /// scope, each with its state for the owner key.
    #[serde(default)]
    pub declared: Vec<DeclaredScope>,
    /// Registered repositories whose config declares nothing usable: missing, unreadable,
    /// invalid, or a forge without an org. Sorted by repository.
    #[serde(default)]
    pub repo_errors: Vec<DeclaredRepoError>,
    /// The store found, when it opened, that committed writes are missing (rolled back) or were
    /// lost and accepted (`auth-hub serve --accept-store-loss`); `None` when it is whole.
    #[serde(default)]
    pub store_problem: Option<String>,
    /// The audit log was found deleted, cut short or replaced (at start, against the anchor in
    /// the sealed store, or since); `None` when it holds every line the hub wrote.
    #[serde(default)]
    pub audit_problem: Option<String>,
    /// Every store backend: the local one first, then the declared ones in config order.
    #[serde(default)]
    pub backends: Vec<BackendStatus>,
    /// OIDC logins held by the hub (who is logged in where, and until when). Sent only when
    /// there are some, so a status without identity features encodes as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logins: Vec<OidcSession>,
    /// The loopback HTTP listener's address (`[http] listen`), when one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_listen: Option<String>,
    /// Set when the config file's `[http]` differs from the listener in force (it is bound at
    /// start-up only): what a restart would change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_restart: Option<String>,
}

/// One store backend as `status` shows it, with the result of a health probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendStatus {
    /// Its name: `file` for the local store, else the `[store.backend.<name>]`.
    pub name: String,
    /// `file`, `memory`, `keychain` or `openbao`.
    pub kind: String,
    /// The scopes of the routes that send paths to it, in order.
    #[serde(default)]
    pub routes: Vec<String>,
    /// True for the backend of every path no route matches.
    #[serde(default)]
    pub default: bool,
    /// The probe got an answer.
    pub reachable: bool,
    /// The backend accepted the hub's credential.
    pub authenticated: bool,
    /// How long the probe took, for remote backends.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// The server's version (OpenBao), when it said.
    #[serde(default)]
    pub version: Option<String>,
    /// Why it is not healthy, in one line.
    #[serde(default)]
    pub problem: Option<String>,
}

/// One scope (`{forge}/{org}/*`) declared by one or more registered repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredScope {
    /// The scope pattern, such as `github/alice/*`.
    pub scope: String,
    /// The repositories (root paths) declaring it, sorted.
    pub repos: Vec<String>,
    /// What the owner key would get for it now.
    pub state: DeclaredState,
}

/// Where a declared scope stands for the owner key, first match wins in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredState {
    /// A live standing grant covers it.
    Granted,
    /// A request for it waits for the owner.
    Pending,
    /// Policy (a rule, the default, or `declared = "allow"`) would allow it without a prompt.
    AllowedByPolicy,
    /// Policy would refuse it.
    DeniedByPolicy,
    /// A request would prompt the owner.
    NotGranted,
}

impl DeclaredState {
    /// The wire name: `granted`, `pending`, `allowed_by_policy`, `denied_by_policy` or
    /// `not_granted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Pending => "pending",
            Self::AllowedByPolicy => "allowed_by_policy",
            Self::DeniedByPolicy => "denied_by_policy",
            Self::NotGranted => "not_granted",
        }
    }
}

/// A registered repository whose declared scopes could not be (fully) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredRepoError {
    /// The repository's root path.
    pub repo: String,
    /// What is wrong, such as `config missing` or a TOML error with line and column.
    pub error: String,
}

/// Pending requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingList {
    /// Oldest first.
    pub requests: Vec<PendingRequest>,
}

/// A request waiting for the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The hub's id for it (used by `grant`/`deny` `request_id`).
    pub id: u64,
    /// The scopes asked for together.
    pub scopes: Vec<SecretScope>,
    /// The rights asked for.
    pub permissions: Permissions,
    /// The key that asked.
    pub key_name: String,
    /// The client program's name from its hello.
    pub client_name: String,
    /// The requesting process.
    pub peer: PeerInfo,
    /// The reason the client gave.
    #[serde(default)]
    pub reason: String,
    /// Asked at (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub created_at: DateTime<Utc>,
    /// Times out at (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub expires_at: DateTime<Utc>,
}

/// The process on the other end of a connection, from the socket's peer credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// User id.
    pub uid: u32,
    /// Process id, when the OS reports it.
    #[serde(default)]
    pub pid: Option<i32>,
    /// Executable path, when readable.
    #[serde(default)]
    pub exe: Option<String>,
}

/// What a grant did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantReply {
    /// Pending requests approved.
    pub approved: Vec<u64>,
    /// Standing grants created or extended (none with `once`).
    pub grants: Vec<GrantInfo>,
}

/// What a deny did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyReply {
    /// Pending requests refused.
    pub denied: Vec<u64>,
}

/// Standing grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantList {
    /// Sorted by key, then scope.
    pub grants: Vec<GrantInfo>,
}

/// A standing grant: a key may receive tokens for a scope without a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    /// The key it is for.
    pub key_name: String,
    /// The scope.
    pub scope: SecretScope,
    /// The rights.
    pub permissions: Permissions,
    /// Granted at (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub created_at: DateTime<Utc>,
    /// Expires at (unix milliseconds), if ever.
    #[serde(default, with = "crate::time::opt_millis")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a revoke did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeReply {
    /// Standing grants removed.
    pub grants: u32,
    /// Access tokens killed.
    pub tokens: u32,
}

/// Keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    /// Sorted by name.
    pub keys: Vec<KeyInfo>,
}

/// A key was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRevokeReply {
    /// Its name.
    pub name: String,
    /// Access tokens killed.
    pub tokens: u32,
}

/// Audit lines and, if asked, the chain's verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReply {
    /// The JSON lines, oldest first.
    pub lines: Vec<String>,
    /// Present when `verify` was asked.
    #[serde(default)]
    pub verification: Option<AuditVerification>,
}

/// The result of checking the audit log's hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// True when every line's `prev` matches the hash of the line before.
    pub ok: bool,
    /// Lines checked.
    pub lines: u64,
    /// The first problem found.
    #[serde(default)]
    pub error: Option<String>,
    /// The highest line number the hub knows was written durably (anchored in the sealed store,
    /// or made durable by this hub run); a log with fewer lines is reported as cut. 0 when
    /// nothing is anchored (a memory store, or no secret written yet).
    #[serde(default)]
    pub anchored: u64,
}

/// A repository is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRegistered {
    /// Its path, as registered.
    pub path: String,
    /// False when it was registered already (nothing changed).
    pub added: bool,
}

/// A repository is not registered (any more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoUnregistered {
    /// Its path.
    pub path: String,
    /// False when it was not registered (nothing changed).
    pub removed: bool,
}

/// The registered repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoList {
    /// Sorted by path (bytewise).
    pub repos: Vec<RepoInfo>,
}

/// One registered repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInfo {
    /// Its absolute, canonical path.
    pub path: String,
    /// When it was first registered (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub registered_at: DateTime<Utc>,
}

/// Where the hub wrote a one-time owner-key recovery code, and for how long it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryStarted {
    /// The absolute path of the code file (0600, in the hub's 0700 state directory).
    pub code_file: String,
    /// How long the code is accepted, in milliseconds.
    pub expires_in_ms: u64,
}

/// What `move_secrets` did, path by path. Every list is sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveReport {
    /// Secrets now in the target backend and no longer in the one they came from.
    pub moved: Vec<MovedSecret>,
    /// Secrets already in the target backend and in no other: nothing to do.
    pub unchanged: Vec<UnchangedSecret>,
    /// Secrets (or backends, for [`MoveStage::List`]) the move could not handle; each value is
    /// still where it was.
    pub failed: Vec<MoveFailure>,
}

/// One secret moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedSecret {
    /// The secret.
    pub path: SecretPath,
    /// The backend it was in.
    pub from: String,
    /// The backend it is in now.
    pub to: String,
    /// Its version in `to`.
    pub version: u64,
    /// The backend the routes send this path to: reads see the moved value only when this is
    /// `to`.
    pub served_by: String,
}

/// One secret that was in the target backend only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnchangedSecret {
    /// The secret.
    pub path: SecretPath,
    /// The backend the routes send this path to.
    pub served_by: String,
}

/// One secret the move left where it was, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveFailure {
    /// The secret; for [`MoveStage::List`], the target pattern that could not be listed.
    pub path: String,
    /// The backend the secret is in (for [`MoveStage::List`]: the backend that could not be
    /// listed).
    pub from: String,
    /// The step that failed.
    pub stage: MoveStage,
    /// What went wrong, and where the value is now; never the value.
    pub reason: String,
}

/// The steps of moving one secret, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MoveStage {
    /// Listing a backend's secrets under the target.
    List,
    /// Reading the value from its backend (or the target's copy, to compare).
    Read,
    /// Writing it to the target backend.
    Write,
    /// Reading the copy back: it was missing or differed. The source is untouched.
    Verify,
    /// Deleting it from the backend it came from: both copies exist.
    DeleteSource,
}

impl MoveStage {
    /// The wire name (`delete_source`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Read => "read",
            Self::Write => "write",
            Self::Verify => "verify",
            Self::DeleteSource => "delete_source",
        }
    }
}
