// Takes the connection and extractors before the params, and extractors
// alone.
use schemars::JsonSchema;
use serde::Deserialize;
use wirecall_core::{Conn, State, websocket_rpc};

pub struct Db {
    pub rows: u64,
}

pub struct Limits {
    pub max: u64,
}

#[derive(Deserialize, JsonSchema)]
pub struct Query {
    pub limit: u64,
}

#[websocket_rpc("db.count_for")]
pub async fn count_for(conn: &Conn, State(db): State<Db>, q: Query) -> String {
    format!("{}: {}", conn.user_id(), db.rows.min(q.limit))
}

#[websocket_rpc("db.capped")]
pub async fn capped(State(db): State<Db>, State(limits): State<Limits>, conn: Conn, q: Query) -> u64 {
    let _ = conn.user_id();
    db.rows.min(q.limit).min(limits.max)
}

fn main() {}
