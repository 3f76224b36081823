//! `hyperforge auth put PATH`: store a secret whose value comes from stdin only, never from the
//! command line (argv is visible to every user of the machine).
//!
//! One trailing newline (`\n` or `\r\n`) is dropped, so `echo "$TOKEN" | hyperforge auth put …`
//! stores the token itself; empty and non-UTF-8 input are refused. The value lives in zeroizing
//! buffers only. At a terminal the value is read without echo after a prompt on stderr.

use std::io::{self, IsTerminal, Read};

use auth_hub_client::AuthClient;
use auth_hub_protocol::{Permissions, SecretPath};
use clap::Args;
use serde_json::json;
use zeroize::Zeroizing;

use super::{announce_wait, connect_keyed, keyed_options};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Largest value accepted, well inside the hub's 1 MiB frame.
const MAX_VALUE: usize = 512 * 1024;
/// Read size; at least the size of stdin's own buffer, so reads bypass that (unzeroized) buffer.
const CHUNK: usize = 16 * 1024;

/// Arguments of `auth put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Where to store the value (read from stdin), such as github/alice/token.
    #[arg(value_name = "PATH")]
    pub path: SecretPath,
}

/// Runs `auth put`.
///
/// # Errors
/// Empty, oversized or non-UTF-8 input (2); denied (3); no key (1); unreachable (5).
pub async fn run(ctx: &Context, args: PutArgs) -> Result<(), CliError> {
    let stdin = io::stdin();
    let raw = if stdin.is_terminal() {
        output::note_inline(&format!("value for {} (input hidden): ", args.path));
        let _echo = echo::Off::new();
        // ECHONL still echoes the newline that ends the value.
        read_value(&mut stdin.lock(), true)?
    } else {
        read_value(&mut stdin.lock(), false)?
    };
    let value = trim_value(&raw)?;

    let client =
        connect_keyed(keyed_options(format!("hyperforge auth put {}", args.path))?).await?;
    if !client.welcome().await?.owner {
        let scope = args.path.parent_scope();
        announce_wait(&client, &[scope], Permissions::WRITE, super::DEFAULT_WAIT).await;
    }
    client.put_secret(&args.path, value).await?;
    if ctx.out.is_json() {
        ctx.out
            .json(&json!({ "path": args.path.as_str(), "stored": true }))
    } else {
        ctx.out.line(&format!("stored {}", args.path))
    }
}

/// Reads `reader` to its end (or its first newline) into a zeroizing buffer. The buffer grows by
/// copying into a larger zeroizing one, so no stale copy of the value is left behind.
///
/// # Errors
/// A read error, or more than [`MAX_VALUE`] bytes.
pub(crate) fn read_value(
    reader: &mut impl Read,
    stop_at_newline: bool,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut value = Zeroizing::new(Vec::with_capacity(CHUNK));
    let mut chunk = Zeroizing::new(vec![0u8; CHUNK]);
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(CliError::failure(format!(
                    "cannot read the value from stdin: {error}"
                )))
            }
        };
        let needed = value.len() + read;
        if needed > MAX_VALUE {
            return Err(CliError::usage(format!(
                "the value on stdin is larger than {} KiB",
                MAX_VALUE / 1024
            )));
        }
        if needed > value.capacity() {
            let mut larger = Zeroizing::new(Vec::with_capacity(needed.max(value.capacity() * 2)));
            larger.extend_from_slice(&value);
            value = larger;
        }
        let bytes = chunk.get(..read).unwrap_or_default();
        value.extend_from_slice(bytes);
        if stop_at_newline && bytes.contains(&b'\n') {
            break;
        }
    }
    Ok(value)
}

/// The value to store: one trailing `\n` or `\r\n` dropped; empty and non-UTF-8 input refused.
///
/// # Errors
/// A usage error (exit 2) saying which.
pub(crate) fn trim_value(raw: &[u8]) -> Result<&str, CliError> {
    let trimmed = raw
        .strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(raw);
    if trimmed.is_empty() {
        return Err(
            CliError::usage("no value on stdin: refusing to store an empty secret")
                .with_hint("pipe the value in: printf %s \"$TOKEN\" | hyperforge auth put PATH"),
        );
    }
    std::str::from_utf8(trimmed).map_err(|error| {
        CliError::usage(format!(
            "the value on stdin is not UTF-8 (invalid byte at offset {})",
            error.valid_up_to()
        ))
        .with_hint("store binary data base64-encoded")
    })
}

/// Terminal echo off while a value is typed.
mod echo {
    use std::os::fd::{AsRawFd, RawFd};

    /// Echo is off while this lives; the previous terminal settings come back on drop.
    pub struct Off {
        fd: RawFd,
        saved: libc::termios,
    }

    impl Off {
        /// Turns echo off on stdin (keeping the newline echo); `None` if stdin is no terminal.
        pub fn new() -> Option<Self> {
            let fd = std::io::stdin().as_raw_fd();
            // SAFETY: termios is plain data; tcgetattr fills it or fails, and we only use it
            // after success.
            let mut settings: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: fd is stdin, open for the life of the process; settings is a valid pointer.
            if unsafe { libc::tcgetattr(fd, &mut settings) } != 0 {
                return None;
            }
            let saved = settings;
            settings.c_lflag &= !libc::ECHO;
            settings.c_lflag |= libc::ECHONL;
            // SAFETY: as above.
            if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &settings) } != 0 {
                return None;
            }
            Some(Self { fd, saved })
        }
    }

    impl Drop for Off {
        fn drop(&mut self) {
            // SAFETY: restores the settings read from the same fd in `new`.
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;

    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped() {
        assert_eq!(trim_value(b"token\n").ok(), Some("token"));
        assert_eq!(trim_value(b"token\r\n").ok(), Some("token"));
        assert_eq!(trim_value(b"token").ok(), Some("token"));
        assert_eq!(trim_value(b"line1\nline2\n").ok(), Some("line1\nline2"));
        assert_eq!(trim_value(b"token\n\n").ok(), Some("token\n"));
    }

    #[test]
    fn empty_and_binary_input_are_usage_errors() {
        for raw in [&b""[..], b"\n", b"\r\n"] {
            let error = trim_value(raw).expect_err("empty");
            assert_eq!(error.kind(), ErrorKind::Usage);
            assert!(error.message().contains("empty"), "{}", error.message());
        }
        let error = trim_value(b"ab\xffcd").expect_err("not UTF-8");
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(error.message().contains("offset 2"), "{}", error.message());
    }

    #[test]
    fn reads_everything_or_one_line() {
        let mut input: &[u8] = b"a\nb\n";
        assert_eq!(
            read_value(&mut input, false)
                .ok()
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"a\nb\n"[..])
        );
        let big = vec![b'x'; CHUNK * 3 + 5];
        let mut input: &[u8] = &big;
        assert_eq!(
            read_value(&mut input, false).map(|v| v.len()).ok(),
            Some(big.len())
        );
        let huge = vec![b'x'; MAX_VALUE + 1];
        let mut input: &[u8] = &huge;
        let error = read_value(&mut input, false).expect_err("too large");
        assert_eq!(error.kind(), ErrorKind::Usage);
    }
}
