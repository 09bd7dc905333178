//! Writing histories: canonical proto3 JSON (byte for byte what `temporal workflow show --output
//! json` writes) and protobuf binary.

use super::format::ProtoJsonFormatter;
use super::{History, HistoryError};
use prost::Message as _;
use serde::Serialize as _;
use std::io::{self, Write};
use std::path::Path;

/// Writes `history` as pretty-printed proto3 JSON, exactly as the Temporal CLI (Go's `protojson`)
/// does: 2-space indentation, fields in `.proto` declaration order, map keys sorted, int64 values as
/// strings, enums by full name, `Z` timestamps, `"10s"` durations, integral doubles without a
/// fraction (`2`, not `2.0`), and a trailing newline.
///
/// Fails only if the history cannot be represented in proto3 JSON: an enum field holding a number
/// that is not a known value of its enum, or a non-finite double.
pub fn to_json_string(history: &History) -> Result<String, HistoryError> {
    let mut out = Vec::with_capacity(history.events.len() * 600 + 16);
    to_json_writer(&mut out, history)?;
    // serde_json only ever writes valid UTF-8; the fallback is never taken.
    String::from_utf8(out).map_err(|e| HistoryError::Write {
        file: None,
        source: serde_json::Error::io(io::Error::new(io::ErrorKind::InvalidData, e)),
    })
}

/// Writes `history` to `writer` in the same form as [`to_json_string`] (trailing newline included).
///
/// The writer is not buffered here: wrap a file or socket in a [`std::io::BufWriter`].
pub fn to_json_writer<W: Write>(mut writer: W, history: &History) -> Result<(), HistoryError> {
    let write_err = |source| HistoryError::Write { file: None, source };
    let mut ser = serde_json::Serializer::with_formatter(&mut writer, ProtoJsonFormatter::new());
    history.serialize(&mut ser).map_err(write_err)?;
    writer
        .write_all(b"\n")
        .map_err(|e| write_err(serde_json::Error::io(e)))?;
    Ok(())
}

/// Encodes `history` as protobuf binary (the `temporal.api.history.v1.History` message).
pub fn to_proto_bytes(history: &History) -> Vec<u8> {
    history.encode_to_vec()
}

/// Saves `history` to `path` as canonical proto3 JSON (see [`to_json_string`]), replacing the file
/// if it exists. Use [`to_proto_bytes`] with [`std::fs::write`] for protobuf binary.
pub fn save_file(path: impl AsRef<Path>, history: &History) -> Result<(), HistoryError> {
    let path = path.as_ref();
    let io_err = |source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io_err)?;
    let mut writer = io::BufWriter::new(file);
    to_json_writer(&mut writer, history).map_err(|e| e.with_file(path))?;
    writer.flush().map_err(io_err)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::api::temporal::api::history::v1::HistoryEvent;

    #[test]
    fn minimal_history_text() {
        let history = History {
            events: vec![HistoryEvent {
                event_id: 1,
                event_type: 1,
                task_id: 7,
                ..Default::default()
            }],
        };
        let expected = "{\n  \"events\": [\n    {\n      \"eventId\": \"1\",\n      \"eventType\": \
                        \"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED\",\n      \"taskId\": \"7\"\n    }\n  ]\n}\n";
        assert_eq!(to_json_string(&history).unwrap(), expected);
        assert_eq!(
            History::decode(to_proto_bytes(&history).as_slice()).unwrap(),
            history
        );
    }

    #[test]
    fn unknown_enum_number_is_a_write_error() {
        let history = History {
            events: vec![HistoryEvent {
                event_id: 1,
                event_type: 9999,
                ..Default::default()
            }],
        };
        let err = to_json_string(&history).unwrap_err();
        assert!(matches!(err, HistoryError::Write { .. }), "{err:?}");
        assert!(err.to_string().contains("9999"), "{err}");
    }
}
