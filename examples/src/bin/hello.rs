//! Hello world: one activity, one workflow calling it, a worker, a client that starts it and
//! prints its result. `cargo run -p reprise-examples --bin hello -- 127.0.0.1:7233`
#![allow(clippy::print_stdout)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use std::time::Duration;

struct Greetings;

#[reprise::activities]
impl Greetings {
    async fn greet(&self, _ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        Ok(format!("Hello, {name}!"))
    }
}

#[derive(Default)]
struct HelloWorkflow;

#[reprise::workflow]
impl HelloWorkflow {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, name: String) -> WorkflowResult<String> {
        Ok(ctx
            .activity(Greetings::greet, (name,))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:7233".into());
    let client = Client::connect(ClientOptions::new(addr)).await?;
    let worker = Worker::builder(client.clone(), "hello-tq")
        .workflow::<HelloWorkflow>()
        .activities(Greetings)
        .build()?;
    tokio::spawn(worker.run());

    let id = format!("hello-{}", std::process::id());
    let handle = client
        .start(
            HelloWorkflow::run,
            ("Reprise".to_string(),),
            WorkflowOptions::new(id, "hello-tq"),
        )
        .await?;
    println!("{}", handle.result::<String>().await?);
    Ok(())
}
