//! Reading and writing the recorded histories in `fixtures/histories` (written by
//! `temporal workflow show --output json`, Temporal CLI 1.9.1), and the errors for broken input.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use reprise::api::temporal::api::enums::v1::EventType;
use reprise::api::temporal::api::history::v1::history_event::Attributes;
use reprise::history::{self, History, HistoryError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/histories")
}

/// Every `*.json` history in the fixture folder, sorted, with its text.
fn fixtures() -> Vec<(PathBuf, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 35, "fixture count");
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

fn name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// A scratch directory for this test binary's files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "reprise-history-json-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_fixture_loads_with_all_its_events() {
    for (path, text) in fixtures() {
        let history = history::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let in_file = doc["events"].as_array().unwrap();
        assert_eq!(history.events.len(), in_file.len(), "{}", name(&path));
        // Event ids and types as in the file.
        for (event, json) in history.events.iter().zip(in_file) {
            assert_eq!(
                event.event_id.to_string(),
                json["eventId"].as_str().unwrap()
            );
            let event_type = EventType::try_from(event.event_type).unwrap();
            assert_eq!(
                event_type.as_str_name(),
                json["eventType"].as_str().unwrap()
            );
            assert!(
                event.attributes.is_some(),
                "{} event {}",
                name(&path),
                event.event_id
            );
        }
        let last = history.events.last().unwrap();
        assert!(last.event_time.is_some());
        assert_eq!(
            history::workflow_id(&history),
            doc["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"].as_str()
        );
        assert!(history::workflow_type(&history).is_some_and(|t| t.ends_with("Workflow")));
    }
}

#[test]
fn known_values_of_one_fixture() {
    let history = history::load_file(fixture_dir().join("01-order.json")).unwrap();
    assert_eq!(history.events.len(), 17);
    assert_eq!(history::workflow_id(&history), Some("corpus-order"));
    assert_eq!(history::workflow_type(&history), Some("OrderWorkflow"));
    let scheduled = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => Some(a),
            _ => None,
        })
        .unwrap();
    let retry = scheduled.retry_policy.as_ref().unwrap();
    assert_eq!(retry.backoff_coefficient, 2.0);
    assert_eq!(retry.maximum_attempts, 5);
    let start_to_close = scheduled.start_to_close_timeout.unwrap();
    assert_eq!((start_to_close.seconds, start_to_close.nanos), (10, 0));
    let completed = history.events.last().unwrap();
    assert_eq!(
        completed.event_type,
        EventType::WorkflowExecutionCompleted as i32
    );
}

#[test]
fn writing_reproduces_every_fixture_byte_for_byte() {
    for (path, text) in fixtures() {
        let history = history::from_json_str(&text).unwrap();
        let written = history::to_json_string(&history).unwrap();
        if written != text {
            let line = written.lines().zip(text.lines()).position(|(a, b)| a != b);
            panic!(
                "{}: output differs from the file (first differing line: {:?})\n  ours: {:?}\n  file: {:?}",
                name(&path),
                line.map(|l| l + 1),
                line.and_then(|l| written.lines().nth(l)),
                line.and_then(|l| text.lines().nth(l)),
            );
        }
        // The writer form gives the same bytes.
        let mut buffer = Vec::new();
        history::to_json_writer(&mut buffer, &history).unwrap();
        assert!(
            buffer == text.as_bytes(),
            "{}: to_json_writer differs",
            name(&path)
        );
    }
}

#[test]
fn json_round_trip_is_equal() {
    for (path, text) in fixtures() {
        let history = history::from_json_str(&text).unwrap();
        let again = history::from_json_str(&history::to_json_string(&history).unwrap()).unwrap();
        assert!(again == history, "{}", name(&path));
    }
}

#[test]
fn protobuf_round_trip_is_equal() {
    for (path, text) in fixtures() {
        let history = history::from_json_str(&text).unwrap();
        let bytes = history::to_proto_bytes(&history);
        let decoded = history::from_proto_bytes(&bytes).unwrap();
        assert!(decoded == history, "{}", name(&path));
        // And JSON written from the decoded binary is still the file.
        assert!(
            history::to_json_string(&decoded).unwrap() == text,
            "{}",
            name(&path)
        );
    }
}

