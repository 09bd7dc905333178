//! The Prometheus endpoint, scraped with a real HTTP GET after a worker ran workflows: Temporal's
//! SDK metric names, their tags and values.

use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::telemetry::PrometheusEndpoint;
use reprise::worker::Worker;
use reprise_examples::observability::{Shipment, TASK_QUEUE, Warehouse};
use reprise_testing::server::{ServerOptions, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` over HTTP/1.1: the status line and the body.
async fn get(address: std::net::SocketAddr, path: &str) -> std::io::Result<(String, String)> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    ))
}

/// The value of the sample named `name` whose labels include every one of `labels`.
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name
            && labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        if matches { value.parse().ok() } else { None }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_shows_the_sdk_metrics_of_the_workflows_run()
-> Result<(), Box<dyn std::error::Error>> {
    let prometheus = PrometheusEndpoint::bind("127.0.0.1:0").await?;
    let server = TestServer::start(ServerOptions::default()).await?;
    let client =
        Client::connect(ClientOptions::new(server.target()).with_metrics(prometheus.metrics()))
            .await?;
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    for i in 0..3 {
        let handle = client
            .start(
                Shipment::run,
                (format!("parcel-{i}"),),
                WorkflowOptions::new(format!("metrics-{i}"), TASK_QUEUE),
            )
            .await?;
        let _: String = handle.result().await?;
    }
    // One workflow fails: its label activity refuses an empty parcel name.
    let failing = client
        .start(
            Shipment::run,
            (String::new(),),
            WorkflowOptions::new("metrics-fail", TASK_QUEUE),
        )
        .await?;
    assert!(failing.result::<String>().await.is_err());

    let (status, body) = get(prometheus.address(), "/metrics").await?;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let ns = ("namespace", "default");
    let tq = ("task_queue", TASK_QUEUE);
    let wt = ("workflow_type", "Shipment");
    let value = |name: &str, labels: &[(&str, &str)]| {
        sample(&body, name, labels).ok_or_else(|| format!("no {name} {labels:?} in:\n{body}"))
    };
    assert_eq!(
        value(
            "temporal_request",
            &[ns, ("operation", "StartWorkflowExecution")]
        )?,
        4.0
    );
    assert_eq!(value("temporal_workflow_completed", &[ns, tq, wt])?, 3.0);
    assert_eq!(value("temporal_workflow_failed", &[ns, tq, wt])?, 1.0);
    assert_eq!(
        value("temporal_workflow_endtoend_latency_count", &[ns, tq, wt])?,
        4.0
    );
    let pack = ("activity_type", "pack");
    assert_eq!(
        value("temporal_activity_execution_latency_count", &[ns, tq, pack])?,
        4.0
    );
    assert_eq!(
        value(
            "temporal_activity_schedule_to_start_latency_count",
            &[ns, tq, pack]
        )?,
        4.0
    );
    let label = ("activity_type", "label");
    assert_eq!(
        value("temporal_activity_execution_failed", &[ns, tq, label])?,
        1.0
    );
    // Four workflow tasks per run: start, packed, timer fired, labeled (or label failed).
    assert_eq!(
        value(
            "temporal_workflow_task_execution_latency_count",
            &[ns, tq, wt]
        )?,
        16.0
    );
    assert_eq!(
        value(
            "temporal_workflow_task_schedule_to_start_latency_count",
            &[ns, tq]
        )?,
        16.0
    );
    assert_eq!(
        value("temporal_workflow_task_queue_poll_succeed", &[ns, tq])?,
        16.0
    );
    // Each run's first task creates it, the next ones find it in the cache.
    assert_eq!(value("temporal_sticky_cache_miss", &[ns, tq])?, 4.0);
    assert_eq!(value("temporal_sticky_cache_hit", &[ns, tq])?, 12.0);
    assert_eq!(value("temporal_sticky_cache_size", &[ns, tq])?, 0.0);
    let long_poll = ("operation", "PollWorkflowTaskQueue");
    assert!(value("temporal_long_request", &[ns, long_poll])? >= 16.0);
    assert!(
        value(
            "temporal_request_latency_bucket",
            &[
                ns,
                ("operation", "RespondWorkflowTaskCompleted"),
                ("le", "+Inf")
            ]
        )? >= 16.0
    );
    assert!(
        value(
            "temporal_worker_task_slots_available",
            &[ns, tq, ("worker_type", "WorkflowWorker")]
        )? > 0.0
    );
    assert!(
        value(
            "temporal_worker_task_slots_used",
            &[ns, tq, ("worker_type", "ActivityWorker")]
        )? >= 0.0
    );
    assert_eq!(
        value(
            "temporal_num_pollers",
            &[ns, tq, ("poller_type", "workflow_task")]
        )?,
        2.0
    );
    assert_eq!(value("temporal_worker_start", &[ns, tq])?, 1.0);
    assert!(body.contains("# TYPE temporal_workflow_endtoend_latency histogram"));
    // Anything but /metrics is not found.
    let (status, _) = get(prometheus.address(), "/").await?;
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    shutdown.shutdown();
    running.await??;
    server.shutdown().await?;
    Ok(())
}
