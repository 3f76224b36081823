//! A connection's identity after the hello: the peer process and the key it proved.

use auth_hub_protocol::provider::Actor;
use auth_hub_protocol::response::PeerInfo;

use crate::error::HubError;

/// The key a session authenticated with.
#[derive(Debug, Clone)]
pub struct SessionKey {
    /// The key's name.
    pub name: String,
    /// True for the owner key.
    pub owner: bool,
    /// The key record's stored hash, so the session is tied to that record and not only to the
    /// name: a replaced owner key (recovery) keeps its name, and its old sessions must end.
    pub hash: String,
}

/// One connection's identity.
#[derive(Debug, Clone)]
pub struct Session {
    /// The peer process.
    pub peer: PeerInfo,
    /// The client program's name from its hello.
    pub client_name: String,
    /// The key, or `None` for a keyless session (status and login only).
    pub key: Option<SessionKey>,
}

impl Session {
    /// The key's name, if any.
    pub fn key_name(&self) -> Option<&str> {
        self.key.as_ref().map(|key| key.name.as_str())
    }

    /// Who is acting, for records' `created_by`/`updated_by`: the key and the peer process.
    /// `None` on a keyless session.
    pub fn actor(&self) -> Option<Actor> {
        let key = self.key.as_ref()?;
        Some(Actor {
            key: key.name.clone(),
            uid: self.peer.uid,
            pid: self.peer.pid.and_then(|pid| u32::try_from(pid).ok()),
            exe: self.peer.exe.clone(),
        })
    }

    /// The session's key, or an error for a keyless session.
    ///
    /// # Errors
    /// [`HubError::InvalidMasterToken`] without a key.
    pub fn require_key(&self) -> Result<&SessionKey, HubError> {
        self.key.as_ref().ok_or(HubError::InvalidMasterToken)
    }

    /// The owner key, or an error naming the operation.
    ///
    /// # Errors
    /// [`HubError::OwnerRequired`] for other keys, [`HubError::InvalidMasterToken`] without one.
    pub fn require_owner(&self, operation: &'static str) -> Result<&SessionKey, HubError> {
        let key = self.require_key()?;
        if key.owner {
            Ok(key)
        } else {
            Err(HubError::OwnerRequired(operation))
        }
    }
}
