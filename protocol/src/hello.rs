//! The handshake: the client's first frame and the hub's answer.

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorReply;
use crate::secret::MasterToken;

/// The client's first frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the client speaks ([`crate::PROTOCOL_VERSION`]).
    pub protocol_version: u32,
    /// The client program's name, for the audit log and approvers.
    pub client_name: String,
    /// The client program's version.
    pub client_version: String,
    /// The API key. Without one only `status` and `login` are allowed.
    #[serde(default)]
    pub master_token: Option<MasterToken>,
}

/// The hub's answer to a hello. After an `error` the hub closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelloReply {
    /// The session is open.
    Welcome(Welcome),
    /// `unsupported_version`, `invalid_master_token` or `bad_request`.
    Error(ErrorReply),
}

/// What the hub says about itself and the session when it accepts a hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version the hub speaks.
    pub protocol_version: u32,
    /// The hub program's name (`auth-hub`).
    pub server_name: String,
    /// The hub program's version.
    pub server_version: String,
    /// The name of the key the session runs as; `None` for a session without a key.
    #[serde(default)]
    pub key_name: Option<String>,
    /// True when the key is the owner key.
    #[serde(default)]
    pub owner: bool,
    /// Largest frame the hub accepts, in bytes.
    #[serde(default)]
    pub max_frame: u32,
}
