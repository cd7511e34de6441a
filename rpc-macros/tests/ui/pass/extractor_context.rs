// Accepts an extractor as the context in the two-argument form.
use wirecall_core::{Conn, State, websocket_rpc};
use schemars::JsonSchema;
use serde::Deserialize;

pub struct Db {
    pub rows: u64,
}

#[derive(Deserialize, JsonSchema)]
pub struct Query {
    pub limit: u64,
}

#[websocket_rpc("db.count")]
pub async fn count(State(db): State<Db>, q: Query) -> u64 {
    db.rows.min(q.limit)
}

#[websocket_rpc("db.owned_conn")]
pub async fn owned(conn: Conn, _q: Query) -> String {
    conn.user_id().to_owned()
}

fn main() {}
