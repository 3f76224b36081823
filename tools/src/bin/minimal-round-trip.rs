//! The whole-process floor for `hyperforge auth get`: start, connect to a Unix socket, send 64
//! bytes, read 64 back, exit. Standard library only, so it measures what any program pays.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(socket) = std::env::args_os().nth(1) else {
        eprintln!("usage: minimal-round-trip SOCKET");
        return ExitCode::from(2);
    };
    let mut buffer = [1u8; 64];
    let result = UnixStream::connect(socket).and_then(|mut stream| {
        stream.write_all(&buffer)?;
        stream.read_exact(&mut buffer)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("minimal-round-trip: {error}");
            ExitCode::FAILURE
        }
    }
}
