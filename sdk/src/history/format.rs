//! The `serde_json` formatter behind the canonical writer. On top of [`PrettyFormatter`]'s layout
//! (two-space indentation) it does two things the generated serializers cannot:
//!
//! - doubles as Go's `protojson` writes them (`2`, not `2.0`; see [`format_f64`]);
//! - sorted keys for `Payload.metadata`. Every proto map is a `BTreeMap`, but for maps with `bytes`
//!   values (`map<string, bytes>`, of which `Payload.metadata` is the only one in a history)
//!   `pbjson` collects the base64-encoded values into a `HashMap` before serializing, so their
//!   order would change from run to run. The formatter buffers the entries of such a map and
//!   writes them sorted, as Go does. (Generating a `BTreeMap` there in `reprise-api`'s build script
//!   would make this unnecessary.)

use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};
use std::io::{self, Write};

/// JSON names of the fields whose (map) values `pbjson` serializes in hash order. An object under
/// such a key is sorted only if all its values are strings, as the base64 values of a
/// `map<string, bytes>` are: a `Payload` that happens to sit under a memo or header key named
/// `metadata` has an object value and keeps its field order.
const HASH_ORDERED_MAP_FIELDS: &[&str] = &["metadata"];

/// Pretty-printing formatter producing Go `protojson` output (see the module documentation).
///
/// Proto3 JSON writes NaN and infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, but
/// `serde_json` turns them into `null` before a formatter sees them, losing which one it was. No
/// other value in a history serializes to `null`, so [`Formatter::write_null`] fails instead of
/// silently writing a value that would read back as `0`.
pub(crate) struct ProtoJsonFormatter {
    pretty: PrettyFormatter<'static>,
    /// Between `begin_object_key` and `end_object_key`.
    in_key: bool,
    /// The text of the current (or last) object key.
    key: String,
    /// The next value is that of a [`HASH_ORDERED_MAP_FIELDS`] field.
    map_value_next: bool,
    /// The maps whose entries are being buffered, innermost last (a `Payload` buffered as a value
    /// of a map may itself contain a `metadata` map).
    maps: Vec<BufferedMap>,
}

struct BufferedMap {
    entries: Vec<Entry>,
    /// Objects and arrays open inside the current entry's value.
    depth: usize,
    /// All values so far are strings.
    sortable: bool,
}

/// One `key: value` of a buffered map, as written (with its leading `,` if not first).
struct Entry {
    key: String,
    bytes: Vec<u8>,
}

/// Where output goes: the real writer, or the buffer of the innermost map entry being written.
enum Sink<'a, W: ?Sized> {
    Direct(&'a mut W),
    Buffer(&'a mut Vec<u8>),
}

impl<W: ?Sized + Write> Write for Sink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Direct(writer) => writer.write(buf),
            Sink::Buffer(buffer) => buffer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Direct(writer) => writer.flush(),
            Sink::Buffer(_) => Ok(()),
        }
    }
}

fn sink<'a, W: ?Sized + Write>(maps: &'a mut [BufferedMap], writer: &'a mut W) -> Sink<'a, W> {
    match maps.iter_mut().rev().find_map(|map| map.entries.last_mut()) {
        Some(entry) => Sink::Buffer(&mut entry.bytes),
        None => Sink::Direct(writer),
    }
}

impl ProtoJsonFormatter {
    pub(crate) fn new() -> Self {
        ProtoJsonFormatter {
            pretty: PrettyFormatter::with_indent(b"  "),
            in_key: false,
            key: String::new(),
            map_value_next: false,
            maps: Vec::new(),
        }
    }

    /// Bookkeeping for the start of any value (not for key strings).
    fn value_starts(&mut self, is_string: bool) {
        if self.in_key {
            return;
        }
        self.map_value_next = false;
        if let Some(map) = self.maps.last_mut()
            && map.depth == 0
            && !is_string
        {
            map.sortable = false;
        }
    }

    /// Writes the buffered entries of `map` (sorted if they can be) and closes it, into the entry
    /// of the enclosing map or to `writer`.
    fn finish_map<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        mut map: BufferedMap,
    ) -> io::Result<()> {
        if map.sortable {
            map.entries.sort_by(|a, b| a.key.cmp(&b.key));
        }
        let mut out = sink(&mut self.maps, writer);
        for (index, entry) in map.entries.iter().enumerate() {
            let body = entry.bytes.strip_prefix(b",").unwrap_or(&entry.bytes);
            if index > 0 {
                out.write_all(b",")?;
            }
            out.write_all(body)?;
        }
        self.pretty.end_object(&mut out)
    }
}

