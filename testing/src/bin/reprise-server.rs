//! `reprise-server`: the bundled Temporal-compatible server as a process.
//!
//! `reprise-server --help` lists every flag with its environment-variable fallback
//! (`REPRISE_ADDRESS`, `REPRISE_DB`, ...; a flag on the command line wins over its variable).
//! Prints `reprise-server listening on ADDR` on stdout once it accepts connections (logs go to
//! stderr); stops cleanly on SIGINT or SIGTERM. `reprise-server PORT [--enable-time-skipping]`
//! is the command line of Temporal's test server (time skipping, starting locked), so the
//! official SDKs' time-skipping test environments can start this binary in its place (Python:
//! `WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)`): clients then drive
//! skipping through `TestService`. With `--db` everything lives in that SQLite file (created if
//! missing): a server killed at any moment and started again on the file carries on where it
//! stopped. `--metrics-address` serves Prometheus metrics at `/metrics`.
#![allow(clippy::print_stdout)]

use clap::{Parser, ValueEnum};
use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise_testing::server::{ServerOptions, ServerTls, TestServer};
use reprise_testing::store::{SqliteStore, Synchronous};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Bools from the environment: 1/0, true/false, yes/no, on/off.
fn boolish() -> clap::builder::BoolishValueParser {
    clap::builder::BoolishValueParser::new()
}

/// A Temporal-compatible server (WorkflowService, the CLI's part of OperatorService, TestService
/// under time skipping) in one process, in memory or on a SQLite file.
#[derive(Debug, Parser)]
#[command(
    name = "reprise-server",
    version,
    after_help = "Also: reprise-server PORT [--enable-time-skipping], the command line of \
Temporal's test server (listens on 127.0.0.1:PORT with time skipping, starting locked).\n\
Logs: --log-filter, else --log-level, else RUST_LOG, else info."
)]
struct Args {
    /// Address to listen on for gRPC (an IP address and a port; port 0 picks a free one).
    #[arg(
        long,
        value_name = "HOST:PORT",
        env = "REPRISE_ADDRESS",
        default_value = "127.0.0.1:7233",
        conflicts_with = "port"
    )]
    address: SocketAddr,

    /// Keep everything in memory (the default; excludes --db).
    #[arg(long, env = "REPRISE_MEMORY", value_parser = boolish(), conflicts_with = "db")]
    memory: bool,

    /// Keep everything in this SQLite file (created if missing); a restarted server carries on.
    #[arg(long, value_name = "PATH", env = "REPRISE_DB", value_parser = non_empty_path)]
    db: Option<PathBuf>,

    /// SQLite durability: `full` syncs every commit to disk, `normal` survives a process crash
    /// but may lose the last commits on power loss.
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        env = "REPRISE_DB_SYNC",
        default_value_t = DbSync::Normal
    )]
    db_sync: DbSync,

    /// Register a namespace besides `default` (repeatable; the variable takes a comma list).
    #[arg(
        long = "namespace",
        value_name = "NAME",
        env = "REPRISE_NAMESPACES",
        value_delimiter = ',',
        value_parser = non_empty
    )]
    namespaces: Vec<String>,

    /// Register a custom search attribute in every namespace (repeatable; the variable takes a
    /// comma list). TYPE: Keyword, Text, Int, Double, Bool, Datetime or KeywordList.
    #[arg(
        long = "search-attribute",
        value_name = "NAME=TYPE",
        env = "REPRISE_SEARCH_ATTRIBUTES",
        value_delimiter = ',',
        value_parser = search_attribute
    )]
    search_attributes: Vec<(String, IndexedValueType)>,

    /// Skip time: a virtual clock that jumps to the next timer whenever no work is in flight.
    #[arg(long, env = "REPRISE_TIME_SKIPPING", value_parser = boolish())]
    time_skipping: bool,

    /// Time skipping starting locked, as Temporal's test server (clients unlock it through
    /// TestService while they wait).
    #[arg(long)]
    enable_time_skipping: bool,

    /// Temporal's test server command line: listen on 127.0.0.1:PORT with time skipping starting
    /// locked.
    #[arg(value_name = "PORT")]
    port: Option<u16>,

    /// Log level of every target: error, warn, info, debug or trace.
    #[arg(long, value_enum, value_name = "LEVEL", env = "REPRISE_LOG_LEVEL")]
    log_level: Option<LogLevel>,

    /// Log filter directives as RUST_LOG takes them (e.g. `info,reprise_testing=debug`); wins
    /// over --log-level.
    #[arg(long, value_name = "DIRECTIVES", env = "REPRISE_LOG_FILTER")]
    log_filter: Option<String>,

    /// Log lines as text or as JSON objects (one per line), on stderr.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        env = "REPRISE_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,

    /// Serve Prometheus metrics at http://HOST:PORT/metrics (requests, latencies, task-queue
    /// backlogs and poll waits, store commits, open runs).
    #[arg(long, value_name = "HOST:PORT", env = "REPRISE_METRICS_ADDRESS")]
    metrics_address: Option<SocketAddr>,

    /// How long closed workflows are kept in the namespaces registered at start (e.g. `30s`,
    /// `90m`, `24h`, `7d`; default one day).
    #[arg(long, value_name = "DURATION", env = "REPRISE_RETENTION", value_parser = duration)]
    retention: Option<std::time::Duration>,

    /// Limit the SQLite file to about this many bytes (suffixes KiB, MiB, GiB): past it, writes
    /// answer RESOURCE_EXHAUSTED and nothing is written, as on a full disk.
    #[arg(long, value_name = "SIZE", env = "REPRISE_DB_MAX_SIZE", value_parser = size, requires = "db")]
    db_max_size: Option<u64>,

    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        value_name = "PATH",
        env = "REPRISE_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        value_name = "PATH",
        env = "REPRISE_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,

    /// Mutual TLS: require client certificates signed by this CA (PEM); needs --tls-cert.
    #[arg(
        long,
        value_name = "PATH",
        env = "REPRISE_TLS_CLIENT_CA",
        requires = "tls_cert"
    )]
    tls_client_ca: Option<PathBuf>,

    /// Require every call to carry `authorization: Bearer KEY` (UNAUTHENTICATED otherwise).
    #[arg(
        long,
        value_name = "KEY",
        env = "REPRISE_API_KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,

    /// Allow plaintext (no TLS) on an address other than loopback; refused otherwise, since
    /// anyone who reaches it could read and change every workflow.
    #[arg(long, env = "REPRISE_INSECURE", value_parser = boolish())]
    insecure: bool,
}

