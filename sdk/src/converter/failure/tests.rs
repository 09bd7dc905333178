#![allow(clippy::unwrap_used)]

use super::*;
use crate::api::temporal::api::failure::v1 as proto;
use proto::failure::FailureInfo;

fn activity_failure() -> Failure {
    Failure::new(
        "Activity task failed",
        FailureKind::Activity {
            activity_type: "bookCar".into(),
            activity_id: "3".into(),
            scheduled_event_id: 17,
            started_event_id: 18,
            identity: "23922@vm".into(),
            retry_state: RetryState::MaximumAttemptsReached,
        },
    )
    .with_cause(ApplicationFailure::new("no cars available").with_type("NoCarsAvailable"))
}

#[test]
fn display_reads_the_chain() {
    assert_eq!(
        activity_failure().to_string(),
        "activity error (type: bookCar, id: 3, retry state: maximum attempts reached): \
         Activity task failed, caused by: \
         application error (NoCarsAvailable): no cars available"
    );
    let timeout = Failure::new(
        "activity Heartbeat timeout",
        FailureKind::Timeout {
            timeout_type: TimeoutType::Heartbeat,
            last_heartbeat_details: vec![],
        },
    );
    assert_eq!(
        timeout.to_string(),
        "timeout (heartbeat): activity Heartbeat timeout"
    );
    assert_eq!(
        Failure::new("boom", FailureKind::Unknown).to_string(),
        "boom"
    );
    let app = ApplicationFailure::new("x").with_cause(Failure::new("y", FailureKind::Unknown));
    assert_eq!(app.to_string(), "application error: x, caused by: y");
}

#[test]
fn helpers() {
    let failure = activity_failure();
    assert_eq!(failure.application_type(), None);
    assert_eq!(
        failure.chain().find_map(Failure::application_type),
        Some("NoCarsAvailable")
    );
    assert_eq!(failure.root_cause().message, "no cars available");
    assert!(!failure.is_non_retryable());
    assert!(Failure::from(ApplicationFailure::new("x").non_retryable()).is_non_retryable());
    assert!(
        Failure::new(
            "",
            FailureKind::Server {
                non_retryable: true
            }
        )
        .is_non_retryable()
    );
    let source = StdError::source(&failure).map(ToString::to_string);
    assert_eq!(
        source.as_deref(),
        Some("application error (NoCarsAvailable): no cars available")
    );
}

#[test]
fn unknown_enum_values_read_as_unspecified() {
    let proto = proto::Failure {
        failure_info: Some(FailureInfo::TimeoutFailureInfo(proto::TimeoutFailureInfo {
            timeout_type: 999,
            last_heartbeat_details: None,
        })),
        ..Default::default()
    };
    let failure = Failure::from_proto(proto);
    assert!(matches!(
        failure.kind,
        FailureKind::Timeout {
            timeout_type: TimeoutType::Unspecified,
            ..
        }
    ));
}

#[test]
fn unreadable_encoded_attributes_are_kept() {
    let mut attributes = Payload::default();
    attributes
        .metadata
        .insert("encoding".into(), b"binary/encrypted".to_vec());
    attributes.data = vec![1, 2, 3];
    let proto = proto::Failure {
        message: "Encoded failure".into(),
        encoded_attributes: Some(attributes.clone()),
        ..Default::default()
    };
    let failure = Failure::from_proto(proto.clone());
    assert_eq!(failure.message, "Encoded failure");
    assert_eq!(failure.encoded_attributes.as_ref(), Some(&attributes));
    assert_eq!(failure.to_proto(), proto);
}

#[test]
fn from_error_uses_our_failures_as_is() {
    let app = ApplicationFailure::new("bad")
        .with_type("Bad")
        .non_retryable();
    let failure = Failure::from_error(&app);
    assert_eq!(failure, Failure::from(app));
    assert_eq!(failure.source, FAILURE_SOURCE);
    let inner = activity_failure();
    assert_eq!(Failure::from_error(&inner), inner);
}
