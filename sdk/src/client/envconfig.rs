//! Client configuration from the environment and `temporal.toml` profiles, read the way the
//! Temporal CLI and the official SDKs read them, so one file and one set of variables configure
//! every client of a deployment.
//!
//! Precedence: environment variables over the profile in the file over defaults
//! (`localhost:7233`, namespace `default`, no TLS). The file is `$TEMPORAL_CONFIG_FILE`, else
//! `temporal.toml` in the platform's configuration directory (`~/.config/temporalio/` on
//! Linux); the profile is `$TEMPORAL_PROFILE`, else `default`.
//!
//! | Setting | Variable | TOML key |
//! |---|---|---|
//! | address | `TEMPORAL_ADDRESS` | `profile.<name>.address` |
//! | namespace | `TEMPORAL_NAMESPACE` | `profile.<name>.namespace` |
//! | API key (turns TLS on unless disabled) | `TEMPORAL_API_KEY` | `profile.<name>.api_key` |
//! | TLS on/off | `TEMPORAL_TLS` (`true`/`false`) | `profile.<name>.tls.disabled` (inverted) |
//! | client certificate | `TEMPORAL_TLS_CLIENT_CERT_PATH` / `_DATA` | `tls.client_cert_path` / `_data` |
//! | client key | `TEMPORAL_TLS_CLIENT_KEY_PATH` / `_DATA` | `tls.client_key_path` / `_data` |
//! | server CA | `TEMPORAL_TLS_SERVER_CA_CERT_PATH` / `_DATA` | `tls.server_ca_cert_path` / `_data` |
//! | SNI name | `TEMPORAL_TLS_SERVER_NAME` | `tls.server_name` |
//! | gRPC headers | `TEMPORAL_GRPC_META_SOME_KEY` (→ `some-key`) | `profile.<name>.grpc_meta` |
//!
//! A `tls` table in the profile turns TLS on unless it says `disabled = true`.

use super::{ClientOptions, TlsOptions};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file (or a certificate or key it names) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML of the expected shape.
    #[error("{path} is not a valid Temporal configuration file: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the place.
        message: String,
    },
    /// A profile asked for by name is not in the file.
    #[error("profile {name:?} not found in {path}")]
    ProfileNotFound {
        /// The profile.
        name: String,
        /// The file searched.
        path: PathBuf,
    },
    /// A setting is given both as a path and as inline data.
    #[error("{setting} is given both as a path and as data; give one")]
    Conflict {
        /// The setting (`client certificate`, `client key`, `server CA certificate`).
        setting: &'static str,
    },
    /// An environment variable has a value that cannot mean anything.
    #[error("environment variable {name}: {message}")]
    InvalidVariable {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A setting Reprise's client does not support.
    #[error("{0} is not supported by Reprise's client")]
    Unsupported(&'static str),
}

/// Where [`ClientOptions::load`] reads the configuration from: which profile, which file, which
/// environment. The default reads the process environment and the default file.
///
/// ```
/// # use reprise::client::{ClientOptions, ConfigSource};
/// # use std::collections::HashMap;
/// let env = HashMap::from([
///     ("TEMPORAL_ADDRESS".to_string(), "temporal.internal:7233".to_string()),
///     ("TEMPORAL_NAMESPACE".to_string(), "orders".to_string()),
/// ]);
/// let options = ClientOptions::load(ConfigSource::new().without_file().with_env(env))?;
/// assert_eq!(options.target, "temporal.internal:7233");
/// assert_eq!(options.namespace, "orders");
/// # Ok::<(), reprise::client::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConfigSource {
    /// The profile; `None` is `$TEMPORAL_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// The file; `None` is `$TEMPORAL_CONFIG_FILE`, else the platform's default path.
    pub config_file: Option<PathBuf>,
    /// The environment; `None` is the process environment.
    pub env: Option<HashMap<String, String>>,
    /// Whether the environment overrides the file (on by default).
    pub read_env: bool,
    /// Whether the file is read (on by default).
    pub read_file: bool,
}

impl Default for ConfigSource {
    fn default() -> Self {
        ConfigSource {
            profile: None,
            config_file: None,
            env: None,
            read_env: true,
            read_file: true,
        }
    }
}

