use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Dup;

#[reprise::workflow]
impl Dup {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<()> {
        Ok(())
    }

    #[signal(name = "go")]
    fn go(&self, _ctx: &WorkflowContext) {}

    #[signal(name = "go")]
    fn go_again(&self, _ctx: &WorkflowContext) {}
}

fn main() {}
