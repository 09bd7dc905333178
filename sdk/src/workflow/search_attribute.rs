//! Typed search attribute values, as payloads carrying their type in `metadata.type` (the form
//! the server indexes and the official SDKs write).

use crate::api::temporal::api::common::v1::Payload;
use crate::converter::{ConversionError, DataConverter};
use serde::Serialize;

fn typed(value: &impl Serialize, kind: &str) -> Result<Payload, ConversionError> {
    let mut payload = DataConverter::default().to_payload(value)?;
    payload
        .metadata
        .insert("type".into(), kind.as_bytes().to_vec());
    Ok(payload)
}

/// A `Keyword` value.
pub fn keyword(value: &str) -> Result<Payload, ConversionError> {
    typed(&value, "Keyword")
}

/// A `Text` value.
pub fn text(value: &str) -> Result<Payload, ConversionError> {
    typed(&value, "Text")
}

/// An `Int` value.
pub fn int(value: i64) -> Result<Payload, ConversionError> {
    typed(&value, "Int")
}

/// A `Double` value.
pub fn double(value: f64) -> Result<Payload, ConversionError> {
    typed(&value, "Double")
}

/// A `Bool` value.
pub fn bool(value: bool) -> Result<Payload, ConversionError> {
    typed(&value, "Bool")
}

/// A `KeywordList` value.
pub fn keyword_list(values: &[&str]) -> Result<Payload, ConversionError> {
    typed(&values, "KeywordList")
}

/// Removes the attribute (a `binary/null` payload).
pub fn unset() -> Payload {
    DataConverter::default().to_payload(&()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_type() {
        let p = double(99.5).unwrap_or_default();
        assert_eq!(p.data, b"99.5");
        assert_eq!(
            p.metadata.get("type").map(Vec::as_slice),
            Some(&b"Double"[..])
        );
        assert_eq!(
            unset().metadata.get("encoding").map(Vec::as_slice),
            Some(&b"binary/null"[..])
        );
    }
}
