// A handler must be an `async fn`.
use wirecall_core::websocket_rpc;

#[websocket_rpc("tasks.sync")]
pub fn sync_handler() -> u32 {
    1
}

fn main() {}