/// Go `protojson` text of a finite double or float: `fixed` and `exponent` are Rust's shortest
/// round-trip renderings without and with an exponent (the digits Go's `strconv.AppendFloat`
/// produces with precision -1); `use_exponent` is Go's choice (magnitude below 1e-6 or from 1e21).
fn go_float(use_exponent: bool, fixed: String, exponent: String) -> String {
    if !use_exponent {
        return fixed;
    }
    // Rust: `1.5e-7`, `1e21`; Go: `1.5e-07` (protojson then drops the zero: `1.5e-7`), `1e+21`.
    match exponent.split_once('e') {
        Some((mantissa, exp)) if exp.starts_with('-') => format!("{mantissa}e{exp}"),
        Some((mantissa, exp)) => format!("{mantissa}e+{exp:0>2}"),
        None => exponent,
    }
}

/// A finite double as Go's `protojson` writes it: shortest round-trip digits, no fraction for
/// integral values (`2`), exponent form only below 1e-6 or from 1e21 up (`1e+21`, `1.5e-7`).
pub(crate) fn format_f64(value: f64) -> String {
    let abs = value.abs();
    go_float(
        abs != 0.0 && !(1e-6..1e21).contains(&abs),
        format!("{value}"),
        format!("{value:e}"),
    )
}

/// A finite float as Go's `protojson` writes it (as [`format_f64`], with float precision).
pub(crate) fn format_f32(value: f32) -> String {
    let abs = value.abs();
    go_float(
        abs != 0.0 && !(1e-6..1e21).contains(&abs),
        format!("{value}"),
        format!("{value:e}"),
    )
}

fn unescape(escape: &CharEscape) -> char {
    match escape {
        CharEscape::Quote => '"',
        CharEscape::ReverseSolidus => '\\',
        CharEscape::Solidus => '/',
        CharEscape::Backspace => '\u{8}',
        CharEscape::FormFeed => '\u{c}',
        CharEscape::LineFeed => '\n',
        CharEscape::CarriageReturn => '\r',
        CharEscape::Tab => '\t',
        CharEscape::AsciiControl(byte) => char::from(*byte),
    }
}

/// Scalar writers: value bookkeeping, then `PrettyFormatter`'s output to the current sink.
macro_rules! scalars {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<W: ?Sized + Write>(&mut self, writer: &mut W, value: $ty) -> io::Result<()> {
            self.value_starts(false);
            self.pretty.$method(&mut sink(&mut self.maps, writer), value)
        }
    )*};
}

impl Formatter for ProtoJsonFormatter {
    scalars! {
        write_bool(bool);
        write_i8(i8);
        write_i16(i16);
        write_i32(i32);
        write_i64(i64);
        write_i128(i128);
        write_u8(u8);
        write_u16(u16);
        write_u32(u32);
        write_u64(u64);
        write_u128(u128);
        write_number_str(&str);
        write_byte_array(&[u8]);
        write_raw_fragment(&str);
    }

