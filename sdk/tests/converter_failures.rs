//! `reprise::converter` against the failures the official Python SDK wrote in the fixture
//! histories, and the converter's own round trips: codecs (through failures' nested details),
//! failures of every kind, Rust errors, encoded failure attributes.

#![allow(clippy::unwrap_used)]

mod converter_support;

use converter_support::*;
use prost::Message;
use reprise::api::temporal::api::common::v1::Payload;
use reprise::api::temporal::api::enums::v1::{
    ApplicationErrorCategory, NexusHandlerErrorRetryBehavior, RetryState, TimeoutType,
};
use reprise::api::temporal::api::failure::v1 as proto;
use reprise::api::temporal::api::history::v1::history_event::Attributes;
use reprise::converter::{
    ApplicationFailure, ApplicationInfo, CodecError, ConversionError, DataConverter,
    FAILURE_SOURCE, Failure, FailureKind, PayloadCodec, ToPayloads, encoding_of,
};
use serde::Deserialize;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Codecs

/// Wraps each payload in a new one, as real codecs do: encoding `binary/test-codec`, the original
/// payload protobuf-encoded (and here, bytes reversed) as data. Passes other payloads through.
struct TestCodec;

const TEST_CODEC: &str = "binary/test-codec";

impl PayloadCodec for TestCodec {
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        Ok(payloads
            .into_iter()
            .map(|p| {
                let mut data = p.encode_to_vec();
                data.reverse();
                payload(TEST_CODEC, &data)
            })
            .collect())
    }

    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads
            .into_iter()
            .map(|p| {
                if encoding_of(&p) != Some(TEST_CODEC) {
                    return Ok(p);
                }
                let mut data = p.data;
                data.reverse();
                Payload::decode(data.as_slice())
                    .map_err(|e| CodecError::with_source("test codec: bad payload", e))
            })
            .collect()
    }
}

#[test]
fn codec_round_trip() {
    let c = DataConverter::default().with_codec(TestCodec);
    let plain = ("order-1", 42.5).to_payloads(&c).unwrap();
    let encoded = c.encode_payloads(plain.clone()).unwrap();
    assert!(encoded.iter().all(|p| encoding(p) == TEST_CODEC));
    assert_ne!(encoded, plain);
    // Undecoded, the codec's encoding is not one the converter reads.
    let err = c.from_payload::<String>(&encoded[0]).unwrap_err();
    assert!(matches!(err, ConversionError::UnknownEncoding(ref e) if e == TEST_CODEC));
    let decoded = c.decode_payloads(encoded).unwrap();
    assert_eq!(decoded, plain);
    // Payloads the codec did not encode pass through.
    assert_eq!(c.decode_payloads(plain.clone()).unwrap(), plain);
    // Corrupt data is a codec error.
    let err = c
        .decode_payloads(vec![payload(TEST_CODEC, &[0xff])])
        .unwrap_err();
    assert!(matches!(err, ConversionError::Codec(_)));
    assert_eq!(
        err.to_string(),
        "payload codec failed: test codec: bad payload"
    );
}

/// Details in every failure of a 3-deep chain, of each kind that carries payloads.
fn failure_with_details(c: &DataConverter) -> Failure {
    let reset = Failure::new(
        "reset",
        FailureKind::ResetWorkflow {
            last_heartbeat_details: ("r",).to_payloads(c).unwrap(),
        },
    );
    let timeout = Failure::new(
        "heartbeat timeout",
        FailureKind::Timeout {
            timeout_type: TimeoutType::Heartbeat,
            last_heartbeat_details: (3, "progress").to_payloads(c).unwrap(),
        },
    )
    .with_cause(reset);
    let canceled = Failure::new(
        "canceled",
        FailureKind::Canceled {
            details: ("why",).to_payloads(c).unwrap(),
            identity: "me".into(),
        },
    )
    .with_cause(timeout);
    ApplicationFailure::new("no cars available")
        .with_type("NoCarsAvailable")
        .with_details(&("trip-11", 2), c)
        .unwrap()
        .with_cause(canceled)
        .into()
}

