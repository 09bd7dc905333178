//! The probe: which encoding does a value want? A serializer that stops at the first method an
//! ordinary value calls, and captures the bytes or message of the special ones.

use super::wrappers::{BINARY_MARKER, PROTO_MARKER};
use serde::ser::{self, Impossible};
use serde::{Serialize, Serializer};
use std::fmt;

pub(super) enum Special {
    Null,
    Bytes(Vec<u8>),
    Proto {
        message_type: &'static str,
        json: Vec<u8>,
    },
}

#[derive(Debug)]
pub(super) enum ProbeError {
    /// Not a special value: serialize it as JSON.
    NotSpecial,
    /// A [`Proto`]'s message failed to serialize.
    Json(serde_json::Error),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::NotSpecial => f.write_str("not a special value"),
            ProbeError::Json(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ProbeError {}

impl ser::Error for ProbeError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        // A value whose `Serialize` fails on its own is "not special": serializing it to JSON
        // then reports its error.
        ProbeError::NotSpecial
    }
}

/// Implements every `Serializer` method not listed as "not special".
macro_rules! not_special {
    ($($method:ident)*) => { $(not_special!(@ $method);)* };
    (@bool) => { not_special!(@scalar serialize_bool bool); };
    (@i8) => { not_special!(@scalar serialize_i8 i8); };
    (@i16) => { not_special!(@scalar serialize_i16 i16); };
    (@i32) => { not_special!(@scalar serialize_i32 i32); };
    (@i64) => { not_special!(@scalar serialize_i64 i64); };
    (@i128) => { not_special!(@scalar serialize_i128 i128); };
    (@u8) => { not_special!(@scalar serialize_u8 u8); };
    (@u16) => { not_special!(@scalar serialize_u16 u16); };
    (@u32) => { not_special!(@scalar serialize_u32 u32); };
    (@u64) => { not_special!(@scalar serialize_u64 u64); };
    (@u128) => { not_special!(@scalar serialize_u128 u128); };
    (@f32) => { not_special!(@scalar serialize_f32 f32); };
    (@f64) => { not_special!(@scalar serialize_f64 f64); };
    (@char) => { not_special!(@scalar serialize_char char); };
    (@str) => { not_special!(@scalar serialize_str &str); };
    (@bytes) => { not_special!(@scalar serialize_bytes &[u8]); };
    (@scalar $method:ident $ty:ty) => {
        fn $method(self, _: $ty) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
    };
    (@none) => {
        fn serialize_none(self) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
    };
    (@some) => {
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
    };
    (@unit) => {
        fn serialize_unit(self) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
    };
    (@newtype_struct) => {
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self, _: &'static str, _: &T,
        ) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
    };
    (@compound) => {
        type SerializeSeq = Impossible<Self::Ok, ProbeError>;
        type SerializeTuple = Impossible<Self::Ok, ProbeError>;
        type SerializeTupleStruct = Impossible<Self::Ok, ProbeError>;
        type SerializeTupleVariant = Impossible<Self::Ok, ProbeError>;
        type SerializeMap = Impossible<Self::Ok, ProbeError>;
        type SerializeStruct = Impossible<Self::Ok, ProbeError>;
        type SerializeStructVariant = Impossible<Self::Ok, ProbeError>;

        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_unit_variant(
            self, _: &'static str, _: u32, _: &'static str,
        ) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self, _: &'static str, _: u32, _: &'static str, _: &T,
        ) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_tuple_struct(
            self, _: &'static str, _: usize,
        ) -> Result<Self::SerializeTupleStruct, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_tuple_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeTupleVariant, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_struct(
            self, _: &'static str, _: usize,
        ) -> Result<Self::SerializeStruct, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn serialize_struct_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeStructVariant, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
        fn collect_str<T: fmt::Display + ?Sized>(self, _: &T) -> Result<Self::Ok, ProbeError> {
            Err(ProbeError::NotSpecial)
        }
    };
}

/// The top-level probe.
pub(super) struct Probe;

impl Serializer for Probe {
    type Ok = Special;
    type Error = ProbeError;

    fn serialize_unit(self) -> Result<Special, ProbeError> {
        Ok(Special::Null)
    }

    fn serialize_none(self) -> Result<Special, ProbeError> {
        Ok(Special::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Special, ProbeError> {
        value.serialize(Probe)
    }

    fn serialize_bytes(self, bytes: &[u8]) -> Result<Special, ProbeError> {
        Ok(Special::Bytes(bytes.to_vec()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Special, ProbeError> {
        match name {
            BINARY_MARKER => value.serialize(BytesCapture).map(Special::Bytes),
            PROTO_MARKER => value.serialize(ProtoCapture),
            _ => value.serialize(Probe),
        }
    }

    not_special!(bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str compound);
}

/// Takes the bytes out of [`Binary`]'s [`RawBytes`].
struct BytesCapture;

impl Serializer for BytesCapture {
    type Ok = Vec<u8>;
    type Error = ProbeError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bytes(self, bytes: &[u8]) -> Result<Vec<u8>, ProbeError> {
        Ok(bytes.to_vec())
    }

    not_special!(bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str none some unit
        newtype_struct compound);
}

/// Takes the message type and the proto3 JSON out of [`Proto`]'s [`Named`].
struct ProtoCapture;

impl Serializer for ProtoCapture {
    type Ok = Special;
    type Error = ProbeError;

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        message: &T,
    ) -> Result<Special, ProbeError> {
        let json = serde_json::to_vec(message).map_err(ProbeError::Json)?;
        Ok(Special::Proto {
            message_type: name,
            json,
        })
    }

    not_special!(bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str bytes none some
        unit compound);
}