#[test]
fn save_file_and_load_file_in_both_encodings() {
    let dir = scratch_dir("save");
    let original = fixture_dir().join("05-updates.json");
    let history = history::load_file(&original).unwrap();

    let json_path = dir.join("copy.json");
    history::save_file(&json_path, &history).unwrap();
    assert!(std::fs::read(&json_path).unwrap() == std::fs::read(&original).unwrap());
    assert!(history::load_file(&json_path).unwrap() == history);

    let binary_path = dir.join("copy.binpb");
    std::fs::write(&binary_path, history::to_proto_bytes(&history)).unwrap();
    assert!(history::load_file(&binary_path).unwrap() == history);

    let err = history::save_file(dir.join("no-such-dir/x.json"), &history).unwrap_err();
    assert!(matches!(err, HistoryError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rewrites every full enum name in `text` the way older exporters wrote them
/// (`"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"` -> `"WorkflowExecutionStarted"`) for the enum-valued
/// keys the reader must accept in that form. Returns the text and how many values of each key were
/// rewritten.
fn to_legacy_spelling(text: &str) -> (String, BTreeMap<&'static str, usize>) {
    const PREFIXES: &[(&str, &str)] = &[
        ("eventType", "EVENT_TYPE_"),
        ("kind", "TASK_QUEUE_KIND_"),
        ("retryState", "RETRY_STATE_"),
        ("timeoutType", "TIMEOUT_TYPE_"),
        ("parentClosePolicy", "PARENT_CLOSE_POLICY_"),
        ("workflowIdReusePolicy", "WORKFLOW_ID_REUSE_POLICY_"),
        ("initiator", "CONTINUE_AS_NEW_INITIATOR_"),
        ("cause", "WORKFLOW_TASK_FAILED_CAUSE_"),
    ];
    let mut counts = BTreeMap::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut rewritten = None;
        for &(key, prefix) in PREFIXES {
            let head = format!("\"{key}\": \"{prefix}");
            let Some(at) = line.find(&head) else { continue };
            let (value, tail) = line[at + head.len()..].split_once('"').unwrap();
            let pascal: String = value
                .split('_')
                .map(|word| word[..1].to_owned() + &word[1..].to_ascii_lowercase())
                .collect();
            *counts.entry(key).or_default() += 1;
            rewritten = Some(format!("{}\"{key}\": \"{pascal}\"{tail}", &line[..at]));
            break;
        }
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    (out, counts)
}

#[test]
fn pascal_case_enums_load_equal_to_the_original() {
    let mut total: BTreeMap<&str, usize> = BTreeMap::new();
    for (path, text) in fixtures() {
        let (legacy, counts) = to_legacy_spelling(&text);
        assert!(
            legacy.contains("\"eventType\": \"WorkflowExecutionStarted\""),
            "{}",
            name(&path)
        );
        assert!(!legacy.contains("\"EVENT_TYPE_"), "{}", name(&path));
        let original = history::from_json_str(&text).unwrap();
        let loaded =
            history::from_json_str(&legacy).unwrap_or_else(|e| panic!("{}: {e}", name(&path)));
        assert!(loaded == original, "{}", name(&path));
        // Written back, it is canonical again.
        assert!(
            history::to_json_string(&loaded).unwrap() == text,
            "{}",
            name(&path)
        );
        for (key, n) in counts {
            *total.entry(key).or_default() += n;
        }
    }
    // Every kind of legacy enum value is exercised (the corpus has each at least once).
    assert_eq!(total.len(), 8, "{total:?}");
    assert_eq!(total["eventType"], 17630);
    assert_eq!(total["cause"], 1);
    assert_eq!(total["timeoutType"], 1);
}

#[test]
fn pascal_case_enums_in_a_hand_written_history() {
    // Nested failure causes, `cause` enums of the failed-command attributes, `initiator`.
    let text = r#"{"events": [
      {"eventId": "1", "eventType": "WorkflowExecutionStarted",
       "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "W"},
         "taskQueue": {"name": "q", "kind": "Normal"}, "initiator": "CronSchedule",
         "continuedFailure": {"message": "m", "cause": {"message": "c",
           "timeoutFailureInfo": {"timeoutType": "StartToClose"}}}}},
      {"eventId": "2", "eventType": "StartChildWorkflowExecutionFailed",
       "startChildWorkflowExecutionFailedEventAttributes": {"cause": "WorkflowAlreadyExists"}},
      {"eventId": "3", "eventType": "SignalExternalWorkflowExecutionFailed",
       "signalExternalWorkflowExecutionFailedEventAttributes": {"cause": "ExternalWorkflowExecutionNotFound"}},
      {"eventId": "4", "eventType": "RequestCancelExternalWorkflowExecutionFailed",
       "requestCancelExternalWorkflowExecutionFailedEventAttributes": {"cause": "NamespaceNotFound"}},
      {"eventId": "5", "eventType": "ActivityTaskTimedOut",
       "activityTaskTimedOutEventAttributes": {"retryState": "Timeout", "failure": {"message": "t",
         "timeoutFailureInfo": {"timeoutType": "Heartbeat"}}}}
    ]}"#;
    let history = history::from_json_str(text).unwrap();
    let canonical = history::to_json_string(&history).unwrap();
    for expected in [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "TASK_QUEUE_KIND_NORMAL",
        "CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE",
        "TIMEOUT_TYPE_START_TO_CLOSE",
        "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND",
        "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND",
        "RETRY_STATE_TIMEOUT",
        "TIMEOUT_TYPE_HEARTBEAT",
    ] {
        assert!(
            canonical.contains(&format!("\"{expected}\"")),
            "{expected} missing:\n{canonical}"
        );
    }
    // A field error in a legacy document is still reported with its path.
    let broken = text.replace("\"eventId\": \"3\"", "\"eventId\": \"three\"");
    let err = history::from_json_str(&broken).unwrap_err();
    assert!(
        matches!(err, HistoryError::JsonField { line: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("`events[2].eventId`"), "{err}");
}

// ---- errors ----------------------------------------------------------------------------------

/// Writes `content` to a scratch file named `file_name`, loads it, and returns the error message.
fn load_error(test: &str, file_name: &str, content: &[u8]) -> (HistoryError, String) {
    let dir = scratch_dir(test);
    let path = dir.join(file_name);
    std::fs::write(&path, content).unwrap();
    let err = history::load_file(&path).expect_err("loading should fail");
    let message = err.to_string();
    eprintln!("{file_name}: {message}");
    assert_eq!(err.file(), Some(path.as_path()));
    std::fs::remove_dir_all(&dir).unwrap();
    (err, message)
}

fn fixture_text(file: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(file)).unwrap()
}

/// `text` with the first occurrence of `from` replaced by `to` (which must exist).
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the fixture");
    text.replacen(from, to, 1)
}

