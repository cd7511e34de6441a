// A parameter is a string, an integer or a UUID.
use wirecall_core::websocket_channel;

#[websocket_channel("prices:{level}", payload = String)]
pub struct Prices {
    pub level: f64,
}

fn main() {}