    fn write_null<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a double field is NaN or infinite, which this writer does not support",
        ))
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.value_starts(false);
        sink(&mut self.maps, writer).write_all(format_f32(value).as_bytes())
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        self.value_starts(false);
        sink(&mut self.maps, writer).write_all(format_f64(value).as_bytes())
    }

    fn begin_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.value_starts(true);
        self.pretty.begin_string(&mut sink(&mut self.maps, writer))
    }

    fn end_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_string(&mut sink(&mut self.maps, writer))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.in_key {
            self.key.push_str(fragment);
        }
        self.pretty
            .write_string_fragment(&mut sink(&mut self.maps, writer), fragment)
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.in_key {
            self.key.push(unescape(&escape));
        }
        self.pretty
            .write_char_escape(&mut sink(&mut self.maps, writer), escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.value_starts(false);
        if let Some(map) = self.maps.last_mut() {
            map.depth += 1;
        }
        self.pretty.begin_array(&mut sink(&mut self.maps, writer))
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if let Some(map) = self.maps.last_mut() {
            map.depth = map.depth.saturating_sub(1);
        }
        self.pretty.end_array(&mut sink(&mut self.maps, writer))
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty
            .begin_array_value(&mut sink(&mut self.maps, writer), first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty
            .end_array_value(&mut sink(&mut self.maps, writer))
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let starts_map = self.map_value_next;
        self.value_starts(false);
        if let Some(map) = self.maps.last_mut() {
            map.depth += 1;
        }
        self.pretty
            .begin_object(&mut sink(&mut self.maps, writer))?;
        if starts_map {
            self.maps.push(BufferedMap {
                entries: Vec::new(),
                depth: 0,
                sortable: true,
            });
        }
        Ok(())
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if self.maps.last().is_some_and(|map| map.depth == 0) {
            if let Some(map) = self.maps.pop() {
                self.finish_map(writer, map)?;
            }
        } else {
            self.pretty.end_object(&mut sink(&mut self.maps, writer))?;
        }
        // The object just closed was a container inside the enclosing map's entry.
        if let Some(map) = self.maps.last_mut() {
            map.depth = map.depth.saturating_sub(1);
        }
        Ok(())
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if let Some(map) = self.maps.last_mut()
            && map.depth == 0
        {
            map.entries.push(Entry {
                key: String::new(),
                bytes: Vec::new(),
            });
        }
        self.in_key = true;
        self.key.clear();
        self.pretty
            .begin_object_key(&mut sink(&mut self.maps, writer), first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        if let Some(map) = self.maps.last_mut()
            && let (0, Some(entry)) = (map.depth, map.entries.last_mut())
        {
            entry.key.clone_from(&self.key);
        }
        self.pretty
            .end_object_key(&mut sink(&mut self.maps, writer))
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.map_value_next = HASH_ORDERED_MAP_FIELDS.contains(&self.key.as_str());
        self.pretty
            .begin_object_value(&mut sink(&mut self.maps, writer))
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty
            .end_object_value(&mut sink(&mut self.maps, writer))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::api::temporal::api::common::v1::{Memo, Payload};
    use serde::Serialize;

    fn render<T: Serialize>(value: &T) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, ProtoJsonFormatter::new());
        value.serialize(&mut ser).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_print_like_go_protojson() {
        // Expected strings are what Go's protojson writes for these doubles.
        let cases: &[(f64, &str)] = &[
            (2.0, "2"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (42.5, "42.5"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (0.30000000000000004, "0.30000000000000004"),
            (1e20, "100000000000000000000"),
            (123456789.0, "123456789"),
            (1e-6, "0.000001"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-7"),
            (-2.5e-7, "-2.5e-7"),
            (1.234e-10, "1.234e-10"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        ];
        for &(value, expected) in cases {
            assert_eq!(format_f64(value), expected, "{value:?}");
        }
        assert_eq!(format_f32(2.0), "2");
        assert_eq!(format_f32(0.1), "0.1");
        assert_eq!(format_f32(1e22), "1e+22");
        assert_eq!(format_f32(3e-7), "3e-7");
    }

    #[test]
    fn layout_is_two_space_pretty_json() {
        let value =
            serde_json::json!({"a": 2.0, "b": [1.5, 0.0], "c": {}, "d": [], "e": "x\n\"y\""});
        assert_eq!(
            render(&value),
            "{\n  \"a\": 2,\n  \"b\": [\n    1.5,\n    0\n  ],\n  \"c\": {},\n  \"d\": [],\n  \
             \"e\": \"x\\n\\\"y\\\"\"\n}"
        );
    }

    #[test]
    fn non_finite_doubles_are_an_error_not_null() {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, ProtoJsonFormatter::new());
        assert!(f64::NAN.serialize(&mut ser).is_err());
        let mut ser = serde_json::Serializer::with_formatter(&mut out, ProtoJsonFormatter::new());
        assert!(f64::INFINITY.serialize(&mut ser).is_err());
    }

    fn payload(metadata: &[(&str, &str)], data: &str) -> Payload {
        Payload {
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            data: data.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn payload_metadata_keys_are_sorted() {
        let p = payload(
            &[
                ("type", "Keyword"),
                ("encoding", "json/plain"),
                ("a\"b", "x"),
                ("z", ""),
            ],
            "1",
        );
        let expected = "{\n  \"metadata\": {\n    \"a\\\"b\": \"eA==\",\n    \"encoding\": \"anNvbi9wbGFpbg==\",\n    \
                        \"type\": \"S2V5d29yZA==\",\n    \"z\": \"\"\n  },\n  \"data\": \"MQ==\"\n}";
        // pbjson's hash order differs between maps; the output must not.
        for _ in 0..50 {
            assert_eq!(render(&p), expected);
        }
    }

    #[test]
    fn a_payload_under_a_map_key_named_metadata_keeps_its_field_order() {
        let memo = Memo {
            fields: [
                (
                    "metadata".to_owned(),
                    payload(&[("type", "T"), ("encoding", "E")], "1"),
                ),
                ("other".to_owned(), payload(&[], "2")),
            ]
            .into_iter()
            .collect(),
        };
        let expected = "{\n  \"fields\": {\n    \"metadata\": {\n      \"metadata\": {\n        \
                        \"encoding\": \"RQ==\",\n        \"type\": \"VA==\"\n      },\n      \
                        \"data\": \"MQ==\"\n    },\n    \"other\": {\n      \"data\": \"Mg==\"\n    }\n  }\n}";
        for _ in 0..20 {
            assert_eq!(render(&memo), expected);
        }
    }

    #[test]
    fn buffered_map_with_nested_values_is_written_in_order() {
        // Not a history shape, but the buffering must still produce valid, complete JSON.
        let value = serde_json::json!({"metadata": {"b": [1, {"x": "y"}], "a": {}}, "next": "n"});
        let text = render(&value);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert_eq!(text, serde_json::to_string_pretty(&value).unwrap());
    }
}
