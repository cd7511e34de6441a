// Handlers are free functions, not methods.
use wirecall_core::websocket_rpc;

pub struct Service;

impl Service {
    #[websocket_rpc("svc.get")]
    pub async fn get(&self) -> u32 {
        1
    }
}

fn main() {}
