// Accepts `async fn() -> R`: nothing to read, nothing to decode.
use wirecall_core::websocket_rpc;

#[websocket_rpc("system.version")]
pub async fn version() -> String {
    "1.0".into()
}

fn main() {}
