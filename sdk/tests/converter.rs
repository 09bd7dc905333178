//! `reprise::converter` against the payloads the official Python SDK wrote in the fixture
//! histories, and the converter's own round trips: null, bytes, protobuf, arguments. Codecs and
//! failures are in converter_failures.rs.

#![allow(clippy::unwrap_used)]

mod converter_support;

use converter_support::*;
use prost::Message;
use reprise::api::temporal::api::common::v1::{Payload, WorkflowExecution};
use reprise::api::temporal::api::history::v1::history_event::Attributes;
use reprise::converter::encoding::{
    BINARY_NULL, BINARY_PLAIN, BINARY_PROTOBUF, JSON_PLAIN, JSON_PROTOBUF, METADATA_MESSAGE_TYPE,
};
use reprise::converter::{Binary, ConversionError, DataConverter, FromPayloads, Proto, ToPayloads};
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// Byte-exact payloads, as the Python SDK writes them

#[test]
fn payloads_match_the_python_sdk_byte_for_byte() {
    let raw: serde_json::Value = serde_json::from_str(&fixture("01-order.json")).unwrap();
    let events = raw["events"].as_array().unwrap();
    let c = DataConverter::default();

    let started = &events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"];
    let input = OrderInput {
        amount: 42.5,
        order_id: "order-1".into(),
    };
    assert_eq!(
        c.to_payload(&input).unwrap(),
        payload_from_json(&started[0])
    );
    assert_eq!(
        c.from_payload::<OrderInput>(&payload_from_json(&started[0]))
            .unwrap(),
        input
    );

    let scheduled = &events[4]["activityTaskScheduledEventAttributes"]["input"]["payloads"];
    let expected: Vec<Payload> = scheduled
        .as_array()
        .unwrap()
        .iter()
        .map(payload_from_json)
        .collect();
    assert_eq!(("order-1", 42.5).to_payloads(&c).unwrap(), expected);
    assert_eq!(expected[0].data, b"\"order-1\"");
    assert_eq!(expected[0].metadata.len(), 1);
    assert_eq!(encoding(&expected[0]), "json/plain");

    let completed = &events[16]["workflowExecutionCompletedEventAttributes"]["result"]["payloads"];
    let result = OrderResult {
        charge_id: "charge-order-1-4250".into(),
        db: "order order-1 stored with charge-order-1-4250".into(),
        order_id: "order-1".into(),
    };
    assert_eq!(
        c.to_payload(&result).unwrap(),
        payload_from_json(&completed[0])
    );

    assert_eq!(c.to_payload(&1).unwrap(), json_payload("1"));
    assert_eq!(
        c.to_payload(&"order-1".to_string()).unwrap(),
        json_payload("\"order-1\"")
    );
}

#[test]
fn every_payload_of_the_order_history_decodes() {
    let c = DataConverter::default();
    let mut seen = 0;
    for event in history("01-order.json").events {
        match event.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                let (input,): (OrderInput,) =
                    FromPayloads::from_payloads(&c, &a.input.unwrap().payloads).unwrap();
                assert_eq!(input.order_id, "order-1");
                seen += 1;
            }
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                let (order, second): (String, serde_json::Value) =
                    FromPayloads::from_payloads(&c, &a.input.unwrap().payloads).unwrap();
                assert_eq!(order, "order-1");
                assert!(
                    second == 42.5 || second == "charge-order-1-4250",
                    "{second}"
                );
                seen += 1;
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                let (result,): (String,) =
                    FromPayloads::from_payloads(&c, &a.result.unwrap().payloads).unwrap();
                assert!(result.contains("charge-order-1-4250"));
                seen += 1;
            }
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                let (result,): (OrderResult,) =
                    FromPayloads::from_payloads(&c, &a.result.unwrap().payloads).unwrap();
                assert_eq!(result.charge_id, "charge-order-1-4250");
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 6);
}

// ---------------------------------------------------------------------------------------------
// Null, bytes, protobuf

#[test]
fn null_values() {
    let c = DataConverter::default();
    let null = payload(BINARY_NULL, b"");
    assert_eq!(c.to_payload(&()).unwrap(), null);
    assert_eq!(c.to_payload(&None::<u32>).unwrap(), null);
    assert_eq!(c.to_payload(&Some(())).unwrap(), null);
    c.from_payload::<()>(&null).unwrap();
    assert_eq!(c.from_payload::<Option<OrderInput>>(&null).unwrap(), None);
    assert_eq!(
        c.from_payload::<serde_json::Value>(&null).unwrap(),
        serde_json::Value::Null
    );
    let err = c.from_payload::<String>(&null).unwrap_err().to_string();
    assert!(
        err.starts_with("cannot decode binary/null payload: invalid type: null"),
        "{err}"
    );
    // JSON null, as some SDKs write `None` in a json/plain payload, reads the same.
    assert_eq!(
        c.from_payload::<Option<u8>>(&json_payload("null")).unwrap(),
        None
    );
}

#[test]
fn bytes() {
    let c = DataConverter::default();
    let bytes = Binary(vec![0xde, 0xad, 0xbe, 0xef]);
    let p = c.to_payload(&bytes).unwrap();
    assert_eq!(p, payload(BINARY_PLAIN, &[0xde, 0xad, 0xbe, 0xef]));
    assert_eq!(c.from_payload::<Binary>(&p).unwrap(), bytes);
    assert_eq!(c.from_payload::<Vec<u8>>(&p).unwrap(), bytes.0);
    assert_eq!(
        c.to_payload(&Binary(vec![])).unwrap(),
        payload(BINARY_PLAIN, b"")
    );
    // What the Python SDK writes for `bytes` reads as Binary; a base64 JSON string also does.
    assert_eq!(
        c.from_payload::<Binary>(&json_payload("\"3q2+7w==\""))
            .unwrap(),
        bytes
    );
    assert_eq!(
        c.from_payload::<Binary>(&json_payload("[222,173,190,239]"))
            .unwrap(),
        bytes
    );
    // A plain Vec<u8> is a JSON array, as in every SDK's JSON converter.
    assert_eq!(c.to_payload(&vec![1u8, 2]).unwrap(), json_payload("[1,2]"));
}