#[test]
fn truncated_file() {
    let text = fixture_text("02-timers.json");
    let truncated = &text[..text.len() / 2];
    let (err, message) = load_error("truncated", "truncated-timers.json", truncated.as_bytes());
    let expected_line = truncated.lines().count();
    assert!(
        matches!(err, HistoryError::JsonSyntax { line, .. } if line == expected_line),
        "{err:?}"
    );
    assert!(message.contains("truncated-timers.json"), "{message}");
    assert!(
        message.contains(&format!("line {expected_line}, column")),
        "{message}"
    );
    assert!(message.contains("EOF while parsing"), "{message}");
    assert!(message.contains("(in events["), "{message}");
    assert!(!message.contains('?'), "{message}");
}

#[test]
fn wrong_type_for_event_id() {
    let text = replace_once(
        &fixture_text("01-order.json"),
        "\"eventId\": \"4\"",
        "\"eventId\": [4]",
    );
    let (err, message) = load_error("event-id", "bad-event-id.json", text.as_bytes());
    assert!(
        matches!(err, HistoryError::JsonField { line: Some(_), .. }),
        "{err:?}"
    );
    assert!(message.contains("bad-event-id.json"), "{message}");
    assert!(message.contains("`events[3].eventId`"), "{message}");
    let line = text.lines().position(|l| l.contains("[4]")).unwrap() + 1;
    assert!(
        message.contains(&format!("at line {line}, column")),
        "{message}"
    );
    assert!(
        message.ends_with("expected a number, or a string holding one"),
        "{message}"
    );
}

