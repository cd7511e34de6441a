// Two params values: the first is taken for context, and said not to be one.
use wirecall_core::{Conn, websocket_rpc};

#[websocket_rpc("tasks.add")]
pub async fn add(_conn: &Conn, a: u32, b: u32) -> u32 {
    a + b
}

fn main() {}
