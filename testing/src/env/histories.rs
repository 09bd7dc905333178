//! Recorded histories as tests: one `cargo test` test per JSON file of a folder.

use reprise::replay::Replayer;
use std::path::{Path, PathBuf};

/// Turns a folder of recorded histories into one test per file, in a test target with
/// `harness = false`. The whole test file is one line:
///
/// ```rust,no_run
/// # use reprise::workflow::{WorkflowContext, WorkflowResult};
/// # #[derive(Default)] pub struct OrderWorkflow;
/// # #[reprise::workflow] impl OrderWorkflow { #[run] pub async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> { Ok(()) } }
/// # #[derive(Default)] pub struct RefundWorkflow;
/// # #[reprise::workflow] impl RefundWorkflow { #[run] pub async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> { Ok(()) } }
/// reprise_testing::replay_histories!("tests/histories", workflows: [OrderWorkflow, RefundWorkflow]);
/// ```
///
/// or, with a [`Replayer`](reprise::replay::Replayer) you configured (a data converter, function
/// workflows):
///
/// ```rust,no_run
/// # fn my_replayer() -> reprise::replay::Replayer {
/// #     reprise::replay::Replayer::new(reprise::workflow::WorkflowRegistry::new())
/// # }
/// reprise_testing::replay_histories!("tests/histories", replayer: my_replayer());
/// ```
///
/// The folder is relative to the crate's `Cargo.toml`. Each `*.json` file (searched
/// recursively) becomes a test named after its path without `.json` (`orders/refund_v2`); it
/// replays the history from the start and from every workflow-task boundary, as
/// [`TestEnv`](crate::TestEnv)'s automatic check does. `cargo test NAME` runs one, and a new
/// file becomes a test without editing code. See the [guide](crate::env) for the `Cargo.toml`
/// lines.
#[macro_export]
macro_rules! replay_histories {
    ($dir:expr, workflows: [$($workflow:ty),* $(,)?] $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            let mut registry = $crate::__private::WorkflowRegistry::new();
            $(
                if let Err(e) = registry.register_workflow::<$workflow>() {
                    ::std::eprintln!("cannot register {}: {e}", ::std::stringify!($workflow));
                    return ::std::process::ExitCode::FAILURE;
                }
            )*
            $crate::env::run_history_tests(
                ::std::path::Path::new(::std::env!("CARGO_MANIFEST_DIR")).join($dir),
                $crate::__private::Replayer::new(registry),
            )
        }
    };
    ($dir:expr, replayer: $replayer:expr $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::env::run_history_tests(
                ::std::path::Path::new(::std::env!("CARGO_MANIFEST_DIR")).join($dir),
                $replayer,
            )
        }
    };
}

/// One recorded history as a test ([`history_tests`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HistoryTest {
    /// The test name: the file's path below the folder, without `.json`, with `/` separators.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

impl HistoryTest {
    /// Loads the history and replays it from the start and from every workflow-task boundary.
    /// The error names the file, and for a replay that diverges the event, what the history
    /// has, what the code did and the line that did it.
    pub fn run(&self, replayer: &Replayer) -> Result<usize, String> {
        let history = reprise::history::load_file(&self.path).map_err(|e| e.to_string())?;
        super::check::check_history(replayer, &history).map_err(|(boundary, error)| {
            let at = match boundary {
                None => "replaying the whole history".to_string(),
                Some(id) => format!(
                    "as a worker that lost its cache before the workflow task started at event {id}"
                ),
            };
            format!("{} does not replay ({at}):\n{error}", self.path.display())
        })
    }
}

/// The tests of a folder: every `*.json` file below `dir`, sorted by name.
pub fn history_tests(dir: impl AsRef<Path>) -> std::io::Result<Vec<HistoryTest>> {
    let dir = dir.as_ref();
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                let relative = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push(HistoryTest { name, path });
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The `main` of a [`replay_histories!`](crate::replay_histories) test target: one test per
/// history file, run with libtest's command line (filters, `--exact`, `--list`, `--nocapture`)
/// and output. A folder that cannot be read is one failing test named after it.
pub fn run_history_tests(dir: impl AsRef<Path>, replayer: Replayer) -> std::process::ExitCode {
    use libtest_mimic::{Arguments, Failed, Trial};
    let dir = dir.as_ref();
    let args = Arguments::from_args();
    let replayer = std::sync::Arc::new(replayer);
    let trials = match history_tests(dir) {
        Ok(tests) => tests
            .into_iter()
            .map(|test| {
                let replayer = replayer.clone();
                Trial::test(test.name.clone(), move || {
                    test.run(&replayer).map(|_| ()).map_err(Failed::from)
                })
            })
            .collect(),
        Err(e) => {
            let message = format!("cannot read the history folder {}: {e}", dir.display());
            vec![Trial::test(dir.display().to_string(), move || {
                Err(Failed::from(message))
            })]
        }
    };
    libtest_mimic::run(&args, trials).exit_code()
}