#[test]
fn bad_timestamp() {
    let text = fixture_text("01-order.json");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let time = doc["events"][2]["eventTime"].as_str().unwrap().to_owned();
    let text = replace_once(&text, &time, "2026-13-45T99:00:00Z");
    let (_, message) = load_error("timestamp", "bad-time.json", text.as_bytes());
    assert!(message.contains("bad-time.json"), "{message}");
    assert!(message.contains("`events[2].eventTime`"), "{message}");
    assert!(message.contains("invalid timestamp"), "{message}");
}

#[test]
fn invalid_base64() {
    let text = replace_once(
        &fixture_text("01-order.json"),
        "\"data\": \"",
        "\"data\": \"!!not base64",
    );
    let (_, message) = load_error("base64", "bad-base64.json", text.as_bytes());
    assert!(message.contains("bad-base64.json"), "{message}");
    assert!(
        message
            .contains("`events[0].workflowExecutionStartedEventAttributes.input.payloads[0].data`"),
        "{message}"
    );
}

#[test]
fn unknown_enum_name() {
    let text = replace_once(
        &fixture_text("01-order.json"),
        "\"EVENT_TYPE_ACTIVITY_TASK_STARTED\"",
        "\"NoSuchEventType\"",
    );
    let (err, message) = load_error("enum", "bad-enum.json", text.as_bytes());
    assert!(matches!(err, HistoryError::JsonField { .. }), "{err:?}");
    assert!(message.contains("bad-enum.json"), "{message}");
    assert!(message.contains("`events[5].eventType`"), "{message}");
    assert!(
        message.contains("unknown variant `NoSuchEventType`"),
        "{message}"
    );
    assert!(
        !message.contains("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"),
        "too long: {message}"
    );
}

#[test]
fn non_increasing_event_ids() {
    let text = replace_once(
        &fixture_text("01-order.json"),
        "\"eventId\": \"6\"",
        "\"eventId\": \"5\"",
    );
    let (err, message) = load_error("ids", "duplicate-id.json", text.as_bytes());
    assert!(matches!(err, HistoryError::Invalid { .. }), "{err:?}");
    assert!(message.contains("duplicate-id.json"), "{message}");
    assert!(message.contains("`events[5].eventId`"), "{message}");
    assert!(
        message.contains("expected event id 6, found 5"),
        "{message}"
    );
}

#[test]
fn first_event_must_be_workflow_started() {
    let history = history::load_file(fixture_dir().join("01-order.json")).unwrap();
    let mut shifted = History {
        events: history.events[1..].to_vec(),
    };
    for (i, event) in shifted.events.iter_mut().enumerate() {
        event.event_id = i as i64 + 1;
    }
    let text = history::to_json_string(&shifted).unwrap();
    let (_, message) = load_error("first", "no-start.json", text.as_bytes());
    assert!(message.contains("no-start.json"), "{message}");
    assert!(message.contains("`events[0].eventType`"), "{message}");
    assert!(
        message.contains("EVENT_TYPE_WORKFLOW_TASK_SCHEDULED"),
        "{message}"
    );
}

#[test]
fn empty_events() {
    for (i, content) in ["{\"events\": []}\n", "{}", "[]", "{\"history\": {}}"]
        .iter()
        .enumerate()
    {
        let (err, message) = load_error(&format!("empty{i}"), "empty.json", content.as_bytes());
        assert!(
            matches!(err, HistoryError::Invalid { .. }),
            "{content}: {err:?}"
        );
        assert!(message.contains("empty.json"), "{message}");
        assert!(
            message.contains("`events`: the history has no events"),
            "{message}"
        );
    }
    let err = history::from_json_str("{\"events\": []}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid history at `events`: the history has no events"
    );
    assert_eq!(err.file(), None);
}

