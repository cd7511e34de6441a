//! The client side of one connection: opening it, and reading the
//! server's newline-separated JSON lines.

use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any one step of setting up a connection may take.
pub(crate) const STEP_GUARD: Duration = Duration::from_secs(30);

/// Opens a WebSocket to `url`. Small read buffers keep 10,000 client
/// connections cheap; writes are buffered until flushed, so pipelined
/// commands leave in one syscall; Nagle is off, as in the SDKs.
pub(crate) async fn open(url: &str) -> Result<Ws, String> {
    open_with(url, None).await
}

/// [`open`], asking for a WebSocket subprotocol (`centrifuge-protobuf`).
pub(crate) async fn open_with(url: &str, subprotocol: Option<&str>) -> Result<Ws, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    if let Some(subprotocol) = subprotocol {
        let value = subprotocol.parse().map_err(|_| "bad subprotocol")?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", value);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(64 * 1024)
        .max_message_size(Some(16 * 1024 * 1024))
        .max_frame_size(Some(16 * 1024 * 1024));
    match tokio::time::timeout(
        STEP_GUARD,
        connect_async_with_config(request, Some(config), true),
    )
    .await
    {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(e)) => Err(format!("cannot open {url}: {e}")),
        Err(_) => Err(format!("opening {url} timed out")),
    }
}

/// What the load generator reads of a server line: its id, and whether it
/// is an error or a push. Everything else is skipped.
#[derive(Deserialize)]
pub(crate) struct Line<'a> {
    #[serde(default)]
    pub(crate) id: u32,
    #[serde(borrow, default)]
    pub(crate) error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) push: Option<&'a RawValue>,
}

impl<'a> Line<'a> {
    pub(crate) fn parse(text: &'a str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("server sent a bad line ({e}): {text}"))
    }

    /// A server ping: no id and no push (shared/protocol.md §3.2).
    pub(crate) fn is_ping(&self) -> bool {
        self.id == 0 && self.push.is_none()
    }
}

/// The lines of one text message (the server may batch several).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|l| !l.trim().is_empty())
}

/// `connect` with `token`, as command `id`.
pub(crate) fn connect_frame(id: u32, token: &str) -> String {
    serde_json::json!({"id": id, "connect": {"token": token, "name": "loadgen"}}).to_string()
}
