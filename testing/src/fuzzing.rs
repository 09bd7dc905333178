//! Entry points for generated-input testing of the bundled server: its parsers (visibility
//! queries, cron schedules, durations, `grpc-timeout` headers) and its gRPC handlers, driven by
//! arbitrary bytes. Each entry point must return (an `Err` is a finding: a broken invariant),
//! never panic; the generated-input tests and the `fuzz` binary of `reprise-examples` call them.
//!
//! The handler driver reads a byte string as a program: each step picks an RPC and its fields
//! (ids from a small pool so that calls meet each other's runs, names, payload sizes, durations,
//! retry policies, commands for workflow-task completions, raw protobuf bytes decoded as the
//! request) and calls the server over loopback gRPC. After the program the store is checked.

use crate::server::{ServerOptions, TestServer};
use crate::store::{MemoryStore, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod generate;
mod handlers;
mod invariants;
mod tape;

pub use handlers::HandlerHarness;
pub use tape::Tape;

/// Parses a visibility query and evaluates it on no rows and on a sample row; `Err` only for
/// a broken invariant (a parse error is an expected answer).
pub fn visibility_query(text: &str) -> Result<(), String> {
    let _ = crate::server::fuzz_entry::visibility_query(text);
    Ok(())
}

/// Parses a cron schedule and, when it parses, asks for its next few fire times after `after`
/// (seconds since the epoch, any value).
pub fn cron(text: &str, after: i64) -> Result<(), String> {
    crate::server::fuzz_entry::cron(text, after)
}

/// Parses a `grpc-timeout` header value.
pub fn grpc_timeout(text: &str) -> Result<(), String> {
    crate::server::fuzz_entry::grpc_timeout(text);
    Ok(())
}

/// Checks a protobuf duration and a retry policy as the server validates them (arbitrary
/// seconds, nanos, coefficients).
pub fn durations(seconds: i64, nanos: i32, coefficient: f64, attempts: i32) -> Result<(), String> {
    crate::server::fuzz_entry::durations(seconds, nanos, coefficient, attempts);
    Ok(())
}

/// Panics counted by [`count_panics`]'s hook since it was installed.
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Installs (once) a panic hook that counts every panic in the process, including those in the
/// server's own tasks (which a gRPC client only sees as a broken connection), then calls the
/// previous hook.
pub fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// How many panics the hook of [`count_panics`] has seen.
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// Starts a server on a fresh memory store for one program (a short long-poll timeout so that
/// polls with no task answer at once).
async fn fresh_server() -> Result<(TestServer, Arc<MemoryStore>), String> {
    let store = Arc::new(MemoryStore::new());
    let server = TestServer::start(
        ServerOptions::default()
            .with_store(store.clone() as Arc<dyn Store>)
            .with_long_poll_timeout(std::time::Duration::from_millis(5))
            .with_namespace("other")
            .with_search_attribute(
                "CustomInt",
                reprise::api::temporal::api::enums::v1::IndexedValueType::Int,
            ),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok((server, store))
}
