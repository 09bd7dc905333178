#![allow(clippy::unwrap_used)]

use super::*;
use crate::api::temporal::api::common::v1::WorkflowExecution;
use prost::Message;
use serde::Deserialize;

fn conv() -> DataConverter {
    DataConverter::default()
}

fn enc(p: &Payload) -> &str {
    encoding_of(p).unwrap()
}

#[test]
fn ordinary_values_are_compact_json() {
    let c = conv();
    let p = c.to_payload("order-1").unwrap();
    assert_eq!(enc(&p), JSON_PLAIN);
    assert_eq!(p.data, b"\"order-1\"");
    assert_eq!(p.metadata.len(), 1);
    assert_eq!(c.to_payload(&1).unwrap().data, b"1");
    assert_eq!(c.to_payload(&42.5).unwrap().data, b"42.5");
    assert_eq!(c.to_payload(&vec![1, 2]).unwrap().data, b"[1,2]");
    assert_eq!(c.to_payload(&Some("x")).unwrap().data, b"\"x\"");
    #[derive(Serialize)]
    struct Id(u64);
    assert_eq!(c.to_payload(&Id(7)).unwrap().data, b"7");
}

#[test]
fn unit_and_none_are_binary_null() {
    let c = conv();
    for p in [
        c.to_payload(&()).unwrap(),
        c.to_payload(&None::<String>).unwrap(),
    ] {
        assert_eq!(enc(&p), BINARY_NULL);
        assert!(p.data.is_empty());
    }
    let p = c.to_payload(&()).unwrap();
    c.from_payload::<()>(&p).unwrap();
    assert_eq!(c.from_payload::<Option<u32>>(&p).unwrap(), None);
    assert!(c.from_payload::<u32>(&p).is_err());
}

#[test]
fn binary_round_trips_and_is_looked_through_some_and_newtypes() {
    let c = conv();
    let p = c.to_payload(&Binary(vec![0, 1, 255])).unwrap();
    assert_eq!(enc(&p), BINARY_PLAIN);
    assert_eq!(p.data, [0, 1, 255]);
    assert_eq!(c.from_payload::<Binary>(&p).unwrap().0, [0, 1, 255]);
    assert_eq!(c.from_payload::<Vec<u8>>(&p).unwrap(), [0, 1, 255]);
    assert_eq!(
        c.from_payload::<Option<Binary>>(&p).unwrap(),
        Some(Binary(vec![0, 1, 255]))
    );
    assert_eq!(
        enc(&c.to_payload(&Some(Binary(vec![1]))).unwrap()),
        BINARY_PLAIN
    );
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Blob(Binary);
    let p = c.to_payload(&Blob(Binary(vec![9]))).unwrap();
    assert_eq!(enc(&p), BINARY_PLAIN);
    assert_eq!(c.from_payload::<Blob>(&p).unwrap(), Blob(Binary(vec![9])));
}

#[test]
fn binary_inside_json_is_base64_and_reads_arrays_too() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Doc {
        blob: Binary,
    }
    let c = conv();
    let p = c
        .to_payload(&Doc {
            blob: Binary(b"hello".to_vec()),
        })
        .unwrap();
    assert_eq!(enc(&p), JSON_PLAIN);
    assert_eq!(p.data, br#"{"blob":"aGVsbG8="}"#);
    assert_eq!(c.from_payload::<Doc>(&p).unwrap().blob.0, b"hello");
    let p = new_payload(JSON_PLAIN, br#"{"blob":[104,105]}"#.to_vec());
    assert_eq!(c.from_payload::<Doc>(&p).unwrap().blob.0, b"hi");
    let p = new_payload(JSON_PLAIN, br#""aGk""#.to_vec());
    assert_eq!(c.from_payload::<Binary>(&p).unwrap().0, b"hi");
    let p = new_payload(JSON_PLAIN, br#""not base64!""#.to_vec());
    assert!(c.from_payload::<Binary>(&p).is_err());
}

#[test]
fn proto_is_json_protobuf_with_message_type() {
    let c = conv();
    let we = WorkflowExecution {
        workflow_id: "wf".into(),
        run_id: "r1".into(),
    };
    let p = c.to_payload(&Proto(we.clone())).unwrap();
    assert_eq!(enc(&p), JSON_PROTOBUF);
    assert_eq!(
        p.metadata.get(METADATA_MESSAGE_TYPE).map(Vec::as_slice),
        Some(&b"temporal.api.common.v1.WorkflowExecution"[..])
    );
    assert_eq!(p.data, br#"{"workflowId":"wf","runId":"r1"}"#);
    assert_eq!(
        c.from_payload::<Proto<WorkflowExecution>>(&p).unwrap().0,
        we
    );
    // Twice: the interned name is reused.
    assert_eq!(c.to_payload(&Proto(we.clone())).unwrap(), p);

    let mut bin = new_payload(BINARY_PROTOBUF, we.encode_to_vec());
    bin.metadata.insert(
        METADATA_MESSAGE_TYPE.into(),
        p.metadata[METADATA_MESSAGE_TYPE].clone(),
    );
    assert_eq!(
        c.from_payload::<Proto<WorkflowExecution>>(&bin).unwrap().0,
        we
    );
    assert_eq!(
        c.from_payload::<Option<Proto<WorkflowExecution>>>(&bin)
            .unwrap()
            .unwrap()
            .0,
        we
    );
    let err = c.from_payload::<String>(&bin).unwrap_err().to_string();
    assert!(
        err.contains("binary/protobuf") && err.contains("Proto<M>"),
        "{err}"
    );
}

#[test]
fn decode_errors_name_the_encoding() {
    let c = conv();
    let p = c.to_payload("text").unwrap();
    let err = c.from_payload::<u32>(&p).unwrap_err();
    assert!(matches!(err, ConversionError::Decode { ref encoding, .. } if encoding == JSON_PLAIN));
    assert!(
        err.to_string()
            .starts_with("cannot decode json/plain payload: invalid type"),
        "{err}"
    );

    let p = new_payload("binary/encrypted", vec![1]);
    let err = c.from_payload::<u32>(&p).unwrap_err();
    assert!(matches!(err, ConversionError::UnknownEncoding(ref e) if e == "binary/encrypted"));
    assert_eq!(
        err.to_string(),
        "unknown payload encoding `binary/encrypted`"
    );

    let p = Payload {
        data: b"1".to_vec(),
        ..Default::default()
    };
    assert!(matches!(
        c.from_payload::<u32>(&p),
        Err(ConversionError::MissingEncoding)
    ));
}
