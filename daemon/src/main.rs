//! `auth-hub`: parse arguments, set up logging, run the library, return an exit code.

use std::process::ExitCode;

use auth_hub::activation::bind;
use auth_hub::cli::{Cli, Command, ServeArgs};
use auth_hub::{Hub, HubError, HubOptions, HubPaths};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Install(args) => {
            let result = auth_hub::install::install(&args, &mut std::io::stdout());
            return auth_hub::install::exit_code(result);
        }
        Command::Uninstall(args) => {
            let result = auth_hub::install::uninstall(&args, &mut std::io::stdout());
            return auth_hub::install::exit_code(result);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "auth-hub stopped");
            eprintln!("auth-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), HubError> {
    raise_fd_limit();
    let paths = HubPaths::resolve(args.home, args.socket)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| HubError::Setup(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let socket = paths.socket.clone();
        let hub = Hub::open(HubOptions { paths, store: args.store })?;
        let (listener, bound) = bind::bind(&socket)?;
        tracing::info!(socket = %bound.path().display(), store = hub.store.kind(), "auth-hub listening");
        let result = auth_hub::serve(listener, hub, shutdown_signal()).await;
        drop(bound);
        result
    })
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the hub with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn init_tracing() {
    let filter = std::env::var("AUTH_HUB_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Raises the soft limit on open files to the hard limit: every client holds a connection, and
/// the default soft limit (often 1024) would turn a busy machine into refused connections.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on this process with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::warn!("cannot raise the open-file limit");
            }
        }
    }
}
