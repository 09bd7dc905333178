//! Payload and failure conversion, compatible with the official SDKs.
//!
//! Temporal carries every workflow and activity argument, result, signal, query and heartbeat
//! detail as a [`Payload`]: bytes plus metadata whose `encoding` entry says how to read them. The
//! official SDKs (Go, Java, Python, TypeScript, .NET) share a default converter, and
//! [`DataConverter`] writes and reads exactly the same payloads, so a Rust workflow can call a
//! Python activity and the other way round:
//!
//! | value | `encoding` | `data` |
//! |---|---|---|
//! | `()`, `None` | `binary/null` | empty |
//! | [`Binary`] (and any value serialized with `serialize_bytes`) | `binary/plain` | the bytes |
//! | [`Proto<M>`] (a prost message with proto3-JSON serde impls) | `json/protobuf`, plus `messageType` | proto3 JSON |
//! | anything else implementing `Serialize` | `json/plain` | compact JSON |
//!
//! Several arguments become one payload each ([`ToPayloads`] / [`FromPayloads`] on tuples).
//!
//! A [`PayloadCodec`] (encryption, compression) transforms payloads on their way to and from the
//! server; [`DataConverter::encode_payloads`] and [`DataConverter::encode_failure`] apply it, the
//! value conversions do not.
//!
//! Errors travel as [`Failure`]s (the Rust form of `temporal.api.failure.v1.Failure`): an activity
//! or workflow fails with an [`ApplicationFailure`] (message, type, non-retryable flag, details),
//! and the caller sees the failure chain the server built around it (an activity failure caused by
//! the application failure, say).
//!
//! [`Payload`]: crate::api::temporal::api::common::v1::Payload

mod args;
mod codec;
mod failure;
mod payload;

use std::sync::Arc;

pub use args::{FromPayloads, ToPayloads};
pub use codec::{CodecError, PayloadCodec};
pub use failure::{ApplicationFailure, ApplicationInfo, FAILURE_SOURCE, Failure, FailureKind};
pub use payload::{Binary, Proto, encoding, encoding_of};

/// Converts values to payloads and back, and applies the configured [`PayloadCodec`]s.
///
/// Cheap to clone (the configuration is shared). `DataConverter::default()` is the official
/// SDKs' default converter with no codec.
#[derive(Clone, Default)]
pub struct DataConverter {
    inner: Arc<Inner>,
}

#[derive(Clone, Default)]
struct Inner {
    /// Applied in order on encode and in reverse order on decode.
    codecs: Vec<Arc<dyn PayloadCodec>>,
    encode_failure_attributes: bool,
}

impl DataConverter {
    /// The default converter, without codec: the same as `DataConverter::default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a codec. Codecs chain: [`encode_payloads`](Self::encode_payloads) applies them in the
    /// order they were added, [`decode_payloads`](Self::decode_payloads) in reverse order, so
    /// `.with_codec(compress).with_codec(encrypt)` compresses, then encrypts.
    pub fn with_codec(mut self, codec: impl PayloadCodec) -> Self {
        Arc::make_mut(&mut self.inner).codecs.push(Arc::new(codec));
        self
    }

    /// Whether [`encode_failure`](Self::encode_failure) moves each failure's message and stack
    /// trace into `encoded_attributes` (a `json/plain` payload `{"message": …, "stack_trace": …}`
    /// that then goes through the codecs), replacing the message with `"Encoded failure"`, as the
    /// official SDKs do when "encode common attributes" is on. Off by default. Useful with an
    /// encrypting codec, since messages and stack traces can contain sensitive data.
    pub fn encode_failure_attributes(mut self, encode: bool) -> Self {
        Arc::make_mut(&mut self.inner).encode_failure_attributes = encode;
        self
    }

    /// Whether failure attributes are encoded; see
    /// [`encode_failure_attributes`](Self::encode_failure_attributes).
    pub fn encodes_failure_attributes(&self) -> bool {
        self.inner.encode_failure_attributes
    }

    /// Number of codecs configured.
    pub fn codec_count(&self) -> usize {
        self.inner.codecs.len()
    }
}

impl std::fmt::Debug for DataConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataConverter")
            .field("codecs", &self.inner.codecs.len())
            .field(
                "encode_failure_attributes",
                &self.inner.encode_failure_attributes,
            )
            .finish()
    }
}

/// A value could not be converted to or from payloads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConversionError {
    /// The value could not be serialized.
    #[error("cannot encode value as {encoding}: {source}")]
    Encode {
        /// The encoding that was being produced, e.g. `json/plain`.
        encoding: &'static str,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// The payload's data could not be deserialized into the requested type.
    #[error("cannot decode {encoding} payload: {source}")]
    Decode {
        /// The payload's encoding, e.g. `json/plain`.
        encoding: String,
        /// The deserializer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The payload has no `encoding` metadata.
    #[error("payload has no `encoding` metadata")]
    MissingEncoding,
    /// The payload's encoding is not one this converter reads (perhaps a codec's encoding: was the
    /// payload decoded with [`DataConverter::decode_payloads`] first?).
    #[error("unknown payload encoding `{0}`")]
    UnknownEncoding(String),
    /// One argument of several could not be decoded or encoded.
    #[error("argument {index}: {source}")]
    Argument {
        /// The argument's position, from 0.
        index: usize,
        /// What went wrong with it.
        #[source]
        source: Box<ConversionError>,
    },
    /// A required argument has no payload.
    #[error("missing argument {index}: only {count} payload(s) given")]
    MissingArgument {
        /// The argument's position, from 0.
        index: usize,
        /// How many payloads there were.
        count: usize,
    },
    /// A codec failed.
    #[error("payload codec failed: {0}")]
    Codec(#[from] CodecError),
}

impl ConversionError {
    fn at_argument(self, index: usize) -> Self {
        ConversionError::Argument {
            index,
            source: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<DataConverter>();
        check::<ConversionError>();
        check::<CodecError>();
        check::<Failure>();
        check::<ApplicationFailure>();
        check::<Binary>();
    }
}
