//! A worker process for the crash-takeover test (`tests/crash_takeover.rs`): runs a multi-step
//! workflow whose activities leave a trace in a ledger directory, and can be told to stop dead
//! at a chosen point so the test can SIGKILL it there.
//!
//! `takeover-worker TARGET TASK_QUEUE LEDGER_DIR ROLE`, ROLE one of:
//! - `hang-workflow-task-after:N`: after step N completes, the next workflow task blocks its
//!   thread (the task stays in flight until the process is killed);
//! - `hang-activity:N`: the first attempt of step N never finishes;
//! - `finish`: runs everything to the end.
//!
//! Each activity attempt appends `start STEP ATTEMPT PID` to `LEDGER_DIR/ledger` when it begins
//! and `done STEP ATTEMPT PID` just before it returns, so the test can count what ran where.
//! A hang writes `hung-workflow-task` or `hung-activity` to the ledger directory first.
#![allow(clippy::print_stdout)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where this process was told to stop dead.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    HangWorkflowTaskAfter(u32),
    HangActivity(u32),
    Finish,
}

/// The role and ledger directory of this process. Workflow code reads them: a deliberate break
/// of determinism's rules, harmless here because the hang is the point and never completes.
static PROCESS: OnceLock<(Role, PathBuf)> = OnceLock::new();

fn role() -> Role {
    PROCESS.get().map_or(Role::Finish, |(role, _)| *role)
}

fn ledger_dir() -> PathBuf {
    PROCESS
        .get()
        .map_or_else(std::env::temp_dir, |(_, dir)| dir.clone())
}

fn append(line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger_dir().join("ledger"))?;
    writeln!(file, "{line}")?;
    file.sync_all()
}

fn hang_forever(marker: &str) -> ! {
    let _ = std::fs::write(ledger_dir().join(marker), std::process::id().to_string());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Runs `steps` activities one after the other and returns what each reported.
#[derive(Default)]
pub struct TakeoverSteps;

#[reprise::workflow(name = "TakeoverSteps")]
impl TakeoverSteps {
    /// Runs the steps; hangs where this process's role says.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, steps: u32) -> WorkflowResult<Vec<String>> {
        let mut results = Vec::new();
        for step in 1..=steps {
            let done: String = ctx
                .activity(StepActivities::step, (step,))
                .start_to_close_timeout(Duration::from_secs(3))
                .await?;
            results.push(done);
            if role() == Role::HangWorkflowTaskAfter(step) && !ctx.is_replaying() {
                hang_forever("hung-workflow-task");
            }
        }
        Ok(results)
    }
}

/// The steps' activity.
pub struct StepActivities;

#[reprise::activities]
impl StepActivities {
    /// One step: leaves `start`/`done` lines in the ledger.
    pub async fn step(&self, ctx: ActivityContext, step: u32) -> Result<String, ActivityError> {
        let attempt = ctx.info().attempt;
        let pid = std::process::id();
        append(&format!("start {step} {attempt} {pid}"))?;
        if role() == Role::HangActivity(step) && attempt == 1 {
            let _ = std::fs::write(ledger_dir().join("hung-activity"), pid.to_string());
            std::future::pending::<()>().await;
        }
        append(&format!("done {step} {attempt} {pid}"))?;
        Ok(format!("step {step} attempt {attempt}"))
    }
}

fn parse_role(text: &str) -> Result<Role, Error> {
    let number = |s: &str| -> Result<u32, Error> { Ok(s.parse()?) };
    match text.split_once(':') {
        Some(("hang-workflow-task-after", n)) => Ok(Role::HangWorkflowTaskAfter(number(n)?)),
        Some(("hang-activity", n)) => Ok(Role::HangActivity(number(n)?)),
        None if text == "finish" => Ok(Role::Finish),
        _ => Err(format!("unknown role {text:?}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, target, task_queue, ledger, role] = args.as_slice() else {
        return Err("usage: takeover-worker TARGET TASK_QUEUE LEDGER_DIR ROLE".into());
    };
    let role = parse_role(role)?;
    std::fs::create_dir_all(ledger)?;
    let _ = PROCESS.set((role, Path::new(ledger).to_path_buf()));
    let client = Client::connect(ClientOptions::new(target.clone())).await?;
    let worker = Worker::builder(client, task_queue)
        .workflow::<TakeoverSteps>()
        .activities(StepActivities)
        .build()?;
    println!("worker {} polling {task_queue}", std::process::id());
    worker.run().await?;
    Ok(())
}
