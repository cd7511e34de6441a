//! The smallest wsrpc service: one handler, found in the registry and
//! called through the router the way the server will call it.
//!
//! `cargo run -p hello -- '{"name":"Ada"}'`

use rpc_server::{Conn, Router, RpcError, websocket_rpc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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
    let params = std::env::args()
        .nth(1)
        .unwrap_or_else(|| r#"{"name":"world"}"#.to_owned());
    let router = Router::global()?;
    for registration in router.methods() {
        println!(
            "registered {} ({})",
            registration.method, registration.location
        );
    }
    let conn = Conn::builder().user("demo").client("local").build();
    let params = RawValue::from_string(params)?;
    match router.call(conn, "greet.hello", Some(params)).await {
        Ok(result) => println!("greet.hello -> {}", result.get()),
        Err(error) => println!("greet.hello failed: {error}"),
    }
    Ok(())
}
