use reprise::activity::{ActivityContext, ActivityError};

struct Acts;

#[reprise::activities]
impl Acts {
    async fn greet(&self, _ctx: ActivityContext, name: &str) -> Result<String, ActivityError> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
