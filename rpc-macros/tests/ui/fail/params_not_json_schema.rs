// Params must implement JsonSchema; the error points at the params type.
use wirecall_core::{Conn, websocket_rpc};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct NoSchema {
    pub id: u32,
}

#[websocket_rpc("tasks.get")]
pub async fn get(_conn: &Conn, params: NoSchema) -> u32 {
    params.id
}

fn main() {}
