// Accepts `async fn(params) -> Result<T, E>` without a context.
use wirecall_core::{RpcError, websocket_rpc};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
pub struct Add {
    pub a: i64,
    pub b: i64,
}

#[websocket_rpc("math.add")]
pub async fn add(params: Add) -> Result<i64, RpcError> {
    Ok(params.a + params.b)
}

fn main() {}
