// A handler's error type must convert into RpcError.
use wirecall_core::{Conn, websocket_rpc};

#[derive(Debug)]
pub struct MyError;

#[websocket_rpc("tasks.get")]
pub async fn get(_conn: &Conn) -> Result<u32, MyError> {
    Err(MyError)
}

fn main() {}
