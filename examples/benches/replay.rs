//! Replay speed of the largest corpus histories next to the floor: decoding the same history
//! from protobuf. Run with `cargo bench -p reprise-examples --bench replay`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use reprise::api::temporal::api::history::v1::History;
use reprise::replay::Replayer;
use std::hint::black_box;
use std::path::PathBuf;

fn load(name: &str) -> History {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    match reprise::history::load_file(&path) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}

fn bench(c: &mut Criterion) {
    let corpus = Replayer::new(reprise_examples::corpus::registry());
    let official = Replayer::new(reprise_examples::corpus::official_sdk_registry());
    for (label, file, replayer) in [
        (
            "16a-500-activities",
            "histories/16a-large-500-activities.json",
            &corpus,
        ),
        (
            "16b-2000-activities",
            "histories/16b-large-2000-activities.json",
            &corpus,
        ),
        (
            "16c-1000-timers",
            "histories/16c-large-1000-timers.json",
            &corpus,
        ),
        // The history the official Rust SDK's WorkflowReplayer was timed on (anchors).
        (
            "seq500-official-rust-sdk",
            "official-rust-sdk/seq500.json",
            &official,
        ),
    ] {
        let history = load(file);
        let bytes = history.encode_to_vec();
        let mut group = c.benchmark_group(label);
        group.throughput(Throughput::Elements(history.events.len() as u64));
        group.bench_function("decode_protobuf", |b| {
            b.iter(|| {
                History::decode(black_box(bytes.as_slice()))
                    .map(|h| h.events.len())
                    .unwrap_or(0)
            })
        });
        group.bench_function("replay", |b| {
            b.iter(|| replayer.replay(black_box(&history)).is_ok())
        });
        group.bench_function("decode_and_replay", |b| {
            b.iter(|| {
                History::decode(black_box(bytes.as_slice()))
                    .map(|h| replayer.replay(&h).is_ok())
                    .unwrap_or(false)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
