// Two parameters side by side split more than one way.
use wirecall_core::websocket_channel;

#[websocket_channel("chat:{a}{b}", payload = String)]
pub struct Pair {
    pub a: u64,
    pub b: u64,
}

#[websocket_channel("{ns}:x", payload = String)]
pub struct Namespaced {
    pub ns: String,
}

#[websocket_channel("tasks:{task}#{user}x", payload = String)]
pub struct Limited {
    pub task: u64,
    pub user: String,
}

fn main() {}
