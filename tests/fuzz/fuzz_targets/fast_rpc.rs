//! Differential: the fast RPC reader either declines a line or reads
//! exactly what the general command parser reads from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall_server::fuzzing::{fast_rpc, general_rpc};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = fast_rpc(line) {
        assert_eq!(Some(fast), general_rpc(line), "line {line:?}");
    }
});
