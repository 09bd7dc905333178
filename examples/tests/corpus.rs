//! The corpus replays, and deliberately changed workflows are reported as nondeterminism with
//! the right event, the history's command, the code's command and the line that issued it.

use reprise::converter::ApplicationFailure;
use reprise::replay::{ReplayError, Replayer};
use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
use std::path::PathBuf;
use std::time::Duration;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/histories")
}

fn history(name: &str) -> reprise::api::temporal::api::history::v1::History {
    reprise::history::load_file(fixtures().join(name)).expect("fixture loads")
}

fn replay_with(
    workflow_type: &str,
    registry: WorkflowRegistry,
    file: &str,
) -> Result<(), ReplayError> {
    let _ = workflow_type;
    Replayer::new(registry).replay(&history(file))
}

fn nondeterminism(result: Result<(), ReplayError>) -> reprise::replay::NondeterminismError {
    match result {
        Err(ReplayError::Nondeterminism(e)) => *e,
        other => panic!("expected a nondeterminism error, got {other:?}"),
    }
}

#[test]
fn every_recorded_history_replays() {
    let summary = Replayer::new(reprise_examples::corpus::registry())
        .replay_dir(fixtures())
        .expect("dir");
    assert_eq!(summary.results.len(), 35, "{summary}");
    assert!(summary.is_success(), "{summary}");
    assert!(summary.to_string().ends_with("35 passed, 0 failed"));
}

#[test]
fn the_corpus_binary_prints_one_line_per_file_and_a_summary() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_corpus"))
        .args(["replay", &fixtures().to_string_lossy()])
        .output()
        .expect("run corpus");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 35);
    assert!(stdout.trim_end().ends_with("35 passed, 0 failed"));
}

