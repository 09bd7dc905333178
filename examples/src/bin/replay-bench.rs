//! Replay speed of one history, to compare with another SDK's replayer on the same file:
//! `cargo run --release -p reprise-examples --bin replay-bench -- HISTORY.json [ITERS]`
//! (the official Rust SDK's anchor harness: `official-rust-bench replay --history-file
//! HISTORY.json --iters ITERS`). One untimed replay first, then ITERS timed ones; prints the
//! median. Histories of the corpus and of the official Rust SDK's `SequentialWorkflow` are known.
#![allow(clippy::print_stdout)]

use reprise::replay::Replayer;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        return Err("usage: replay-bench HISTORY.json [ITERS]".into());
    };
    let iters: usize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20)
        .max(1);
    let history = reprise::history::load_file(path)?;
    let workflow_type = reprise::history::workflow_type(&history).unwrap_or_default();
    let registry = if workflow_type == "SequentialWorkflow" {
        reprise_examples::corpus::official_sdk_registry()
    } else {
        reprise_examples::corpus::registry()
    };
    let replayer = Replayer::new(registry);
    replayer.replay(&history)?;
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        replayer.replay(&history)?;
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let events = history.events.len();
    println!(
        "{events} events, {iters} replays: median {:.3} ms per replay ({:.0} events/s), min {:.3} ms, max {:.3} ms",
        median.as_secs_f64() * 1e3,
        events as f64 / median.as_secs_f64(),
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}
