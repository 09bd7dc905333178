//! Client configuration shared with the official CLI: a `temporal.toml` profile written by
//! `temporal config set` connects Reprise's client, and a profile Reprise's client reads lets
//! the CLI see the same workflow (`ClientOptions::from_profile` / `ClientOptions::load`).

use reprise::client::{Client, ClientOptions, ConfigSource, WorkflowOptions};
use reprise_testing::server::{ServerOptions, TestServer};
use std::path::Path;
use std::process::Command;

fn cli() -> String {
    std::env::var("TEMPORAL_CLI")
        .unwrap_or_else(|_| panic!("TEMPORAL_CLI is not set: run `. scripts/tools.sh`"))
}

/// Runs the CLI with only the configuration file and profile as its connection settings.
fn run_cli(config: &Path, profile: &str, args: &[&str]) -> String {
    let output = Command::new(cli())
        .args(args)
        .env_remove("TEMPORAL_ADDRESS")
        .env_remove("TEMPORAL_NAMESPACE")
        .env("TEMPORAL_CONFIG_FILE", config)
        .env("TEMPORAL_PROFILE", profile)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the CLI: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "temporal {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_reprise_share_temporal_toml_profiles() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .unwrap_or_else(|e| panic!("bundled server: {e}"));
    let dir = std::env::temp_dir().join(format!("reprise-client-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
    let config = dir.join("temporal.toml");

    // The CLI writes the profile...
    let target = server.target();
    run_cli(
        &config,
        "staging",
        &["config", "set", "--prop", "address", "--value", &target],
    );
    run_cli(
        &config,
        "staging",
        &[
            "config",
            "set",
            "--prop",
            "grpc_meta.team-id",
            "--value",
            "payments",
        ],
    );

    // ...Reprise's client connects with it and starts a workflow (no worker needed).
    let options = ClientOptions::load(
        ConfigSource::new()
            .with_config_file(&config)
            .with_profile("staging"),
    )
    .unwrap_or_else(|e| panic!("load profile: {e}"));
    assert_eq!(options.target, target);
    assert_eq!(options.namespace, "default");
    assert_eq!(
        options.headers.get("team-id").map(String::as_str),
        Some("payments")
    );
    let client = Client::connect(options)
        .await
        .unwrap_or_else(|e| panic!("connect with the profile: {e}"));
    client
        .start_workflow(
            "Configured",
            (),
            WorkflowOptions::new("configured-1", "nobody-polls"),
        )
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));

    // ...and the CLI, reading the same profile, sees it.
    let described = run_cli(
        &config,
        "staging",
        &[
            "workflow",
            "describe",
            "--workflow-id",
            "configured-1",
            "--output",
            "json",
        ],
    );
    assert!(described.contains("Configured"), "{described}");

    // A profile asked for by name that the file lacks is an error, as in the CLI.
    let missing = ClientOptions::load(
        ConfigSource::new()
            .with_config_file(&config)
            .with_profile("production"),
    );
    assert!(missing.is_err(), "{missing:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
