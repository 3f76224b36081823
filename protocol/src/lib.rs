//! The auth-hub wire protocol: plain data, its validation, and the frame codec. No other I/O,
//! except in [`local`]: the few files on one machine that the hub and its clients share.
//!
//! ```text
//! frame   = length:u32 big-endian (1 ..= max, default 1 MiB) ‖ body: MessagePack, named fields
//! client  → Hello                      (first frame)
//! hub     → HelloReply                 (welcome, or error then close)
//! client  → RequestEnvelope { id, request }   (any number, many in flight)
//! hub     → ServerMessage::Response { id, result } | ServerMessage::Event
//! ```
//!
//! `docs/protocol.md` in the repository describes every message byte for byte.

pub mod command;
pub mod duration;
pub mod error_code;
pub mod event;
pub mod frame;
pub mod hello;
pub mod identity;
pub mod key;
pub mod local;
pub mod named_fields;
pub mod oidc;
pub mod path;
pub mod provider;
pub mod repo_path;
pub mod request;
pub mod response;
pub mod scope;
pub mod secret;
pub mod time;

pub use command::grant_command;
pub use error_code::{ErrorCode, ErrorReply};
pub use event::{Event, PendingOutcome, PendingResolved};
pub use frame::{FrameCodec, FrameError, DEFAULT_MAX_FRAME};
pub use hello::{Hello, HelloReply, Welcome};
pub use key::{ApiKey, KeyError, KeyFormat};
pub use path::{PathError, SecretPath};
pub use provider::{ProviderError, ProviderId};
pub use repo_path::{validate_repo_path, RepoPathError, MAX_REPO_PATH_LEN};
pub use request::{request_id, Request, RequestEnvelope};
pub use response::{Response, ResponseEnvelope, ResponseResult, ServerMessage};
pub use scope::{Access, Permissions, SecretScope};
pub use secret::{AccessToken, Jwt, MasterToken, RecoveryCode, Secret, SecretValue};

/// The protocol version this build speaks. A small integer, independent of crate versions; it
/// changes only when an old peer could no longer understand a message.
pub const PROTOCOL_VERSION: u32 = 1;
