//! Generates Temporal's API types, gRPC clients and servers, and proto3-JSON impls for the history
//! messages, from the descriptor set that the pinned `temporalio-protos` crate compiles (with its
//! vendored pure-Rust `protox`): no `.proto` files in this repository and no system `protoc`.

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorSet};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::{env, fs};

/// Packages we generate nothing for: the official SDK's internal bridge protocol, Temporal Cloud's
/// management API and gRPC health (tonic-health is not needed by either side).
const SKIPPED_PACKAGES: &[&str] = &["coresdk", "temporal.api.cloud", "grpc.health"];

/// Roots of the proto3-JSON closure: everything a history file contains.
const JSON_ROOTS: &[&str] = &[".temporal.api.history.v1.History"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let descriptor_path = env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH").map_err(|_| {
        "temporalio-protos did not export DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH; \
         check that the pinned version still prints `cargo:descriptor_path`"
    })?;
    println!("cargo:rerun-if-changed={descriptor_path}");
    println!("cargo:rerun-if-changed=build.rs");

    let mut fds = FileDescriptorSet::decode(fs::read(&descriptor_path)?.as_slice())?;
    fds.file.retain(|f| {
        let pkg = f.package();
        !SKIPPED_PACKAGES
            .iter()
            .any(|skip| pkg == *skip || pkg.starts_with(&format!("{skip}.")))
    });

    let out = PathBuf::from(env::var("OUT_DIR")?);
    // Keep the filtered set for runtime reflection needs and debugging.
    fs::write(out.join("temporal_api_descriptor.bin"), fds.encode_to_vec())?;

    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    // `Any.type_url`s as every Temporal SDK and server writes them.
    config.type_name_domain(["."], "type.googleapis.com");
    // Ordered maps: JSON output with sorted keys (as the CLI writes) and deterministic encodings.
    config.btree_map(["."]);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .client_mod_attribute(".", "#[cfg(feature = \"client\")]")
        .server_mod_attribute(".", "#[cfg(feature = \"server\")]")
        // Our own well-known types, so that their JSON form is ours (canonical `Z` timestamps,
        // `"10s"` durations) and no chrono-based WKT crate is pulled in.
        .compile_well_known_types(true)
        .skip_debug(["temporal.api.common.v1.Payload"])
        .include_file("_all.rs")
        .compile_fds_with_config(fds.clone(), config)?;

    // OUT_DIR persists between builds: a stale `.serde.rs` from another JSON scope would not compile.
    for entry in fs::read_dir(&out)?.flatten() {
        if entry.path().to_string_lossy().ends_with(".serde.rs") {
            fs::remove_file(entry.path())?;
        }
    }
    let closure = json_closure(&fds, JSON_ROOTS);
    pbjson_build::Builder::new()
        .register_descriptors(&fds.encode_to_vec())?
        .ignore_unknown_fields()
        .btree_map(["."])
        .extern_path(".google.protobuf", "crate::google::protobuf")
        .build(&closure.iter().map(String::as_str).collect::<Vec<_>>())?;

    // pbjson collects `map<string, bytes>` values (`Payload.metadata`) into a HashMap before
    // writing them, which would make the JSON key order change from run to run; Go writes map keys
    // sorted, and so must we.
    for entry in fs::read_dir(&out)?.flatten() {
        let path = entry.path();
        if path.to_string_lossy().ends_with(".serde.rs") {
            let text = fs::read_to_string(&path)?;
            let fixed = text.replace(
                "std::collections::HashMap<_, _> = self.",
                "std::collections::BTreeMap<_, _> = self.",
            );
            if fixed != text {
                fs::write(&path, fixed)?;
            }
        }
    }

    // Splice each package's serde impls into its prost module.
    let packages: BTreeSet<&str> = fds.file.iter().map(|f| f.package()).collect();
    for pkg in packages {
        let rs = out.join(format!("{pkg}.rs"));
        let serde = out.join(format!("{pkg}.serde.rs"));
        if rs.exists() && serde.exists() {
            let marker = format!("include!(\"{pkg}.serde.rs\");");
            if !fs::read_to_string(&rs)?.contains(&marker) {
                writeln!(fs::OpenOptions::new().append(true).open(&rs)?, "{marker}")?;
            }
        }
    }
    Ok(())
}

/// Every message and enum reachable from `roots` through fields (nested types included), except
/// the `google.protobuf` well-known types, whose JSON impls are written by hand in `wkt.rs`.
fn json_closure(fds: &FileDescriptorSet, roots: &[&str]) -> BTreeSet<String> {
    let mut messages: HashMap<String, &DescriptorProto> = HashMap::new();
    let mut enums: BTreeSet<String> = BTreeSet::new();
    for file in &fds.file {
        let prefix = format!(".{}", file.package());
        for m in &file.message_type {
            index_message(&prefix, m, &mut messages, &mut enums);
        }
        for e in &file.enum_type {
            enums.insert(format!("{prefix}.{}", e.name()));
        }
    }
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.iter().map(|r| r.to_string()).collect();
    while let Some(name) = queue.pop_front() {
        if name.starts_with(".google.protobuf.") || !seen.insert(name.clone()) {
            continue;
        }
        if let Some(msg) = messages.get(&name) {
            for field in &msg.field {
                if !field.type_name().is_empty() {
                    queue.push_back(field.type_name().to_string());
                }
            }
        }
    }
    seen
}

fn index_message<'a>(
    prefix: &str,
    msg: &'a DescriptorProto,
    messages: &mut HashMap<String, &'a DescriptorProto>,
    enums: &mut BTreeSet<String>,
) {
    let name = format!("{prefix}.{}", msg.name());
    for nested in &msg.nested_type {
        index_message(&name, nested, messages, enums);
    }
    for e in &msg.enum_type {
        enums.insert(format!("{name}.{}", e.name()));
    }
    messages.insert(name, msg);
}
