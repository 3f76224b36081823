//! Who is on the other end of a connection, from the kernel's peer credentials. Read before the
//! first frame, so a process of another user never gets to send a byte we parse.

use auth_hub_protocol::response::PeerInfo;
use tokio::net::UnixStream;

/// Reads the peer's uid and pid, and its executable path where `/proc` shows it.
///
/// # Errors
/// The OS refused to report the credentials.
pub fn peer_info(stream: &UnixStream) -> std::io::Result<PeerInfo> {
    let cred = stream.peer_cred()?;
    let pid = cred.pid();
    let exe = pid.and_then(executable_of);
    Ok(PeerInfo {
        uid: cred.uid(),
        pid,
        exe,
    })
}

/// True when `uid` is this process's user or one the config allows.
pub fn uid_allowed(uid: u32, allowed: &[u32]) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = unsafe { libc::geteuid() };
    uid == own || allowed.contains(&uid)
}

fn executable_of(pid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|path| path.display().to_string())
}
