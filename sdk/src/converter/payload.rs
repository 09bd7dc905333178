//! One value ↔ one [`Payload`].
//!
//! Values go through serde. Before serializing to JSON, [`to_payload`](DataConverter::to_payload)
//! runs the value through a probe serializer that costs nothing for ordinary values: the first
//! serializer method they call (`serialize_str`, `serialize_struct`, …) answers "not special" and
//! stops. Only `serialize_unit`/`serialize_none` (→ `binary/null`), `serialize_bytes`
//! (→ `binary/plain`) and the newtype markers of [`Binary`] and [`Proto`] are special. `Some(_)`
//! and other newtype structs are looked through, as JSON does.

use super::{ConversionError, DataConverter};
use crate::api::temporal::api::common::v1::Payload;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeOwned};
use serde::ser::{self, Impossible};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{OnceLock, PoisonError, RwLock};

/// Payload encodings and metadata keys of the official SDKs' default converter.
pub mod encoding {
    /// Metadata key holding the encoding name.
    pub const METADATA_ENCODING: &str = "encoding";
    /// Metadata key holding a protobuf message's full name (for `json/protobuf` and
    /// `binary/protobuf`).
    pub const METADATA_MESSAGE_TYPE: &str = "messageType";
    /// No value (`()`, `None`, Go's `nil`, Python's `None`); empty data.
    pub const BINARY_NULL: &str = "binary/null";
    /// Raw bytes.
    pub const BINARY_PLAIN: &str = "binary/plain";
    /// A protobuf message in proto3 JSON.
    pub const JSON_PROTOBUF: &str = "json/protobuf";
    /// A protobuf message in protobuf binary.
    pub const BINARY_PROTOBUF: &str = "binary/protobuf";
    /// Any other value, as JSON.
    pub const JSON_PLAIN: &str = "json/plain";
}

use encoding::*;

/// The `encoding` metadata of a payload, if present and UTF-8.
pub fn encoding_of(payload: &Payload) -> Option<&str> {
    payload
        .metadata
        .get(METADATA_ENCODING)
        .and_then(|e| std::str::from_utf8(e).ok())
}

fn new_payload(encoding: &str, data: Vec<u8>) -> Payload {
    let mut metadata = BTreeMap::new();
    metadata.insert(METADATA_ENCODING.to_owned(), encoding.as_bytes().to_vec());
    Payload {
        metadata,
        data,
        ..Default::default()
    }
}

const BINARY_MARKER: &str = "$reprise::converter::Binary";
const PROTO_MARKER: &str = "$reprise::converter::Proto";

impl DataConverter {
    /// Converts one value to a payload (no codec applied).
    ///
    /// `()` and `None` become `binary/null`, [`Binary`] becomes `binary/plain`, [`Proto`]
    /// becomes `json/protobuf`, everything else `json/plain` (compact JSON, as the official SDKs
    /// write it).
    pub fn to_payload<T: Serialize + ?Sized>(&self, value: &T) -> Result<Payload, ConversionError> {
        match value.serialize(Probe) {
            Ok(Special::Null) => Ok(new_payload(BINARY_NULL, Vec::new())),
            Ok(Special::Bytes(bytes)) => Ok(new_payload(BINARY_PLAIN, bytes)),
            Ok(Special::Proto { message_type, json }) => {
                let mut payload = new_payload(JSON_PROTOBUF, json);
                payload.metadata.insert(
                    METADATA_MESSAGE_TYPE.to_owned(),
                    message_type.as_bytes().to_vec(),
                );
                Ok(payload)
            }
            Err(ProbeError::Json(source)) => Err(ConversionError::Encode {
                encoding: JSON_PROTOBUF,
                source,
            }),
            Err(ProbeError::NotSpecial) => serde_json::to_vec(value)
                .map(|data| new_payload(JSON_PLAIN, data))
                .map_err(|source| ConversionError::Encode {
                    encoding: JSON_PLAIN,
                    source,
                }),
        }
    }

