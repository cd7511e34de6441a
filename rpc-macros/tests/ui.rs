//! Compile-time behaviour of `#[websocket_rpc]`: every accepted handler shape
//! compiles, every mistake fails with the message in the `.stderr` beside it.
//! Regenerate with `TRYBUILD=overwrite cargo test -p wirecall-macros --test ui`
//! and read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
