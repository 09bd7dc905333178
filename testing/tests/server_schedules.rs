//! Schedules in the bundled server through Reprise's typed schedule client: a day of a
//! one-minute schedule in virtual time, every overlap policy, limits, pause, and a schedule
//! that survives a restart on SQLite and catches up by its window.
#![allow(missing_docs)] // the test workflows

use reprise::api::temporal::api::enums::v1::{ScheduleOverlapPolicy, WorkflowExecutionStatus};
use reprise::client::{
    Client, ClientOptions, ScheduleAction, ScheduleBackfill, ScheduleDescription, ScheduleHandle,
    ScheduleOptions, ScheduleSpec, WorkflowOptions,
};
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use reprise_testing::clock::VirtualClock;
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::SqliteStore;
use reprise_testing::{TestEnv, TestEnvError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: Duration = Duration::from_secs(86_400);
const MINUTE: Duration = Duration::from_secs(60);

/// Ten seconds past a whole minute: no minute time falls on the ends of a range from here.
fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + 10)
}

/// Returns at once.
#[derive(Default)]
pub struct Tick;

#[reprise::workflow]
impl Tick {
    #[run]
    pub async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Ok(())
    }
}

/// Sleeps 90 seconds.
#[derive(Default)]
pub struct Nap;

#[reprise::workflow]
impl Nap {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<()> {
        ctx.sleep(Duration::from_secs(90)).await?;
        Ok(())
    }
}

/// Fails.
#[derive(Default)]
pub struct Broken;

#[reprise::workflow]
impl Broken {
    #[run]
    pub async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Err(reprise::converter::ApplicationFailure::new("broken")
            .non_retryable()
            .into())
    }
}

/// Runs until released (or canceled).
#[derive(Default)]
pub struct Hold {
    released: State<bool>,
}

#[reprise::workflow]
impl Hold {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<()> {
        ctx.wait_condition(|| self.released.get()).await?;
        Ok(())
    }

    #[signal]
    pub fn release(&self, _ctx: &WorkflowContext) {
        self.released.set(true);
    }
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    jiff::Timestamp::from_second(secs as i64)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_minute_schedule_fires_1440_times_in_a_virtual_day() -> Result<(), TestEnvError> {
    let env = TestEnv::builder()
        .start_time(start_time())
        .determinism_check(false)
        .start()
        .await?;
    env.worker("ticks").workflow::<Tick>().start()?;
    let handle = env
        .client()
        .create_schedule(
            "every-minute",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow(
                    Tick::run,
                    (),
                    WorkflowOptions::new("tick", "ticks"),
                ),
            ),
        )
        .await?;
    env.sleep(DAY).await;
    let d = handle.describe().await?;
    assert_eq!(
        (d.action_count, d.missed_catchup_window, d.overlap_skipped),
        (1440, 0, 0),
        "{:?}",
        d.recent_actions
    );
    assert_eq!((d.missed_catchup_window, d.overlap_skipped), (0, 0));
    assert_eq!(d.recent_actions.len(), 10);
    // Each action's workflow id is the action's id plus its time, RFC 3339 in UTC.
    let last = d.recent_actions.last().cloned().unwrap_or_default();
    let at = last
        .schedule_time
        .map(|t| t.to_system_time())
        .unwrap_or(UNIX_EPOCH);
    assert_eq!(at, start_time() + DAY - Duration::from_secs(10));
    let id = last.start_workflow_result.unwrap_or_default().workflow_id;
    assert_eq!(id, format!("tick-{}", rfc3339(at)));
    assert_eq!(id, "tick-2027-01-16T08:00:00Z");
    // The next ten times follow, a minute apart.
    assert_eq!(d.future_action_times.len(), 10);
    assert_eq!(d.future_action_times[0], at + MINUTE);
    let listed = env.client().list_schedules("").await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].workflow_type, "Tick");
    Ok(())
}

async fn hold_schedule(env: &TestEnv, id: &str, overlap: ScheduleOverlapPolicy) -> ScheduleHandle {
    // A spec far in the future: only triggers act.
    let far = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    env.client()
        .create_schedule(
            id,
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(DAY).with_start_at(far),
                ScheduleAction::start_workflow(Hold::run, (), WorkflowOptions::new(id, "holds")),
            )
            .with_overlap(overlap),
        )
        .await
        .expect("create schedule")
}