impl ConfigSource {
    /// The process environment and the default file, profile from `$TEMPORAL_PROFILE`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Reads this profile.
    pub fn with_profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }
    /// Reads this file.
    pub fn with_config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }
    /// Uses these variables instead of the process environment.
    pub fn with_env(mut self, env: HashMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }
    /// Ignores environment variables (as the CLI's `--disable-config-env`).
    pub fn without_env(mut self) -> Self {
        self.read_env = false;
        self
    }
    /// Ignores the file (as the CLI's `--disable-config-file`).
    pub fn without_file(mut self) -> Self {
        self.read_file = false;
        self
    }
}

impl ClientOptions {
    /// Options from the environment and the default profile of the configuration file, as the
    /// Temporal CLI reads them (see [`ConfigSource`] for the variables and keys).
    pub fn from_env() -> Result<ClientOptions, ConfigError> {
        Self::load(ConfigSource::new())
    }

    /// Options from profile `name` of the configuration file, environment variables applied
    /// over it.
    pub fn from_profile(name: &str) -> Result<ClientOptions, ConfigError> {
        Self::load(ConfigSource::new().with_profile(name))
    }

    /// Options from the sources `source` names.
    pub fn load(source: ConfigSource) -> Result<ClientOptions, ConfigError> {
        let env = source
            .env
            .clone()
            .unwrap_or_else(|| std::env::vars().collect());
        let profile_name = source
            .profile
            .clone()
            .or_else(|| env.get("TEMPORAL_PROFILE").cloned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".into());
        let mut profile = if source.read_file {
            let explicit = source
                .config_file
                .clone()
                .or_else(|| env.get("TEMPORAL_CONFIG_FILE").map(PathBuf::from));
            read_profile(explicit, &env, &profile_name)?
        } else {
            Profile::default()
        };
        if source.read_env {
            profile.apply_env(&env)?;
        }
        profile.into_options()
    }
}

/// The configuration file.
#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

/// One profile (unknown keys, e.g. `codec`, are ignored as the SDKs do).
#[derive(Deserialize, Default, Clone, Debug)]
struct Profile {
    address: Option<String>,
    namespace: Option<String>,
    api_key: Option<String>,
    tls: Option<TlsSection>,
    #[serde(default)]
    grpc_meta: BTreeMap<String, String>,
    /// `TEMPORAL_TLS`, when set: wins over everything else about whether TLS is on.
    #[serde(skip)]
    tls_forced: Option<bool>,
}

#[derive(Deserialize, Default, Clone, Debug)]
struct TlsSection {
    disabled: Option<bool>,
    client_cert_path: Option<PathBuf>,
    client_cert_data: Option<String>,
    client_key_path: Option<PathBuf>,
    client_key_data: Option<String>,
    server_ca_cert_path: Option<PathBuf>,
    server_ca_cert_data: Option<String>,
    server_name: Option<String>,
    disable_host_verification: Option<bool>,
}

/// The platform's default configuration file.
fn default_config_file(env: &HashMap<String, String>) -> Option<PathBuf> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if cfg!(target_os = "windows") {
        get("APPDATA")
    } else if cfg!(target_os = "macos") {
        get("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        get("XDG_CONFIG_HOME").or_else(|| get("HOME").map(|h| h.join(".config")))
    }?;
    Some(dir.join("temporalio").join("temporal.toml"))
}

/// Profile `name` of the file (`explicit`, else the default one). A missing default file and
/// a missing `default` profile read as empty; a file or profile asked for by name must exist.
fn read_profile(
    explicit: Option<PathBuf>,
    env: &HashMap<String, String>,
    name: &str,
) -> Result<Profile, ConfigError> {
    let (path, must_exist) = match explicit {
        Some(p) => (p, true),
        None => match default_config_file(env) {
            Some(p) => (p, false),
            None => return Ok(Profile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(Profile::default());
        }
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    match file.profile.get(name) {
        Some(p) => Ok(p.clone()),
        None if name == "default" => Ok(Profile::default()),
        None => Err(ConfigError::ProfileNotFound {
            name: name.to_string(),
            path,
        }),
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigError::InvalidVariable {
            name: name.to_string(),
            message: format!("expected true or false, got {value:?}"),
        }),
    }
}

impl Profile {
    /// Applies the `TEMPORAL_*` variables over the file's values.
    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        if let Some(v) = get("TEMPORAL_ADDRESS") {
            self.address = Some(v);
        }
        if let Some(v) = get("TEMPORAL_NAMESPACE") {
            self.namespace = Some(v);
        }
        if let Some(v) = get("TEMPORAL_API_KEY") {
            self.api_key = Some(v);
        }
        if let Some(v) = get("TEMPORAL_TLS") {
            self.tls_forced = Some(parse_bool("TEMPORAL_TLS", &v)?);
        }
        let tls_vars = [
            "TEMPORAL_TLS_CLIENT_CERT_PATH",
            "TEMPORAL_TLS_CLIENT_CERT_DATA",
            "TEMPORAL_TLS_CLIENT_KEY_PATH",
            "TEMPORAL_TLS_CLIENT_KEY_DATA",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
            "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
            "TEMPORAL_TLS_SERVER_NAME",
            "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
        ];
        if tls_vars.iter().any(|k| get(k).is_some()) {
            let tls = self.tls.get_or_insert_with(TlsSection::default);
            if let Some(v) = get("TEMPORAL_TLS_CLIENT_CERT_PATH") {
                tls.client_cert_path = Some(v.into());
            }
            if let Some(v) = get("TEMPORAL_TLS_CLIENT_CERT_DATA") {
                tls.client_cert_data = Some(v);
            }
            if let Some(v) = get("TEMPORAL_TLS_CLIENT_KEY_PATH") {
                tls.client_key_path = Some(v.into());
            }
            if let Some(v) = get("TEMPORAL_TLS_CLIENT_KEY_DATA") {
                tls.client_key_data = Some(v);
            }
            if let Some(v) = get("TEMPORAL_TLS_SERVER_CA_CERT_PATH") {
                tls.server_ca_cert_path = Some(v.into());
            }
            if let Some(v) = get("TEMPORAL_TLS_SERVER_CA_CERT_DATA") {
                tls.server_ca_cert_data = Some(v);
            }
            if let Some(v) = get("TEMPORAL_TLS_SERVER_NAME") {
                tls.server_name = Some(v);
            }
            if let Some(v) = get("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION") {
                tls.disable_host_verification =
                    Some(parse_bool("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", &v)?);
            }
        }
        for (key, value) in env {
            if let Some(suffix) = key.strip_prefix("TEMPORAL_GRPC_META_")
                && !suffix.is_empty()
            {
                let header = suffix.to_ascii_lowercase().replace('_', "-");
                self.grpc_meta.insert(header, value.clone());
            }
        }
        Ok(())
    }

    /// Whether TLS is on: `TEMPORAL_TLS` if set, else a `tls` table not disabled, else an API
    /// key.
    fn tls_enabled(&self) -> bool {
        if let Some(forced) = self.tls_forced {
            return forced;
        }
        match &self.tls {
            Some(t) => !t.disabled.unwrap_or(false),
            None => self.api_key.is_some(),
        }
    }

    fn into_options(self) -> Result<ClientOptions, ConfigError> {
        let mut options = ClientOptions::new(
            self.address
                .clone()
                .unwrap_or_else(|| "localhost:7233".into()),
        );
        if let Some(ns) = &self.namespace {
            options = options.with_namespace(ns.clone());
        }
        if let Some(key) = &self.api_key {
            options = options.with_api_key(key.clone());
        }
        for (name, value) in &self.grpc_meta {
            options = options.with_header(name.clone(), value.clone());
        }
        if self.tls_enabled() {
            let section = self.tls.clone().unwrap_or_default();
            if section.disable_host_verification == Some(true) {
                return Err(ConfigError::Unsupported(
                    "disabling TLS host verification (disable_host_verification)",
                ));
            }
            let mut tls = TlsOptions::new();
            tls.server_root_ca_pem = pem(
                "server CA certificate",
                section.server_ca_cert_path.as_deref(),
                section.server_ca_cert_data,
            )?;
            tls.client_cert_pem = pem(
                "client certificate",
                section.client_cert_path.as_deref(),
                section.client_cert_data,
            )?;
            tls.client_key_pem = pem(
                "client key",
                section.client_key_path.as_deref(),
                section.client_key_data,
            )?;
            tls.server_name = section.server_name;
            options = options.with_tls(tls);
        }
        Ok(options)
    }
}

/// PEM bytes from a path or inline data (not both).
fn pem(
    setting: &'static str,
    path: Option<&Path>,
    data: Option<String>,
) -> Result<Option<Vec<u8>>, ConfigError> {
    match (path, data) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict { setting }),
        (Some(path), None) => std::fs::read(path)
            .map(Some)
            .map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        (None, data) => Ok(data.map(String::into_bytes)),
    }
}

#[cfg(test)]
#[path = "envconfig_tests.rs"]
mod tests;
