use reprise::workflow::WorkflowContext;

#[derive(Default)]
struct NoRun;

#[reprise::workflow]
impl NoRun {
    #[signal]
    fn poke(&self, _ctx: &WorkflowContext) {}
}

fn main() {}
