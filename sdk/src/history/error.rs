//! [`HistoryError`]: what went wrong, where in the input, and in which file.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error reading, checking or writing a workflow history.
///
/// Its message names the file (when the history came from or was going to a file), then the
/// position of the problem: the JSON field path (`events[3].eventTime`) and line/column for JSON,
/// the event and byte offset for protobuf binary, the offending field for a failed
/// [`validate`](super::validate).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The file could not be opened, read, created or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The input is not well-formed JSON, or ends early.
    #[error("{}invalid JSON at line {line}, column {column}{}: {message}", FilePrefix(.file), Near(.path))]
    JsonSyntax {
        /// The file, when the history was loaded from one.
        file: Option<PathBuf>,
        /// Where in the document the parser was, e.g. `events[3].eventTime` (empty at top level).
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What `serde_json` reported.
        message: String,
    },

    /// The input is well-formed JSON, but a field has the wrong type or an invalid value (a bad
    /// timestamp, invalid base64, an unknown enum name, ...).
    #[error("{}invalid value for `{path}`{}: {message}", FilePrefix(.file), LineColumn(.line, .column))]
    JsonField {
        /// The file, when the history was loaded from one.
        file: Option<PathBuf>,
        /// The offending field, e.g. `events[3].eventTime`.
        path: String,
        /// 1-based line of the error, when known (not for input that needed legacy-enum rewriting).
        line: Option<usize>,
        /// 1-based column of the error, when known.
        column: Option<usize>,
        /// What went wrong.
        message: String,
    },

    /// The input is not a valid protobuf-encoded `temporal.api.history.v1.History`.
    #[error("{}invalid protobuf history{}: {source}", FilePrefix(.file), ProtoPosition(.event_index, .offset))]
    Protobuf {
        /// The file, when the history was loaded from one.
        file: Option<PathBuf>,
        /// Index in `events` of the event that failed to decode, when the failure is inside one.
        event_index: Option<usize>,
        /// Byte offset of the failing top-level field (the event's tag) or of the undecodable
        /// bytes, when it could be located.
        offset: Option<usize>,
        /// `prost`'s error, which names the message and field being decoded.
        source: prost::DecodeError,
    },

    /// The history decoded but is not a valid history (see [`validate`](super::validate)).
    #[error("{}invalid history at `{field}`: {reason}", FilePrefix(.file))]
    Invalid {
        /// The file, when the history was loaded from one.
        file: Option<PathBuf>,
        /// The offending field, e.g. `events[3].eventId`, or `events`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The history could not be written as JSON (an enum field holding an unknown number, a
    /// non-finite double, or an I/O error of the writer).
    #[error("{}cannot write history as JSON: {source}", FilePrefix(.file))]
    Write {
        /// The file, when writing to one.
        file: Option<PathBuf>,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl HistoryError {
    /// The file the history was being read from or written to, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            HistoryError::Io { path, .. } => Some(path),
            HistoryError::JsonSyntax { file, .. }
            | HistoryError::JsonField { file, .. }
            | HistoryError::Protobuf { file, .. }
            | HistoryError::Invalid { file, .. }
            | HistoryError::Write { file, .. } => file.as_deref(),
        }
    }

    /// Records the file the error is about (kept if one is already set).
    pub(crate) fn with_file(mut self, path: &Path) -> Self {
        match &mut self {
            HistoryError::Io { .. } => {}
            HistoryError::JsonSyntax { file, .. }
            | HistoryError::JsonField { file, .. }
            | HistoryError::Protobuf { file, .. }
            | HistoryError::Invalid { file, .. }
            | HistoryError::Write { file, .. } => {
                file.get_or_insert_with(|| path.to_path_buf());
            }
        }
        self
    }

    /// Converts a `serde_json` error that happened at `path` (as `serde_path_to_error` prints it;
    /// `.` or empty for the top level).
    pub(crate) fn from_json(path: String, inner: serde_json::Error) -> Self {
        // `?` is serde_path_to_error's segment for a key that was not read yet (a syntax error).
        let mut path = path.as_str();
        while let Some(parent) = path.strip_suffix('?') {
            path = parent.strip_suffix('.').unwrap_or(parent);
        }
        let path = if path == "." {
            String::new()
        } else {
            path.to_owned()
        };
        let (line, column) = (inner.line(), inner.column());
        let mut message = inner.to_string();
        // serde_json appends the position to its message; we show it our own way.
        let suffix = format!(" at line {line} column {column}");
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message.truncate(stripped.len());
        }
        let message = tidy_message(message);
        match inner.classify() {
            serde_json::error::Category::Data => HistoryError::JsonField {
                file: None,
                path: if path.is_empty() {
                    "(top level)".to_owned()
                } else {
                    path
                },
                line: (line > 0).then_some(line),
                column: (line > 0).then_some(column),
                message,
            },
            _ => HistoryError::JsonSyntax {
                file: None,
                path,
                line,
                column,
                message,
            },
        }
    }
}

/// Shortens or clarifies the messages of the generated deserializers that are unhelpful as is.
fn tidy_message(mut message: String) -> String {
    // An unknown enum name: serde lists every value of the enum (60+ for event types).
    if let Some(at) = message.find(", expected one of `") {
        message.truncate(at);
        message.push_str(", expected a value name of the field's enum");
    }
    // pbjson parses numbers through an untagged enum (a JSON number or a string holding one).
    if message == "data did not match any variant of untagged enum Content" {
        message = "expected a number, or a string holding one".to_owned();
    }
    message
}

/// `"<file>: "` or nothing.
struct FilePrefix<'a>(&'a Option<PathBuf>);

impl fmt::Display for FilePrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}: ", path.display()),
            None => Ok(()),
        }
    }
}

/// `" (in events[3].eventTime)"` or nothing.
struct Near<'a>(&'a str);

impl fmt::Display for Near<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " (in {})", self.0)
        }
    }
}

/// `" at line 3, column 7"` or nothing.
struct LineColumn<'a>(&'a Option<usize>, &'a Option<usize>);

impl fmt::Display for LineColumn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (*self.0, *self.1) {
            (Some(line), Some(column)) => write!(f, " at line {line}, column {column}"),
            _ => Ok(()),
        }
    }
}

/// `" in events[3] (byte offset 1234)"`, `" at byte offset 0"` or nothing.
struct ProtoPosition<'a>(&'a Option<usize>, &'a Option<usize>);

impl fmt::Display for ProtoPosition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (*self.0, *self.1) {
            (Some(index), Some(offset)) => write!(f, " in events[{index}] (byte offset {offset})"),
            (Some(index), None) => write!(f, " in events[{index}]"),
            (None, Some(offset)) => write!(f, " at byte offset {offset}"),
            (None, None) => Ok(()),
        }
    }
}
