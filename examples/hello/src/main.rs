//! The smallest wirecall service: one handler, a public `news` namespace and
//! personal channels, served with the standard command line.
//!
//! ```sh
//! cargo run -p hello -- serve --secret dev-secret --api-key dev-key
//! cargo run -p hello -- token --user alice --secret dev-secret
//! cargo run -p hello -- publish -c news:general -m "hello" --api-key dev-key
//! ```

use std::process::ExitCode;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall_server::{Conn, NamespaceOptions, RpcError, websocket_rpc};

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

fn main() -> ExitCode {
    wirecall_server::cli::run(|server| {
        let personal = NamespaceOptions {
            presence: true,
            history_size: 50,
            history_ttl: Duration::from_secs(600),
            force_recovery: true,
            ..NamespaceOptions::default()
        };
        server
            .namespace(
                "news",
                NamespaceOptions::public(100, Duration::from_secs(300)),
            )
            .namespace("personal", personal)
            .personal_channels("personal")
    })
}
