// At most four context arguments and the params.
use wirecall_core::{Conn, State, websocket_rpc};

pub struct Db;

#[websocket_rpc("tasks.add")]
pub async fn add(
    _a: &Conn,
    _b: Conn,
    _c: State<Db>,
    _d: Conn,
    _e: Conn,
    params: u32,
) -> u32 {
    params
}

fn main() {}
