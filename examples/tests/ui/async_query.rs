use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Q;

#[reprise::workflow]
impl Q {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Ok(())
    }

    #[query]
    async fn state(&self, _ctx: &WorkflowContext) -> u32 {
        0
    }
}

fn main() {}
