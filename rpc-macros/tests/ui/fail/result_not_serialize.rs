// Results must implement Serialize and JsonSchema; the error points at `T`.
use wirecall_core::{Conn, RpcError, websocket_rpc};

pub struct Opaque {
    pub id: u32,
}

#[websocket_rpc("tasks.get")]
pub async fn get(_conn: &Conn) -> Result<Opaque, RpcError> {
    Ok(Opaque { id: 1 })
}

fn main() {}
