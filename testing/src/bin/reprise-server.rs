//! `reprise-server`: the bundled Temporal-compatible server as a process.
//!
//! ```text
//! reprise-server [--address 127.0.0.1:7233] [--memory | --db PATH [--db-sync normal|full]]
//!                [--namespace NAME]... [--search-attribute NAME=TYPE]... [--time-skipping]
//!                [--log-level LEVEL]
//! ```
//! Prints `reprise-server listening on ADDR` once it accepts connections; stops cleanly on SIGINT
//! or SIGTERM. `reprise-server PORT [--enable-time-skipping]` is the command line of Temporal's
//! test server (time skipping, starting locked), so the official SDKs' time-skipping test environments can start this binary in
//! its place (Python: `WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)`):
//! skipping then starts locked and clients drive it through `TestService`. With `--db` everything lives in that SQLite file (created if missing): a server
//! killed at any moment and started again on the file carries on where it stopped.
#![allow(clippy::print_stdout)]

use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::{SqliteStore, Synchronous};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: reprise-server [--address HOST:PORT] \
[--memory | --db PATH [--db-sync normal|full]] [--namespace NAME]... [--search-attribute NAME=TYPE]... [--time-skipping] [--log-level error|warn|info|debug]
   or: reprise-server PORT [--enable-time-skipping] (Temporal test server command line)
TYPE is one of Keyword, Text, Int, Double, Bool, Datetime, KeywordList.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

#[derive(Debug)]
struct Args {
    address: SocketAddr,
    namespaces: Vec<String>,
    search_attributes: Vec<(String, IndexedValueType)>,
    time_skipping: bool,
    /// Time skipping starts locked (Temporal test server compatibility).
    time_skipping_locked: bool,
    level: Level,
    /// The SQLite file; `None` = memory.
    db: Option<std::path::PathBuf>,
    sync: Synchronous,
}

fn parse_type(text: &str) -> Option<IndexedValueType> {
    Some(match text.to_ascii_lowercase().as_str() {
        "keyword" => IndexedValueType::Keyword,
        "text" => IndexedValueType::Text,
        "int" => IndexedValueType::Int,
        "double" => IndexedValueType::Double,
        "bool" => IndexedValueType::Bool,
        "datetime" => IndexedValueType::Datetime,
        "keywordlist" => IndexedValueType::KeywordList,
        _ => return None,
    })
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        address: SocketAddr::from(([127, 0, 0, 1], 7233)),
        namespaces: Vec::new(),
        search_attributes: Vec::new(),
        time_skipping: false,
        time_skipping_locked: false,
        level: Level::Info,
        db: None,
        sync: Synchronous::Normal,
    };
    let mut memory = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--address" => {
                let v = value("--address")?;
                parsed.address = v.parse().map_err(|_| {
                    format!("--address {v:?} is not HOST:PORT (an IP address and a port)")
                })?;
            }
            "--memory" => memory = true,
            "--time-skipping" => parsed.time_skipping = true,
            // Temporal's test server: `PORT [--enable-time-skipping]`, time skipping either way
            // (the official SDKs pass the port alone).
            "--enable-time-skipping" => parsed.time_skipping_locked = true,
            bare if !bare.starts_with('-') => {
                let port: u16 = bare.parse().map_err(|_| {
                    format!("unknown argument {bare:?} (a bare argument is a port)")
                })?;
                parsed.address = SocketAddr::from(([127, 0, 0, 1], port));
                parsed.time_skipping_locked = true;
            }
            "--db" => {
                let path = value("--db")?;
                if path.is_empty() {
                    return Err("--db needs a file path".into());
                }
                parsed.db = Some(path.into());
            }
            "--db-sync" => {
                let v = value("--db-sync")?;
                parsed.sync = match v.to_ascii_lowercase().as_str() {
                    "normal" => Synchronous::Normal,
                    "full" => Synchronous::Full,
                    _ => return Err(format!("--db-sync {v:?}: expected normal or full")),
                };
            }
            "--namespace" => {
                let v = value("--namespace")?;
                if v.is_empty() {
                    return Err("--namespace needs a non-empty name".into());
                }
                parsed.namespaces.push(v);
            }
            "--search-attribute" => {
                let v = value("--search-attribute")?;
                let (name, kind) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--search-attribute {v:?} is not NAME=TYPE"))?;
                let kind = parse_type(kind)
                    .ok_or_else(|| format!("--search-attribute {v:?}: unknown type {kind:?}"))?;
                if name.is_empty() {
                    return Err(format!("--search-attribute {v:?} has no name"));
                }
                parsed.search_attributes.push((name.to_string(), kind));
            }
            "--log-level" => {
                let v = value("--log-level")?;
                parsed.level = match v.to_ascii_lowercase().as_str() {
                    "error" => Level::Error,
                    "warn" => Level::Warn,
                    "info" => Level::Info,
                    "debug" => Level::Debug,
                    _ => {
                        return Err(format!(
                            "--log-level {v:?}: expected error, warn, info or debug"
                        ));
                    }
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if memory && parsed.db.is_some() {
        return Err("--memory and --db exclude each other".into());
    }
    Ok(Some(parsed))
}

fn log(args: &Args, level: Level, message: &str) {
    if level <= args.level {
        eprintln!("reprise-server: {message}");
    }
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("reprise-server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut options = ServerOptions::default().with_address(args.address);
    for ns in &args.namespaces {
        options = options.with_namespace(ns.clone());
    }
    for (name, kind) in &args.search_attributes {
        options = options.with_search_attribute(name.clone(), *kind);
    }
    if args.time_skipping_locked {
        options = options.with_time_skipping_locked();
    } else if args.time_skipping {
        options = options.with_time_skipping();
    }
    if let Some(path) = &args.db {
        match SqliteStore::open_with(path, args.sync) {
            Ok(store) => options = options.with_store(std::sync::Arc::new(store)),
            Err(e) => {
                eprintln!("reprise-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let signals = Signals::install();
    let server = match TestServer::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reprise-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("reprise-server listening on {}", server.address());
    let _ = std::io::stdout().flush();
    let mut namespaces = vec!["default".to_string()];
    namespaces.extend(args.namespaces.iter().cloned());
    log(
        &args,
        Level::Info,
        &format!(
            "{}; namespaces: {}{}",
            match &args.db {
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
            },
            namespaces.join(", "),
            if args.time_skipping || args.time_skipping_locked {
                "; time skipping"
            } else {
                ""
            }
        ),
    );
    let signal = signals.wait().await;
    log(&args, Level::Info, &format!("{signal}: shutting down"));
    match server.shutdown().await {
        Ok(()) => {
            log(&args, Level::Info, "stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log(&args, Level::Error, &e.to_string());
            ExitCode::FAILURE
        }
    }
}
