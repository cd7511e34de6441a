// Unknown attribute arguments are refused.
use wirecall_core::websocket_rpc;

#[websocket_rpc("tasks.get", timeout = 5)]
pub async fn get() -> u32 {
    1
}

fn main() {}
