//! The Rust client end to end, self-contained: a server with one handler
//! starts in this process, then a client calls it by marker (types
//! checked at compile time), subscribes to a channel and receives a
//! publication.
//!
//! `cargo run -p wirecall-client --example quickstart`

use std::time::Duration;

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wirecall_client::{Client, SubscriptionEvent};
use wirecall_server::auth::mint_hmac_token;
use wirecall_server::{Conn, NamespaceOptions, RpcError, Server, websocket_rpc};

/// What to add.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct AddParams {
    /// Left.
    pub a: i64,
    /// Right.
    pub b: i64,
}

/// The sum.
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
pub struct Sum {
    /// a + b.
    pub sum: i64,
}

/// Adds two numbers.
#[websocket_rpc("math.add")]
pub async fn add(_conn: &Conn, params: AddParams) -> Result<Sum, RpcError> {
    Ok(Sum {
        sum: params.a + params.b,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .hmac_secret("example-secret")
        .namespace(
            "news",
            NamespaceOptions::public(10, Duration::from_secs(60)),
        )
        .build()?;
    let listening = server.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}/connection/websocket", listening.local_addr());
    tokio::spawn(listening.serve());

    let token = mint_hmac_token(b"example-secret", &json!({"sub": "ada"}))?;
    let client = Client::builder(url).token(token).connect().await?;

    // `math_add` is the marker #[websocket_rpc("math.add")] declared.
    let sum = client.call::<math_add>(AddParams { a: 40, b: 2 }).await?;
    println!("math.add(40, 2) = {}", sum.sum);

    let mut news = client.subscribe("news:general").await?;
    let data = serde_json::value::to_raw_value(&json!({"headline": "wirecall ships"}))?;
    server.publish("news:general", &data).await?;
    while let Some(event) = news.next().await {
        if let SubscriptionEvent::Publication(publication) = event {
            println!("news:general <- {}", publication.data.get());
            break;
        }
    }
    Ok(())
}