#[test]
fn codec_applies_to_every_payload_of_a_failure_chain() {
    let c = DataConverter::default().with_codec(TestCodec);
    let failure = failure_with_details(&c);
    let mut wire = failure.to_proto();
    c.encode_failure(&mut wire).unwrap();

    let mut count = 0;
    let mut level = Some(&wire);
    while let Some(f) = level {
        let payloads = match &f.failure_info {
            Some(proto::failure::FailureInfo::ApplicationFailureInfo(i)) => &i.details,
            Some(proto::failure::FailureInfo::CanceledFailureInfo(i)) => &i.details,
            Some(proto::failure::FailureInfo::TimeoutFailureInfo(i)) => &i.last_heartbeat_details,
            Some(proto::failure::FailureInfo::ResetWorkflowFailureInfo(i)) => {
                &i.last_heartbeat_details
            }
            other => panic!("unexpected {other:?}"),
        };
        for p in &payloads.as_ref().unwrap().payloads {
            assert_eq!(encoding(p), TEST_CODEC);
            count += 1;
        }
        assert!(f.encoded_attributes.is_none());
        level = f.cause.as_deref();
    }
    assert_eq!(count, 6);

    // Through the wire and back.
    let mut received = proto::Failure::decode(wire.encode_to_vec().as_slice()).unwrap();
    c.decode_failure(&mut received).unwrap();
    let back = Failure::from_proto(received);
    assert_eq!(back, failure);
    let timeout = back.chain().nth(2).unwrap();
    assert_eq!(
        timeout.details::<(u32, String)>(&c).unwrap(),
        (3, "progress".into())
    );
    let (trip, attempt): (String, u32) = back.details(&c).unwrap();
    assert_eq!((trip.as_str(), attempt), ("trip-11", 2));
}

// ---------------------------------------------------------------------------------------------
// Failures

/// One failure of every kind, all fields set.
fn every_kind(c: &DataConverter) -> Vec<Failure> {
    let details = ("detail", 1).to_payloads(c).unwrap();
    let kinds = vec![
        FailureKind::Application(ApplicationInfo {
            error_type: "NoCarsAvailable".into(),
            non_retryable: true,
            details: details.clone(),
            next_retry_delay: Some(Duration::from_millis(1500)),
            category: ApplicationErrorCategory::Benign,
        }),
        FailureKind::Timeout {
            timeout_type: TimeoutType::StartToClose,
            last_heartbeat_details: details.clone(),
        },
        FailureKind::Canceled {
            details: details.clone(),
            identity: "client@host".into(),
        },
        FailureKind::Terminated {
            identity: "admin@host".into(),
        },
        FailureKind::Server {
            non_retryable: true,
        },
        FailureKind::ResetWorkflow {
            last_heartbeat_details: details,
        },
        FailureKind::Activity {
            activity_type: "bookCar".into(),
            activity_id: "3".into(),
            scheduled_event_id: 17,
            started_event_id: 18,
            identity: "23922@vm".into(),
            retry_state: RetryState::MaximumAttemptsReached,
        },
        FailureKind::ChildWorkflow {
            namespace: "default".into(),
            workflow_id: "corpus-child-mallory".into(),
            run_id: "run-1".into(),
            workflow_type: "ChildWorkflow".into(),
            initiated_event_id: 5,
            started_event_id: 6,
            retry_state: RetryState::NonRetryableFailure,
        },
        FailureKind::NexusOperation {
            scheduled_event_id: 9,
            endpoint: "ep".into(),
            service: "svc".into(),
            operation: "op".into(),
            operation_token: "token".into(),
            operation_id: "legacy".into(),
        },
        FailureKind::NexusHandler {
            error_type: "BAD_REQUEST".into(),
            retry_behavior: NexusHandlerErrorRetryBehavior::NonRetryable,
        },
        FailureKind::Unknown,
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            Failure::new(format!("failure {i}"), kind)
                .with_source("GoSDK")
                .with_stack_trace(format!("main.go:{i}\nruntime.go:1"))
        })
        .collect()
}

