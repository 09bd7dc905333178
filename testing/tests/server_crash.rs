//! Crash test: the `reprise-server` binary on a SQLite file is killed with SIGKILL several times
//! while a worker runs many workflows with activities, timers and a child workflow, and started
//! again on the same file each time. Every workflow must complete exactly once with the right result; no event,
//! timer or activity completion may be lost, and no activity attempt may run twice.
//!
//! `REPRISE_CRASH_WORKFLOWS` (default 60) and `REPRISE_CRASH_KILLS` (default 5) scale it;
//! `REPRISE_CRASH_SEED` replays a given schedule of kills (the seed is printed on failure).

use reprise::activity::{ActivityContext, ActivityError};
use reprise::api::temporal::api::enums::v1::{EventType as E, WorkflowExecutionStatus};
use reprise::api::temporal::api::history::v1::{History, history_event::Attributes as Ev};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::replay::Replayer;
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const STEPS: u32 = 3;

/// Three activities, each followed by a timer, then a child workflow; the result sums the
/// activities' results and the child's.
#[derive(Default)]
struct CrashWorkflow;

/// The child: a timer, then its input doubled.
#[derive(Default)]
struct CrashChild;

#[reprise::workflow]
impl CrashChild {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, n: u32) -> WorkflowResult<u64> {
        ctx.sleep(Duration::from_millis(200)).await?;
        Ok(u64::from(n) * 2)
    }
}

fn child_id(parent: &str) -> String {
    format!("{parent}-child")
}

#[reprise::workflow]
impl CrashWorkflow {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, n: u32) -> WorkflowResult<u64> {
        let mut total = 0;
        for step in 0..STEPS {
            let value: u64 = ctx
                .activity(Steps::step, (n, step))
                .start_to_close_timeout(Duration::from_secs(5))
                .await?;
            total += value;
            ctx.sleep(Duration::from_millis(300 + u64::from(n % 4) * 200))
                .await?;
        }
        let child: u64 = ctx
            .child_workflow(CrashChild::run, (n,))
            .workflow_id(child_id(&ctx.info().workflow_id))
            .await?;
        Ok(total + child)
    }
}

fn expected(n: u32) -> u64 {
    (0..STEPS).map(|step| step_value(n, step)).sum::<u64>() + u64::from(n) * 2
}

fn step_value(n: u32, step: u32) -> u64 {
    u64::from(n) * 100 + u64::from(step)
}

/// Every finished activity execution: (workflow number, step) → attempts that ran to the end.
type ExecutionLog = Arc<Mutex<BTreeMap<(u32, u32), Vec<u32>>>>;

struct Steps {
    log: ExecutionLog,
}

