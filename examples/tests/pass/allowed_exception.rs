use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Reviewed;

#[reprise::workflow]
impl Reviewed {
    #[run]
    async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<bool> {
        // Reviewed: only logged, never influences the workflow's decisions.
        #[allow_nondeterminism]
        let started = std::time::Instant::now();
        let _ = started;
        Ok(ctx.is_replaying())
    }
}

fn main() {}
