// Two fields of one type: State<T> could not tell them apart.
use std::sync::Arc;

use wirecall_core::AppState;

pub struct Db;

#[derive(AppState)]
pub struct App {
    primary: Db,
    replica: Arc<Db>,
}

fn main() {}
