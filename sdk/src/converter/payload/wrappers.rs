//! [`Binary`] and [`Proto`]: the wrappers a value uses to ask for a `binary/plain` or
//! `json/protobuf` payload, and their forms inside a larger JSON value.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{OnceLock, PoisonError, RwLock};

/// The newtype names by which the wrappers tell the probe (and the binary deserializer) who they are.
pub(super) const BINARY_MARKER: &str = "$reprise::converter::Binary";
pub(super) const PROTO_MARKER: &str = "$reprise::converter::Proto";

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
