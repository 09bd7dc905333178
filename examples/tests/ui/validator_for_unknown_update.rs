use reprise::converter::ApplicationFailure;
use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct V;

#[reprise::workflow]
impl V {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Ok(())
    }

    #[update_validator(set_limit)]
    fn check(&self, _ctx: &WorkflowContext, limit: &u32) -> Result<(), ApplicationFailure> {
        let _ = limit;
        Ok(())
    }
}

fn main() {}
