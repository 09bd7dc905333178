//! Helpers shared by the converter tests: fixture histories and payloads written out by hand.
#![allow(dead_code)]

use reprise::api::temporal::api::common::v1::Payload;
use reprise::api::temporal::api::history::v1::History;
use reprise::converter::encoding::{JSON_PLAIN, METADATA_ENCODING};
use reprise::converter::encoding_of;
use serde::{Deserialize, Serialize};

pub(crate) fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../fixtures/histories/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn history(name: &str) -> History {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// Base64 decoding written out here, to read the fixture's bytes without our own code.
pub(crate) fn b64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= u32::from(*d) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// A payload as it appears in a history file: `{"metadata": {k: base64}, "data": base64}`.
pub(crate) fn payload_from_json(value: &serde_json::Value) -> Payload {
    let metadata = value["metadata"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), b64(v.as_str().unwrap())))
        .collect();
    Payload {
        metadata,
        data: b64(value["data"].as_str().unwrap_or("")),
        ..Default::default()
    }
}

pub(crate) fn json_payload(data: &str) -> Payload {
    payload(JSON_PLAIN, data.as_bytes())
}

pub(crate) fn payload(encoding: &str, data: &[u8]) -> Payload {
    let mut p = Payload {
        data: data.to_vec(),
        ..Default::default()
    };
    p.metadata
        .insert(METADATA_ENCODING.into(), encoding.as_bytes().to_vec());
    p
}

pub(crate) fn encoding(p: &Payload) -> &str {
    encoding_of(p).unwrap()
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderInput {
    pub amount: f64,
    pub order_id: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderResult {
    pub charge_id: String,
    pub db: String,
    pub order_id: String,
}
