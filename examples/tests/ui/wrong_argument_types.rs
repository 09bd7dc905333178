use reprise::client::{Client, WorkflowOptions};
use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Greet;

#[reprise::workflow]
impl Greet {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext, name: String) -> WorkflowResult<String> {
        Ok(name)
    }
}

async fn start(client: Client) {
    // The run method takes a String, not a number.
    let _ = client.start(Greet::run, (42,), WorkflowOptions::new("id", "queue")).await;
}

fn main() {
    let _ = start;
}
