//! One schedule scenario through Reprise's typed schedule client, run on the official dev
//! server (`temporal server start-dev`, $TEMPORAL_CLI) and on the bundled server: create,
//! describe (the canonical spec, policies, state, action), trigger, the started workflow's
//! search attributes, pause, backfill, list, matching times across a DST change, unpause,
//! errors, delete. The two servers must give the same observable results (fields, not
//! timestamps of when things happened).

use reprise::api::temporal::api::enums::v1::ScheduleOverlapPolicy;
use reprise::client::{
    Client, ClientError, ClientOptions, ScheduleAction, ScheduleBackfill, ScheduleCalendar,
    ScheduleDescription, ScheduleHandle, ScheduleOptions, ScheduleSpec, WorkflowOptions,
};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(rfc3339: &str) -> SystemTime {
    let ts: jiff::Timestamp = rfc3339.parse().expect("timestamp");
    UNIX_EPOCH + Duration::from_secs(ts.as_second() as u64)
}

fn show(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    jiff::Timestamp::from_second(secs as i64)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}

fn options() -> ScheduleOptions {
    let spec = ScheduleSpec::new()
        .with_calendar(
            ScheduleCalendar::new()
                .with_hour("9")
                .with_minute("30")
                .with_day_of_week("mon-fri")
                .with_month("mar")
                .with_comment("weekday mornings in March"),
        )
        .with_cron("0 0 1 1 *")
        .with_interval_phase(Duration::from_secs(30 * 86_400), Duration::from_secs(3600))
        .with_skip(
            ScheduleCalendar::new()
                .with_day_of_month("13")
                .with_hour("*")
                .with_minute("*"),
        )
        .with_time_zone("America/New_York");
    let mut payload = reprise::api::temporal::api::common::v1::Payload::default();
    payload
        .metadata
        .insert("encoding".into(), b"json/plain".to_vec());
    payload.data = b"\"nightly\"".to_vec();
    ScheduleOptions::new(
        spec,
        ScheduleAction::start_workflow_by_name(
            "ScheduledWork",
            ("input", 7),
            WorkflowOptions::new("sched-wf", "sched-tq"),
        ),
    )
    .with_note("created by the shared scenario")
    .with_memo("purpose", payload)
}