#[test]
fn garbage_binary() {
    let (err, message) = load_error(
        "garbage",
        "garbage.binpb",
        &[0xff, 0xff, 0xff, 0xff, 0x01, 0x02],
    );
    assert!(
        matches!(
            err,
            HistoryError::Protobuf {
                offset: Some(0),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("garbage.binpb"), "{message}");
    assert!(message.contains("at byte offset 0"), "{message}");
    assert!(
        message.contains("failed to decode Protobuf message"),
        "{message}"
    );
}

#[test]
fn corrupt_event_in_binary_names_event_and_offset() {
    let history = history::load_file(fixture_dir().join("02-timers.json")).unwrap();
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for event in &history.events {
        offsets.push(bytes.len());
        bytes.extend(history::to_proto_bytes(&History {
            events: vec![event.clone()],
        }));
    }
    assert_eq!(bytes, history::to_proto_bytes(&history));
    // Event 5 (index 4): its first field is event_id (tag 0x08); make it wire type 7 (invalid).
    let tag_len = 1 + if bytes[offsets[4] + 1] & 0x80 != 0 {
        2
    } else {
        1
    };
    assert_eq!(bytes[offsets[4] + tag_len], 0x08);
    bytes[offsets[4] + tag_len] = 0x0f;
    let (err, message) = load_error("corrupt", "corrupt.pb", &bytes);
    assert!(
        matches!(
            err,
            HistoryError::Protobuf {
                event_index: Some(4),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("corrupt.pb"), "{message}");
    assert!(
        message.contains(&format!("in events[4] (byte offset {})", offsets[4])),
        "{message}"
    );
    assert!(
        message.contains("History.events: invalid wire type"),
        "{message}"
    );

    // Truncated binary: the last event is cut short.
    let full = history::to_proto_bytes(&history);
    let (err, message) = load_error("cut", "cut.pb", &full[..full.len() - 3]);
    let last = history.events.len() - 1;
    assert!(
        matches!(err, HistoryError::Protobuf { event_index: Some(i), .. } if i == last),
        "{err:?}"
    );
    assert!(message.contains("cut.pb"), "{message}");
}

#[test]
fn missing_file() {
    let path = fixture_dir().join("does-not-exist.json");
    let err = history::load_file(&path).unwrap_err();
    assert!(matches!(err, HistoryError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist.json"), "{err}");
}

#[test]
fn lenient_reading() {
    let text = fixture_text("03b-signal-with-start-batched.json");
    let original = history::from_json_str(&text).unwrap();
    // Unknown fields anywhere are ignored; missing fields default.
    let noisy = text
        .replace(
            "\"taskId\":",
            "\"someFutureField\": {\"x\": [1, 2]}, \"taskId\":",
        )
        .replacen("\"events\": [", "\"extra\": true, \"events\": [", 1);
    assert!(history::from_json_str(&noisy).unwrap() == original);
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for event in doc["events"].as_array_mut().unwrap() {
        event.as_object_mut().unwrap().remove("taskId");
    }
    let without = history::from_json_str(&doc.to_string()).unwrap();
    assert!(without.events.iter().all(|e| e.task_id == 0));
    // `2.0` and `2` are the same double; compact JSON reads the same.
    let order = fixture_text("01-order.json");
    let pythonic = order.replace("\"backoffCoefficient\": 2", "\"backoffCoefficient\": 2.0");
    assert_ne!(pythonic, order);
    assert!(history::from_json_str(&pythonic).unwrap() == history::from_json_str(&order).unwrap());
}

#[test]
fn arbitrary_prefixes_never_panic() {
    // Every prefix of a small history, as JSON and as binary, gives a result or an error.
    let text = fixture_text("18a-terminated.json");
    for end in 0..text.len() {
        let _ = history::from_json_str(&text[..end]);
    }
    let bytes = history::to_proto_bytes(&history::from_json_str(&text).unwrap());
    for end in 0..bytes.len() {
        let _ = history::from_proto_bytes(&bytes[..end]);
    }
    // Pseudo-random bytes (xorshift, fixed seed), some starting like JSON.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..2000 {
        let len = round % 64;
        let mut junk: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if round % 3 == 0 {
            junk.insert(0, b'{');
        }
        let _ = history::from_json_slice(&junk);
        let _ = history::from_proto_bytes(&junk);
    }
    // And flipping each byte of the binary.
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0xa5;
        let _ = history::from_proto_bytes(&flipped);
    }
}