/// The leading number of `text` and the unit after it; `expected` names the form in errors.
fn number_and_unit<'a>(text: &'a str, expected: &str) -> Result<(u64, &'a str), String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n = number
        .parse()
        .map_err(|_| format!("{text:?} is not {expected}"))?;
    Ok((n, unit))
}

/// `30s`, `90m`, `24h`, `7d`, `250ms` (a number alone is seconds).
fn duration(text: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = number_and_unit(text, "a duration like 30s, 90m, 24h or 7d")?;
    let secs = |k: u64| n.checked_mul(k).map(std::time::Duration::from_secs);
    let d = match unit {
        "ms" => Some(std::time::Duration::from_millis(n)),
        "" | "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => None,
    };
    match d {
        Some(d) if !d.is_zero() => Ok(d),
        Some(_) => Err("the duration must be positive".into()),
        None => Err(format!("{text:?}: unknown unit (ms, s, m, h, d)")),
    }
}

/// `500000`, `64KiB`, `100MiB`, `2GiB`.
fn size(text: &str) -> Result<u64, String> {
    let (n, unit) = number_and_unit(text, "a size like 500MiB")?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit (KiB, MiB, GiB)")),
    };
    n.checked_mul(factor)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("{text:?}: out of range"))
}

/// A PEM file given on the command line.
fn read_pem(path: &std::path::Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DbSync {
    Normal,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("needs a non-empty name".into())
    } else {
        Ok(text.to_string())
    }
}

fn non_empty_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        Err("needs a file path".into())
    } else {
        Ok(text.into())
    }
}

fn search_attribute(text: &str) -> Result<(String, IndexedValueType), String> {
    let (name, kind) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=TYPE"))?;
    if name.is_empty() {
        return Err(format!("{text:?} has no name"));
    }
    let kind = match kind.to_ascii_lowercase().as_str() {
        "keyword" => IndexedValueType::Keyword,
        "text" => IndexedValueType::Text,
        "int" => IndexedValueType::Int,
        "double" => IndexedValueType::Double,
        "bool" => IndexedValueType::Bool,
        "datetime" => IndexedValueType::Datetime,
        "keywordlist" => IndexedValueType::KeywordList,
        _ => {
            return Err(format!(
                "unknown type {kind:?} (Keyword, Text, Int, Double, Bool, Datetime, KeywordList)"
            ));
        }
    };
    Ok((name.to_string(), kind))
}

