// Segments are separated by single dots: `tasks..x` has an empty segment.
use wirecall_core::websocket_rpc;

#[websocket_rpc("tasks..x")]
pub async fn x() -> u32 {
    1
}

fn main() {}
