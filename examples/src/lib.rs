//! Runnable examples of Reprise; each scenario is a binary under `src/bin/`.
#![warn(missing_docs)]

pub mod corpus;
pub mod corpus_activities;
pub mod generated;
pub mod hello;
pub mod observability;
pub mod order;
pub mod pipeline;
pub mod recurring;
pub mod runner;
pub mod saga;
pub mod subscription;
