// Params are taken by value.
use wirecall_core::{Conn, websocket_rpc};

#[websocket_rpc("tasks.len")]
pub async fn len(_conn: &Conn, name: &String) -> usize {
    name.len()
}

fn main() {}
