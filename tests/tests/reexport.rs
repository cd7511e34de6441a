//! A service that depends on `wirecall-server` alone (no direct `wirecall-core`)
//! still gets working handlers: the attribute finds the runtime through the
//! re-export.

use schemars::JsonSchema;
use serde::Deserialize;
use wirecall_server::{Conn, Method, Router, RpcError, websocket_rpc};

#[derive(Deserialize, JsonSchema)]
struct Echo {
    text: String,
}

/// Echoes the text back.
#[websocket_rpc("echo.say")]
async fn say(_conn: &Conn, params: Echo) -> Result<String, RpcError> {
    Ok(params.text)
}

#[tokio::test]
async fn handlers_work_through_the_server_crate_alone() {
    assert_eq!(echo_say::NAME, "echo.say");
    let router = Router::global().unwrap();
    let params = serde_json::value::to_raw_value(&serde_json::json!({"text": "hi"})).unwrap();
    let reply = router
        .call(Conn::builder().build(), "echo.say", Some(&params))
        .await
        .unwrap();
    assert_eq!(reply.get(), r#""hi""#);
}
