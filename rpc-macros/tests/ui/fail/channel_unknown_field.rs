// The pattern names a parameter the struct does not have.
use wirecall_core::websocket_channel;

#[websocket_channel("chat:room:{room}", payload = String)]
pub struct ChatRoom {
    pub room_id: u64,
}

fn main() {}
