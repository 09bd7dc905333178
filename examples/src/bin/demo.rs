//! The main command: a workflow survives the crash of the worker running it.
//!
//! `cargo run -p reprise-examples --bin demo`
//!
//! One program, no external process: it embeds Reprise's server on a SQLite file under
//! `target/reprise-demo/`, starts a worker *process* (this binary with `worker`), and starts the
//! order workflow of [`reprise_examples::order`]. When the payment provider has charged the card
//! but before the worker could report it, the demo kills the worker with SIGKILL. A second worker
//! process takes over: the server retries the charge after its timeout, the provider recognises
//! the idempotency key and returns the original receipt, the order is marked paid. The demo then
//! shows that the card was charged exactly once, prints the history, and replays it against the
//! workflow code.
#![allow(clippy::print_stdout)]

use reprise::api::temporal::api::enums::v1::EventType;
use reprise::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::replay::Replayer;
use reprise::worker::Worker;
use reprise::workflow::WorkflowRegistry;
use reprise_examples::order::{
    Order, OrderActivities, OrderResult, PaymentService, ProcessOrder, TASK_QUEUE,
};
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::SqliteStore;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("worker") => {
            let [_, _, target, ledger, delay_ms] = args.as_slice() else {
                return Err("usage: demo worker TARGET LEDGER_DIR REPLY_DELAY_MS".into());
            };
            run_worker(target, Path::new(ledger), delay_ms.parse()?).await
        }
        None => run_demo().await,
        Some(other) => Err(format!("unknown argument {other:?}; run without arguments").into()),
    }
}

/// A worker process: polls the order task queue until killed.
async fn run_worker(target: &str, ledger: &Path, reply_delay_ms: u64) -> Result<(), Error> {
    let payments = PaymentService::in_directory(ledger)?
        .with_reply_delay(Duration::from_millis(reply_delay_ms));
    let client = Client::connect(ClientOptions::new(target)).await?;
    let worker = Worker::builder(client, TASK_QUEUE)
        .workflow::<ProcessOrder>()
        .activities(OrderActivities::new(payments))
        .build()?;
    worker.run().await?;
    Ok(())
}

/// `$REPRISE_DEMO_DIR`, or `reprise-demo` in the cargo target directory.
fn demo_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REPRISE_DEMO_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("reprise-demo")
}

fn spawn_worker(n: u32, target: &str, ledger: &Path, delay_ms: u64) -> Result<Child, Error> {
    let child = Command::new(std::env::current_exe()?)
        .args(["worker", target])
        .arg(ledger)
        .arg(delay_ms.to_string())
        .spawn()?;
    println!("  worker {n} started (process {})", child.id());
    Ok(child)
}