/// Sets up the subscriber: --log-filter, else --log-level, else RUST_LOG, else `info`.
fn init_logs(args: &Args) -> Result<(), String> {
    let directives = match (&args.log_filter, args.log_level) {
        (Some(filter), _) => filter.clone(),
        (None, Some(level)) => match level {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
        .to_string(),
        (None, None) => std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "info".to_string()),
    };
    let filter =
        EnvFilter::try_new(&directives).map_err(|e| format!("log filter {directives:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| e.to_string())
}

/// SIGINT/SIGTERM listeners, installed before the server says it is ready so that a signal sent
/// right after the ready line is already handled.
struct Signals {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn wait(self) -> &'static str {
        #[cfg(unix)]
        {
            async fn recv(s: Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = recv(self.int) => "SIGINT",
                _ = recv(self.term) => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupt"
        }
    }
}

/// The server's options from the command line (the test-server form included).
fn options(args: &Args) -> Result<ServerOptions, String> {
    let address = match args.port {
        Some(port) => SocketAddr::from(([127, 0, 0, 1], port)),
        None => args.address,
    };
    let mut options = ServerOptions::default().with_address(address);
    for ns in &args.namespaces {
        options = options.with_namespace(ns.clone());
    }
    for (name, kind) in &args.search_attributes {
        options = options.with_search_attribute(name.clone(), *kind);
    }
    // Temporal's test server: `PORT [--enable-time-skipping]`, time skipping either way (the
    // official SDKs pass the port alone), starting locked.
    if args.port.is_some() || args.enable_time_skipping {
        options = options.with_time_skipping_locked();
    } else if args.time_skipping {
        options = options.with_time_skipping();
    }
    if let Some(address) = args.metrics_address {
        options = options.with_metrics_address(address);
    }
    if let Some(path) = &args.db {
        let sync = match args.db_sync {
            DbSync::Normal => Synchronous::Normal,
            DbSync::Full => Synchronous::Full,
        };
        let store = SqliteStore::open_with(path, sync).map_err(|e| e.to_string())?;
        if let Some(bytes) = args.db_max_size {
            store.set_size_limit(bytes).map_err(|e| e.to_string())?;
        }
        options = options.with_store(std::sync::Arc::new(store));
    }
    if let Some(retention) = args.retention {
        options = options.with_retention(retention);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let mut tls = ServerTls::new(read_pem(cert, "--tls-cert")?, read_pem(key, "--tls-key")?);
        if let Some(ca) = &args.tls_client_ca {
            tls = tls.with_client_ca(read_pem(ca, "--tls-client-ca")?);
        }
        options = options.with_tls(tls);
    }
    if let Some(key) = &args.api_key {
        options = options.with_api_key(key.clone());
    }
    if args.insecure {
        options = options.with_insecure();
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = init_logs(&args) {
        eprintln!("reprise-server: {e}");
        return ExitCode::from(2);
    }
    let options = match options(&args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("reprise-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signals = Signals::install();
    let server = match TestServer::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reprise-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("reprise-server listening on {}", server.address());
    if let Some(metrics) = server.metrics_address() {
        println!("reprise-server metrics on http://{metrics}/metrics");
    }
    let _ = std::io::stdout().flush();
    let mut namespaces = vec!["default".to_string()];
    namespaces.extend(args.namespaces.iter().cloned());
    let store = match &args.db {
        Some(path) => {
            let r = server.recovery();
            format!(
                "SQLite store {} ({} runs recovered, {} open)",
                path.display(),
                r.runs,
                r.open
            )
        }
        None => "memory store".to_string(),
    };
    tracing::info!(
        address = %server.address(),
        time_skipping = args.time_skipping || args.enable_time_skipping || args.port.is_some(),
        "{store}; namespaces: {}",
        namespaces.join(", ")
    );
    let signal = signals.wait().await;
    tracing::info!("{signal}: shutting down");
    match server.shutdown().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
