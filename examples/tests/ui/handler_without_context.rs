use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct NoCtx;

#[reprise::workflow]
impl NoCtx {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Ok(())
    }

    #[signal]
    fn poke(&self, count: u32) {
        let _ = count;
    }
}

fn main() {}
