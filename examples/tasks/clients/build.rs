//! Writes the tasks API's clients to `generated/` whenever the handlers
//! change: Cargo rebuilds and reruns this script when `tasks-service` (a
//! build dependency) changes. Unchanged files are not rewritten.
//!
//! The handlers must live in a library crate for this: a build script can
//! link libraries, not the server binary.

use std::path::Path;

use wirecall_core::Router;
use wirecall_core::export::{Target, generate_clients, write_files};

// Links the handlers (and so their registrations) into this script.
use tasks_service as _;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let output = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let router = Router::global().unwrap_or_else(|error| panic!("{error}"));
    let files = generate_clients(&router, &Target::ALL, &tasks_service::client_options())
        .unwrap_or_else(|error| panic!("{error}"));
    write_files(&output, &files)
        .unwrap_or_else(|error| panic!("writing {}: {error}", output.display()));
}
