//! Shared state through extractors: a handler takes the connection and
//! `State<T>`s before its params; the service gives its state as one
//! struct (`#[derive(AppState)]`, each field shared by its type); a server
//! whose state lacks a `T` some handler takes fails to build, naming the
//! type and the handler.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use support::TestServer;
use wirecall_server::{AppState, BuildError, Conn, RpcError, State, websocket_rpc};
use wirecall_tests::test_server;

/// The application's counter, shared by every connection.
#[derive(Default)]
struct Hits(AtomicU64);

/// Said after every hit.
struct Motto(&'static str);

/// The service's state as one struct: each field is shared by its type.
#[derive(AppState)]
struct App {
    hits: Hits,
    motto: Arc<Motto>,
}

#[derive(Deserialize, JsonSchema)]
struct Hit {
    by: u64,
}

/// Counts hits per caller.
#[websocket_rpc("state.hit")]
async fn hit(
    conn: &Conn,
    State(hits): State<Hits>,
    State(motto): State<Motto>,
    params: Hit,
) -> Result<String, RpcError> {
    let total = hits.0.fetch_add(params.by, Ordering::SeqCst) + params.by;
    Ok(format!("{} made it {total}; {}", conn.user_id(), motto.0))
}

#[test]
fn a_server_without_the_state_a_handler_takes_does_not_build() {
    let Err(error) = test_server().build() else {
        panic!("built without Hits");
    };
    let BuildError::MissingState {
        method,
        handler,
        state,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!((*method, *handler), ("state.hit", "hit"));
    assert!(state.ends_with("::Hits"), "{state}");
    let message = error.to_string();
    // Half the state is still missing state.
    let half = AppState::new().with(Hits::default());
    assert!(matches!(
        test_server().state(half).build(),
        Err(BuildError::MissingState { state, .. }) if state.ends_with("::Motto")
    ));
    assert!(
        message.contains("State<") && message.contains("tests/tests/state.rs"),
        "{message}"
    );
}

#[tokio::test]
async fn a_handler_takes_the_connection_and_state_together() {
    let motto = Arc::new(Motto("keep going"));
    let app = App {
        hits: Hits::default(),
        motto: motto.clone(),
    };
    let server = TestServer::start(test_server().state(app)).await;
    let mut alice = server.client("alice").await;
    let reply = alice.call("state.hit", json!({"by": 2})).await;
    assert_eq!(
        reply["rpc"]["data"], "alice made it 2; keep going",
        "{reply}"
    );
    let mut bob = server.client("bob").await;
    let reply = bob.call("state.hit", json!({"by": 3})).await;
    assert_eq!(reply["rpc"]["data"], "bob made it 5; keep going", "{reply}");
    // The Arc field is shared as it is, not copied.
    assert_eq!(Arc::strong_count(&motto), 2);
}
