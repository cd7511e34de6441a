//! Differential: the fast RPC reader either declines a frame's first
//! line or reads exactly what the general command parser reads from it,
//! and leaves the same rest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall_server::fuzzing::{fast_rpc, general_rpc};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((fast, rest)) = fast_rpc(line) {
        let (first, after) = line.split_once('\n').unwrap_or((line, ""));
        assert_eq!(Some(fast), general_rpc(first.trim()), "line {line:?}");
        assert_eq!(rest, after, "the rest after {line:?}");
    }
});