/// Triggers `n` times, one virtual second apart (each action gets its own workflow id).
async fn trigger(env: &TestEnv, handle: &ScheduleHandle, n: usize) {
    for _ in 0..n {
        handle.trigger().await.expect("trigger");
        env.sleep(Duration::from_secs(1)).await;
    }
}

/// Describes until `done` holds (starts after a close happen when the schedule notices it).
async fn describe_until(
    handle: &ScheduleHandle,
    done: impl Fn(&ScheduleDescription) -> bool,
) -> ScheduleDescription {
    let mut last = None;
    for _ in 0..200 {
        let d = handle.describe().await.expect("describe");
        if done(&d) {
            return d;
        }
        last = Some(d);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("schedule never reached the state: {last:#?}");
}

fn action_ids(d: &ScheduleDescription) -> Vec<String> {
    d.recent_actions
        .iter()
        .map(|a| {
            a.start_workflow_result
                .clone()
                .unwrap_or_default()
                .workflow_id
        })
        .collect()
}

async fn release(client: &Client, workflow_id: &str) {
    client
        .workflow_handle(workflow_id, None)
        .signal(Hold::release, ())
        .await
        .expect("release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_policies() -> Result<(), TestEnvError> {
    let env = TestEnv::builder()
        .start_time(start_time())
        .determinism_check(false)
        .start()
        .await?;
    env.worker("holds").workflow::<Hold>().start()?;
    let client = env.client().clone();

    // Skip: while one runs, the others are dropped.
    let skip = hold_schedule(&env, "skip", ScheduleOverlapPolicy::Skip).await;
    trigger(&env, &skip, 3).await;
    let d = skip.describe().await?;
    assert_eq!((d.action_count, d.overlap_skipped), (1, 2));
    assert_eq!(d.running_workflows.len(), 1);

    // Buffer one: one waits (the first to come), the rest are dropped.
    let one = hold_schedule(&env, "buffer-one", ScheduleOverlapPolicy::BufferOne).await;
    trigger(&env, &one, 3).await;
    let d = one.describe().await?;
    assert_eq!((d.action_count, d.overlap_skipped), (1, 1));
    assert_eq!(d.raw.info.clone().unwrap_or_default().buffer_size, 1);
    release(&client, &action_ids(&d)[0]).await;
    let d = describe_until(&one, |d| d.action_count == 2).await;
    assert_eq!(d.raw.info.clone().unwrap_or_default().buffer_size, 0);

    // Buffer all: every start waits its turn.
    let all = hold_schedule(&env, "buffer-all", ScheduleOverlapPolicy::BufferAll).await;
    trigger(&env, &all, 3).await;
    for n in 1..=3 {
        let d = describe_until(&all, |d| d.action_count == n).await;
        assert_eq!(d.running_workflows.len(), 1);
        release(&client, &d.running_workflows[0].workflow_id).await;
    }
    let d = describe_until(&all, |d| d.running_workflows.is_empty()).await;
    assert_eq!((d.action_count, d.overlap_skipped), (3, 0));

    // Cancel other: the running one is asked to cancel; the new one starts once it closed.
    let cancel = hold_schedule(&env, "cancel-other", ScheduleOverlapPolicy::CancelOther).await;
    trigger(&env, &cancel, 2).await;
    let d = describe_until(&cancel, |d| d.action_count == 2).await;
    assert_eq!(
        d.recent_actions[0].start_workflow_status,
        WorkflowExecutionStatus::Canceled as i32
    );
    assert_eq!(d.running_workflows.len(), 1);

    // Terminate other: the running one is terminated and the new one starts at once.
    let terminate = hold_schedule(
        &env,
        "terminate-other",
        ScheduleOverlapPolicy::TerminateOther,
    )
    .await;
    trigger(&env, &terminate, 2).await;
    let d = terminate.describe().await?;
    assert_eq!(d.action_count, 2);
    assert_eq!(
        d.recent_actions[0].start_workflow_status,
        WorkflowExecutionStatus::Terminated as i32
    );
    let first = client
        .workflow_handle(action_ids(&d)[0].clone(), None)
        .describe()
        .await?;
    assert_eq!(first.status, WorkflowExecutionStatus::Terminated);

    // Allow all: everything starts, nothing is tracked as running.
    let allow = hold_schedule(&env, "allow-all", ScheduleOverlapPolicy::AllowAll).await;
    trigger(&env, &allow, 3).await;
    let d = allow.describe().await?;
    assert_eq!((d.action_count, d.overlap_skipped), (3, 0));
    assert!(d.running_workflows.is_empty());
    for id in action_ids(&d) {
        let run = client.workflow_handle(id, None).describe().await?;
        assert_eq!(run.status, WorkflowExecutionStatus::Running);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_pause_backfill_and_skips() -> Result<(), TestEnvError> {
    let env = TestEnv::builder()
        .start_time(start_time())
        .determinism_check(false)
        .start()
        .await?;
    env.worker("ticks").workflow::<Tick>().start()?;
    let client = env.client();
    // Three actions at most, then nothing.
    let limited = client
        .create_schedule(
            "limited",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow(Tick::run, (), WorkflowOptions::new("lim", "ticks")),
            )
            .with_remaining_actions(3),
        )
        .await?;
    // Paused: time passes without actions; unpaused, the next time acts (nothing is caught up).
    let paused = client
        .create_schedule(
            "paused",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow(Tick::run, (), WorkflowOptions::new("p", "ticks")),
            )
            .with_paused(true)
            .with_note("created paused"),
        )
        .await?;
    env.sleep(10 * MINUTE).await;
    let d = limited.describe().await?;
    assert_eq!(d.action_count, 3);
    assert_eq!(
        d.schedule
            .state
            .clone()
            .unwrap_or_default()
            .remaining_actions,
        0
    );
    assert!(d.future_action_times.is_empty());
    let d = paused.describe().await?;
    assert_eq!(
        (d.action_count, d.paused, d.note.as_str()),
        (0, true, "created paused")
    );
    paused.unpause("back").await?;
    env.sleep(2 * MINUTE).await;
    let d = paused.describe().await?;
    assert_eq!(
        (d.action_count, d.paused, d.note.as_str()),
        (2, false, "back")
    );
    // A backfill runs the spec's past times, paused or not; the skip calendar removes noon.
    paused.pause("again").await?;
    let day = UNIX_EPOCH + Duration::from_secs(1_799_971_200); // 2027-01-15T00:00:00Z
    let hourly = client
        .create_schedule(
            "hourly",
            ScheduleOptions::new(
                ScheduleSpec::new().with_cron("0 * * * *").with_skip(
                    reprise::client::ScheduleCalendar::new()
                        .with_hour("12")
                        .with_minute("*"),
                ),
                ScheduleAction::start_workflow(Tick::run, (), WorkflowOptions::new("h", "ticks")),
            )
            .with_paused(true)
            .with_overlap(ScheduleOverlapPolicy::AllowAll),
        )
        .await?;
    hourly
        .backfill(&[ScheduleBackfill::new(day, day + DAY - MINUTE)])
        .await?;
    let d = hourly.describe().await?;
    assert_eq!(d.action_count, 23);
    assert!(action_ids(&d).contains(&"h-2027-01-15T23:00:00Z".to_string()));
    let times = hourly.matching_times(day, day + DAY).await?;
    // After the start (exclusive, unlike a backfill's): 01:00 through 24:00, noon skipped.
    assert_eq!(times.len(), 23);
    assert!(!times.contains(&(day + 12 * 3600 * Duration::from_secs(1))));
    // Updates: a raised limit through `update_with`; a new spec through `update`.
    limited
        .update_with(|s| {
            if let Some(state) = s.state.as_mut() {
                state.remaining_actions = 2;
            }
        })
        .await?;
    env.sleep(5 * MINUTE).await;
    assert_eq!(limited.describe().await?.action_count, 5);
    limited
        .update(
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(2 * MINUTE),
                ScheduleAction::start_workflow(Tick::run, (), WorkflowOptions::new("lim", "ticks")),
            )
            .with_note("every two minutes"),
        )
        .await?;
    env.sleep(10 * MINUTE).await;
    let d = limited.describe().await?;
    assert_eq!((d.action_count, d.note.as_str()), (10, "every two minutes"));
    assert!(d.raw.info.clone().unwrap_or_default().update_time.is_some());
    limited.delete().await?;
    assert!(limited.describe().await.is_err());
    assert_eq!(client.list_schedules("").await?.len(), 2);
    assert_eq!(
        client
            .list_schedules("TemporalSchedulePaused = true")
            .await?
            .len(),
        2
    );
    Ok(())
}

async fn sqlite_server(path: &std::path::Path, clock: Arc<VirtualClock>) -> (TestServer, Client) {
    let store = SqliteStore::open(path).expect("open sqlite");
    let server = TestServer::start(
        ServerOptions::default()
            .with_store(Arc::new(store))
            .with_clock(clock),
    )
    .await
    .expect("start server");
    let client = Client::connect(ClientOptions::new(server.target()))
        .await
        .expect("connect");
    (server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_on_sqlite_survives_a_restart_and_catches_up_by_its_window() {
    let dir = std::env::temp_dir().join(format!("reprise-sched-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("server.db");
    let clock = Arc::new(VirtualClock::new(start_time()));
    let (server, client) = sqlite_server(&path, clock.clone()).await;
    client
        .create_schedule(
            "durable",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow_by_name(
                    "Report",
                    ("daily",),
                    WorkflowOptions::new("report", "reports"),
                ),
            )
            .with_overlap(ScheduleOverlapPolicy::AllowAll)
            .with_catchup_window(10 * MINUTE)
            .with_note("kept"),
        )
        .await
        .expect("create");
    server.shutdown().await.expect("shutdown");
    // An hour passes while the server is down: 60 times, of which the last 10 are within the
    // ten-minute catch-up window.
    clock.advance(Duration::from_secs(3600));
    let (server, client) = sqlite_server(&path, clock.clone()).await;
    let handle = client.schedule_handle("durable");
    let d = handle.describe().await.expect("describe after restart");
    assert_eq!(d.note, "kept");
    assert_eq!((d.action_count, d.missed_catchup_window), (10, 50));
    let first = d.recent_actions[0].clone();
    let id = first.start_workflow_result.unwrap_or_default().workflow_id;
    let run = client
        .workflow_handle(id, None)
        .describe()
        .await
        .expect("started");
    assert_eq!(run.workflow_type, "Report");
    assert!(run.search_attributes.contains_key("TemporalScheduledById"));
    // It goes on from there.
    clock.advance(MINUTE);
    let mut actions = 0;
    for _ in 0..100 {
        actions = handle.describe().await.expect("describe").action_count;
        if actions == 11 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(actions, 11);
    server.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memo_search_attributes_and_pause_on_failure() -> Result<(), TestEnvError> {
    use reprise::api::temporal::api::enums::v1::IndexedValueType;
    let env = TestEnv::builder()
        .start_time(start_time())
        .determinism_check(false)
        .search_attribute("Team", IndexedValueType::Keyword)
        .start()
        .await?;
    env.worker("ticks")
        .workflow::<Tick>()
        .workflow::<Broken>()
        .start()?;
    let client = env.client();
    let keyword = |value: &str| {
        let mut p = reprise::api::temporal::api::common::v1::Payload::default();
        p.metadata.insert("encoding".into(), b"json/plain".to_vec());
        p.metadata.insert("type".into(), b"Keyword".to_vec());
        p.data = format!("{value:?}").into_bytes();
        p
    };
    let handle = client
        .create_schedule(
            "tagged",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow(
                    Tick::run,
                    (),
                    WorkflowOptions::new("tagged", "ticks")
                        .with_search_attribute("Team", keyword("payments"))
                        .with_memo("origin", keyword("schedule")),
                ),
            )
            .with_search_attribute("Team", keyword("ops"))
            .with_memo("owner", keyword("ops-team")),
        )
        .await?;
    env.sleep(MINUTE).await;
    let d = handle.describe().await?;
    assert!(d.memo.contains_key("owner"));
    assert_eq!(
        d.search_attributes.get("Team").map(|p| p.data.clone()),
        Some(b"\"ops\"".to_vec())
    );
    // The schedule's own search attributes filter the list; its workflows carry the action's.
    assert_eq!(client.list_schedules("Team = 'ops'").await?.len(), 1);
    assert_eq!(client.list_schedules("Team = 'payments'").await?.len(), 0);
    let started = d.recent_actions[0]
        .start_workflow_result
        .clone()
        .unwrap_or_default();
    let run = client
        .workflow_handle(started.workflow_id.clone(), None)
        .describe()
        .await?;
    assert_eq!(
        run.search_attributes.get("Team").map(|p| p.data.clone()),
        Some(b"\"payments\"".to_vec())
    );
    assert!(run.memo.contains_key("origin"));
    let found = client
        .count_workflows("TemporalScheduledById = 'tagged'")
        .await?;
    assert_eq!(found, 1);
    // The next workflow starts with the last one's result.
    env.sleep(MINUTE).await;
    let d = handle.describe().await?;
    let second = d.recent_actions[1]
        .start_workflow_result
        .clone()
        .unwrap_or_default();
    let history = env.history(&second.workflow_id).await?;
    use reprise::api::temporal::api::history::v1::history_event::Attributes;
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
        history.events.first().and_then(|e| e.attributes.clone())
    else {
        panic!("no started event");
    };
    assert!(started.last_completion_result.is_some());
    let first = env
        .history(
            &d.recent_actions[0]
                .start_workflow_result
                .clone()
                .unwrap_or_default()
                .workflow_id,
        )
        .await?;
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
        first.events.first().and_then(|e| e.attributes.clone())
    else {
        panic!("no started event");
    };
    assert!(started.last_completion_result.is_none());

    // Pause on failure: the first failed workflow pauses the schedule, with a note naming it.
    let broken = client
        .create_schedule(
            "broken",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow(
                    Broken::run,
                    (),
                    WorkflowOptions::new("broken", "ticks"),
                ),
            )
            .with_pause_on_failure(true),
        )
        .await?;
    env.sleep(MINUTE).await;
    let d = describe_until(&broken, |d| d.paused).await;
    assert_eq!(d.action_count, 1);
    assert!(
        d.note
            .starts_with("paused due to workflow failure: broken-")
            && d.note.ends_with(": broken"),
        "{}",
        d.note
    );
    assert_eq!(
        d.recent_actions[0].start_workflow_status,
        WorkflowExecutionStatus::Failed as i32
    );
    env.sleep(5 * MINUTE).await;
    assert_eq!(broken.describe().await?.action_count, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_starts_begin_when_the_previous_workflow_closes_in_virtual_time()
-> Result<(), TestEnvError> {
    let env = TestEnv::builder()
        .start_time(start_time())
        .determinism_check(false)
        .start()
        .await?;
    env.worker("naps").workflow::<Nap>().start()?;
    let handle = env
        .client()
        .create_schedule(
            "naps",
            ScheduleOptions::new(
                ScheduleSpec::new().with_interval(MINUTE),
                ScheduleAction::start_workflow(Nap::run, (), WorkflowOptions::new("nap", "naps")),
            )
            .with_overlap(ScheduleOverlapPolicy::BufferAll),
        )
        .await?;
    // Times every minute from 50 s; each workflow takes 90 s, so the k-th starts at
    // 50 + 90k s, when the one before closes: 7 starts in ten minutes, 3 times still buffered.
    env.sleep(10 * MINUTE).await;
    let d = handle.describe().await?;
    assert_eq!(d.action_count, 7);
    assert_eq!(d.raw.info.clone().unwrap_or_default().buffer_size, 3);
    let started: Vec<SystemTime> = d
        .recent_actions
        .iter()
        .map(|a| {
            a.actual_time
                .map(|t| t.to_system_time())
                .unwrap_or(UNIX_EPOCH)
        })
        .collect();
    assert_eq!(started[0], start_time() + Duration::from_secs(50));
    for pair in started.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap_or_default();
        // 90 s of sleep plus the workflow tasks' real time (time runs at the real pace while
        // work is in flight).
        assert!(
            gap >= Duration::from_secs(90) && gap < Duration::from_secs(91),
            "{gap:?}"
        );
    }
    // Each keeps the nominal time of its own spec time in its workflow id.
    let ids = action_ids(&d);
    assert!(
        ids[1].ends_with(&rfc3339(start_time() + Duration::from_secs(110))),
        "{ids:?}"
    );
    Ok(())
}