#[reprise::activities]
impl Steps {
    async fn step(&self, ctx: ActivityContext, n: u32, step: u32) -> Result<u64, ActivityError> {
        // Long enough that kills land while activities run.
        tokio::time::sleep(Duration::from_millis(
            20 + u64::from((n * 7 + step * 13) % 80),
        ))
        .await;
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((n, step))
            .or_default()
            .push(ctx.info().attempt);
        Ok(step_value(n, step))
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator for the kill schedule.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Starts the binary and waits for its "listening" line.
async fn spawn_server(db: &PathBuf, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise-server"))
        .args(["--address", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .args(["--log-level", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn reprise-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .expect("server did not start in time")
            .expect("read server output");
        match line {
            Some(l) if l.contains("listening on") => break,
            Some(_) => continue,
            None => panic!("server exited before listening"),
        }
    }
    child
}

fn types(history: &History) -> Vec<E> {
    history
        .events
        .iter()
        .map(|e| E::try_from(e.event_type).unwrap_or(E::Unspecified))
        .collect()
}

fn count(kinds: &[E], kind: E) -> usize {
    kinds.iter().filter(|k| **k == kind).count()
}

/// The attempt recorded for each step's `ActivityTaskStarted`, in order.
fn started_attempts(history: &History) -> Vec<i32> {
    history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Ev::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_complete_exactly_once_across_repeated_sigkills() {
    let workflows = env_number("REPRISE_CRASH_WORKFLOWS", 60) as u32;
    let kills = env_number("REPRISE_CRASH_KILLS", 5);
    let seed = env_number(
        "REPRISE_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7),
    );
    let context = format!(
        "seed {seed} ({workflows} workflows, {kills} kills; rerun with REPRISE_CRASH_SEED={seed})"
    );
    let mut rng = Lcg(seed);
    let db = std::env::temp_dir().join(format!("reprise-crash-{}-{seed}.db", std::process::id()));
    let port = free_port();
    let mut server = spawn_server(&db, port).await;

    let client = Client::connect(ClientOptions::new(format!("127.0.0.1:{port}")))
        .await
        .expect("connect");
    let log: ExecutionLog = Arc::default();
    let task_queue = format!("crash-{seed}");
    let worker = Worker::builder(client.clone(), &task_queue)
        .workflow::<CrashWorkflow>()
        .workflow::<CrashChild>()
        .activities(Steps { log: log.clone() })
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());

    let id = |n: u32| format!("crash-{seed}-{n}");
    for n in 0..workflows {
        client
            .start(
                CrashWorkflow::run,
                (n,),
                WorkflowOptions::new(id(n), &task_queue).with_task_timeout(Duration::from_secs(2)),
            )
            .await
            .expect("start");
    }

    // Kill the server at random moments while the workflows run, restarting it each time.
    let mut running_at_kills = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(200 + rng.next(700))).await;
        running_at_kills.push(
            client
                .count_workflows("ExecutionStatus = 'Running'")
                .await
                .unwrap_or(0),
        );
        server.start_kill().expect("SIGKILL");
        let _ = server.wait().await;
        tokio::time::sleep(Duration::from_millis(rng.next(300))).await;
        server = spawn_server(&db, port).await;
    }

    let context = format!("{context}; workflows running at each kill: {running_at_kills:?}");
    assert!(
        kills == 0 || running_at_kills.iter().any(|r| *r > 0),
        "the kills must land while workflows run: {context}"
    );

    // Everything completes.
    let deadline = Instant::now() + Duration::from_secs(90);
    for n in 0..workflows {
        loop {
            let status = client
                .workflow_handle(id(n), None)
                .describe()
                .await
                .map(|d| d.status);
            if status
                .as_ref()
                .is_ok_and(|s| *s != WorkflowExecutionStatus::Running)
            {
                assert_eq!(
                    status.ok(),
                    Some(WorkflowExecutionStatus::Completed),
                    "workflow {n}: {context}"
                );
                break;
            }
            if Instant::now() > deadline {
                let handle = client.workflow_handle(id(n), None);
                let history = handle.fetch_history().await.map(|h| types(&h));
                let pending = handle
                    .describe_raw()
                    .await
                    .map(|d| (d.pending_activities.len(), d.pending_workflow_task));
                let worker_state = if worker.is_finished() {
                    format!("worker stopped: {:?}", worker.await)
                } else {
                    "worker running".to_string()
                };
                panic!(
                    "workflow {n} did not complete: {context}\nhistory: {history:?}\npending: {pending:?}\n{worker_state}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.shutdown();
    let _ = worker.await;

    let mut registry = WorkflowRegistry::new();
    registry
        .register_workflow::<CrashWorkflow>()
        .expect("register");
    registry
        .register_workflow::<CrashChild>()
        .expect("register child");
    let replayer = Replayer::new(registry);
    let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for n in 0..workflows {
        let handle = client.workflow_handle(id(n), None);
        assert_eq!(
            handle.result::<u64>().await.expect("result"),
            expected(n),
            "workflow {n}: {context}"
        );
        let runs = client
            .count_workflows(&format!("WorkflowId = '{}'", id(n)))
            .await
            .expect("count");
        assert_eq!(runs, 1, "workflow {n} ran once: {context}");
        let history = handle.fetch_history().await.expect("history");
        for (i, e) in history.events.iter().enumerate() {
            assert_eq!(
                e.event_id,
                i as i64 + 1,
                "workflow {n}: contiguous ids: {context}"
            );
        }
        let kinds = types(&history);
        assert_eq!(count(&kinds, E::WorkflowExecutionCompleted), 1, "{context}");
        assert_eq!(
            count(&kinds, E::ActivityTaskScheduled),
            STEPS as usize,
            "{context}"
        );
        assert_eq!(
            count(&kinds, E::ActivityTaskCompleted),
            STEPS as usize,
            "{context}"
        );
        assert_eq!(count(&kinds, E::TimerStarted), STEPS as usize, "{context}");
        assert_eq!(count(&kinds, E::TimerFired), STEPS as usize, "{context}");
        assert_eq!(
            count(&kinds, E::StartChildWorkflowExecutionInitiated),
            1,
            "{context}"
        );
        assert_eq!(
            count(&kinds, E::ChildWorkflowExecutionStarted),
            1,
            "{context}"
        );
        assert_eq!(
            count(&kinds, E::ChildWorkflowExecutionCompleted),
            1,
            "{context}"
        );
        let child = client.workflow_handle(child_id(&id(n)), None);
        let child_runs = client
            .count_workflows(&format!("WorkflowId = '{}'", child_id(&id(n))))
            .await
            .expect("count children");
        assert_eq!(child_runs, 1, "workflow {n}'s child ran once: {context}");
        let child_history = child.fetch_history().await.expect("child history");
        assert_eq!(
            count(&types(&child_history), E::WorkflowExecutionCompleted),
            1,
            "{context}"
        );
        replayer
            .replay(&child_history)
            .unwrap_or_else(|e| panic!("workflow {n}'s child replays: {e}: {context}"));
        replayer
            .replay(&history)
            .unwrap_or_else(|e| panic!("workflow {n} replays: {e}: {context}"));
        // Each step ran to the end exactly once, in the attempt the history records: no attempt
        // handed to two pollers, no finished attempt whose completion was lost (that would have
        // been retried as a later attempt).
        let attempts = started_attempts(&history);
        for step in 0..STEPS {
            let ran = log.get(&(n, step)).cloned().unwrap_or_default();
            assert_eq!(
                ran.len(),
                1,
                "workflow {n} step {step} ran {ran:?}: {context}"
            );
            assert_eq!(
                i64::from(ran[0]),
                i64::from(attempts[step as usize]),
                "workflow {n} step {step}: the attempt that ran is the one recorded: {context}"
            );
        }
    }
    eprintln!("crash test passed: {context}");
    drop(client);
    server.start_kill().expect("stop server");
    let _ = server.wait().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
