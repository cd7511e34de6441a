// Handlers cannot be generic: the registry needs concrete types.
use wirecall_core::websocket_rpc;

#[websocket_rpc("tasks.generic")]
pub async fn generic<T: Default>(params: u32) -> u32 {
    let _ = T::default();
    params
}

fn main() {}
