use reprise::workflow::{WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Clocky;

#[reprise::workflow]
impl Clocky {
    #[run]
    async fn run(&self, _ctx: &WorkflowContext) -> WorkflowResult<u64> {
        let now = std::time::SystemTime::now();
        let _ = std::fs::read("config.toml");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        std::thread::spawn(|| ());
        let _ = std::env::var("HOME");
        Ok(now.elapsed().map(|d| d.as_secs()).unwrap_or(0))
    }
}

fn main() {}
