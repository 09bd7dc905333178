//! Reading histories, leniently: proto3 JSON as any Temporal tool writes it (including the older
//! PascalCase enum spellings, see [`legacy_enums`](super::legacy_enums)) and protobuf binary.

use super::legacy_enums::rewrite_legacy_enums;
use super::{History, HistoryError, HistoryEvent, validate};
use prost::Message as _;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// Parses a history from proto3 JSON text and [validates](validate) it.
///
/// Accepts `{"events": [...]}` (what `temporal workflow show --output json` writes), the
/// `{"history": {"events": [...]}}` wrapper of `GetWorkflowExecutionHistory` responses, and a bare
/// array of events. Unknown fields are ignored and missing ones take their default values; enum
/// values may be full names (`EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`) or the PascalCase short names
/// of older exporters (`WorkflowExecutionStarted`).
pub fn from_json_str(text: &str) -> Result<History, HistoryError> {
    from_json_slice(text.as_bytes())
}

/// Like [`from_json_str`], from bytes (UTF-8, an initial byte-order mark is skipped).
pub fn from_json_slice(bytes: &[u8]) -> Result<History, HistoryError> {
    let history = parse_json(bytes)?;
    validate(&history)?;
    Ok(history)
}

/// Decodes a history from protobuf binary (a `temporal.api.history.v1.History` message) and
/// [validates](validate) it.
pub fn from_proto_bytes(bytes: &[u8]) -> Result<History, HistoryError> {
    let history = decode_proto(bytes)?;
    validate(&history)?;
    Ok(history)
}

/// Loads a history file and [validates](validate) it: proto3 JSON as for [`from_json_slice`], or
/// protobuf binary when the content does not start with `{` or `[` (after whitespace).
///
/// Every error names the file.
pub fn load_file(path: impl AsRef<Path>) -> Result<History, HistoryError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_any(&bytes)
        .and_then(|history| validate(&history).map(|()| history))
        .map_err(|e| e.with_file(path))
}

/// JSON or protobuf binary, by the first significant byte.
fn parse_any(bytes: &[u8]) -> Result<History, HistoryError> {
    if !matches!(first_significant_byte(bytes), Some(b'{' | b'[')) {
        return decode_proto(bytes);
    }
    match parse_json(bytes) {
        Ok(history) => Ok(history),
        // Binary that happens to look like JSON: field 1 (events) is tagged 0x0a, a newline, and
        // its length may be 0x7b (`{`) or 0x5b (`[`). Keep the JSON error if that fails too.
        Err(json_err) if bytes.first() == Some(&b'\n') => decode_proto(bytes).map_err(|_| json_err),
        Err(json_err) => Err(json_err),
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The first byte that is not JSON whitespace (after a byte-order mark, if any).
fn first_significant_byte(bytes: &[u8]) -> Option<u8> {
    strip_bom(bytes)
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Parses without validating. Fast path: straight into the generated types. Only if that fails,
/// and rewriting legacy enum spellings changes something, is the document parsed again that way.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<History, HistoryError> {
    let bytes = strip_bom(bytes);
    match parse_typed(bytes) {
        Ok(history) => Ok(history),
        Err(first_error) => parse_legacy(bytes).unwrap_or(Err(first_error)),
    }
}

/// `{"history": {...}}`: the shape of a `GetWorkflowExecutionHistoryResponse`.
#[derive(serde::Deserialize)]
struct Wrapped {
    #[serde(default)]
    history: Option<History>,
}

fn parse_typed(bytes: &[u8]) -> Result<History, HistoryError> {
    if first_significant_byte(bytes) == Some(b'[') {
        return Ok(History {
            events: from_slice_tracked::<Vec<HistoryEvent>>(bytes)?,
        });
    }
    let history: History = from_slice_tracked(bytes)?;
    if history.events.is_empty() {
        // Unknown fields are ignored, so a wrapped history parses as an empty one: look inside.
        if let Some(inner) = from_slice_tracked::<Wrapped>(bytes)?.history {
            return Ok(inner);
        }
    }
    Ok(history)
}

/// `None` when legacy rewriting cannot help (not JSON, or nothing to rewrite): the caller then
/// reports the error of the typed parse, which has a line and column.
fn parse_legacy(bytes: &[u8]) -> Option<Result<History, HistoryError>> {
    let mut doc: Value = serde_json::from_slice(bytes).ok()?;
    if rewrite_legacy_enums(&mut doc) == 0 {
        return None;
    }
    Some(match &doc {
        Value::Array(_) => {
            from_value_tracked::<Vec<HistoryEvent>>(doc).map(|events| History { events })
        }
        Value::Object(map) if !map.contains_key("events") && map.contains_key("history") => {
            from_value_tracked::<Wrapped>(doc).map(|w| w.history.unwrap_or_default())
        }
        _ => from_value_tracked(doc),
    })
}

fn from_slice_tracked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HistoryError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| HistoryError::from_json(e.path().to_string(), e.into_inner()))?;
    de.end()
        .map_err(|e| HistoryError::from_json(String::new(), e))?;
    Ok(value)
}

