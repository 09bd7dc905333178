//! History paging (forward, backward, forged tokens), visibility queries and task queue
//! descriptions against the bundled server, with raw worker RPCs.

mod support;

use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::WorkflowOptions;
use reprise_testing::server::ServerOptions;
use std::time::{Duration, SystemTime};
use support::*;

#[tokio::test]
async fn history_pages_forward_and_backward() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Paged", (), WorkflowOptions::new(unique("paged"), &tq))
        .await
        .expect("start");
    for i in 0..23 {
        handle.signal_by_name("s", (i,)).await.expect("signal");
    }
    // 1 started + 1 task scheduled + 23 signals = 25 events, in pages of 10.
    let execution = Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
        workflow_id: handle.workflow_id().to_string(),
        run_id: String::new(),
    });
    let mut token = Vec::new();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = client
            .workflow_service()
            .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution.clone(),
                maximum_page_size: 10,
                next_page_token: token,
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        pages += 1;
        ids.extend(page.history.expect("h").events.iter().map(|e| e.event_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (1..=25).collect::<Vec<i64>>());
    let mut token = Vec::new();
    let mut reverse = Vec::new();
    loop {
        let page = client
            .workflow_service()
            .get_workflow_execution_history_reverse(ws::GetWorkflowExecutionHistoryReverseRequest {
                namespace: "default".into(),
                execution: execution.clone(),
                maximum_page_size: 10,
                next_page_token: token,
            })
            .await
            .expect("reverse page")
            .into_inner();
        reverse.extend(page.history.expect("h").events.iter().map(|e| e.event_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(reverse, (1..=25).rev().collect::<Vec<i64>>());
}

#[tokio::test]
async fn visibility_queries() {
    let options = ServerOptions::default()
        .with_search_attribute(
            "CustomerId",
            reprise::api::temporal::api::enums::v1::IndexedValueType::Keyword,
        )
        .with_search_attribute(
            "Amount",
            reprise::api::temporal::api::enums::v1::IndexedValueType::Int,
        );
    let (_server, client) = start_with(options).await;
    let dc = client.data_converter();
    let before = reprise::api::google::protobuf::Timestamp::from(SystemTime::now()).to_rfc3339();
    for (id, kind, customer, amount) in [
        ("v-1", "A", "alice", 10),
        ("v-2", "A", "bob", 20),
        ("v-3", "B", "alice", 30),
    ] {
        client
            .start_workflow(
                kind,
                (),
                WorkflowOptions::new(id, "nowhere")
                    .with_search_attribute("CustomerId", dc.to_payload(&customer).expect("p"))
                    .with_search_attribute("Amount", dc.to_payload(&amount).expect("p")),
            )
            .await
            .expect("start");
    }
    client
        .workflow_handle("v-2", None)
        .terminate("stop", ())
        .await
        .expect("terminate");
    let ids = |q: &'static str| {
        let client = client.clone();
        async move {
            use futures::TryStreamExt;
            let all: Vec<_> = client.list_workflows(q).try_collect().await.expect("list");
            all.into_iter().map(|w| w.workflow_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids("WorkflowType = 'A' ORDER BY WorkflowId").await,
        ["v-1", "v-2"]
    );
    assert_eq!(ids("CustomerId = 'alice' AND Amount > 15").await, ["v-3"]);
    assert_eq!(
        ids("CustomerId = 'bob' OR WorkflowType = 'B' ORDER BY Amount DESC").await,
        ["v-3", "v-2"]
    );
    assert_eq!(ids("ExecutionStatus = 'Terminated'").await, ["v-2"]);
    assert_eq!(ids("ExecutionStatus = 'Running' AND WorkflowId IN ('v-1', 'v-2', 'v-3') ORDER BY WorkflowId ASC").await, ["v-1", "v-3"]);
    assert_eq!(
        ids("Amount BETWEEN 10 AND 20 ORDER BY Amount").await,
        ["v-1", "v-2"]
    );
    assert_eq!(
        ids("WorkflowId STARTS_WITH 'v-' AND CloseTime IS NOT NULL").await,
        ["v-2"]
    );
    let since = format!("StartTime >= '{before}'");
    let n = client.count_workflows(&since).await.expect("count");
    assert_eq!(n, 3);
    let grouped = client
        .workflow_service()
        .count_workflow_executions(ws::CountWorkflowExecutionsRequest {
            namespace: "default".into(),
            query: "GROUP BY ExecutionStatus".into(),
        })
        .await
        .expect("count group by")
        .into_inner();
    assert_eq!(grouped.count, 3);
    let groups: Vec<(String, i64)> = grouped
        .groups
        .iter()
        .map(|g| {
            (
                String::from_utf8_lossy(&g.group_values[0].data).into_owned(),
                g.count,
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("\"Running\"".to_string(), 2),
            ("\"Terminated\"".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn forged_page_tokens_are_refused() {
    let (_server, client) = start().await;
    let handle = client
        .start_workflow(
            "Paged",
            (),
            WorkflowOptions::new(unique("forged"), "nowhere"),
        )
        .await
        .expect("start");
    let execution = Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
        workflow_id: handle.workflow_id().to_string(),
        run_id: String::new(),
    });
    let mut token = b"H".to_vec();
    token.extend_from_slice(&i64::MIN.to_le_bytes());
    let err = client
        .workflow_service()
        .get_workflow_execution_history_reverse(ws::GetWorkflowExecutionHistoryReverseRequest {
            namespace: "default".into(),
            execution: execution.clone(),
            maximum_page_size: i32::MAX,
            next_page_token: token,
        })
        .await
        .expect_err("forged token");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let mut token = b"H".to_vec();
    token.extend_from_slice(&i64::MAX.to_le_bytes());
    let page = client
        .workflow_service()
        .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
            namespace: "default".into(),
            execution,
            maximum_page_size: -5,
            next_page_token: token,
            ..Default::default()
        })
        .await
        .expect("a token past the end is an empty page")
        .into_inner();
    assert!(page.history.expect("history").events.is_empty());
    let err = client
        .workflow_service()
        .list_workflow_executions(ws::ListWorkflowExecutionsRequest {
            namespace: "default".into(),
            next_page_token: b"junk".to_vec(),
            ..Default::default()
        })
        .await
        .expect_err("junk list token");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn describe_task_queue_lists_recent_pollers() {
    use reprise::api::temporal::api::enums::v1::TaskQueueType;
    let options = ServerOptions::default().with_long_poll_timeout(Duration::from_millis(100));
    let (_server, client) = start_with(options).await;
    let tq = unique("tq");
    poll_once(&client, queue(&tq)).await;
    let describe = |kind: TaskQueueType| {
        let mut svc = client.workflow_service();
        let tq = tq.clone();
        async move {
            svc.describe_task_queue(ws::DescribeTaskQueueRequest {
                namespace: "default".into(),
                task_queue: queue(&tq),
                task_queue_type: kind as i32,
                ..Default::default()
            })
            .await
            .expect("describe task queue")
            .into_inner()
            .pollers
        }
    };
    let workflow_pollers = describe(TaskQueueType::Workflow).await;
    assert_eq!(workflow_pollers.len(), 1);
    assert_eq!(workflow_pollers[0].identity, "test-worker");
    assert!(workflow_pollers[0].last_access_time.is_some());
    assert!(describe(TaskQueueType::Activity).await.is_empty());
}