#[test]
fn protobuf_messages() {
    let c = DataConverter::default();
    let execution = WorkflowExecution {
        workflow_id: "corpus-order".into(),
        run_id: "r-1".into(),
    };
    let p = c.to_payload(&Proto(execution.clone())).unwrap();
    assert_eq!(encoding(&p), JSON_PROTOBUF);
    assert_eq!(
        p.metadata[METADATA_MESSAGE_TYPE],
        b"temporal.api.common.v1.WorkflowExecution"
    );
    assert_eq!(p.data, br#"{"workflowId":"corpus-order","runId":"r-1"}"#);
    assert_eq!(
        c.from_payload::<Proto<WorkflowExecution>>(&p).unwrap().0,
        execution
    );

    // As a field of a JSON value, the message's proto3 JSON.
    #[derive(Serialize)]
    struct Wrapper {
        execution: Proto<WorkflowExecution>,
    }
    let p = c
        .to_payload(&Wrapper {
            execution: Proto(execution.clone()),
        })
        .unwrap();
    assert_eq!(
        p.data,
        br#"{"execution":{"workflowId":"corpus-order","runId":"r-1"}}"#
    );

    // binary/protobuf, as Go's ProtoPayloadConverter writes, reads into Proto only.
    let mut bin = payload(BINARY_PROTOBUF, &execution.encode_to_vec());
    bin.metadata.insert(
        METADATA_MESSAGE_TYPE.into(),
        b"temporal.api.common.v1.WorkflowExecution".to_vec(),
    );
    assert_eq!(
        c.from_payload::<Proto<WorkflowExecution>>(&bin).unwrap().0,
        execution
    );
    let err = c.from_payload::<OrderInput>(&bin).unwrap_err();
    assert!(
        matches!(err, ConversionError::Decode { ref encoding, .. } if encoding == BINARY_PROTOBUF)
    );
}

// ---------------------------------------------------------------------------------------------
// Arguments and errors

#[test]
fn multiple_arguments() {
    let c = DataConverter::default();
    let input = OrderInput {
        amount: 1.5,
        order_id: "o".into(),
    };
    let payloads = (&input, "note", Binary(vec![7]), None::<u8>)
        .to_payloads(&c)
        .unwrap();
    assert_eq!(
        payloads.iter().map(encoding).collect::<Vec<_>>(),
        [JSON_PLAIN, JSON_PLAIN, BINARY_PLAIN, BINARY_NULL]
    );
    let (a, b, d, e): (OrderInput, String, Binary, Option<u8>) =
        FromPayloads::from_payloads(&c, &payloads).unwrap();
    assert_eq!((a, b.as_str(), d.0, e), (input, "note", vec![7], None));

    // A trailing Option argument may be omitted; extra payloads are ignored.
    let (a, b): (String, Option<u32>) =
        FromPayloads::from_payloads(&c, &("x",).to_payloads(&c).unwrap()).unwrap();
    assert_eq!((a.as_str(), b), ("x", None));
    let (a,): (String,) =
        FromPayloads::from_payloads(&c, &("x", 1, 2).to_payloads(&c).unwrap()).unwrap();
    assert_eq!(a, "x");
    let err = <(String, u32)>::from_payloads(&c, &[json_payload("\"x\"")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing argument 1: only 1 payload(s) given"
    );

    // No arguments, and untyped passthrough.
    assert!(().to_payloads(&c).unwrap().is_empty());
    <()>::from_payloads(&c, &payloads).unwrap();
    assert_eq!(payloads.to_payloads(&c).unwrap(), payloads);
    assert_eq!(
        Vec::<Payload>::from_payloads(&c, &payloads).unwrap(),
        payloads
    );
}

#[test]
fn wrong_types_and_unknown_encodings_are_clear_errors() {
    let c = DataConverter::default();
    let err = c
        .from_payload::<u64>(&json_payload("\"order-1\""))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot decode json/plain payload: \
         invalid type: string \"order-1\", expected u64 at line 1 column 9"
    );
    let err = c
        .from_payload::<OrderInput>(&json_payload(r#"{"amount":1}"#))
        .unwrap_err();
    assert!(err.to_string().contains("missing field `orderId`"), "{err}");
    let err = <(String, u64)>::from_payloads(&c, &[json_payload("\"a\""), json_payload("-1")])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("argument 1: cannot decode json/plain payload"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());

    let err = c
        .from_payload::<String>(&payload("binary/snappy", b"..."))
        .unwrap_err();
    assert!(matches!(err, ConversionError::UnknownEncoding(ref e) if e == "binary/snappy"));
    assert_eq!(err.to_string(), "unknown payload encoding `binary/snappy`");
    let err = c.from_payload::<String>(&Payload::default()).unwrap_err();
    assert!(matches!(err, ConversionError::MissingEncoding));

    // Serialization errors name the encoding too.
    let mut bad_keys = std::collections::HashMap::new();
    bad_keys.insert(vec![1u8], 1);
    let err = c.to_payload(&bad_keys).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot encode value as json/plain: "),
        "{err}"
    );
}