    /// Converts one payload to a value (no codec applied), according to the payload's `encoding`:
    ///
    /// - `json/plain`, `json/protobuf`: JSON;
    /// - `binary/null`: decoded as JSON `null`, so `()` and `Option<T>` (as `None`) accept it;
    /// - `binary/plain`: a deserializer that yields the bytes ([`Binary`], `Vec<u8>`, …);
    /// - `binary/protobuf`: only into [`Proto<M>`] (protobuf binary decoding).
    ///
    /// Any other encoding is a [`ConversionError::UnknownEncoding`].
    pub fn from_payload<T: DeserializeOwned>(
        &self,
        payload: &Payload,
    ) -> Result<T, ConversionError> {
        let raw = payload
            .metadata
            .get(METADATA_ENCODING)
            .ok_or(ConversionError::MissingEncoding)?;
        let encoding = std::str::from_utf8(raw).map_err(|_| {
            ConversionError::UnknownEncoding(String::from_utf8_lossy(raw).into_owned())
        })?;
        let decoded: Result<T, Box<dyn std::error::Error + Send + Sync>> = match encoding {
            JSON_PLAIN | JSON_PROTOBUF => serde_json::from_slice(&payload.data).map_err(Into::into),
            BINARY_NULL => serde_json::from_slice(b"null").map_err(Into::into),
            BINARY_PLAIN => T::deserialize(BytesDeserializer(&payload.data)).map_err(Into::into),
            BINARY_PROTOBUF => {
                T::deserialize(ProtoBinaryDeserializer(&payload.data)).map_err(Into::into)
            }
            other => return Err(ConversionError::UnknownEncoding(other.to_owned())),
        };
        decoded.map_err(|source| ConversionError::Decode {
            encoding: encoding.to_owned(),
            source,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Binary

/// Raw bytes, converted as a `binary/plain` payload (Go's `[]byte`, Python's `bytes`).
///
/// Padded standard alphabet on output (as Go writes `[]byte`); padding optional on input.
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Inside a JSON value (a field of a struct), `Binary` is written as a base64 string, as Go writes
/// `[]byte`. It deserializes from bytes, and also from a base64 string (standard or URL-safe
/// alphabet) or an array of numbers.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Vec<u8>);

impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Binary({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Binary(bytes)
    }
}

impl From<&[u8]> for Binary {
    fn from(bytes: &[u8]) -> Self {
        Binary(bytes.to_vec())
    }
}

impl From<Binary> for Vec<u8> {
    fn from(binary: Binary) -> Self {
        binary.0
    }
}

impl AsRef<[u8]> for Binary {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(BINARY_MARKER, &RawBytes(&self.0))
    }
}

/// Base64 text for human-readable formats (JSON), bytes otherwise (and for the probe).
struct RawBytes<'a>(&'a [u8]);

impl Serialize for RawBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&STANDARD.encode(self.0))
        } else {
            serializer.serialize_bytes(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json hands a string's raw text to `visit_bytes`, so text formats must go through
        // `deserialize_any` to tell a base64 string from bytes.
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(BinaryVisitor)
        } else {
            deserializer.deserialize_byte_buf(BinaryVisitor)
        }
    }
}

struct BinaryVisitor;

impl<'de> de::Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes, a base64 string or an array of bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Binary, E> {
        STANDARD
            .decode(v)
            .or_else(|_| URL_SAFE.decode(v))
            .map(Binary)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &"a base64 string"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        Ok(Binary(bytes))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Binary, D::Error> {
        Binary::deserialize(d)
    }
}

// ---------------------------------------------------------------------------------------------
// Proto

