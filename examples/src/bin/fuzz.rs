//! Large budgets of generated inputs, on demand (the tests run small ones in CI):
//!
//! ```text
//! cargo run --release -p reprise-examples --bin fuzz -- [--target T[:N]]... [--inputs N] [--seed S]
//! cargo run --release -p reprise-examples --bin fuzz -- --reproduce T HEX
//! ```
//!
//! Targets: `parsers` (visibility query, cron, durations and retry policies, grpc-timeout),
//! `history-bytes` (arbitrary bytes to the JSON and protobuf history readers),
//! `history-mutated` (recorded histories' JSON and protobuf with bytes mutated), `replay`
//! (recorded histories with events dropped, duplicated, reordered, altered, renumbered or
//! truncated, replayed with a 20 s bound each), `handlers` (programs of up to 64
//! WorkflowService/OperatorService calls against a fresh bundled server, then the store's
//! invariants); default: all, `--inputs` each (default 10,000), or `N` for a target given as
//! `T:N`. The 10^6 run of the note:
//! `--target parsers:450000 --target history-bytes:450000 --target history-mutated:50000
//! --target replay:40000 --target handlers:10000`. Prints inputs, time and inputs
//! per second per target, and every failing input as hex for `--reproduce`. Exits non-zero when
//! an input failed.
#![allow(clippy::print_stdout)]

use reprise::replay::Replayer;
use reprise_examples::generated::{self, Rng};
use reprise_testing::fuzzing::{self, Tape, history};
use std::time::{Duration, Instant};

const TARGETS: &[&str] = &[
    "parsers",
    "history-bytes",
    "history-mutated",
    "replay",
    "handlers",
];

struct Targets {
    recorded: Vec<(String, Vec<u8>, reprise::history::History)>,
    replay: history::ReplayTarget,
    handlers: fuzzing::HandlerHarness,
    /// RPCs the handler programs made.
    calls: std::sync::atomic::AtomicU64,
}

impl Targets {
    fn new() -> Result<Self, String> {
        Ok(Targets {
            recorded: generated::recorded(),
            replay: history::ReplayTarget::new(
                Replayer::new(generated::registry()).with_parallelism(1),
                Duration::from_secs(20),
            )?,
            handlers: fuzzing::HandlerHarness::new()?,
            calls: Default::default(),
        })
    }

    /// The input size each target reads.
    fn input_len(target: &str, rng: &mut Rng) -> usize {
        match target {
            "history-bytes" => (rng.next_u64() % 512) as usize,
            "handlers" => 64 + (rng.next_u64() % 900) as usize,
            _ => 16 + (rng.next_u64() % 112) as usize,
        }
    }

    /// One input; a panic is caught and reported as a failure.
    fn run(&self, target: &str, input: &[u8]) -> Result<(), String> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_inner(target, input)
        }))
        .unwrap_or_else(|_| Err("panicked".into()))
    }

    fn run_inner(&self, target: &str, input: &[u8]) -> Result<(), String> {
        match target {
            "parsers" => fuzzing::parsers(input),
            "history-bytes" => history::read_history(input),
            "history-mutated" => {
                let mut tape = Tape::new(input);
                let (_, bytes, h) = &self.recorded[tape.below(self.recorded.len())];
                let base = if tape.one_in(2) {
                    reprise::history::to_proto_bytes(h)
                } else {
                    bytes.clone()
                };
                history::read_history(&history::mutate_bytes(&base, &mut tape))
            }
            "replay" => {
                let mut tape = Tape::new(input);
                let (_, _, h) = &self.recorded[tape.below(self.recorded.len())];
                self.replay
                    .replay(history::mutate_history(h, &mut tape))
                    .map(|_| ())
            }
            "handlers" => self.handlers.run(input).map(|stats| {
                self.calls
                    .fetch_add(stats.calls as u64, std::sync::atomic::Ordering::Relaxed);
            }),
            other => Err(format!("unknown target {other}")),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("not hex at {i}"))
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut targets: Vec<String> = Vec::new();
    let mut inputs: u64 = 10_000;
    let mut seed: u64 = 0x5eed;
    let mut i = 0;
    let value = |i: usize| args.get(i + 1).cloned().ok_or("missing value");
    while i < args.len() {
        match args[i].as_str() {
            "--target" => targets.push(value(i)?),
            "--inputs" => inputs = value(i)?.parse()?,
            "--seed" => seed = value(i)?.parse()?,
            "--reproduce" => {
                let target = value(i)?;
                let input = unhex(args.get(i + 2).ok_or("missing HEX")?)?;
                let t = Targets::new()?;
                return match t.run(&target, &input) {
                    Ok(()) => {
                        println!("{target}: passes");
                        Ok(())
                    }
                    Err(e) => Err(format!("{target}: {e}").into()),
                };
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
        i += 2;
    }
    if targets.is_empty() || targets.iter().any(|t| t == "all") {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    let t = Targets::new()?;
    let mut failed = 0u64;
    let mut total = 0u64;
    println!("target           inputs      seconds   inputs/s  failures");
    for spec in &targets {
        let (target, inputs) = match spec.split_once(':') {
            Some((t, n)) => (t.to_string(), n.parse::<u64>()?),
            None => (spec.clone(), inputs),
        };
        let target = &target;
        let mut rng = Rng::new(seed ^ target.len() as u64);
        let started = Instant::now();
        let mut failures = 0u64;
        for _ in 0..inputs {
            let n = Targets::input_len(target, &mut rng);
            let input = rng.bytes(n);
            if let Err(e) = t.run(target, &input) {
                failures += 1;
                if failures <= 5 {
                    println!("FAIL {target}: {e}\n  --reproduce {target} {}", hex(&input));
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{target:<16} {inputs:>9} {secs:>12.1} {:>10.0} {failures:>9}",
            inputs as f64 / secs.max(1e-9)
        );
        if target == "handlers" {
            let calls = t.calls.load(std::sync::atomic::Ordering::Relaxed);
            println!(
                "  ({calls} RPCs, {:.0} per second)",
                calls as f64 / secs.max(1e-9)
            );
        }
        failed += failures;
        total += inputs;
    }
    println!("{total} inputs, {failed} failed");
    if failed > 0 {
        return Err(format!("{failed} failing inputs").into());
    }
    Ok(())
}
