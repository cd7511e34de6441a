// Client publications are checked by decoding: a checked payload needs
// Deserialize (or the family opts out with `validate = false`).
use schemars::JsonSchema;
use serde::Serialize;
use wirecall_core::websocket_channel;

#[derive(Serialize, JsonSchema)]
pub struct Out {
    pub n: u32,
}

#[websocket_channel("things:{id}", payload = Out)]
pub struct Things {
    pub id: u32,
}

fn main() {}
