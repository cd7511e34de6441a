//! The Protobuf frame decoder on any binary message: an answer, never a
//! panic, and every command it decodes survives re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall_server::fuzzing::protobuf_message;

fuzz_target!(|data: &[u8]| {
    let _ = protobuf_message(data);
});
