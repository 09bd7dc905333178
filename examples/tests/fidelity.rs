//! Replay fidelity against the official SDKs, on histories recorded by the official Python SDK
//! on the official dev server (`fixtures/fidelity/`, recorded by `scripts/record-fidelity.sh`,
//! which also checks each one with the official Python replayer; its verdicts are in
//! `fixtures/record/fidelity-verdicts.json`).
//!
//! Negatives: a history recorded by *changed* code that today's code must reject, one per field
//! the official SDKs compare (local activity type, id and sequence number; patch id; a patch
//! removed without being deprecated first). Positives: corpus workflows on paths the corpus did
//! not record (a duplicate child id, a failing branch among parallel activities, cancellations
//! while children or activities run) and a deprecated patch removed.

use reprise::replay::{NondeterminismError, ReplayError, Replayer};
use reprise::workflow::{WorkflowContext, WorkflowRegistry, WorkflowResult};
use std::path::PathBuf;
use std::time::Duration;

fn replay(file: &str) -> Result<(), ReplayError> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/fidelity")
        .join(file);
    let history = reprise::history::load_file(path).expect("fixture loads");
    Replayer::new(today()).replay(&history)
}

/// Today's code: the corpus, and the patch scenarios' workflow (patch `greet-v2` in, the
/// `audit-v2` patch of an older version removed).
fn today() -> WorkflowRegistry {
    let mut registry = reprise_examples::corpus::registry();
    registry
        .register("GreetingPatchWorkflow", greeting_patch)
        .expect("distinct name");
    registry
}

async fn greeting_patch(ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
    let activity = if ctx.patched("greet-v2") {
        "newGreet"
    } else {
        "oldGreet"
    };
    Ok(ctx
        .activity_by_name(activity, (name,))
        .start_to_close_timeout(Duration::from_secs(10))
        .await?)
}

fn rejected(file: &str) -> NondeterminismError {
    match replay(file) {
        Err(ReplayError::Nondeterminism(e)) => *e,
        other => panic!("{file}: expected a nondeterminism error, got {other:?}"),
    }
}

fn assert_replays(file: &str) {
    if let Err(e) = replay(file) {
        panic!("{file} does not replay: {e}");
    }
}

#[test]
fn a_local_activity_of_another_type_is_nondeterminism() {
    let e = rejected("la-type-changed.json");
    assert_eq!(e.event_id, 5, "{e}");
    assert!(e.history.contains("activity_type=localHello"), "{e}");
    assert!(e.code.contains("activity_type=localGreet"), "{e}");
    let location = e.location.clone().unwrap_or_default();
    assert!(location.contains("corpus.rs"), "the line of the call: {e}");
}

#[test]
fn a_local_activity_with_another_id_is_nondeterminism() {
    let e = rejected("la-id-changed.json");
    assert!(e.history.contains("activity_id=greet-world"), "{e}");
    assert!(e.code.contains("activity_id=1 "), "{e}");
}

#[test]
fn a_local_activity_with_another_sequence_number_is_nondeterminism() {
    let e = rejected("la-seq-changed.json");
    assert!(e.history.contains("seq=2"), "{e}");
    assert!(e.code.contains("seq=1"), "{e}");
}

#[test]
fn a_patch_recorded_under_another_id_is_nondeterminism() {
    let e = rejected("patch-id-changed.json");
    assert!(e.history.contains("patch_id=greet-v3"), "{e}");
}

#[test]
fn a_patch_removed_without_deprecation_is_nondeterminism() {
    let e = rejected("patch-removed-undeprecated.json");
    assert!(e.history.contains("patch_id=audit-v2"), "{e}");
    assert!(e.code.contains("patch_id=greet-v2"), "{e}");
}

#[test]
fn a_deprecated_patch_may_be_removed() {
    assert_replays("patch-removed-deprecated.json");
}

#[test]
fn the_parent_fails_as_soon_as_a_child_cannot_start() {
    assert_replays("parent-duplicate-child.json");
}

#[test]
fn the_parent_canceled_while_children_run_replays_with_its_children() {
    assert_replays("parent-canceled-while-children-run.json");
    assert_replays("parent-canceled-child-slow-bob.json");
    assert_replays("parent-canceled-child-slow-carol.json");
}

#[test]
fn parallel_activities_fail_at_the_first_failing_branch() {
    assert_replays("parallel-failing-branch.json");
}

#[test]
fn parallel_activities_canceled_with_the_workflow_are_all_canceled() {
    assert_replays("parallel-canceled.json");
}

#[test]
fn a_trip_canceled_while_booking_compensates_and_fails() {
    // Python's `except ActivityError` also catches an activity canceled with the workflow.
    assert_replays("saga-canceled.json");
}

#[test]
fn the_local_activity_id_option_reproduces_the_recorded_marker() {
    // The code that recorded la-id-changed.json, written with Reprise: it replays.
    async fn recorded_by(ctx: WorkflowContext, (): ()) -> WorkflowResult<Vec<String>> {
        let a: String = ctx
            .local_activity_by_name("localGreet", ("world",))
            .start_to_close_timeout(Duration::from_secs(5))
            .activity_id("greet-world")
            .await?;
        Ok(vec![a])
    }
    let mut registry = WorkflowRegistry::new();
    registry
        .register("LocalActivityWorkflow", recorded_by)
        .expect("register");
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fidelity/la-id-changed.json");
    let history = reprise::history::load_file(path).expect("fixture loads");
    Replayer::new(registry).replay(&history).expect("replays");
}
