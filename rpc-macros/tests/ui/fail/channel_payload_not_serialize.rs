// The payload must be Serialize + JsonSchema.
use wirecall_core::websocket_channel;

pub struct Opaque;

#[websocket_channel("things:{id}", payload = Opaque, validate = false)]
pub struct Things {
    pub id: u32,
}

fn main() {}
