use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Racer;

#[reprise::workflow]
impl Racer {
    #[run]
    async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<()> {
        let mut a = Box::pin(futures::FutureExt::fuse(ctx.sleep(std::time::Duration::from_secs(1))));
        let mut b = Box::pin(futures::FutureExt::fuse(ctx.sleep(std::time::Duration::from_secs(2))));
        futures::select! {
            _ = a => {},
            _ = b => {},
        }
        Ok(())
    }
}

fn main() {}
