//! Hostile requests side by side: the official dev server and the bundled server get the same
//! requests (bad retry policies, oversized payloads, memos and messages, too-long ids and names,
//! search attributes of the wrong type, size or count, page sizes, hostile workflow commands)
//! and must answer with the same gRPC status code and, where the official message is stable,
//! the same message. After every refused request the run that was already stored is still
//! there, unchanged. Activity answers and history limits: `server_limits_runs.rs`.

#[path = "support/limits.rs"]
mod limits;

use limits::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_start_requests_get_the_official_answers() {
    let mut p = pair().await;
    let tq = unique("tq");
    let base = || start_request(&unique("wf"), &tq);

    let cases: Vec<(&str, Match, ws::StartWorkflowExecutionRequest)> = vec![
        (
            "negative initial interval",
            Match::Code,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(-1, 2.0, 10, 3),
                ..base()
            },
        ),
        (
            "backoff below 1",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(1, 0.5, 10, 3),
                ..base()
            },
        ),
        (
            "negative maximum attempts",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(1, 2.0, 10, -1),
                ..base()
            },
        ),
        (
            "maximum interval below initial",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(10, 2.0, 5, 3),
                ..base()
            },
        ),
        (
            "search attribute of the wrong type",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: [("CustomInt".to_string(), json("\"not a number\""))].into(),
                }),
                ..base()
            },
        ),
        (
            "undefined search attribute",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: [("NoSuchAttribute".to_string(), json("1"))].into(),
                }),
                ..base()
            },
        ),
        (
            "too many search attributes",
            // The official server checks them in Go's map order.
            Match::Prefix("Namespace default has no mapping defined for search attribute Attr"),
            ws::StartWorkflowExecutionRequest {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: (0..101).map(|i| (format!("Attr{i}"), json("1"))).collect(),
                }),
                ..base()
            },
        ),
        (
            "3 MiB input",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                input: big_payloads(3 * MIB),
                ..base()
            },
        ),
        (
            "8 MiB input",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                input: big_payloads(8 * MIB),
                ..base()
            },
        ),
        (
            "4 MiB memo",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                memo: Some(Memo {
                    fields: [("m".to_string(), json(&"x".repeat(4 * MIB)))].into(),
                }),
                ..base()
            },
        ),
        (
            "2.5 MiB memo",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                memo: Some(Memo {
                    fields: [("m".to_string(), json(&"x".repeat(5 * MIB / 2)))].into(),
                }),
                ..base()
            },
        ),
        (
            "workflow id too long",
            Match::Exact,
            start_request(&"w".repeat(1001), &tq),
        ),
        (
            "workflow type too long",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                workflow_type: Some(WorkflowType {
                    name: "t".repeat(1001),
                }),
                ..base()
            },
        ),
        (
            "task queue too long",
            Match::Exact,
            start_request(&unique("wf"), &"q".repeat(1001)),
        ),
        (
            "request id too long",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                request_id: "r".repeat(1001),
                ..base()
            },
        ),
        (
            "identity too long",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                identity: "i".repeat(1001),
                ..base()
            },
        ),
    ];
    let mut d = Differences::default();
    for (case, how, request) in cases {
        start_both(&mut p, &mut d, case, how, request).await;
    }
    d.assert_none();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commands_and_requests_on_a_run_get_the_official_answers() {
    let mut p = pair().await;
    let mut d = Differences::default();
    let cases: Vec<(&str, Vec<Command>)> = vec![
        (
            "activity with backoff below 1",
            vec![activity("a", retry(1, 0.5, 10, 3), None)],
        ),
        (
            "activity with negative maximum attempts",
            vec![activity("a", retry(1, 2.0, 10, -2), None)],
        ),
        (
            "activity with maximum interval below initial",
            vec![activity("a", retry(10, 2.0, 5, 3), None)],
        ),
        (
            "activity with negative initial interval",
            vec![activity("a", retry(-5, 2.0, 10, 3), None)],
        ),
        (
            "activity with a 3 MiB input",
            vec![activity("a", None, big_payloads(3 * MIB))],
        ),
        (
            "2001 activities",
            (0..2001)
                .map(|i| activity(&format!("a{i}"), None, None))
                .collect(),
        ),
    ];
    for (case, commands) in cases {
        // A queue per case: a failed task is retried on its queue.
        let tq = unique("tq");
        let official = complete_with(&mut p.official, &tq, commands.clone()).await;
        let bundled = complete_with(&mut p.bundled, &tq, commands).await;
        d.compare(
            &format!("{case} (answer)"),
            &official.0,
            &bundled.0,
            Match::Exact,
        );
        let events = |r: &(Answer, i32, Vec<String>)| {
            Answer::Err(
                tonic::Code::Ok,
                format!("{:?} {:?}", WorkflowExecutionStatus::try_from(r.1), r.2),
            )
        };
        d.compare(
            &format!("{case} (run)"),
            &events(&official),
            &events(&bundled),
            Match::Exact,
        );
    }

    // Requests on a stored run: refused, and the run is as it was.
    let tq = unique("tq");
    let id = unique("wf");
    let mut answers = Vec::new();
    for s in [&mut p.official, &mut p.bundled] {
        s.start_workflow_execution(start_request(&id, &tq))
            .await
            .expect("start");
        let execution = Some(WorkflowExecution {
            workflow_id: id.clone(),
            run_id: String::new(),
        });
        let signal = |input: Option<Payloads>, name: String| ws::SignalWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: execution.clone(),
            signal_name: name,
            input,
            identity: "limits-test".into(),
            ..Default::default()
        };
        let a: Answer = s
            .signal_workflow_execution(signal(big_payloads(3 * MIB), "sig".into()))
            .await
            .into();
        let b: Answer = s
            .signal_workflow_execution(signal(big_payloads(5 * MIB), "sig".into()))
            .await
            .into();
        let c: Answer = s
            .signal_workflow_execution(signal(None, "s".repeat(1001)))
            .await
            .into();
        let list: Answer = s
            .list_workflow_executions(ws::ListWorkflowExecutionsRequest {
                namespace: "default".into(),
                page_size: 5000,
                ..Default::default()
            })
            .await
            .into();
        let history = s
            .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution.clone(),
                ..Default::default()
            })
            .await
            .expect("history")
            .into_inner();
        let types: Vec<EventType> = history
            .history
            .unwrap_or_default()
            .events
            .iter()
            .map(|e| e.event_type())
            .collect();
        answers.push((a, b, c, list, types));
    }
    let (o, b) = (&answers[0], &answers[1]);
    d.compare("3 MiB signal", &o.0, &b.0, Match::Exact);
    d.compare("5 MiB signal", &o.1, &b.1, Match::Code);
    d.compare("signal name too long", &o.2, &b.2, Match::Exact);
    d.compare("list page size 5000", &o.3, &b.3, Match::Exact);
    assert_eq!(
        o.4,
        vec![
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled
        ],
        "official: the refused signals left the run as it was"
    );
    assert_eq!(
        o.4, b.4,
        "bundled: the refused signals left the run as it was"
    );
    d.assert_none();
}
