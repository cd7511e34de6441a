//! The general command parser on any line: an answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall_server::fuzzing::parse_command;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = parse_command(line);
    }
});