#[test]
fn failures_of_every_kind_round_trip_with_three_deep_chains() {
    let c = DataConverter::default();
    let kinds = every_kind(&c);
    for (i, top) in kinds.iter().enumerate() {
        let middle = &kinds[(i + 1) % kinds.len()];
        let bottom = &kinds[(i + 5) % kinds.len()];
        let failure = top
            .clone()
            .with_cause(middle.clone().with_cause(bottom.clone()));
        assert_eq!(failure.chain().count(), 3);

        let wire = failure.to_proto();
        assert_eq!(wire.stack_trace, top.stack_trace);
        assert_eq!(
            wire.cause.as_ref().unwrap().cause.as_ref().unwrap().message,
            bottom.message
        );
        assert_eq!(Failure::from_proto(wire.clone()), failure, "kind {i}");
        // Protobuf → Rust → protobuf is lossless too, also through the binary encoding.
        let decoded = proto::Failure::decode(wire.encode_to_vec().as_slice()).unwrap();
        assert_eq!(Failure::from_proto(decoded).to_proto(), wire, "kind {i}");
    }
}

#[test]
fn failures_from_the_python_sdk() {
    let c = DataConverter::default();

    // A workflow failed with ApplicationError("order order-12 is invalid", {...},
    // type="InvalidOrder", non_retryable=True).
    let failed = history("12-workflow-failure.json")
        .events
        .into_iter()
        .find_map(|e| match e.attributes {
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => a.failure,
            _ => None,
        })
        .unwrap();
    let failure = Failure::from_proto(failed.clone());
    assert_eq!(failure.application_type(), Some("InvalidOrder"));
    assert!(failure.is_non_retryable());
    assert!(failure.stack_trace.contains("raise ApplicationError("));
    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Reason {
        order_id: String,
        reason: String,
    }
    let (reason,): (Reason,) = failure.details(&c).unwrap();
    assert_eq!(
        reason,
        Reason {
            order_id: "order-12".into(),
            reason: "fraud-suspected".into()
        }
    );
    assert_eq!(
        failure.to_string(),
        "application error (InvalidOrder): order order-12 is invalid"
    );
    assert_eq!(failure.to_proto(), failed);

    // The saga: application failure ← activity failure ← application failure.
    let failed = history("11-saga-compensation.json")
        .events
        .into_iter()
        .find_map(|e| match e.attributes {
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => a.failure,
            _ => None,
        })
        .unwrap();
    let failure = Failure::from_proto(failed.clone());
    assert_eq!(failure.chain().count(), 3);
    let activity = failure.cause().unwrap();
    assert!(matches!(
        &activity.kind,
        FailureKind::Activity {
            activity_type,
            retry_state: RetryState::MaximumAttemptsReached,
            scheduled_event_id: 17,
            ..
        } if activity_type == "bookCar"
    ));
    assert_eq!(
        failure.root_cause().application_type(),
        Some("NoCarsAvailable")
    );
    assert_eq!(
        failure.to_string(),
        "application error (TripBookingFailed): trip trip-11 failed and was compensated: \
         NoCarsAvailable: no cars available for trip-11 (attempt 2), caused by: \
         activity error (type: bookCar, id: 3, retry state: maximum attempts reached): \
         Activity task failed, caused by: application error (NoCarsAvailable): \
         no cars available for trip-11 (attempt 2)"
    );
    #[derive(Deserialize)]
    struct Compensations {
        compensations: Vec<String>,
    }
    let (details,): (Compensations,) = failure.details(&c).unwrap();
    assert_eq!(
        details.compensations,
        ["cancelled hotel-trip-11", "cancelled flight-trip-11"]
    );
    assert_eq!(failure.to_proto(), failed);

    // A server-side heartbeat timeout.
    let last_failure = history("09-heartbeat-timeout-retry.json")
        .events
        .into_iter()
        .find_map(|e| match e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => a.last_failure,
            _ => None,
        })
        .unwrap();
    let failure = Failure::from_proto(last_failure);
    assert_eq!(failure.source, "Server");
    assert!(matches!(
        failure.kind,
        FailureKind::Timeout {
            timeout_type: TimeoutType::Heartbeat,
            ..
        }
    ));
}

