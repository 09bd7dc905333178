//! `reprise-server`: the bundled Temporal-compatible server as a process.
//!
//! ```text
//! reprise-server [--address 127.0.0.1:7233] [--memory | --db PATH] [--namespace NAME]...
//!                [--search-attribute NAME=TYPE]... [--time-skipping] [--log-level LEVEL]
//! ```
//! Prints `reprise-server listening on ADDR` once it accepts connections; stops cleanly on SIGINT
//! or SIGTERM.
#![allow(clippy::print_stdout)]

use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise_testing::server::{ServerOptions, TestServer};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: reprise-server [--address HOST:PORT] [--memory | --db PATH] \
[--namespace NAME]... [--search-attribute NAME=TYPE]... [--time-skipping] [--log-level error|warn|info|debug]
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
    level: Level,
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
        level: Level::Info,
    };
    let mut storage: Option<&str> = None;
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
            "--memory" => storage = Some("memory"),
            "--time-skipping" => parsed.time_skipping = true,
            "--db" => {
                let path = value("--db")?;
                return Err(format!(
                    "--db {path}: the SQLite store is not available in this version yet; use --memory"
                ));
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
    let _ = storage;
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
    if args.time_skipping {
        options = options.with_time_skipping();
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
            "memory store; namespaces: {}{}",
            namespaces.join(", "),
            if args.time_skipping {
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
