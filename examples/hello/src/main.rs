//! The smallest wirecall service: one handler, a public `news` namespace
//! and personal channels, served on 127.0.0.1:8000. It depends on
//! `wirecall-server` with no features, so it compiles the server and
//! nothing else (no command line, no client exporter, no Redis).
//!
//! ```sh
//! HELLO_SECRET=dev-secret cargo run -p hello
//! ```
//!
//! Connect with any Centrifugo SDK and an HS256 token for that secret
//! (`{"sub": "alice"}`), then call `greet.hello` with `{"name": "Ada"}`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall_server::{Conn, NamespaceOptions, RpcError, Server, websocket_rpc};

/// Who to greet.
#[derive(Deserialize, JsonSchema)]
pub struct HelloParams {
    /// The name to greet.
    pub name: String,
}

/// A greeting.
#[derive(Serialize, JsonSchema)]
pub struct Greeting {
    /// The greeting text.
    pub text: String,
}

/// Greets the caller by name.
#[websocket_rpc("greet.hello")]
pub async fn hello(conn: &Conn, params: HelloParams) -> Result<Greeting, RpcError> {
    if params.name.trim().is_empty() {
        return Err(RpcError::bad_request("name: must not be empty"));
    }
    Ok(Greeting {
        text: format!("Hello, {}! (you are {})", params.name, conn.user_id()),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("HELLO_SECRET")
        .map_err(|_| "set HELLO_SECRET to the HS256 secret of connection tokens")?;
    let personal = NamespaceOptions::default()
        .presence(true)
        .history_size(50)
        .history_ttl(Duration::from_secs(600))
        .force_recovery(true);
    let server = Server::builder()
        .hmac_secret(secret)
        .namespace(
            "news",
            NamespaceOptions::public(100, Duration::from_secs(300)),
        )
        .namespace("personal", personal)
        .personal_channels("personal")
        .build()?;
    let listening = server.listen("127.0.0.1:8000").await?;
    println!(
        "hello listening on ws://{}{}",
        listening.local_addr(),
        wirecall_server::WEBSOCKET_PATH
    );
    // Until SIGINT or SIGTERM; then sessions end gracefully (3001).
    listening.serve().await?;
    Ok(())
}