#[test]
fn application_failure_builder() {
    let c = DataConverter::default();
    let cause = Failure::new("disk full", FailureKind::Unknown);
    let error = ApplicationFailure::new("no cars available")
        .with_type("NoCarsAvailable")
        .non_retryable()
        .with_details(&("trip-11", 3), &c)
        .unwrap()
        .with_next_retry_delay(Duration::from_secs(5))
        .with_category(ApplicationErrorCategory::Benign)
        .with_cause(cause.clone());
    assert_eq!(error.message(), "no cars available");
    assert_eq!(error.error_type(), "NoCarsAvailable");
    assert!(error.is_non_retryable());
    assert_eq!(
        error.details::<(String, u8)>(&c).unwrap(),
        ("trip-11".into(), 3)
    );
    assert_eq!(error.details_payloads().len(), 2);
    assert_eq!(error.next_retry_delay(), Some(Duration::from_secs(5)));
    assert_eq!(error.category(), ApplicationErrorCategory::Benign);
    assert_eq!(error.cause(), Some(&cause));
    assert_eq!(
        error.to_string(),
        "application error (NoCarsAvailable): no cars available, caused by: disk full"
    );

    let failure = Failure::from(error.clone());
    assert_eq!(failure.source, FAILURE_SOURCE);
    let wire = failure.to_proto();
    let Some(proto::failure::FailureInfo::ApplicationFailureInfo(info)) = &wire.failure_info else {
        panic!("not an application failure");
    };
    assert_eq!(info.r#type, "NoCarsAvailable");
    assert!(info.non_retryable);
    assert_eq!(
        info.next_retry_delay.as_ref().map(|d| (d.seconds, d.nanos)),
        Some((5, 0))
    );
    assert_eq!(
        info.details.as_ref().unwrap().payloads[0].data,
        b"\"trip-11\""
    );
    assert_eq!(wire.cause.as_ref().unwrap().message, "disk full");

    let raw = ApplicationFailure::new("raw").with_details_payloads(vec![json_payload("1")]);
    assert_eq!(raw.details::<(u8,)>(&c).unwrap(), (1,));
}

#[derive(Debug)]
struct Outer(Middle);
#[derive(Debug)]
struct Middle(std::io::Error);

impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not book trip")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
impl std::fmt::Display for Middle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("car service unreachable")
    }
}
impl std::error::Error for Middle {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[derive(Debug)]
struct WrapsApplication(ApplicationFailure);
impl std::fmt::Display for WrapsApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("step failed")
    }
}
impl std::error::Error for WrapsApplication {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn rust_errors_become_failures_with_their_source_chain() {
    let error = Outer(Middle(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connect timed out",
    )));
    let failure = Failure::from_error(&error);
    let messages: Vec<_> = failure.chain().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "could not book trip",
            "car service unreachable",
            "connect timed out"
        ]
    );
    assert!(
        failure
            .chain()
            .all(|f| f.application_type() == Some("Error"))
    );
    assert!(
        failure
            .chain()
            .all(|f| f.source == FAILURE_SOURCE && !f.is_non_retryable())
    );

    let failure = Failure::from_error_with_type(&error, "BookingError");
    assert_eq!(failure.application_type(), Some("BookingError"));
    assert_eq!(failure.cause().unwrap().application_type(), Some("Error"));

    // An ApplicationFailure (or Failure) anywhere in the chain is taken as is, with its causes.
    let app = ApplicationFailure::new("no cars")
        .with_type("NoCarsAvailable")
        .non_retryable()
        .with_cause(Failure::new("inner", FailureKind::Unknown));
    let failure = Failure::from_error(&WrapsApplication(app.clone()));
    assert_eq!(failure.message, "step failed");
    assert_eq!(failure.cause().unwrap(), &Failure::from(app.clone()));
    assert_eq!(failure.chain().count(), 3);
    assert_eq!(Failure::from_error(&app), Failure::from(app));

    // Boxed errors work through deref.
    let boxed: Box<dyn std::error::Error + Send + Sync> = "plain message".into();
    let failure = Failure::from_error(&*boxed);
    assert_eq!(failure.message, "plain message");
    assert!(failure.cause.is_none());
}

