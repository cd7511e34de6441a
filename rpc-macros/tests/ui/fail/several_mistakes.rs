// Every problem is reported at once, each at its own tokens.
use wirecall_core::websocket_rpc;

#[websocket_rpc("Bad Name")]
pub fn get<T>(&self, a: u32, b: u32, c: u32) -> u32 {
    a
}

fn main() {}
