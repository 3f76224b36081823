//! `auth-hub`: parse arguments, set up logging, run the library, return an exit code.

use std::process::ExitCode;

use auth_hub::activation::{self, notify::Notifier, Source};
use auth_hub::cli::{Cli, Command, ServeArgs};
use auth_hub::hardening;
use auth_hub::{Hub, HubError, HubOptions, HubPaths};
use clap::Parser;

include!("../../layout/pow.rs");

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Status(args) => {
            return ExitCode::from(auth_hub::status::run(&args, &mut std::io::stdout()));
        }
        Command::Stop(args) => {
            return ExitCode::from(auth_hub::stop::run(&args, &mut std::io::stdout()));
        }
        Command::Install(args) => {
            let result = auth_hub::install::install(&args, &mut std::io::stdout());
            return auth_hub::install::exit_code(result);
        }
        Command::Uninstall(args) => {
            let result = auth_hub::install::uninstall(&args, &mut std::io::stdout());
            return auth_hub::install::exit_code(result);
        }
        Command::Completions(args) => {
            return auth_hub::docs::completions(&args, &mut std::io::stdout())
        }
        Command::Man(args) => return auth_hub::docs::man(&args, &mut std::io::stdout()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Once, plainly: stderr is the terminal, the journal or the autostart log alike.
            eprintln!("auth-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), HubError> {
    hardening::apply();
    let mut paths = HubPaths::resolve(args.home, args.socket)?;
    // Both read and clear environment variables: only sound before the runtime's threads exist.
    let source = activation::listener()?;
    let inherited = matches!(source, Source::Inherited(_));
    if let Source::Inherited(listener) = &source {
        // The socket really served is the inherited one: status and the state directory's record
        // name it, not the configured path.
        match inherited_path(listener) {
            Some(path) => paths.socket = path,
            None => {
                tracing::warn!("the inherited socket has no path; status shows the configured one")
            }
        }
    }
    let notifier = Notifier::from_env();
    // One thread for every connection: a request costs microseconds, and what may take longer
    // (store writes, the audit's flush, remote backends) runs on the blocking pool. Workers on
    // two threads woke each other for every new connection: a fresh connection's read took
    // 140–147 µs there and 122–129 µs here, with no loss in the closed-loop rows
    // (docs/benchmarks.md).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HubError::Setup(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let socket = paths.socket.clone();
        let hub = Hub::open(HubOptions {
            paths,
            store: args.store,
            inherited,
            accept_store_loss: args.accept_store_loss,
        })?;
        if hub.config().store.mlock {
            hardening::lock_memory();
        }
        // Before the socket and the ready notice: a taken HTTP port stops the start.
        let http = auth_hub::http::bind(&hub).await?;
        let (listener, bound) = source.into_tokio(&socket)?;
        let shown = match &bound {
            Some(bound) => bound.path().display().to_string(),
            None => format!("inherited ({})", socket.display()),
        };
        tracing::info!(socket = %shown, store = %hub.store.kind(), "auth-hub listening");
        notifier.ready();
        let shutdown = async {
            shutdown_signal().await;
            notifier.stopping();
        };
        let result = auth_hub::serve_with_http(listener, http, hub, shutdown).await;
        drop(bound);
        result
    })
}

/// The path of an inherited listener; `None` for an unnamed or abstract socket.
fn inherited_path(listener: &std::os::unix::net::UnixListener) -> Option<std::path::PathBuf> {
    listener
        .local_addr()
        .ok()
        .and_then(|addr| addr.as_pathname().map(std::path::Path::to_path_buf))
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
    // Colours only on a terminal: a log file, a pipe or the journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    // Under systemd, stderr goes to the journal, which stamps every line itself.
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().init();
    } else {
        builder.init();
    }
}
