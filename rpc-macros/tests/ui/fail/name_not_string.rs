// The method name is a string literal, not a path.
use wirecall_core::websocket_rpc;

#[websocket_rpc(tasks.get)]
pub async fn get() -> u32 {
    1
}

fn main() {}
