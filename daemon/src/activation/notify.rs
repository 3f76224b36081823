//! Readiness and stop notifications to systemd (`sd_notify(3)`), without a crate.
//!
//! Under `Type=notify`, systemd sets `NOTIFY_SOCKET` to a datagram socket (a path, or an abstract
//! name written `@name`) and waits for `READY=1` before it counts the service as started. The hub
//! sends `READY=1` once it can answer and `STOPPING=1` when it begins to shut down. The variable
//! is read and cleared before the runtime starts, so children never notify in our name.
//!
//! `AUTH_HUB_READY_SOCKET` is the same kind of target for `READY=1` alone: `hyperforge` sets it
//! when it starts a hub on demand, so it can connect the moment the hub listens instead of
//! polling for it. Nothing else is sent there (the starting command is gone by the time the hub
//! stops).

use std::ffi::OsString;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A socket file.
    Path(PathBuf),
    /// A Linux abstract socket name (without the leading `@`).
    Abstract(Vec<u8>),
}

/// The service manager's notification socket, when there is one. Sending never fails the hub:
/// a refused notification is logged.
#[derive(Debug, Default)]
pub struct Notifier {
    target: Option<Target>,
    /// `AUTH_HUB_READY_SOCKET`: told `READY=1` only.
    ready_target: Option<Target>,
}

impl Notifier {
    /// Reads and clears `NOTIFY_SOCKET` and `AUTH_HUB_READY_SOCKET`. Call only while the
    /// process is single-threaded.
    pub fn from_env() -> Self {
        let value = std::env::var_os("NOTIFY_SOCKET");
        std::env::remove_var("NOTIFY_SOCKET");
        let ready = std::env::var_os("AUTH_HUB_READY_SOCKET");
        std::env::remove_var("AUTH_HUB_READY_SOCKET");
        Self {
            target: value.and_then(parse),
            ready_target: ready.and_then(parse),
        }
    }

    /// Tells the manager, and the command that started the hub, that the hub can answer requests.
    pub fn ready(&self) {
        self.send("READY=1");
        if let Some(target) = &self.ready_target {
            // The starting command may have given up waiting: nobody to tell is no error.
            if let Err(error) = send_to(target, b"READY=1") {
                tracing::debug!(%error, "cannot tell the starting command that the hub is ready");
            }
        }
    }

    /// Tells the manager the hub is shutting down.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    fn send(&self, message: &str) {
        let Some(target) = &self.target else {
            return;
        };
        if let Err(error) = send_to(target, message.as_bytes()) {
            tracing::warn!(%error, message, "cannot notify the service manager");
        }
    }
}

/// `NOTIFY_SOCKET`'s value as a target; `None` for empty or unsupported (`vsock:`) values.
fn parse(value: OsString) -> Option<Target> {
    use std::os::unix::ffi::OsStringExt;
    let bytes = value.into_vec();
    match bytes.first() {
        None => None,
        Some(b'@') => Some(Target::Abstract(bytes[1..].to_vec())),
        Some(b'/') => Some(Target::Path(PathBuf::from(OsString::from_vec(bytes)))),
        Some(_) => {
            tracing::warn!("NOTIFY_SOCKET is neither a path nor an abstract name; not notifying");
            None
        }
    }
}

fn send_to(target: &Target, message: &[u8]) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    match target {
        Target::Path(path) => socket.send_to(message, path).map(drop),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Target::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message, &addr).map(drop)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Target::Abstract(_) => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "abstract sockets exist only on Linux",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_paths_and_abstract_names() {
        assert_eq!(parse(OsString::new()), None);
        assert_eq!(
            parse("/run/user/1000/systemd/notify".into()),
            Some(Target::Path("/run/user/1000/systemd/notify".into()))
        );
        assert_eq!(
            parse("@abc".into()),
            Some(Target::Abstract(b"abc".to_vec()))
        );
        assert_eq!(parse("vsock:2:1234".into()), None);
    }

    #[test]
    fn sends_ready_and_stopping_to_a_datagram_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        receiver
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier {
            target: Some(Target::Path(path)),
            ready_target: None,
        };
        assert!(notifier.target.is_some());
        let mut buf = [0u8; 256];
        notifier.ready();
        let n = receiver.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1"));
        notifier.stopping();
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("auth-hub-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let receiver = UnixDatagram::bind_addr(&addr).unwrap();
        receiver
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier {
            target: parse(format!("@{name}").into()),
            ready_target: None,
        };
        notifier.stopping();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn the_ready_socket_is_told_ready_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready");
        let receiver = UnixDatagram::bind(&path).unwrap();
        receiver.set_nonblocking(true).unwrap();
        let notifier = Notifier {
            target: None,
            ready_target: Some(Target::Path(path)),
        };
        notifier.ready();
        notifier.stopping();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        assert!(receiver.recv(&mut buf).is_err(), "only READY=1");
    }

    #[test]
    fn without_a_target_nothing_is_sent() {
        let notifier = Notifier::default();
        assert!(notifier.target.is_none());
        notifier.ready();
    }
}
