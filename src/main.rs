//! Wiring only: with arguments, an operator command ([`resume_handler::cli`]); without (as
//! the Functions host starts it), settings, logging, server.
use resume_handler::config::{Env, Settings};
use resume_handler::startup::Application;
use std::io::IsTerminal;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() > 1 {
        resume_handler::telemetry::init_for_operator();
        return resume_handler::cli::main(args).await;
    }
    resume_handler::telemetry::init();
    let settings = match Settings::from_env(&Env::from_process()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("resume-handler: configuration error: {e}");
            // A person at a terminal most likely wanted an operator command.
            if std::io::stdin().is_terminal() {
                eprintln!("Started without arguments, resume-handler is the Functions custom handler; for the operator commands, run `resume-handler --help`.");
            }
            return ExitCode::from(2);
        }
    };
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(e) => {
            eprintln!("resume-handler: cannot start: {e:#}");
            return ExitCode::from(1);
        }
    };
    let s = application.settings();
    tracing::info!(
        "resume-handler listening on {}; Graph {} ({}); authentication: {}",
        application.local_addr(),
        s.graph.versioned_root(),
        s.graph.cloud.scope(),
        s.graph.auth.describe()
    );
    application.run_until_stopped(stop_signal()).await;
    ExitCode::SUCCESS
}

/// SIGTERM (how the host and the platform stop a worker) or Ctrl+C, whichever comes first.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: draining in-flight invocations"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: draining in-flight invocations"),
    }
}
