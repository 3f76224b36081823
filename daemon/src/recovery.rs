//! One-time codes that prove local control of the hub's state, so a lost owner key is not a dead
//! end: `start_recovery` writes a fresh random code into `<state>/recovery.code` (0600, inside the
//! 0700 state directory), and `recover` accepts it once, within [`CODE_LIFETIME`], to replace the
//! owner key.
//!
//! Only a process that can read the state directory — the hub's own user, or root — can learn
//! the code, which is the same trust as editing the store files by hand with the hub stopped.
//! A code is single use: every `recover`, right or wrong, consumes the code in force and removes
//! the file, so a guess can be tried once per `start_recovery`, against 32 random bytes.
//! Codes are compared in constant time and never logged.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::store::atomic::write_atomic;

/// The code file's name in the state directory.
pub const CODE_FILE: &str = "recovery.code";
/// How long a code is accepted.
pub const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// Random bytes in a code.
const CODE_BYTES: usize = 32;

/// Why a recovery code was not issued or not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// No code is in force (none issued, or already used).
    #[error("no recovery is in progress, or its code was already used; start again")]
    NotStarted,
    /// The code in force has expired.
    #[error("the recovery code has expired; start again")]
    Expired,
    /// The code does not match.
    #[error("wrong recovery code; the recovery was cancelled, start again")]
    Mismatch,
    /// The code file could not be written.
    #[error("cannot write the recovery code file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// The code in force.
struct Issued {
    code: Zeroizing<String>,
    expires: Instant,
}

/// The hub's recovery codes: at most one in force.
pub struct RecoveryCodes {
    file: PathBuf,
    current: Mutex<Option<Issued>>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl RecoveryCodes {
    /// Codes written into `state_dir`. A code file left by an earlier hub is removed: its code
    /// lived only in that hub's memory.
    pub fn new(state_dir: &Path) -> Self {
        let file = state_dir.join(CODE_FILE);
        let _ = fs::remove_file(&file);
        Self {
            file,
            current: Mutex::new(None),
        }
    }

    /// Issues a fresh code (replacing any code in force), writes it to the code file and returns
    /// the file's path and the code's lifetime.
    ///
    /// # Errors
    /// [`RecoveryError::Write`]; no code is then in force.
    pub fn issue(&self, now: Instant) -> Result<(PathBuf, Duration), RecoveryError> {
        let mut bytes = Zeroizing::new([0u8; CODE_BYTES]);
        OsRng.fill_bytes(bytes.as_mut());
        let code = Zeroizing::new(format!("z{}", bs58::encode(bytes.as_ref()).into_string()));
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *current = None;
        let mut text = Zeroizing::new(code.as_bytes().to_vec());
        text.push(b'\n');
        write_atomic(&self.file, &text, 0o600).map_err(|source| RecoveryError::Write {
            path: self.file.clone(),
            source,
        })?;
        *current = Some(Issued {
            code,
            expires: now + CODE_LIFETIME,
        });
        Ok((self.file.clone(), CODE_LIFETIME))
    }

    /// Checks `presented` against the code in force and consumes it whatever the outcome (the
    /// file is removed too).
    ///
    /// # Errors
    /// [`RecoveryError::NotStarted`], [`RecoveryError::Expired`] or [`RecoveryError::Mismatch`].
    pub fn redeem(&self, presented: &str, now: Instant) -> Result<(), RecoveryError> {
        let issued = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let _ = fs::remove_file(&self.file);
        let issued = issued.ok_or(RecoveryError::NotStarted)?;
        if now >= issued.expires {
            return Err(RecoveryError::Expired);
        }
        if bool::from(issued.code.as_bytes().ct_eq(presented.as_bytes())) {
            Ok(())
        } else {
            Err(RecoveryError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn read_code(path: &Path) -> String {
        fs::read_to_string(path)
            .expect("code file")
            .trim_end()
            .to_owned()
    }

    #[test]
    fn a_code_is_private_single_use_and_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let codes = RecoveryCodes::new(dir.path());
        let now = Instant::now();
        let (path, lifetime) = codes.issue(now).expect("issued");
        assert_eq!(lifetime, CODE_LIFETIME);
        let mode = fs::metadata(&path).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let code = read_code(&path);
        assert!(code.len() > 40, "{} characters", code.len());
        codes.redeem(&code, now).expect("accepted");
        assert!(!path.exists(), "removed after use");
        assert!(matches!(
            codes.redeem(&code, now),
            Err(RecoveryError::NotStarted)
        ));
    }

    #[test]
    fn a_wrong_code_cancels_the_recovery() {
        let dir = tempfile::tempdir().expect("temp dir");
        let codes = RecoveryCodes::new(dir.path());
        let now = Instant::now();
        let (path, _) = codes.issue(now).expect("issued");
        let code = read_code(&path);
        assert!(matches!(
            codes.redeem("zwrong", now),
            Err(RecoveryError::Mismatch)
        ));
        assert!(!path.exists());
        assert!(matches!(
            codes.redeem(&code, now),
            Err(RecoveryError::NotStarted)
        ));
    }

    #[test]
    fn codes_expire_and_a_new_one_replaces_the_old() {
        let dir = tempfile::tempdir().expect("temp dir");
        let codes = RecoveryCodes::new(dir.path());
        let now = Instant::now();
        let (path, _) = codes.issue(now).expect("issued");
        let first = read_code(&path);
        codes.issue(now).expect("issued again");
        let second = read_code(&path);
        assert_ne!(first, second);
        assert!(matches!(
            codes.redeem(&first, now),
            Err(RecoveryError::Mismatch)
        ));
        let (path, _) = codes.issue(now).expect("issued");
        let code = read_code(&path);
        assert!(matches!(
            codes.redeem(&code, now + CODE_LIFETIME),
            Err(RecoveryError::Expired)
        ));
    }

    #[test]
    fn a_leftover_file_is_removed_at_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join(CODE_FILE), "zold\n").expect("write");
        let codes = RecoveryCodes::new(dir.path());
        assert!(!dir.path().join(CODE_FILE).exists());
        assert!(matches!(
            codes.redeem("zold", Instant::now()),
            Err(RecoveryError::NotStarted)
        ));
    }
}