fn from_value_tracked<T: DeserializeOwned>(doc: Value) -> Result<T, HistoryError> {
    serde_path_to_error::deserialize(doc)
        .map_err(|e| HistoryError::from_json(e.path().to_string(), e.into_inner()))
}

/// Decodes without validating; on failure, locates the broken event for the message.
pub(crate) fn decode_proto(bytes: &[u8]) -> Result<History, HistoryError> {
    History::decode(bytes).map_err(|source| {
        let (event_index, offset) = locate_proto_error(bytes);
        HistoryError::Protobuf {
            file: None,
            event_index,
            offset,
            source,
        }
    })
}

/// Walks the top-level fields of an encoded `History` to find the first that does not decode.
/// Returns the index of the failing event (field 1, `events`), if the failure is in one, and the
/// byte offset of the failing field's tag.
fn locate_proto_error(bytes: &[u8]) -> (Option<usize>, Option<usize>) {
    let mut pos = 0;
    let mut events = 0;
    while pos < bytes.len() {
        let start = pos;
        let Some(key) = read_varint(bytes, &mut pos) else {
            return (None, Some(start));
        };
        let (field, wire_type) = (key >> 3, key & 7);
        let in_event = (field == 1).then_some(events);
        let end = match wire_type {
            0 => read_varint(bytes, &mut pos).map(|_| pos),
            1 => pos.checked_add(8),
            2 => read_varint(bytes, &mut pos)
                .and_then(|len| usize::try_from(len).ok())
                .and_then(|len| pos.checked_add(len)),
            5 => pos.checked_add(4),
            _ => None, // groups (3, 4) are not expected here, 6 and 7 are invalid
        };
        // Field numbers are 1..2^29-1 and keys fit 32 bits (prost refuses others: found by
        // generated inputs, the error then named no place).
        let valid_key = key <= u64::from(u32::MAX) && (1..1 << 29).contains(&field);
        let Some(end) = end.filter(|&end| valid_key && end <= bytes.len()) else {
            return (in_event, Some(start));
        };
        if field == 1 {
            if wire_type != 2 || HistoryEvent::decode(&bytes[pos..end]).is_err() {
                return (in_event, Some(start));
            }
            events += 1;
        }
        pos = end;
    }
    (None, None)
}

/// Reads a base-128 varint at `*pos`, advancing it. `None` if truncated or longer than 10 bytes.
fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "W"}}}]}"#;

    #[test]
    fn varints() {
        let mut pos = 0;
        assert_eq!(read_varint(&[0x96, 0x01, 0x05], &mut pos), Some(150));
        assert_eq!(pos, 2);
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80, 0x80], &mut pos), None);
        let mut pos = 0;
        assert_eq!(read_varint(&[0xff; 11], &mut pos), None);
    }

    #[test]
    fn detects_binary_that_starts_like_json() {
        let history = parse_json(MINIMAL.as_bytes()).unwrap();
        // Event 1 plus an unknown length-delimited field (2002) padding it to 0x7b (`{`) bytes.
        let event = history.events[0].encode_to_vec();
        let pad = 0x7b - event.len() - 3;
        let mut crafted = vec![0x0a, 0x7b];
        crafted.extend(&event);
        crafted.extend([0x92, 0x7d, pad as u8]);
        crafted.extend(std::iter::repeat_n(b'x', pad));
        assert_eq!(crafted.len(), 2 + 0x7b);
        assert_eq!(first_significant_byte(&crafted), Some(b'{'));
        assert_eq!(parse_any(&crafted).unwrap(), history);
    }

    #[test]
    fn wrappers_and_bom() {
        let history = parse_json(MINIMAL.as_bytes()).unwrap();
        let wrapped = format!(r#"{{"history": {MINIMAL}, "nextPageToken": ""}}"#);
        assert_eq!(parse_json(wrapped.as_bytes()).unwrap(), history);
        let events =
            serde_json::to_string(&serde_json::from_str::<Value>(MINIMAL).unwrap()["events"])
                .unwrap();
        assert_eq!(parse_json(events.as_bytes()).unwrap(), history);
        let bom = format!("\u{feff}{MINIMAL}");
        assert_eq!(parse_json(bom.as_bytes()).unwrap(), history);
        let legacy_wrapped = wrapped.replace(
            "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
            "WorkflowExecutionStarted",
        );
        assert_eq!(parse_json(legacy_wrapped.as_bytes()).unwrap(), history);
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let err = parse_json(format!("{MINIMAL} x").as_bytes()).unwrap_err();
        assert!(
            matches!(err, HistoryError::JsonSyntax { line: 2, .. }),
            "{err}"
        );
    }
}
