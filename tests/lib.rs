//! Shared pieces of wirecall's end-to-end tests: the handlers and the server
//! configuration that both the Rust tests and the SDK fixture use.

#![warn(missing_docs)]

use std::time::Duration;

pub mod channels_fixture;
pub mod fixture;
pub mod redis_server;
pub mod types_fixture;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use wirecall_server::messages::NotificationKind;
use wirecall_server::publish::Notification;
use wirecall_server::{
    Conn, NamespaceOptions, PublisherExt, RpcError, Server, ServerBuilder, websocket_rpc,
};

/// The HS256 secret of every test server.
pub const SECRET: &str = "sdk-test-secret";

/// The HTTP API key of every test server.
pub const API_KEY: &str = "sdk-test-api-key";

/// Returns its params unchanged.
#[websocket_rpc("test.echo")]
pub async fn echo(params: Value) -> Value {
    params
}

/// Always fails with an application error.
#[websocket_rpc("test.fail")]
pub async fn fail(_conn: &Conn) -> Result<(), RpcError> {
    Err(RpcError::application(1001, "custom app error"))
}

/// Who the caller is.
#[derive(Serialize, serde::Deserialize, JsonSchema)]
pub struct WhoAmI {
    /// User id.
    pub user: String,
    /// Client id.
    pub client: String,
}

/// Returns the caller's user and client ids.
#[websocket_rpc("test.whoami")]
pub async fn whoami(conn: &Conn) -> WhoAmI {
    WhoAmI {
        user: conn.user_id().to_owned(),
        client: conn.client_id().to_owned(),
    }
}

/// Panics, to show a panic fails only its call.
#[websocket_rpc("test.panic")]
pub async fn panics(_conn: &Conn) -> Result<(), RpcError> {
    panic!("test handler panicked on purpose")
}

/// Sleeps for the given milliseconds, to exercise timeouts and concurrency.
#[websocket_rpc("test.sleep")]
pub async fn sleep_ms(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Sends the caller a success notification through the handler's
/// publisher; returns whether it was delivered.
#[websocket_rpc("test.notify_me")]
pub async fn notify_me(conn: &Conn, message: String) -> Result<bool, RpcError> {
    let notification = Notification {
        message,
        kind: NotificationKind::Success,
        title: "Done".into(),
        data: None,
    };
    let delivery = conn
        .publisher()?
        .send_notification(conn.user_id(), notification)
        .await?;
    Ok(delivery.delivered)
}

/// Timings of a node in the multi-node suites: presence, the node registry
/// and position checks expire and run within seconds, so tests see a
/// killed node drop out.
pub fn cluster_timings() -> wirecall_server::Timings {
    wirecall_server::Timings::default()
        .presence_ttl(Duration::from_secs(3))
        .presence_refresh_interval(Duration::from_secs(1))
        .position_check_interval(Duration::from_secs(2))
        .node_announce_interval(Duration::from_millis(500))
        .node_ttl(Duration::from_secs(2))
        .survey_timeout(Duration::from_secs(1))
}

/// The test servers' channels: namespace `news` (public, history 100 for
/// 300 s, recovery, presence, join/leave), `personal` (each user's personal
/// channel), `chat` (user-limited channels); the default namespace is
/// closed. The HTTP API is on, with [`API_KEY`]. Publications into
/// `rpc.requests` are calls (`rpc_over_publish`), as seed 001's clients
/// make them.
pub fn test_server() -> ServerBuilder {
    Server::builder()
        .hmac_secret(SECRET)
        .api_key(API_KEY)
        .rpc_over_publish(true)
        .namespace(
            "news",
            NamespaceOptions::public(100, Duration::from_secs(300)),
        )
        .namespace(
            "personal",
            NamespaceOptions::default()
                .presence(true)
                .history_size(100)
                .history_ttl(Duration::from_secs(300))
                .force_recovery(true),
        )
        .namespace(
            "chat",
            NamespaceOptions::public(10, Duration::from_secs(60)).allow_user_limited_channels(true),
        )
        .personal_channels("personal")
}
