//! The examples' histories recorded from real runs (`REPRISE_RECORD_HISTORIES=1 cargo test -p
//! reprise-examples --test 'example_*'`), replayed against today's code: one test per file.
use reprise_examples::{order, pipeline, recurring, saga, subscription};

reprise_testing::replay_histories!(
    "histories",
    workflows: [
        order::ProcessOrder,
        saga::BookTrip,
        subscription::Subscription,
        pipeline::Pipeline,
        pipeline::Stage,
        recurring::ReportJob
    ]
);
