//! Payload codecs (encryption, compression, …) and their application to payload lists and to
//! failures.

use super::payload::encoding::JSON_PLAIN;
use super::{ConversionError, DataConverter, encoding_of};
use crate::api::temporal::api::common::v1::{Payload, Payloads};
use crate::api::temporal::api::failure::v1::{Failure as ProtoFailure, failure::FailureInfo};
use serde::Serialize;
use std::error::Error as StdError;

/// Transforms payloads on their way to the server (`encode`) and back (`decode`), e.g. to
/// encrypt or compress them. Synchronous, like the Go SDK's `PayloadCodec`.
///
/// `decode` must undo `encode`, and must pass through payloads it did not encode (they may come
/// from a worker without the codec): codecs conventionally mark their output with an `encoding`
/// of their own (`binary/encrypted`, `binary/snappy`, …) and the original payload, protobuf
/// encoded, as data.
pub trait PayloadCodec: Send + Sync + 'static {
    /// Encodes payloads for sending.
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError>;
    /// Decodes received payloads.
    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError>;
}

/// A [`PayloadCodec`] failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodecError {
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl CodecError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        CodecError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and an underlying error.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        CodecError {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

/// The message that replaces a failure's own when its attributes are encoded.
const ENCODED_FAILURE_MESSAGE: &str = "Encoded failure";

#[derive(Serialize)]
struct EncodedAttributes<'a> {
    message: &'a str,
    stack_trace: &'a str,
}

impl DataConverter {
    /// Applies the codecs' `encode`, in the order they were added. Without codecs, returns the
    /// payloads unchanged.
    pub fn encode_payloads(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, ConversionError> {
        let mut payloads = payloads;
        for codec in &self.inner.codecs {
            payloads = codec.encode(payloads)?;
        }
        Ok(payloads)
    }

    /// Applies the codecs' `decode`, in reverse order. Without codecs, returns the payloads
    /// unchanged.
    pub fn decode_payloads(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, ConversionError> {
        let mut payloads = payloads;
        for codec in self.inner.codecs.iter().rev() {
            payloads = codec.decode(payloads)?;
        }
        Ok(payloads)
    }

    /// Prepares a failure for sending: if
    /// [`encode_failure_attributes`](Self::encode_failure_attributes) is on, moves each message
    /// and stack trace into `encoded_attributes`; then encodes every payload the failure holds
    /// (details, last heartbeat details, encoded attributes) with the codecs, through the whole
    /// cause chain.
    pub fn encode_failure(&self, failure: &mut ProtoFailure) -> Result<(), ConversionError> {
        let mut next = Some(failure);
        while let Some(failure) = next {
            if self.inner.encode_failure_attributes && failure.encoded_attributes.is_none() {
                let attributes = EncodedAttributes {
                    message: &failure.message,
                    stack_trace: &failure.stack_trace,
                };
                failure.encoded_attributes = Some(self.to_payload(&attributes)?);
                failure.message = ENCODED_FAILURE_MESSAGE.to_owned();
                failure.stack_trace.clear();
            }
            self.transform_failure_level(failure, |c, p| c.encode_payloads(p))?;
            next = failure.cause.as_deref_mut();
        }
        Ok(())
    }

    /// Decodes every payload a received failure holds with the codecs, through the whole cause
    /// chain. Encoded attributes are decoded by the codecs here and read (message and stack trace
    /// restored) by [`Failure::from_proto`](super::Failure::from_proto).
    pub fn decode_failure(&self, failure: &mut ProtoFailure) -> Result<(), ConversionError> {
        let mut next = Some(failure);
        while let Some(failure) = next {
            self.transform_failure_level(failure, |c, p| c.decode_payloads(p))?;
            next = failure.cause.as_deref_mut();
        }
        Ok(())
    }

    /// Applies `transform` to each payload list of one failure (not its cause).
    fn transform_failure_level(
        &self,
        failure: &mut ProtoFailure,
        transform: impl Fn(&Self, Vec<Payload>) -> Result<Vec<Payload>, ConversionError>,
    ) -> Result<(), ConversionError> {
        if self.inner.codecs.is_empty() {
            return Ok(());
        }
        if let Some(attributes) = failure.encoded_attributes.take() {
            let mut out = transform(self, vec![attributes])?;
            let count = out.len();
            match (out.pop(), count) {
                (Some(payload), 1) => failure.encoded_attributes = Some(payload),
                _ => {
                    return Err(CodecError::new(format!(
                        "codec returned {count} payloads for a failure's encoded attributes, \
                         expected 1"
                    ))
                    .into());
                }
            }
        }
        let details: Option<&mut Option<Payloads>> = match &mut failure.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(info)) => Some(&mut info.details),
            Some(FailureInfo::TimeoutFailureInfo(info)) => Some(&mut info.last_heartbeat_details),
            Some(FailureInfo::CanceledFailureInfo(info)) => Some(&mut info.details),
            Some(FailureInfo::ResetWorkflowFailureInfo(info)) => {
                Some(&mut info.last_heartbeat_details)
            }
            _ => None,
        };
        if let Some(Some(details)) = details
            && !details.payloads.is_empty()
        {
            details.payloads = transform(self, std::mem::take(&mut details.payloads))?;
        }
        Ok(())
    }
}

