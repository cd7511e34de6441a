//! A raw protocol client for end-to-end tests: real sockets on loopback,
//! frames written by hand, so every byte the server sends is asserted.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wirecall_server::auth::mint_hmac_token;
use wirecall_server::{Server, ServerBuilder};
use wirecall_tests::SECRET;

/// A hang guard, not a synchronisation point.
pub const GUARD: Duration = Duration::from_secs(10);

/// A server on 127.0.0.1 with a random port, stopped on drop.
pub struct TestServer {
    pub server: Server,
    pub url: String,
    /// The HTTP API (`http://127.0.0.1:<port>/api`).
    pub api_url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start(builder: ServerBuilder) -> Self {
        let server = builder.build().expect("server builds");
        let listening = server.listen("127.0.0.1:0").await.expect("binds");
        let url = format!("ws://{}/connection/websocket", listening.local_addr());
        let api_url = format!("http://{}/api", listening.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(listening.serve_with_shutdown(async move {
            let _ = stopped.await;
        }));
        Self {
            server,
            url,
            api_url,
            stop: Some(stop),
        }
    }

    /// A client of this server's HTTP API.
    pub fn api(&self) -> wirecall_client::ApiClient {
        wirecall_client::ApiClient::new(&self.api_url, wirecall_tests::API_KEY)
    }

    /// A connected client of `user`.
    pub async fn client(&self, user: &str) -> RawClient {
        let mut client = RawClient::open(&self.url).await;
        let reply = client.connect(&token(user, 3600)).await;
        assert!(reply["connect"]["client"].is_string(), "{reply}");
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// HS256 with the test secret, over any claims.
pub fn sign(claims: &Value) -> String {
    mint_hmac_token(SECRET.as_bytes(), claims).unwrap()
}

/// A connection token for `user` valid for `exp_in` seconds (negative:
/// already expired).
pub fn token(user: &str, exp_in: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    mint_hmac_token(
        SECRET.as_bytes(),
        &json!({"sub": user, "exp": now.saturating_add_signed(exp_in)}),
    )
    .unwrap()
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server sent: JSON objects, or the close frame.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Closed(Option<(u16, String)>),
}

/// One protocol connection driven by hand.
pub struct RawClient {
    ws: Ws,
    next_id: u32,
    /// Objects received in one frame but not yet read.
    pending: std::collections::VecDeque<Value>,
    /// Pushes that arrived while waiting for a reply.
    pushes: std::collections::VecDeque<Value>,
    /// Whether server pings are answered (a well-behaved SDK does).
    pub answer_pings: bool,
}

impl RawClient {
    pub async fn open(url: &str) -> Self {
        Self::open_with_headers(url, &[]).await
    }

    /// Opens with extra headers on the upgrade request (a cookie, say).
    pub async fn open_with_headers(url: &str, headers: &[(&str, &str)]) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("a websocket URL");
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("a header name"),
                value.parse().expect("a header value"),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket opens");
        Self {
            ws,
            next_id: 0,
            pending: Default::default(),
            pushes: Default::default(),
            answer_pings: true,
        }
    }

    pub fn next_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// Sends a text frame; an error once the server has gone.
    pub async fn try_send_text(&mut self, text: &str) -> Result<(), String> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.expect("send");
    }

    /// Sends a command with a fresh id; returns the id.
    pub async fn command(&mut self, body: Value) -> u32 {
        let id = self.next_id();
        let mut command = body;
        command["id"] = json!(id);
        self.send_text(&command.to_string()).await;
        id
    }

    /// The next thing the server sent; pings `{}` are skipped (and answered
    /// when `answer_pings` is set).
    pub async fn receive(&mut self) -> Received {
        loop {
            if let Some(value) = self.pending.pop_front() {
                if value.as_object().is_some_and(|o| o.is_empty()) {
                    if self.answer_pings {
                        self.send_text("{}").await;
                    }
                    continue;
                }
                return Received::Json(value);
            }
            let message = tokio::time::timeout(GUARD, self.ws.next())
                .await
                .expect("server answered in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    for line in text.split('\n') {
                        self.pending.push_back(
                            serde_json::from_str(line).expect("server sends JSON lines"),
                        );
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(
                        frame.map(|CloseFrame { code, reason }| {
                            (u16::from(code), reason.to_string())
                        }),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    /// The next text frame as sent, without answering pings.
    pub async fn raw_next(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(GUARD, self.ws.next())
                .await
                .expect("server sent in time");
            if let Some(Ok(Message::Text(text))) = message {
                return text.to_string();
            }
            assert!(
                matches!(message, Some(Ok(_))),
                "connection ended: {message:?}"
            );
        }
    }

    /// The next JSON object; panics on a close.
    pub async fn json(&mut self) -> Value {
        match self.receive().await {
            Received::Json(value) => value,
            Received::Closed(close) => panic!("expected a reply, got close {close:?}"),
        }
    }

    /// The reply to command `id`; pushes received meanwhile are kept for
    /// [`RawClient::push`], other replies are dropped.
    pub async fn reply_to(&mut self, id: u32) -> Value {
        loop {
            let value = self.json().await;
            if value["id"] == json!(id) {
                return value;
            }
            if value.get("push").is_some() {
                self.pushes.push_back(value["push"].clone());
            }
        }
    }

    /// The next push (including those seen while waiting for a reply),
    /// skipping replies.
    pub async fn push(&mut self) -> Value {
        if let Some(push) = self.pushes.pop_front() {
            return push;
        }
        loop {
            let value = self.json().await;
            if value.get("push").is_some() {
                return value["push"].clone();
            }
        }
    }

    /// Expects the server to close with `code`.
    pub async fn expect_close(&mut self, code: u16) {
        loop {
            match self.receive().await {
                Received::Closed(Some((got, reason))) => {
                    assert_eq!(got, code, "close reason {reason:?}");
                    return;
                }
                Received::Closed(None) => panic!("socket dropped without a close frame"),
                Received::Json(_) => {}
            }
        }
    }

    pub async fn connect(&mut self, token: &str) -> Value {
        let id = self
            .command(json!({"connect": {"token": token, "name": "raw"}}))
            .await;
        self.reply_to(id).await
    }

    pub async fn call(&mut self, method: &str, data: Value) -> Value {
        let id = self
            .command(json!({"rpc": {"method": method, "data": data}}))
            .await;
        self.reply_to(id).await
    }

    pub async fn subscribe(&mut self, request: Value) -> Value {
        let id = self.command(json!({"subscribe": request})).await;
        self.reply_to(id).await
    }
}

/// A publication's data from a push.
pub fn pub_data(push: &Value) -> &Value {
    &push["pub"]["data"]
}
