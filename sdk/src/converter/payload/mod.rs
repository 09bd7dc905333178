//! One value ↔ one [`Payload`].
//!
//! Values go through serde. Before serializing to JSON, [`to_payload`](DataConverter::to_payload)
//! runs the value through a probe serializer that costs nothing for ordinary values: the first
//! serializer method they call (`serialize_str`, `serialize_struct`, …) answers "not special" and
//! stops. Only `serialize_unit`/`serialize_none` (→ `binary/null`), `serialize_bytes`
//! (→ `binary/plain`) and the newtype markers of [`Binary`] and [`Proto`] are special. `Some(_)`
//! and other newtype structs are looked through, as JSON does.
//!
//! The `Binary` and `Proto` wrappers, the probe and the deserializers of binary payloads each
//! have their own file.

mod binary_decode;
mod probe;
#[cfg(test)]
mod tests;
mod wrappers;

pub use wrappers::{Binary, Proto};

use super::{ConversionError, DataConverter};
use crate::api::temporal::api::common::v1::Payload;
use binary_decode::{BytesDeserializer, ProtoBinaryDeserializer};
use probe::{Probe, ProbeError, Special};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

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
