//! Every history below `tests/histories/` is a test of its own (`harness = false` in
//! Cargo.toml): `cargo test -p reprise-testing --test replay_histories subscription_30_days`.

mod env_support;

reprise_testing::replay_histories!("tests/histories", workflows: [env_support::Subscription, env_support::Approval]);
