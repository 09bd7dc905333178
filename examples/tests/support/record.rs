//! Recording the examples' histories (shared by the `example_*` tests).

use reprise_testing::TestEnv;

/// With `REPRISE_RECORD_HISTORIES=1`, saves a run's history under `examples/histories/`, where
/// `tests/histories.rs` replays it in CI.
pub(crate) async fn record(
    env: &TestEnv,
    workflow_id: &str,
    name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("REPRISE_RECORD_HISTORIES").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("histories")
            .join(name);
        env.save_history(workflow_id, path).await?;
    }
    Ok(())
}
