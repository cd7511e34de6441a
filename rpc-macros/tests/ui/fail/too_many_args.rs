// At most two arguments: the context and the params.
use wirecall_core::{Conn, websocket_rpc};

#[websocket_rpc("tasks.add")]
pub async fn add(_conn: &Conn, a: u32, b: u32) -> u32 {
    a + b
}

fn main() {}
