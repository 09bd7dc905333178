//! Several values ↔ several payloads: one payload per argument, as the official SDKs send
//! workflow and activity arguments.

use super::{ConversionError, DataConverter};
use crate::api::temporal::api::common::v1::Payload;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Values that convert to a list of payloads, one per argument.
///
/// Implemented for `()` (no argument), tuples of 1 to 8 `Serialize` values (`("order-1", 42.5)`;
/// a single argument is `(value,)`), and `Vec<Payload>` (already converted, passed through).
/// No codec is applied.
pub trait ToPayloads {
    /// Converts each argument with [`DataConverter::to_payload`].
    fn to_payloads(&self, converter: &DataConverter) -> Result<Vec<Payload>, ConversionError>;
}

/// Values that convert from a list of payloads, one per argument.
///
/// Implemented for `()`, tuples of 1 to 8 `DeserializeOwned` values, and `Vec<Payload>`
/// (passthrough). A missing trailing payload decodes as null, so trailing `Option` arguments may
/// be omitted by the caller (a missing non-`Option` argument is
/// [`ConversionError::MissingArgument`]); extra payloads are ignored, as the official SDKs do.
/// No codec is applied.
pub trait FromPayloads: Sized {
    /// Converts each payload with [`DataConverter::from_payload`].
    fn from_payloads(
        converter: &DataConverter,
        payloads: &[Payload],
    ) -> Result<Self, ConversionError>;
}

impl ToPayloads for () {
    fn to_payloads(&self, _: &DataConverter) -> Result<Vec<Payload>, ConversionError> {
        Ok(Vec::new())
    }
}

impl FromPayloads for () {
    fn from_payloads(_: &DataConverter, _: &[Payload]) -> Result<Self, ConversionError> {
        Ok(())
    }
}

impl ToPayloads for Vec<Payload> {
    fn to_payloads(&self, _: &DataConverter) -> Result<Vec<Payload>, ConversionError> {
        Ok(self.clone())
    }
}

impl FromPayloads for Vec<Payload> {
    fn from_payloads(_: &DataConverter, payloads: &[Payload]) -> Result<Self, ConversionError> {
        Ok(payloads.to_vec())
    }
}

impl<T: ToPayloads + ?Sized> ToPayloads for &T {
    fn to_payloads(&self, converter: &DataConverter) -> Result<Vec<Payload>, ConversionError> {
        (**self).to_payloads(converter)
    }
}

/// Decodes argument `index`, or null if there is no payload for it.
fn decode_arg<T: DeserializeOwned>(
    converter: &DataConverter,
    payloads: &[Payload],
    index: usize,
) -> Result<T, ConversionError> {
    match payloads.get(index) {
        Some(payload) => converter
            .from_payload(payload)
            .map_err(|e| e.at_argument(index)),
        None => serde_json::from_slice(b"null").map_err(|_| ConversionError::MissingArgument {
            index,
            count: payloads.len(),
        }),
    }
}

macro_rules! tuple_impls {
    ($( ($($name:ident $index:tt),+) )+) => {$(
        impl<$($name: Serialize),+> ToPayloads for ($($name,)+) {
            fn to_payloads(
                &self,
                converter: &DataConverter,
            ) -> Result<Vec<Payload>, ConversionError> {
                Ok(vec![$(
                    converter.to_payload(&self.$index).map_err(|e| e.at_argument($index))?,
                )+])
            }
        }

        impl<$($name: DeserializeOwned),+> FromPayloads for ($($name,)+) {
            fn from_payloads(
                converter: &DataConverter,
                payloads: &[Payload],
            ) -> Result<Self, ConversionError> {
                Ok(($(decode_arg::<$name>(converter, payloads, $index)?,)+))
            }
        }
    )+};
}

tuple_impls! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tuples_are_one_payload_per_argument() {
        let c = DataConverter::default();
        let p = ("order-1", 42.5).to_payloads(&c).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].data, b"\"order-1\"");
        assert_eq!(p[1].data, b"42.5");
        let (id, amount): (String, f64) = FromPayloads::from_payloads(&c, &p).unwrap();
        assert_eq!((id.as_str(), amount), ("order-1", 42.5));
        assert!(().to_payloads(&c).unwrap().is_empty());
        let all = (1, 2, 3, 4, 5, 6, 7, 8).to_payloads(&c).unwrap();
        let back = <(u8, u8, u8, u8, u8, u8, u8, u8)>::from_payloads(&c, &all).unwrap();
        assert_eq!(back, (1, 2, 3, 4, 5, 6, 7, 8));
    }

    #[test]
    fn missing_and_extra_arguments() {
        let c = DataConverter::default();
        let p = ("a",).to_payloads(&c).unwrap();
        let (a, b): (String, Option<u32>) = FromPayloads::from_payloads(&c, &p).unwrap();
        assert_eq!((a.as_str(), b), ("a", None));
        let err = <(String, u32)>::from_payloads(&c, &p).unwrap_err();
        assert!(matches!(
            err,
            ConversionError::MissingArgument { index: 1, count: 1 }
        ));
        let (a,): (String,) =
            FromPayloads::from_payloads(&c, &("a", 2).to_payloads(&c).unwrap()).unwrap();
        assert_eq!(a, "a");
        let err =
            <(String, String)>::from_payloads(&c, &("a", 2).to_payloads(&c).unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("argument 1: cannot decode json/plain"),
            "{err}"
        );
    }
}