async fn run_demo() -> Result<(), Error> {
    let started = Instant::now();
    let dir = demo_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let ledger = dir.join("payments");
    let payments = PaymentService::in_directory(&ledger)?;

    println!("Reprise: a durable workflow survives the crash of its worker\n");
    let store = SqliteStore::open(dir.join("reprise.db"))?;
    let server = TestServer::start(ServerOptions::default().with_store(Arc::new(store))).await?;
    let target = server.target();
    println!(
        "  server embedded in this process on {target}, history in {}",
        dir.join("reprise.db").display()
    );
    // The first worker answers the provider's charge only after 1.5 s: the crash falls there.
    let mut worker1 = spawn_worker(1, &target, &ledger, 1500)?;

    let client = Client::connect(ClientOptions::new(target.clone())).await?;
    let order = Order {
        id: "order-1001".into(),
        amount_cents: 4_250,
        card: "tok_visa".into(),
    };
    let handle = client
        .start(
            ProcessOrder::run,
            (order.clone(),),
            WorkflowOptions::new(order.id.clone(), TASK_QUEUE),
        )
        .await?;
    println!(
        "  started workflow ProcessOrder {} ({} cents on {})\n",
        order.id, order.amount_cents, order.card
    );

    let mut shown = 0usize;
    let mut worker2: Option<Child> = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = handle.fetch_history().await?.events;
        for event in &events[shown..] {
            println!(
                "  [{:>2} events] {:<36} {}",
                event.event_id,
                event_type(event),
                detail(event)
            );
        }
        shown = events.len();
        let closed = events.last().is_some_and(is_closing);
        if closed {
            break;
        }
        if worker2.is_none() && !payments.charges()?.is_empty() {
            worker1.kill()?; // SIGKILL
            worker1.wait()?;
            println!(
                "\n  >>> the card is charged, the reply has not left: SIGKILL worker 1 (process {})",
                worker1.id()
            );
            println!(
                "  >>> the server will time the charge attempt out and retry it on another worker\n"
            );
            worker2 = Some(spawn_worker(2, &target, &ledger, 0)?);
        }
        if Instant::now() > deadline {
            return Err("the workflow did not finish within a minute".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let result: OrderResult = handle.result().await?;
    let charges = payments.charges()?;
    let for_order = charges
        .iter()
        .filter(|c| c.idempotency_key == order.id)
        .count();
    println!(
        "\n  result: order {} paid={} charge {}",
        result.order_id, result.paid, result.receipt.charge_id
    );
    let history = handle.fetch_history().await?;
    let attempts = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(E::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
            _ => None,
        })
        .unwrap_or(0);
    println!(
        "  card charged exactly once: {for_order} charge for {} at the provider, after {attempts} attempts of the charge activity",
        order.id
    );
    if for_order != 1 {
        return Err(format!("expected exactly one charge, found {for_order}").into());
    }

    println!("\n  the history, as the server recorded it:\n");
    println!("  {:>3}  {:<36} detail", "id", "event");
    for event in &history.events {
        println!(
            "  {:>3}  {:<36} {}",
            event.event_id,
            event_type(event),
            detail(event)
        );
    }
    println!();

    let mut registry = WorkflowRegistry::new();
    registry.register_workflow::<ProcessOrder>()?;
    Replayer::new(registry).replay(&history)?;
    println!(
        "  replayed the {} events of the history against the workflow code: no difference",
        history.events.len()
    );

    if let Some(mut w) = worker2 {
        w.kill()?;
        w.wait()?;
    }
    server.shutdown().await?;
    println!("\n  done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn is_closing(event: &HistoryEvent) -> bool {
    matches!(
        event.attributes,
        Some(
            E::WorkflowExecutionCompletedEventAttributes(_)
                | E::WorkflowExecutionFailedEventAttributes(_)
                | E::WorkflowExecutionCanceledEventAttributes(_)
                | E::WorkflowExecutionTerminatedEventAttributes(_)
                | E::WorkflowExecutionTimedOutEventAttributes(_)
        )
    )
}

/// `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED` → `ActivityTaskScheduled`.
fn event_type(event: &HistoryEvent) -> String {
    let name = EventType::try_from(event.event_type)
        .map(|t| t.as_str_name())
        .unwrap_or("EVENT_TYPE_UNKNOWN");
    name.trim_start_matches("EVENT_TYPE_")
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn detail(event: &HistoryEvent) -> String {
    match &event.attributes {
        Some(E::ActivityTaskScheduledEventAttributes(a)) => format!(
            "{} (activity {})",
            a.activity_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or(""),
            a.activity_id
        ),
        Some(E::ActivityTaskStartedEventAttributes(a)) => format!(
            "attempt {}{}",
            a.attempt,
            a.last_failure
                .as_ref()
                .map(|f| format!(", after: {}", f.message))
                .unwrap_or_default()
        ),
        Some(E::WorkflowTaskStartedEventAttributes(a)) => format!("by {}", a.identity),
        Some(E::WorkflowTaskTimedOutEventAttributes(_)) => {
            "nobody took it from the killed worker's sticky queue: back to the normal queue".into()
        }
        Some(E::ActivityTaskCompletedEventAttributes(a)) => format!("by {}", a.identity),
        Some(E::WorkflowExecutionStartedEventAttributes(a)) => format!(
            "{} on {}",
            a.workflow_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or(""),
            a.task_queue.as_ref().map(|t| t.name.as_str()).unwrap_or("")
        ),
        _ => String::new(),
    }
}
