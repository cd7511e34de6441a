// Method names are lowercase: `Tasks.get` is refused, never rewritten.
use wirecall_core::websocket_rpc;

#[websocket_rpc("Tasks.get")]
pub async fn get() -> u32 {
    1
}

fn main() {}
