// Every field names a part of the channel; a missing payload is reported
// with it.
use wirecall_core::websocket_channel;

#[websocket_channel("chat:room:{room_id}")]
pub struct ChatRoom {
    pub room_id: u64,
    pub topic: String,
}

fn main() {}
