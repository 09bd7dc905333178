use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-envconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

const FILE: &str = r#"
[profile.default]
address = "file-default:7233"

[profile.prod]
address = "prod.example:7233"
namespace = "orders"
api_key = "file-key"

[profile.prod.grpc_meta]
team-id = "payments"

[profile.plain.tls]
disabled = true

[profile.sni.tls]
server_name = "frontend.internal"
server_ca_cert_data = "CA PEM"

[profile.sni.codec]
endpoint = "http://ignored"
"#;

#[test]
fn nothing_configured_gives_the_defaults() {
    let o = ClientOptions::load(ConfigSource::new().with_env(env(&[]))).expect("load");
    assert_eq!(o.target, "localhost:7233");
    assert_eq!(o.namespace, "default");
    assert!(o.tls.is_none() && o.api_key.is_none());
}

#[test]
fn the_default_profile_is_read_and_variables_win_over_it() {
    let path = write("a.toml", FILE);
    let source = ConfigSource::new().with_config_file(&path);
    let o = ClientOptions::load(source.clone().with_env(env(&[]))).expect("load");
    assert_eq!(o.target, "file-default:7233");
    let o = ClientOptions::load(source.with_env(env(&[
        ("TEMPORAL_ADDRESS", "env:7233"),
        ("TEMPORAL_NAMESPACE", "env-ns"),
    ])))
    .expect("load");
    assert_eq!(
        (o.target.as_str(), o.namespace.as_str()),
        ("env:7233", "env-ns")
    );
}

#[test]
fn a_named_profile_with_an_api_key_turns_tls_on_and_sends_its_headers() {
    let path = write("b.toml", FILE);
    let o = ClientOptions::load(
        ConfigSource::new()
            .with_config_file(&path)
            .with_profile("prod")
            .with_env(env(&[("TEMPORAL_GRPC_META_TRACE_ID", "abc")])),
    )
    .expect("load");
    assert_eq!(o.target, "prod.example:7233");
    assert_eq!(o.namespace, "orders");
    assert_eq!(o.api_key.as_deref(), Some("file-key"));
    assert!(o.tls.is_some(), "an API key turns TLS on");
    assert_eq!(
        o.headers.get("team-id").map(String::as_str),
        Some("payments")
    );
    assert_eq!(o.headers.get("trace-id").map(String::as_str), Some("abc"));
    // TEMPORAL_TLS=false wins over the API key.
    let o = ClientOptions::load(ConfigSource::new().with_config_file(&path).with_env(env(&[
        ("TEMPORAL_PROFILE", "prod"),
        ("TEMPORAL_TLS", "false"),
    ])))
    .expect("load");
    assert!(o.tls.is_none());
}

#[test]
fn a_tls_table_turns_tls_on_unless_disabled() {
    let path = write("c.toml", FILE);
    let load = |profile: &str| {
        ClientOptions::load(
            ConfigSource::new()
                .with_config_file(&path)
                .with_profile(profile)
                .with_env(env(&[])),
        )
        .expect("load")
    };
    let sni = load("sni");
    let tls = sni.tls.expect("tls on");
    assert_eq!(tls.server_name.as_deref(), Some("frontend.internal"));
    assert_eq!(tls.server_root_ca_pem.as_deref(), Some(&b"CA PEM"[..]));
    assert!(load("plain").tls.is_none());
}

#[test]
fn certificates_are_read_from_their_paths() {
    let cert = write("client.pem", "CERT");
    let key = write("client.key", "KEY");
    let o = ClientOptions::load(ConfigSource::new().without_file().with_env(env(&[
        (
            "TEMPORAL_TLS_CLIENT_CERT_PATH",
            cert.to_str().expect("utf-8"),
        ),
        ("TEMPORAL_TLS_CLIENT_KEY_PATH", key.to_str().expect("utf-8")),
    ])))
    .expect("load");
    let tls = o.tls.expect("tls on");
    assert_eq!(tls.client_cert_pem.as_deref(), Some(&b"CERT"[..]));
    assert_eq!(tls.client_key_pem.as_deref(), Some(&b"KEY"[..]));
}

#[test]
fn bad_configurations_are_clear_errors() {
    let path = write("d.toml", FILE);
    let missing = ClientOptions::load(
        ConfigSource::new()
            .with_config_file(&path)
            .with_profile("staging")
            .with_env(env(&[])),
    );
    assert!(
        matches!(missing, Err(ConfigError::ProfileNotFound { ref name, .. }) if name == "staging"),
        "{missing:?}"
    );
    let broken = write("e.toml", "[profile.default\naddress = 1");
    let err = ClientOptions::load(
        ConfigSource::new()
            .with_config_file(&broken)
            .with_env(env(&[])),
    )
    .expect_err("parse error");
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    let err = ClientOptions::load(
        ConfigSource::new()
            .with_config_file(std::env::temp_dir().join("reprise-no-such-file.toml"))
            .with_env(env(&[])),
    )
    .expect_err("missing file named explicitly");
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    let err = ClientOptions::load(ConfigSource::new().without_file().with_env(env(&[
        ("TEMPORAL_TLS_CLIENT_CERT_PATH", "/x"),
        ("TEMPORAL_TLS_CLIENT_CERT_DATA", "y"),
    ])))
    .expect_err("conflict");
    assert!(matches!(err, ConfigError::Conflict { .. }), "{err}");
    let err = ClientOptions::load(
        ConfigSource::new()
            .without_file()
            .with_env(env(&[("TEMPORAL_TLS", "maybe")])),
    )
    .expect_err("bad bool");
    assert!(matches!(err, ConfigError::InvalidVariable { .. }), "{err}");
}

#[test]
fn without_env_ignores_the_variables() {
    let o = ClientOptions::load(
        ConfigSource::new()
            .without_file()
            .without_env()
            .with_env(env(&[("TEMPORAL_ADDRESS", "env:1")])),
    )
    .expect("load");
    assert_eq!(o.target, "localhost:7233");
}
