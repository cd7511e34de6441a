// Accepts `async fn(ctx) -> R` for methods without params.
use wirecall_core::{Conn, RpcError, websocket_rpc};

#[websocket_rpc("users.whoami")]
pub async fn whoami(conn: &Conn) -> Result<String, RpcError> {
    Ok(conn.user_id().to_owned())
}

fn main() {}
