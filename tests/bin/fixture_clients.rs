//! Writes the generated clients of the fixture server's methods (the test
//! handlers and the type fixture) to the directory given as the only
//! argument: what the generated-client suites of tests/sdk import.

use wirecall_server::Router;
use wirecall_server::export::{ClientOptions, Target, generate_clients, write_files};

// Links the handlers into this binary (they register themselves).
use wirecall_tests as _;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: fixture-clients <output directory>");
        std::process::exit(2);
    };
    let options = ClientOptions {
        name: "fixture-client".into(),
        go_module: Some("example.com/fixtureclient".into()),
        // The test servers' namespaces, for the AsyncAPI operations.
        ..wirecall_tests::test_server().export_options()
    };
    let fail = |error: &dyn std::fmt::Display| -> ! {
        eprintln!("fixture-clients: {error}");
        std::process::exit(1);
    };
    let router = Router::global().unwrap_or_else(|error| fail(&error));
    let files =
        generate_clients(&router, &Target::ALL, &options).unwrap_or_else(|error| fail(&error));
    let dir = std::path::Path::new(&dir);
    write_files(dir, &files).unwrap_or_else(|error| {
        eprintln!("fixture-clients: writing {}: {error}", dir.display());
        std::process::exit(1);
    });
    println!("wrote {} files to {}", files.len(), dir.display());
}
