// Accepts an infallible handler returning `T`, and one returning nothing.
use wirecall_core::{Conn, websocket_rpc};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
pub struct Ping {
    pub n: u32,
}

#[websocket_rpc("system.echo")]
pub async fn echo(_conn: &Conn, ping: Ping) -> u32 {
    ping.n
}

#[websocket_rpc("system.noop")]
pub async fn noop(_conn: &Conn) {}

fn main() {}
