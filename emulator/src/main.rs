//! `graph-emulator`: serves the demo tenant (or a seed file, or a generated tenant) on loopback.
use clap::Parser;
use graph_emulator::{Emulator, GenerateSpec, Settings, Tenant};
use std::time::Duration;

/// A local stand-in for the Microsoft Graph identity governance endpoints and the App
/// Service managed identity endpoint. Serves the demo tenant unless told otherwise.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 7070)]
    port: u16,
    /// Load the tenant from this JSON seed file (see `--print-seed` for the format).
    #[arg(long, conflicts_with = "generate")]
    seed: Option<std::path::PathBuf>,
    /// Generate a tenant, e.g. `workflows=100,tasks=25,customTasks=5,users=100,inProgress=0.2`.
    #[arg(long)]
    generate: Option<GenerateSpec>,
    /// Print the tenant as a seed file and exit.
    #[arg(long)]
    print_seed: bool,
    /// The X-IDENTITY-HEADER value the managed identity endpoint expects.
    #[arg(long, default_value = "local-dev")]
    identity_header: String,
    /// Lifetime of issued tokens.
    #[arg(long, default_value = "3600s", value_parser = humantime::parse_duration)]
    token_lifetime: Duration,
    /// Items per collection page.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Latency added to every Graph answer.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// Graph requests admitted per second; more get 429 with Retry-After.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// A fault to inject, e.g. `429:times=3,match=/resume` (repeatable).
    #[arg(long = "fault")]
    faults: Vec<String>,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let tenant = match (&cli.seed, &cli.generate) {
        (Some(path), _) => match load_seed(path) {
            Ok(tenant) => tenant,
            Err(message) => fail(&message),
        },
        (None, Some(spec)) => graph_emulator::generate(spec),
        (None, None) => graph_emulator::demo(),
    };
    if cli.print_seed {
        println!(
            "{}",
            serde_json::to_string_pretty(&tenant).expect("tenant serializes")
        );
        return;
    }
    let settings = Settings {
        page_size: cli.page_size,
        identity_header: cli.identity_header,
        token_lifetime_seconds: cli.token_lifetime.as_secs(),
        latency_ms: cli.latency.as_millis() as u64,
        rate_limit: cli.rate_limit,
        faults: cli.faults,
        ..Settings::default()
    };
    let running = match Emulator::start(tenant, settings, cli.port).await {
        Ok(running) => running,
        Err(e) => fail(&format!("cannot serve on 127.0.0.1:{}: {e}", cli.port)),
    };
    println!("graph-emulator listening on {}", running.url());
    let _ = tokio::signal::ctrl_c().await;
}

fn load_seed(path: &std::path::Path) -> Result<Tenant, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read seed file {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("seed file {} is not valid: {e}", path.display()))
}

fn fail(message: &str) -> ! {
    eprintln!("graph-emulator: {message}");
    std::process::exit(2)
}
