//! What the example binaries share: a server to run on.
//!
//! With `--address HOST:PORT` (or `REPRISE_ADDRESS`) an example runs on that server — the
//! official dev server, a cluster, or `reprise-server`; otherwise on Reprise's server embedded in
//! the process with time skipping, so that days of workflow time pass in milliseconds.

use reprise::client::{Client, ClientOptions};
use reprise_testing::server::{ServerOptions, TestServer};

/// A connected client, and the embedded server when no address was given (keep it alive).
pub async fn connect() -> Result<(Client, Option<TestServer>), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let address = args
        .iter()
        .position(|a| a == "--address")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("REPRISE_ADDRESS").ok());
    match address {
        Some(address) => Ok((Client::connect(ClientOptions::new(address)).await?, None)),
        None => {
            let server = TestServer::start(ServerOptions::default().with_time_skipping()).await?;
            let client = Client::connect(ClientOptions::new(server.target())).await?;
            Ok((client, Some(server)))
        }
    }
}
