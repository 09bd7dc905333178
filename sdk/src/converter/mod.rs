//! Payload and failure conversion, compatible with the official SDKs.
