use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Sync;

#[reprise::workflow]
impl Sync {
    #[run]
    fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Ok(())
    }
}

fn main() {}