// ---------------------------------------------------------------------------------------------
// Encoded failure attributes

#[test]
fn encoded_attributes_are_read() {
    // As the official SDKs write it with "encode common attributes" on (and no codec).
    let wire = proto::Failure {
        message: "Encoded failure".into(),
        encoded_attributes: Some(json_payload(
            r#"{"message":"card 4242 declined","stack_trace":"at charge (pay.ts:3)"}"#,
        )),
        failure_info: Some(proto::failure::FailureInfo::ApplicationFailureInfo(
            proto::ApplicationFailureInfo {
                r#type: "CardDeclined".into(),
                ..Default::default()
            },
        )),
        cause: Some(Box::new(proto::Failure {
            message: "Encoded failure".into(),
            encoded_attributes: Some(json_payload(r#"{"message":"inner"}"#)),
            ..Default::default()
        })),
        ..Default::default()
    };
    let failure = Failure::from_proto(wire);
    assert_eq!(failure.message, "card 4242 declined");
    assert_eq!(failure.stack_trace, "at charge (pay.ts:3)");
    assert!(failure.encoded_attributes.is_none());
    assert_eq!(failure.cause().unwrap().message, "inner");
    assert_eq!(failure.cause().unwrap().stack_trace, "");
}

#[test]
fn encoded_attributes_are_written_and_go_through_the_codec() {
    let c = DataConverter::default()
        .with_codec(TestCodec)
        .encode_failure_attributes(true);
    assert!(c.encodes_failure_attributes());
    let failure = failure_with_details(&c).with_stack_trace("src/trip.rs:42");
    let mut wire = failure.to_proto();
    c.encode_failure(&mut wire).unwrap();
    for level in std::iter::successors(Some(&wire), |f| f.cause.as_deref()) {
        assert_eq!(level.message, "Encoded failure");
        assert_eq!(level.stack_trace, "");
        assert_eq!(
            encoding(level.encoded_attributes.as_ref().unwrap()),
            TEST_CODEC
        );
    }

    // Without the codec's decoding, the attributes cannot be read and are kept as they are.
    let undecoded = Failure::from_proto(wire.clone());
    assert_eq!(undecoded.message, "Encoded failure");
    assert!(undecoded.encoded_attributes.is_some());
    assert_eq!(undecoded.to_proto(), wire);

    c.decode_failure(&mut wire).unwrap();
    let attributes = wire.encoded_attributes.as_ref().unwrap();
    assert_eq!(
        attributes.data,
        br#"{"message":"no cars available","stack_trace":"src/trip.rs:42"}"#
    );
    assert_eq!(Failure::from_proto(wire), failure);

    // Without a codec, the attributes are plain JSON.
    let c = DataConverter::default().encode_failure_attributes(true);
    let mut wire = Failure::new("secret", FailureKind::Unknown).to_proto();
    c.encode_failure(&mut wire).unwrap();
    assert_eq!(
        wire.encoded_attributes,
        Some(json_payload(r#"{"message":"secret","stack_trace":""}"#))
    );
    assert_eq!(Failure::from_proto(wire).message, "secret");
}

#[test]
fn converter_is_cheap_to_clone_and_debug_prints() {
    let c = DataConverter::default().with_codec(TestCodec);
    let clone = c.clone();
    assert_eq!(clone.codec_count(), 1);
    assert_eq!(
        format!("{c:?}"),
        "DataConverter { codecs: 1, encode_failure_attributes: false }"
    );
}
