//! The `serde_json` formatter behind the canonical writer: [`PrettyFormatter`]'s layout
//! (two-space indentation) with doubles written as Go's `protojson` writes them (`2`, not `2.0`;
//! see [`format_f64`]). Map keys come out sorted because every generated map is a `BTreeMap`
//! (see `reprise-api`'s build script).

use serde_json::ser::{Formatter, PrettyFormatter};
use std::io::{self, Write};

/// Pretty-printing formatter producing Go `protojson` output (see the module documentation).
///
/// Proto3 JSON writes NaN and infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, but
/// `serde_json` turns them into `null` before a formatter sees them, losing which one it was. No
/// other value in a history serializes to `null`, so [`Formatter::write_null`] fails instead of
/// silently writing a value that would read back as `0`.
pub(crate) struct ProtoJsonFormatter {
    pretty: PrettyFormatter<'static>,
}

impl ProtoJsonFormatter {
    pub(crate) fn new() -> Self {
        ProtoJsonFormatter {
            pretty: PrettyFormatter::with_indent(b"  "),
        }
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

impl Formatter for ProtoJsonFormatter {
    fn write_null<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a double field is NaN or infinite, which this writer does not support",
        ))
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(format_f32(value).as_bytes())
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(format_f64(value).as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(writer)
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
}
