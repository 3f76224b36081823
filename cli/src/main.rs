//! `hyperforge`: mirrors git repositories to several forges and publishes packages, with every
//! token kept in auth-hub. This file stays thin: the library's [`hyperforge::main`] parses the
//! arguments, sets up tracing when asked, runs the command on a single-threaded runtime, and turns
//! the outcome into an exit code.

use std::process::ExitCode;

include!("../../layout/pow.rs");

fn main() -> ExitCode {
    hyperforge::main()
}