async fn describe_until(
    handle: &ScheduleHandle,
    what: &str,
    done: impl Fn(&ScheduleDescription) -> bool,
) -> ScheduleDescription {
    for _ in 0..200 {
        let d = handle.describe().await.expect("describe");
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("schedule {} never reached: {what}", handle.id());
}

fn error_kind(e: &ClientError) -> String {
    match e {
        ClientError::NotFound { .. } => "NotFound".into(),
        ClientError::AlreadyStarted { .. } => "AlreadyStarted".into(),
        ClientError::InvalidArgument { .. } => "InvalidArgument".into(),
        ClientError::Rpc { code, .. } => format!("{code:?}"),
        other => format!("{other}"),
    }
}

/// The scenario; returns what both servers must agree on, one fact a line.
async fn scenario(target: &str) -> Vec<String> {
    let client = Client::connect(ClientOptions::new(target))
        .await
        .expect("connect");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let id = format!("shared-{}-{nanos}", std::process::id());
    let mut facts = Vec::new();
    let handle = client
        .create_schedule(&id, options())
        .await
        .expect("create");
    let d = handle.describe().await.expect("describe");
    let spec = d.schedule.spec.clone().unwrap_or_default();
    facts.push(format!("spec: {spec:?}"));
    facts.push(format!("policies: {:?}", d.schedule.policies));
    facts.push(format!("state: {:?}", d.schedule.state));
    facts.push(format!("action: {:?}", d.schedule.action));
    facts.push(format!(
        "memo keys: {:?}",
        d.memo.keys().collect::<Vec<_>>()
    ));
    facts.push(format!(
        "counts: {} {} {}",
        d.action_count, d.missed_catchup_window, d.overlap_skipped
    ));

    let again = client.create_schedule(&id, options()).await;
    facts.push(format!(
        "duplicate create: {}",
        again
            .map(|_| "ok".into())
            .unwrap_or_else(|e| error_kind(&e))
    ));
    let bad = client
        .create_schedule(
            format!("{id}-bad"),
            ScheduleOptions::new(
                ScheduleSpec::new().with_cron("61 * * * *"),
                ScheduleAction::start_workflow_by_name("W", (), WorkflowOptions::new("w", "q")),
            ),
        )
        .await;
    facts.push(format!(
        "invalid spec: {}",
        bad.map(|_| "ok".into()).unwrap_or_else(|e| error_kind(&e))
    ));

    handle
        .trigger_with(ScheduleOverlapPolicy::AllowAll)
        .await
        .expect("trigger");
    let d = describe_until(&handle, "one action", |d| d.action_count == 1).await;
    let action = d.recent_actions[0].clone();
    let scheduled = action
        .schedule_time
        .map(|t| t.to_system_time())
        .unwrap_or(UNIX_EPOCH);
    let started = action.start_workflow_result.unwrap_or_default();
    let secs = scheduled
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let expected_id = format!(
        "sched-wf-{}",
        jiff::Timestamp::from_second(secs as i64)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    );
    facts.push(format!(
        "triggered id is id + RFC 3339 time: {}",
        started.workflow_id == expected_id
    ));
    facts.push(format!(
        "triggered status: {}",
        action.start_workflow_status
    ));
    let run = client
        .workflow_handle(started.workflow_id.clone(), None)
        .describe()
        .await
        .expect("describe started workflow");
    facts.push(format!(
        "started type: {} queue: {}",
        run.workflow_type, run.task_queue
    ));
    let by = run
        .search_attributes
        .get("TemporalScheduledById")
        .map(|p| String::from_utf8_lossy(&p.data).to_string());
    facts.push(format!(
        "scheduled by id: {}",
        by == Some(format!("\"{id}\""))
    ));
    facts.push(format!(
        "scheduled start time set: {}",
        run.search_attributes
            .contains_key("TemporalScheduledStartTime")
    ));

    handle.pause("maintenance window").await.expect("pause");
    let d = handle.describe().await.expect("describe");
    facts.push(format!("paused: {} {:?}", d.paused, d.note));

    handle
        .backfill(&[
            ScheduleBackfill::new(at("2026-03-02T00:00:00Z"), at("2026-03-04T00:00:00Z"))
                .with_overlap(ScheduleOverlapPolicy::AllowAll),
        ])
        .await
        .expect("backfill");
    let d = describe_until(&handle, "backfilled", |d| d.action_count == 3).await;
    let mut ids: Vec<String> = d
        .recent_actions
        .iter()
        .skip(1)
        .map(|a| {
            a.start_workflow_result
                .clone()
                .unwrap_or_default()
                .workflow_id
        })
        .collect();
    ids.sort();
    facts.push(format!("backfilled: {ids:?}"));

    let mut listed = None;
    for _ in 0..200 {
        let all = client.list_schedules("").await.expect("list");
        if let Some(s) = all.into_iter().find(|s| s.id == id && s.paused) {
            listed = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = listed.expect("listed, paused");
    facts.push(format!(
        "listed: {} {} {:?}",
        listed.workflow_type, listed.paused, listed.note
    ));

    let times = handle
        .matching_times(at("2026-03-01T00:00:00Z"), at("2026-03-31T00:00:00Z"))
        .await
        .expect("matching times");
    facts.push(format!(
        "matching: {:?}",
        times.into_iter().map(show).collect::<Vec<_>>()
    ));

    handle.unpause("done").await.expect("unpause");
    let d = handle.describe().await.expect("describe");
    facts.push(format!("unpaused: {} {:?}", d.paused, d.note));

    handle.delete().await.expect("delete");
    let gone = handle.describe().await;
    facts.push(format!(
        "after delete: {}",
        gone.map(|_| "ok".into()).unwrap_or_else(|e| error_kind(&e))
    ));
    let missing = client
        .schedule_handle(format!("{id}-missing"))
        .pause("x")
        .await;
    facts.push(format!(
        "patch missing: {}",
        missing
            .map(|_| "ok".into())
            .unwrap_or_else(|e| error_kind(&e))
    ));
    facts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_server_answers_schedules_as_the_official_one() {
    let dev = match DevServer::shared() {
        Ok(s) => s,
        Err(e) => panic!("official dev server unavailable: {e}"),
    };
    let official = scenario(dev.address()).await;
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("start bundled server");
    let bundled = scenario(&server.target()).await;
    for fact in &official {
        eprintln!("official: {fact}");
    }
    for (o, b) in official.iter().zip(&bundled) {
        assert_eq!(o, b, "official (left) and bundled (right) differ");
    }
    assert_eq!(official.len(), bundled.len());
    server.shutdown().await.expect("shutdown");
}
