//! Deserializers for binary payloads (`binary/plain`, `binary/protobuf`).

use super::wrappers::PROTO_MARKER;
use serde::Deserializer;
use serde::de::{self};

/// Yields a `binary/plain` payload's bytes (or, to sequences such as `Vec<u8>`, its bytes one by
/// one). Not human-readable, so [`Binary`] asks it for bytes.
pub(super) struct BytesDeserializer<'a>(pub(super) &'a [u8]);

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
pub(super) struct ProtoBinaryDeserializer<'a>(pub(super) &'a [u8]);

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
