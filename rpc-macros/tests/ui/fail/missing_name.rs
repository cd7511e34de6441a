// The method name is required.
use wirecall_core::websocket_rpc;

#[websocket_rpc]
pub async fn unnamed() -> u32 {
    1
}

fn main() {}
