//! The official server's limits on runs, side by side with the bundled server: activity
//! answers over the blob limit, the continue-as-new suggestion past 4096 events, and (bundled
//! only) the termination past 51,200 events.

#[path = "support/limits.rs"]
mod limits;

use limits::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_activity_answers_get_the_official_answers() {
    let mut p = pair().await;
    let mut d = Differences::default();
    for case in [
        "completed",
        "failed",
        "failed without application info",
        "heartbeat",
        "canceled",
    ] {
        let mut results = Vec::new();
        for s in [&mut p.official, &mut p.bundled] {
            let tq = unique("tq");
            let (id, token) = run_with_activity(s, &tq).await;
            let answer: Answer = match case {
                "completed" => s
                    .respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
                        namespace: "default".into(),
                        task_token: token,
                        result: big_payloads(3 * MIB),
                        ..Default::default()
                    })
                    .await
                    .into(),
                "failed" | "failed without application info" => {
                    use reprise::api::temporal::api::failure::v1::{
                        ApplicationFailureInfo, Failure, failure::FailureInfo,
                    };
                    let failure_info = (case == "failed").then(|| {
                        FailureInfo::ApplicationFailureInfo(ApplicationFailureInfo {
                            r#type: "Big".into(),
                            details: big_payloads(3 * MIB),
                            ..Default::default()
                        })
                    });
                    s.respond_activity_task_failed(ws::RespondActivityTaskFailedRequest {
                        namespace: "default".into(),
                        task_token: token,
                        failure: Some(Failure {
                            message: "big".into(),
                            failure_info,
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .inspect(|r| {
                        // The official answer lists the server failure it recorded.
                        let failures = r.get_ref().failures.len();
                        assert_eq!(failures, usize::from(case == "failed"), "{case}");
                    })
                    .into()
                }
                "heartbeat" => s
                    .record_activity_task_heartbeat(ws::RecordActivityTaskHeartbeatRequest {
                        namespace: "default".into(),
                        task_token: token,
                        details: big_payloads(3 * MIB),
                        ..Default::default()
                    })
                    .await
                    .into(),
                _ => s
                    .respond_activity_task_canceled(ws::RespondActivityTaskCanceledRequest {
                        namespace: "default".into(),
                        task_token: token,
                        details: big_payloads(3 * MIB),
                        ..Default::default()
                    })
                    .await
                    .into(),
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            results.push((answer, run_events(s, &id).await));
        }
        d.compare(
            &format!("3 MiB activity {case} (answer)"),
            &results[0].0,
            &results[1].0,
            Match::Exact,
        );
        d.compare(
            &format!("3 MiB activity {case} (events)"),
            &Answer::Err(tonic::Code::Ok, results[0].1.clone()),
            &Answer::Err(tonic::Code::Ok, results[1].1.clone()),
            Match::Exact,
        );
    }
    d.assert_none();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_as_new_is_suggested_past_the_official_event_count() {
    let mut p = pair().await;
    for n in [10, 4100] {
        let official = suggestion_after(&mut p.official, n).await;
        let bundled = suggestion_after(&mut p.bundled, n).await;
        assert_eq!(official, bundled, "after {n} signals");
        assert_eq!(official, n > 4000, "after {n} signals");
    }
}

/// Past 51,200 events (the dev server's `limit.historyCount.error`) a run is terminated with the
/// official reason and identity; every event written before stays. (Bundled server only: the
/// official one takes minutes for this many signals.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_past_the_count_limit_is_terminated_as_the_official_server_does() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("bundled server");
    let mut s = connect(&server.target()).await;
    let id = unique("wf");
    s.start_workflow_execution(start_request(&id, "tq"))
        .await
        .expect("start");
    let execution = Some(WorkflowExecution {
        workflow_id: id.clone(),
        run_id: String::new(),
    });
    let answers = signals(&mut s, &id, 52_000).await;
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    }
    // Start and the first task's schedule, then one event per signal: the signal that made
    // 51,201 events was the last one accepted.
    let accepted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(accepted, 51_199, "signals accepted before the termination");
    let mut events = Vec::new();
    let mut token = Vec::new();
    loop {
        let page = s
            .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution.clone(),
                next_page_token: token,
                ..Default::default()
            })
            .await
            .expect("history")
            .into_inner();
        events.extend(page.history.unwrap_or_default().events);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(events.len(), 51_202);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.event_id == i as i64 + 1)
    );
    match events.last().and_then(|e| e.attributes.as_ref()) {
        Some(EventAttrs::WorkflowExecutionTerminatedEventAttributes(a)) => {
            assert_eq!(a.reason, "Workflow history count exceeds limit.");
            assert_eq!(a.identity, "history-service");
        }
        other => panic!("the last event is {other:?}"),
    }
    server.shutdown().await.expect("shutdown");
}

/// History pages: at most 256 (the official `GetHistoryMaxPageSize`), 256 by default, the size
/// asked for below that. The official server counts event batches (the first batch holds two
/// events here), the bundled one events: one event apart at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_are_as_long_as_the_official_ones() {
    let mut p = pair().await;
    let mut lengths = Vec::new();
    for s in [&mut p.official, &mut p.bundled] {
        let id = unique("wf");
        s.start_workflow_execution(start_request(&id, "tq"))
            .await
            .expect("start");
        assert!(signals(s, &id, 600).await.iter().all(Result::is_ok));
        let mut server = Vec::new();
        for size in [0, 100, 300, 5000] {
            let page = s
                .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                    namespace: "default".into(),
                    execution: Some(WorkflowExecution {
                        workflow_id: id.clone(),
                        run_id: String::new(),
                    }),
                    maximum_page_size: size,
                    ..Default::default()
                })
                .await
                .expect("history")
                .into_inner();
            assert!(!page.next_page_token.is_empty(), "page size {size}");
            server.push(page.history.unwrap_or_default().events.len());
        }
        assert_eq!(full_history(s, &id).await.len(), 602);
        lengths.push(server);
    }
    for (official, bundled) in lengths[0].iter().zip(&lengths[1]) {
        assert!(
            official - bundled <= 1,
            "official {:?}, bundled {:?}",
            lengths[0],
            lengths[1]
        );
    }
}
