//! `stowage-host`: runs a Spin application's wasm components the way
//! `spin up` does, for development and tests where the Spin CLI is not
//! installed.

mod app;
mod app_variables;
mod engine;
mod http_limits;
mod http_trigger;
mod manifest;
mod metrics;
mod outbound;
mod redis_trigger;
mod routes;
mod runtime_config;
mod spin;
mod state;
mod stdio;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Command-line options, named after `spin up`'s.
#[derive(Debug, Parser)]
#[command(name = "stowage-host", version, about)]
struct Args {
    /// Application manifest (spin.toml) to run.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    from: PathBuf,

    /// Address for the HTTP trigger, e.g. 127.0.0.1:3000; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// Folder for default key-value store and database files [default: .spin beside the manifest].
    #[arg(long)]
    state_dir: Option<PathBuf>,

    /// Runtime configuration file with key-value store and SQLite database locations.
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,

    /// SQL to run against the default database before serving: a statement, or @FILE
    /// for a file of statements. Repeatable; runs in order.
    #[arg(long = "sqlite", value_name = "STATEMENT|@FILE")]
    sqlite: Vec<String>,

    /// Application variable as NAME=VALUE, or @FILE for a JSON or TOML table of
    /// variables. Repeatable; overrides SPIN_VARIABLE_<NAME> and defaults.
    #[arg(long = "variable", value_name = "NAME=VALUE|@FILE")]
    variable: Vec<String>,

    /// Folder for compiled components [default: <state-dir>/cache].
    #[arg(long)]
    cache_dir: Option<PathBuf>,

    /// Allocate instances on demand instead of from the pooling allocator.
    #[arg(long)]
    no_pooling: bool,

    /// Seconds allowed to receive a request's header section, and to keep an
    /// idle connection open between requests.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    http_header_timeout: Duration,

    /// Seconds a request body may go without sending bytes while the component
    /// waits for them; the read then fails and the connection closes.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    http_body_timeout: Duration,

    /// Maximum open HTTP connections across all clients; further ones get a 503
    /// response.
    #[arg(long, value_name = "N", default_value = "1024")]
    max_connections: NonZeroUsize,

    /// Maximum open HTTP connections from one client IP address; further ones get
    /// a 503 response.
    #[arg(long, value_name = "N", default_value = "256")]
    max_connections_per_client: NonZeroUsize,

    /// Maximum HTTP requests whose component instances run at once; further
    /// requests get a 503 response. At most the instance pool's size minus the instances
    /// reserved for Redis messages [default: the maximum].
    #[arg(long, value_name = "N")]
    max_http_instances: Option<NonZeroUsize>,
}

