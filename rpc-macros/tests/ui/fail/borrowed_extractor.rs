// Only the connection is borrowed: an extractor (or any other context)
// taken by reference is refused at the argument.
use wirecall_core::{Conn, State, websocket_rpc};

pub struct Db;

#[websocket_rpc("db.count")]
pub async fn count(_conn: &Conn, _db: &State<Db>, limit: u32) -> u32 {
    limit
}

fn main() {}
