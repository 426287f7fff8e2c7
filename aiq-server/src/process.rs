//! The process plumbing both binaries share: configuration from the environment over `.env`,
//! the async runtime, and the shutdown signals.

use std::process::ExitCode;

use aiq_core::Config;
use aiq_core::config::EnvVars;
use tokio::sync::watch;

/// The process environment over the `.env` file of the working directory, if there is one.
/// A `.env` line that does not parse is an error, not a silently missing setting.
fn environment() -> Result<EnvVars, String> {
    let dotenv = match dotenvy::from_path_iter(".env") {
        Ok(lines) => lines
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read .env: {e}"))?,
        Err(e) if e.not_found() => Vec::new(),
        Err(e) => return Err(format!("cannot read .env: {e}")),
    };
    Ok(EnvVars::from_process().with_defaults(dotenv))
}

/// The configuration from the environment over `.env`; on error, the reason is printed after
/// `program` and the exit code is 2.
pub fn load_config(program: &str) -> Result<Config, ExitCode> {
    let vars = environment().map_err(|err| {
        eprintln!("{program}: {err}");
        ExitCode::from(2)
    })?;
    Config::from_env_vars(&vars).map_err(|err| {
        eprintln!("{program}: {err}");
        ExitCode::from(2)
    })
}

/// The multi-threaded Tokio runtime the commands run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// Completes on SIGTERM (what Railway and Docker send) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// A stop signal every listener can wait on ([`until`]), sent on SIGTERM / SIGINT.
pub fn stop_on_signal() -> watch::Receiver<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    stopped
}

/// Completes once `stop` has been told to.
pub async fn until(mut stop: watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens once it has sent.
    let _ = stop.wait_for(|stopped| *stopped).await;
}