/// Parses a positive number of seconds, such as `30` or `0.5`.
fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .parse()
        .map_err(|_| format!("invalid number of seconds {value:?}"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{value} seconds is out of range: expected more than 0 and at most 86400"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl Args {
    /// Builds the HTTP trigger's limits, checking the instance limit against
    /// the instance pool.
    fn http_limits(&self) -> Result<http_limits::HttpLimits> {
        let max_instances = match self.max_http_instances {
            None => app::MAX_HTTP_INSTANCES,
            Some(n) if n.get() <= app::MAX_HTTP_INSTANCES => n.get(),
            Some(n) => bail!(
                "--max-http-instances {n} is too large: at most {} of the {} pooled instances \
                 may serve HTTP, because {} are reserved for Redis messages",
                app::MAX_HTTP_INSTANCES,
                engine::POOL_INSTANCES,
                app::REDIS_INSTANCES
            ),
        };
        Ok(http_limits::HttpLimits {
            header_timeout: self.http_header_timeout,
            body_timeout: self.http_body_timeout,
            max_connections: self.max_connections.get(),
            max_connections_per_client: self.max_connections_per_client.get(),
            max_instances,
        })
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "failed to start the async runtime");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("Error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let manifest_path = resolve_manifest_path(&args.from)?;
    let manifest_dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| manifest_dir.join(".spin"));
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| state_dir.join("cache"));
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("failed to create state folder {}", state_dir.display()))?;

    let options = app::LoadOptions {
        manifest_path,
        runtime_config_file: args.runtime_config_file.clone(),
        state_dir,
        cache_dir,
        cli_variables: parse_variables(&args.variable)?,
        pooling: !args.no_pooling,
        http_limits: args.http_limits()?,
    };
    // Compiling components is CPU-bound and blocking.
    let loaded = tokio::task::spawn_blocking(move || app::load(&options))
        .await
        .context("application loader panicked")??;

    run_sqlite_statements(&args.sqlite, &loaded.runtime_config)?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    if let Some(http) = loaded.http {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("failed to listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        println!("Serving http://{address}");
        println!("Available Routes:");
        for route in http.routes() {
            let suffix = if route.is_wildcard() {
                " (wildcard)"
            } else {
                ""
            };
            println!(
                "  {}: http://{address}{}{suffix}",
                route.component_id,
                route.component_route()
            );
            tracing::info!(route = %route.raw, component = %route.component_id, "HTTP route");
        }
        tracing::info!(address = %address, "HTTP trigger listening");
        let http = Arc::new(http);
        let rx = shutdown_rx.clone();
        tasks.spawn(async move {
            if let Err(err) = http.serve(listener, rx).await {
                tracing::error!(error = %format!("{err:#}"), "HTTP trigger failed");
            }
        });
    }
    for subscription in loaded.redis {
        let rx = shutdown_rx.clone();
        tasks.spawn(Arc::new(subscription).run(rx));
    }
    if tasks.is_empty() {
        bail!(
            "the manifest {} has no HTTP or Redis triggers",
            args.from.display()
        );
    }
    // Spin prints its routes on stdout; make them visible to scripts at once.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    wait_for_signal().await?;
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}

/// Accepts a manifest file or a folder containing spin.toml, like `spin up -f`.
fn resolve_manifest_path(from: &Path) -> Result<PathBuf> {
    let path = if from.is_dir() {
        from.join("spin.toml")
    } else {
        from.to_path_buf()
    };
    if !path.exists() {
        bail!("manifest {} not found", path.display());
    }
    std::path::absolute(&path)
        .with_context(|| format!("failed to resolve manifest path {}", path.display()))
}

/// Parses `--variable` values: `NAME=VALUE` or `@FILE` (JSON or TOML table).
fn parse_variables(values: &[String]) -> Result<HashMap<String, String>> {
    let mut variables = HashMap::new();
    for value in values {
        if let Some(file) = value.strip_prefix('@') {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("failed to read variables file {file}"))?;
            let table: HashMap<String, String> = if file.ends_with(".json") {
                serde_json::from_str(&text)
                    .with_context(|| format!("invalid JSON variables file {file}"))?
            } else {
                toml::from_str(&text)
                    .with_context(|| format!("invalid TOML variables file {file}"))?
            };
            variables.extend(table);
        } else {
            let Some((name, val)) = value.split_once('=') else {
                bail!("invalid --variable {value:?}: expected NAME=VALUE or @FILE");
            };
            variables.insert(name.to_string(), val.to_string());
        }
    }
    Ok(variables)
}

/// Runs `--sqlite` statements against the default database, in order.
fn run_sqlite_statements(
    statements: &[String],
    runtime_config: &runtime_config::RuntimeConfig,
) -> Result<()> {
    if statements.is_empty() {
        return Ok(());
    }
    let path = &runtime_config.sqlite_databases["default"];
    let connection = spin::sqlite::open_database(path)?;
    for statement in statements {
        let (sql, source) = match statement.strip_prefix('@') {
            Some(file) => (
                std::fs::read_to_string(file)
                    .with_context(|| format!("failed to read --sqlite file {file}"))?,
                file.to_string(),
            ),
            None => (statement.clone(), "--sqlite statement".to_string()),
        };
        connection
            .execute_batch(&sql)
            .with_context(|| format!("failed to run {source} against the default database"))?;
        tracing::info!(source = %source, database = %path.display(), "ran SQL");
    }
    Ok(())
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
async fn wait_for_signal() -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to install the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("failed to wait for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