/// Reads `{"message": …, "stack_trace": …}` from a failure's `encoded_attributes`, if it is a
/// `json/plain` JSON object: `Some((message, stack_trace))`, each `None` when absent.
pub(super) fn read_encoded_attributes(
    payload: &Payload,
) -> Option<(Option<String>, Option<String>)> {
    if encoding_of(payload) != Some(JSON_PLAIN) {
        return None;
    }
    let serde_json::Value::Object(mut map) = serde_json::from_slice(&payload.data).ok()? else {
        return None;
    };
    let mut take = |key: &str| match map.remove(key) {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    };
    Some((take("message"), take("stack_trace")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::api::temporal::api::failure::v1::ApplicationFailureInfo;

    /// Adds one metadata entry per codec (to check the order), or fails.
    struct Tag(&'static str);

    impl PayloadCodec for Tag {
        fn encode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            for p in &mut payloads {
                let order = p.metadata.entry("order".into()).or_default();
                order.extend_from_slice(self.0.as_bytes());
            }
            Ok(payloads)
        }
        fn decode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            for p in &mut payloads {
                let order = p.metadata.entry("order".into()).or_default();
                if !order.ends_with(self.0.as_bytes()) {
                    return Err(CodecError::new(format!("{} decoded out of order", self.0)));
                }
                order.truncate(order.len() - self.0.len());
                if order.is_empty() {
                    p.metadata.remove("order");
                }
            }
            Ok(payloads)
        }
    }

    struct Broken;

    impl PayloadCodec for Broken {
        fn encode(&self, _: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            Ok(Vec::new())
        }
        fn decode(&self, _: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            Err(CodecError::with_source("cannot decode", std::fmt::Error))
        }
    }

    #[test]
    fn codecs_encode_in_order_and_decode_in_reverse() {
        let c = DataConverter::default()
            .with_codec(Tag("a"))
            .with_codec(Tag("b"));
        assert_eq!(c.codec_count(), 2);
        let original = vec![c.to_payload("x").unwrap()];
        let encoded = c.encode_payloads(original.clone()).unwrap();
        assert_eq!(encoded[0].metadata["order"], b"ab");
        assert_eq!(c.decode_payloads(encoded).unwrap(), original);
        // A clone made before adding a codec keeps its own configuration.
        let plain = DataConverter::default();
        let with = plain.clone().with_codec(Tag("a"));
        assert_eq!((plain.codec_count(), with.codec_count()), (0, 1));
    }

    #[test]
    fn codec_errors_and_wrong_counts() {
        let c = DataConverter::default().with_codec(Broken);
        let err = c.decode_payloads(vec![Payload::default()]).unwrap_err();
        assert_eq!(err.to_string(), "payload codec failed: cannot decode");
        let mut failure = ProtoFailure {
            encoded_attributes: Some(Payload::default()),
            ..Default::default()
        };
        let err = c.encode_failure(&mut failure).unwrap_err();
        assert!(err.to_string().contains("returned 0 payloads"), "{err}");
    }

    #[test]
    fn failure_payloads_are_encoded_through_the_chain() {
        let c = DataConverter::default().with_codec(Tag("a"));
        let details = Some(Payloads {
            payloads: vec![c.to_payload(&1).unwrap()],
        });
        let app = FailureInfo::ApplicationFailureInfo(ApplicationFailureInfo {
            details: details.clone(),
            ..Default::default()
        });
        let mut failure = ProtoFailure {
            failure_info: Some(app.clone()),
            cause: Some(Box::new(ProtoFailure {
                failure_info: Some(app),
                ..Default::default()
            })),
            ..Default::default()
        };
        let original = failure.clone();
        c.encode_failure(&mut failure).unwrap();
        let Some(FailureInfo::ApplicationFailureInfo(info)) =
            failure.cause.as_ref().and_then(|c| c.failure_info.as_ref())
        else {
            panic!("cause lost its info");
        };
        assert_eq!(
            info.details.as_ref().unwrap().payloads[0].metadata["order"],
            b"a"
        );
        c.decode_failure(&mut failure).unwrap();
        assert_eq!(failure, original);
    }
}
