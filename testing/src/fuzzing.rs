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
pub mod history;
mod invariants;
mod tape;

pub use handlers::{HandlerHarness, ProgramStats};
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

/// Words the parser inputs are made of (most generated texts are near-valid).
const QUERY_WORDS: &[&str] = &[
    "WorkflowId",
    "CustomInt",
    "CustomKw",
    "StartTime",
    "ExecutionStatus",
    "WorkflowType",
    "=",
    "!=",
    ">=",
    "<",
    ">",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    "ORDER BY",
    "GROUP BY",
    "DESC",
    "ASC",
    ",",
    "'a'",
    "\"Running\"",
    "1",
    "-9223372036854775808",
    "99999999999999999999",
    "1e309",
    "'2024-01-01T00:00:00Z'",
    "`x`",
    "'",
    "\\",
    "STARTS_WITH",
    "LIKE",
    "\u{0}",
    "é",
];
const CRON_WORDS: &[&str] = &[
    "*",
    "*/",
    "0",
    "59",
    "60",
    "1-5",
    "5-1",
    ",",
    "/0",
    "JAN",
    "mon",
    "@every",
    " ",
    "@hourly",
    "18446744073709551615",
    "d",
    "h",
    "m",
    "s",
    "-",
    "?",
    "L",
    "W",
    "#",
];

/// Every parser once, on inputs drawn from `bytes`: a visibility query, a cron schedule and its
/// next times, a duration and retry policy, a `grpc-timeout` header.
pub fn parsers(bytes: &[u8]) -> Result<(), String> {
    let mut tape = Tape::new(bytes);
    let text = |tape: &mut Tape<'_>, words: &[&str]| -> String {
        if tape.one_in(4) {
            return String::from_utf8_lossy(&tape.bytes(40)).into_owned();
        }
        let n = tape.below(12);
        (0..n)
            .map(|_| words[tape.below(words.len())])
            .collect::<Vec<_>>()
            .join(if tape.one_in(3) { "" } else { " " })
    };
    let query = text(&mut tape, QUERY_WORDS);
    visibility_query(&query)?;
    let schedule = text(&mut tape, CRON_WORDS);
    let after = tape.i64();
    cron(&schedule, after).map_err(|e| format!("{e} (input {schedule:?})"))?;
    let (seconds, nanos, coefficient, attempts) =
        (tape.i64(), tape.i64() as i32, tape.f64(), tape.i64() as i32);
    durations(seconds, nanos, coefficient, attempts)?;
    let header = format!(
        "{}{}",
        tape.i64().unsigned_abs(),
        ["H", "M", "S", "m", "u", "n", "x", ""][tape.below(8)]
    );
    grpc_timeout(&header)
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