/// A protobuf message converted as a `json/protobuf` payload, with its full name in the
/// `messageType` metadata, as the official SDKs convert protobuf messages.
///
/// `M` is a prost message with proto3-JSON serde impls (pbjson style, as every message of
/// [`crate::api`] reachable from a history has) and [`prost::Name`]. A prost message passed
/// without this wrapper is plain serde: it becomes `json/plain`.
///
/// Decoding accepts `json/protobuf` and `json/plain` payloads (proto3 JSON) and `binary/protobuf`
/// payloads (protobuf binary). The `messageType` metadata is not checked against `M`.
///
/// Inside a larger JSON value, `Proto<M>` is written as the message's proto3 JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Proto<M>(pub M);

impl<M: prost::Name + Serialize + 'static> Serialize for Proto<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The probe needs the message's full name; serde only passes `&'static str` names, so
        // the name is interned once per message type.
        let named = Named {
            name: interned_full_name::<M>(),
            message: &self.0,
        };
        serializer.serialize_newtype_struct(PROTO_MARKER, &named)
    }
}

/// The message, as a newtype struct named with the message's full name (transparent in JSON).
struct Named<'a, M> {
    name: &'static str,
    message: &'a M,
}

impl<M: Serialize> Serialize for Named<'_, M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(self.name, self.message)
    }
}

/// `M::full_name()` as a `&'static str`: leaked once per message type (a bounded set).
fn interned_full_name<M: prost::Name + 'static>() -> &'static str {
    static NAMES: OnceLock<RwLock<HashMap<TypeId, &'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    let id = TypeId::of::<M>();
    if let Some(name) = names
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
    {
        return name;
    }
    let mut names = names.write().unwrap_or_else(PoisonError::into_inner);
    names
        .entry(id)
        .or_insert_with(|| Box::leak(M::full_name().into_boxed_str()))
}

impl<'de, M> Deserialize<'de> for Proto<M>
where
    M: prost::Message + Default + Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(PROTO_MARKER, ProtoVisitor(PhantomData))
    }
}

struct ProtoVisitor<M>(PhantomData<M>);

impl<'de, M> de::Visitor<'de> for ProtoVisitor<M>
where
    M: prost::Message + Default + Deserialize<'de>,
{
    type Value = Proto<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a protobuf message (proto3 JSON or protobuf binary)")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Proto<M>, D::Error> {
        M::deserialize(d).map(Proto)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Proto<M>, A::Error> {
        M::deserialize(de::value::MapAccessDeserializer::new(map)).map(Proto)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Proto<M>, E> {
        M::decode(v).map(Proto).map_err(E::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The probe: which encoding does a value want?

enum Special {
    Null,
    Bytes(Vec<u8>),
    Proto {
        message_type: &'static str,
        json: Vec<u8>,
    },
}

#[derive(Debug)]
enum ProbeError {
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
struct Probe;

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

// ---------------------------------------------------------------------------------------------
// Deserializers for binary payloads

/// Yields a `binary/plain` payload's bytes (or, to sequences such as `Vec<u8>`, its bytes one by
/// one). Not human-readable, so [`Binary`] asks it for bytes.
struct BytesDeserializer<'a>(&'a [u8]);

impl<'de> Deserializer<'de> for BytesDeserializer<'de> {
    type Error = de::value::Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_borrowed_bytes(self.0)
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_seq(de::value::SeqDeserializer::new(self.0.iter().copied()))
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// Yields a `binary/protobuf` payload's bytes to [`Proto`] only.
struct ProtoBinaryDeserializer<'a>(&'a [u8]);

impl<'de> Deserializer<'de> for ProtoBinaryDeserializer<'de> {
    type Error = de::value::Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: de::Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom(
            "binary/protobuf payloads can only be decoded into `Proto<M>` (a prost message)",
        ))
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if name == PROTO_MARKER {
            visitor.visit_borrowed_bytes(self.0)
        } else {
            self.deserialize_any(visitor)
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
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
        assert!(
            matches!(err, ConversionError::Decode { ref encoding, .. } if encoding == JSON_PLAIN)
        );
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
}
