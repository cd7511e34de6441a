// A struct's fields become the state handlers take by type; an Arc field
// is shared as it is.
use std::sync::Arc;

use wirecall_core::{AppState, Conn, State};

pub struct Db(u32);
pub struct Cache(&'static str);

#[derive(AppState)]
pub struct App {
    db: Db,
    cache: Arc<Cache>,
}

#[derive(AppState)]
pub struct Tuple(Db);

fn main() {
    let conn = Conn::builder()
        .state(App { db: Db(7), cache: Arc::new(Cache("warm")) })
        .build();
    assert_eq!(conn.state::<Db>().unwrap().0, 7);
    let State(cache) = <State<Cache> as wirecall_core::FromConn>::from_conn(&conn).unwrap();
    assert_eq!(cache.0, "warm");
    let state: AppState = Tuple(Db(1)).into();
    assert_eq!(state.get::<Db>().unwrap().0, 1);
}
