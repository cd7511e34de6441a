// Params must implement Deserialize; the error points at the params type.
use wirecall_core::{Conn, websocket_rpc};
use schemars::JsonSchema;

#[derive(JsonSchema)]
pub struct NoSerde {
    pub id: u32,
}

#[websocket_rpc("tasks.get")]
pub async fn get(_conn: &Conn, params: NoSerde) -> u32 {
    params.id
}

fn main() {}
