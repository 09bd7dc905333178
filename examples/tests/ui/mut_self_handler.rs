use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Counter {
    count: u32,
}

#[reprise::workflow]
impl Counter {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<u32> {
        Ok(self.count)
    }

    #[signal]
    fn increment(&mut self, _ctx: &WorkflowContext) {
        self.count += 1;
    }
}

fn main() {}
