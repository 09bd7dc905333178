//! Workflow histories: proto3 JSON (as the CLI and Web UI write it) and protobuf binary.
