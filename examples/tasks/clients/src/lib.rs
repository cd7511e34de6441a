//! This crate exists for its build script, which writes the tasks API's
//! typed clients to `generated/` (see `build.rs`). `cargo build -p
//! tasks-clients` regenerates them; the server's `generate-clients --check`
//! proves in CI that the committed files are current.
