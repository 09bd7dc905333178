use reprise::activity::{ActivityContext, ActivityError};

struct Acts;

#[reprise::activities]
impl Acts {
    async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