#[test]
fn the_corpus_binary_fails_on_a_broken_history() {
    let dir = std::env::temp_dir().join(format!("reprise-corpus-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(
        fixtures().join("02-timers.json"),
        dir.join("02-timers.json"),
    )
    .expect("copy");
    std::fs::write(dir.join("zz-broken.json"), "{\"events\": [").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_corpus"))
        .args(["replay", &dir.to_string_lossy()])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("FAIL  zz-broken.json"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("1 passed, 1 failed"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn v1_patch_code_replays_13a_but_not_the_patched_histories() {
    let mut v1 = WorkflowRegistry::new();
    v1.register("PatchWorkflow", reprise_examples::corpus::patch_v1)
        .expect("register");
    assert!(replay_with("PatchWorkflow", v1.clone(), "13a-patch-v1-only.json").is_ok());
    // 13b: v1 ran step 1, v2 took the patch for step 2: a patch marker that was not
    // deprecated cannot be skipped (as in the official SDKs), so the difference is reported at
    // the marker, where v1 code scheduled its old step instead.
    let e = nondeterminism(replay_with(
        "PatchWorkflow",
        v1.clone(),
        "13b-patch-v1-then-v2.json",
    ));
    assert!(e.history.contains("patch_id=step2-v2"), "{e}");
    assert!(e.code.contains("activity_type=oldStep2"), "{e}");
    assert_eq!(e.event_type, "MarkerRecorded");
    let e = nondeterminism(replay_with("PatchWorkflow", v1, "13c-patch-v2-only.json"));
    assert!(
        e.history.contains("patch_id=step1-v2") && e.code.contains("oldStep1"),
        "{e}"
    );
    assert_eq!(e.event_type, "MarkerRecorded");
}

async fn order_with_refund(
    ctx: WorkflowContext,
    (order,): (serde_json::Value,),
) -> WorkflowResult<String> {
    let id = order["orderId"].as_str().unwrap_or_default().to_string();
    let charge: String = ctx
        .activity_by_name("chargeCreditCard", (&id, 42.5))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?;
    let refund: String = ctx
        .activity_by_name("refund", (&id, &charge))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?;
    Ok(refund)
}

#[test]
fn another_activity_is_reported_with_event_history_code_and_line() {
    let mut r = WorkflowRegistry::new();
    r.register("OrderWorkflow", order_with_refund)
        .expect("register");
    let e = nondeterminism(replay_with("OrderWorkflow", r, "01-order.json"));
    assert_eq!(e.event_id, 11);
    assert_eq!(e.event_type, "ActivityTaskScheduled");
    assert_eq!(
        e.history,
        "ScheduleActivityTask activity_type=updateDatabase activity_id=2"
    );
    assert_eq!(
        e.code,
        "ScheduleActivityTask activity_type=refund activity_id=2"
    );
    let location = e.location.clone().expect("location");
    assert!(location.contains("tests/corpus.rs:"), "{location}");
    let line: u32 = location
        .split(':')
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("line number");
    let source = include_str!("corpus.rs");
    assert!(
        source
            .lines()
            .nth(line as usize - 1)
            .is_some_and(|l| l.contains("\"refund\"")),
        "line {line} is the refund call"
    );
    let text = e.to_string();
    assert!(
        text.starts_with("nondeterminism in workflow OrderWorkflow (id corpus-order, run "),
        "{text}"
    );
    assert!(text.contains("at event 11 ActivityTaskScheduled"), "{text}");
    assert!(
        text.contains("\n  history has: ScheduleActivityTask activity_type=updateDatabase"),
        "{text}"
    );
    assert!(
        text.contains("\n  code did:    ScheduleActivityTask activity_type=refund"),
        "{text}"
    );
    assert!(text.contains("\n  issued at:   "), "{text}");
}

async fn timers_without_second(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    ctx.sleep(Duration::from_secs(1)).await?;
    let (a, b) = futures::join!(
        ctx.sleep(Duration::from_millis(500)),
        ctx.sleep(Duration::from_millis(1500))
    );
    a?;
    b?;
    Ok("timers done".into())
}

#[test]
fn a_removed_timer_is_reported() {
    let mut r = WorkflowRegistry::new();
    r.register("TimerWorkflow", timers_without_second)
        .expect("register");
    let e = nondeterminism(replay_with("TimerWorkflow", r, "02-timers.json"));
    // History: the second task started one timer (id 2, 2 s); the code starts two (ids 2, 3).
    // Timer ids match and durations may change (as with the official SDKs), so the extra
    // timer 3 is what differs, found when the next task starts.
    assert_eq!(e.event_type, "WorkflowTaskStarted");
    assert!(e.history.contains("no further command"), "{e}");
    assert_eq!(e.code, "StartTimer timer_id=3 duration=1.500s");
}

async fn parallel_reversed(ctx: WorkflowContext, (n,): (u32,)) -> WorkflowResult<i64> {
    let calls: Vec<_> = (0..n)
        .rev()
        .map(|i| {
            ctx.activity_by_name::<i64>("square", (i,))
                .activity_id((i + 1).to_string())
                .start_to_close_timeout(Duration::from_secs(10))
        })
        .map(std::future::IntoFuture::into_future)
        .collect();
    let mut sum = 0;
    for r in futures::future::join_all(calls).await {
        sum += r?;
    }
    Ok(sum)
}

#[test]
fn reordered_commands_are_reported_at_the_first_difference() {
    let mut r = WorkflowRegistry::new();
    r.register("ParallelActivitiesWorkflow", parallel_reversed)
        .expect("register");
    let e = nondeterminism(replay_with(
        "ParallelActivitiesWorkflow",
        r,
        "15-parallel-activities.json",
    ));
    assert_eq!(e.event_id, 5);
    assert_eq!(
        e.history,
        "ScheduleActivityTask activity_type=square activity_id=1"
    );
    assert_eq!(
        e.code,
        "ScheduleActivityTask activity_type=square activity_id=10"
    );
}

async fn failing_that_returns(
    ctx: WorkflowContext,
    (order_id,): (String,),
) -> WorkflowResult<String> {
    let _: String = ctx
        .activity_by_name("validateOrder", (&order_id,))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?;
    Ok("valid after all".into())
}

#[test]
fn completing_instead_of_failing_is_reported() {
    let mut r = WorkflowRegistry::new();
    r.register("FailingWorkflow", failing_that_returns)
        .expect("register");
    let e = nondeterminism(replay_with(
        "FailingWorkflow",
        r,
        "12-workflow-failure.json",
    ));
    assert_eq!(e.event_type, "WorkflowExecutionFailed");
    assert_eq!(e.history, "FailWorkflowExecution");
    assert!(
        e.code
            .starts_with("CompleteWorkflowExecution (the workflow function returned)"),
        "{e}"
    );
    assert_eq!(e.location, None);
}

async fn one_more_activity(ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
    let greeting: String = ctx
        .activity_by_name("composeGreeting", (&name,))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?;
    let _: String = ctx
        .activity_by_name("audit", (&greeting,))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?;
    Ok(greeting)
}

#[test]
fn an_extra_command_where_the_history_completes_is_reported() {
    let mut r = WorkflowRegistry::new();
    r.register("ChildWorkflow", one_more_activity)
        .expect("register");
    let e = nondeterminism(replay_with("ChildWorkflow", r, "06-child-alice.json"));
    assert_eq!(e.event_type, "WorkflowExecutionCompleted");
    assert_eq!(e.history, "CompleteWorkflowExecution");
    assert_eq!(
        e.code,
        "ScheduleActivityTask activity_type=audit activity_id=2"
    );
}

async fn waits_for_nothing(ctx: WorkflowContext, (): ()) -> WorkflowResult<Vec<String>> {
    ctx.sleep(Duration::from_secs(5)).await?;
    Ok(vec![])
}

#[test]
fn missing_command_for_a_history_event_is_reported() {
    // 03a: the first task issued no command; code that starts a timer differs at the end of the
    // first task's commands.
    let mut r = WorkflowRegistry::new();
    r.register("SignalWorkflow", waits_for_nothing)
        .expect("register");
    let e = nondeterminism(replay_with("SignalWorkflow", r, "03a-signals.json"));
    assert!(e.code.contains("StartTimer timer_id=1"), "{e}");
    assert!(e.history.contains("no further command"), "{e}");
}

async fn panics(_ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    panic!("bug in workflow code")
}

#[test]
fn unknown_types_and_panics_are_clear_errors() {
    let r = WorkflowRegistry::new();
    match replay_with("TimerWorkflow", r, "02-timers.json") {
        Err(ReplayError::UnknownWorkflowType { workflow_type, .. }) => {
            assert_eq!(workflow_type, "TimerWorkflow")
        }
        other => panic!("expected UnknownWorkflowType, got {other:?}"),
    }
    let mut r = WorkflowRegistry::new();
    r.register("TimerWorkflow", panics).expect("register");
    match replay_with("TimerWorkflow", r, "02-timers.json") {
        Err(ReplayError::WorkflowTaskFailed { message, .. }) => {
            assert_eq!(message, "bug in workflow code")
        }
        other => panic!("expected WorkflowTaskFailed, got {other:?}"),
    }
}

#[test]
fn a_truncated_history_replays_as_far_as_it_goes() {
    // Histories of running workflows end anywhere between workflow tasks (the events of one
    // task's completion are written together): after an activity's scheduling (event 1001) or
    // at a started task (event 999, which the replayer runs as a new task).
    for len in [1001, 999] {
        let mut h = history("16a-large-500-activities.json");
        h.events.truncate(len);
        let r = reprise_examples::corpus::registry();
        assert!(
            Replayer::new(r).replay(&h).is_ok(),
            "prefix of {len} events"
        );
    }
}

#[test]
fn an_event_for_an_unknown_timer_is_an_invalid_history() {
    let mut h = history("02-timers.json");
    for e in &mut h.events {
        if let Some(reprise::api::temporal::api::history::v1::history_event::Attributes::TimerFiredEventAttributes(a)) = &mut e.attributes {
            a.timer_id = "99".into();
            break;
        }
    }
    match Replayer::new(reprise_examples::corpus::registry()).replay(&h) {
        Err(ReplayError::InvalidHistory { event_id, message }) => {
            assert_eq!(event_id, 6);
            assert!(message.contains("\"99\""), "{message}");
        }
        other => panic!("expected InvalidHistory, got {other:?}"),
    }
}

async fn saga_without_compensation(
    ctx: WorkflowContext,
    (trip,): (String,),
) -> WorkflowResult<String> {
    for step in ["bookFlight", "bookHotel", "bookCar"] {
        let _: String = ctx
            .activity_by_name(step, (&trip,))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
    }
    Err(ApplicationFailure::new("unreachable").into())
}

#[test]
fn a_removed_compensation_is_reported() {
    let mut r = WorkflowRegistry::new();
    r.register("BookTripWorkflow", saga_without_compensation)
        .expect("register");
    let e = nondeterminism(replay_with(
        "BookTripWorkflow",
        r,
        "11-saga-compensation.json",
    ));
    assert!(e.history.contains("activity_type=cancelHotel"), "{e}");
    assert!(e.code.starts_with("FailWorkflowExecution"), "{e}");
}

#[test]
fn parallel_replay_of_many_copies_gives_one_result_each_in_order() {
    let h = history("15-parallel-activities.json");
    let items: Vec<_> = (0..20).map(|i| (format!("copy-{i}"), h.clone())).collect();
    let summary = Replayer::new(reprise_examples::corpus::registry())
        .with_parallelism(4)
        .replay_all(items);
    assert_eq!(summary.results.len(), 20);
    assert!(summary.is_success());
    assert_eq!(summary.results[7].name, "copy-7");
    assert_eq!(summary.results[7].workflow_id, "corpus-parallel");
}

#[test]
fn a_history_recorded_by_the_official_rust_sdk_replays() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/official-rust-sdk/seq500.json");
    let replayer = Replayer::new(reprise_examples::corpus::official_sdk_registry());
    replayer.replay_file(&path).expect("seq500 replays");
    // With 499 activities in the code, the history's 500th scheduling has no command.
    let mut r = WorkflowRegistry::new();
    r.register(
        "SequentialWorkflow",
        |ctx: WorkflowContext, (_n,): (u32,)| {
            reprise_examples::corpus::official_sequential(ctx, (499,))
        },
    )
    .expect("register");
    let e = nondeterminism(Replayer::new(r).replay_file(&path));
    assert_eq!(
        e.history,
        "ScheduleActivityTask activity_type=BenchActivities::noop activity_id=500"
    );
    assert!(e.code.starts_with("CompleteWorkflowExecution"), "{e}");
}
