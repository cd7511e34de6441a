//! `Client`: a WebSocket connection speaking the Centrifugo client
//! protocol, with typed RPC through the markers `#[websocket_rpc]` emits.
//!
//! Many calls share one connection, matched by command id; a call's future
//! is cancel safe (dropping it forgets its id, and a late reply is
//! ignored). Server pings are answered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rpc_core::protocol::{Reply, StreamPosition};
use rpc_core::{Method, RpcError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::subscription::{Route, Routes, ServerSubscriptions, Subscription, TypedSubscription};

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (the method's own, or the
    /// protocol's: 104 unknown method, 107 bad params, …).
    #[error("{0}")]
    Rpc(RpcError),
    /// No reply within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection is closed.
    #[error("the connection is closed")]
    Disconnected,
    /// The WebSocket could not be opened or the connect was refused.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The server sent something this client cannot read.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Configures a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    token: Option<String>,
    name: String,
    version: Option<String>,
    timeout: Duration,
    buffer: usize,
}

impl ClientBuilder {
    /// Events buffered per subscription before the reader is told it
    /// lagged (1024).
    pub fn subscription_buffer(mut self, events: usize) -> Self {
        self.buffer = events;
        self
    }

    /// The connection token (JWT).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The client's name, sent at connect (`rust` by default).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The application's version, sent at connect.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// How long a command waits for its reply (5 s, as the SDKs).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Opens the WebSocket and completes the connect handshake.
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the socket cannot be opened or the
    /// server refuses the connect (the error carries its code).
    ///
    /// # Cancel safety
    /// Dropping the future drops the half-open connection.
    pub async fn connect(self) -> Result<Client, ClientError> {
        let (socket, _) = tokio_tungstenite::connect_async(&self.url)
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let (sink, stream) = socket.split();
        let (outgoing, queue) = mpsc::unbounded_channel::<String>();
        let shared = Arc::new(Shared {
            outgoing,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            routes: Mutex::new(Routes::default()),
            buffer: self.buffer,
        });
        tokio::spawn(write_loop(sink, queue));
        tokio::spawn(read_loop(stream, shared.clone()));
        let client = Client {
            shared,
            timeout: self.timeout,
            client_id: String::new(),
        };
        let mut connect = json!({ "name": self.name });
        if let Some(token) = &self.token {
            connect["token"] = json!(token);
        }
        if let Some(version) = &self.version {
            connect["version"] = json!(version);
        }
        let reply = client
            .command("connect", connect)
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let client_id = reply
            .connect
            .map(|c| c.client)
            .ok_or_else(|| ClientError::Protocol("connect reply without a result".into()))?;
        Ok(Client {
            client_id,
            ..client
        })
    }
}

/// A connected client; cheap to clone (clones share the connection).
///
/// ```no_run
/// # use rpc_client::Client;
/// # use rpc_core::Method;
/// # async fn run<M: Method<Params = serde_json::Value, Output = serde_json::Value>>() -> Result<(), rpc_client::ClientError> {
/// let client = Client::builder("ws://127.0.0.1:8000/connection/websocket")
///     .token("eyJ…")
///     .connect()
///     .await?;
/// // With the marker of a #[websocket_rpc] handler: both types checked.
/// let stats = client.call::<M>(serde_json::json!({"user_id": "42"})).await?;
/// // Without one: JSON in, JSON out.
/// let raw = client.call_raw("tasks.get_stats", &serde_json::json!({"user_id": "42"})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    shared: Arc<Shared>,
    timeout: Duration,
    client_id: String,
}

#[derive(Debug)]
struct Shared {
    outgoing: mpsc::UnboundedSender<String>,
    pending: Mutex<HashMap<u32, oneshot::Sender<Reply>>>,
    next_id: AtomicU32,
    routes: Mutex<Routes>,
    buffer: usize,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u32, oneshot::Sender<Reply>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets a command's id when its future is dropped before the reply.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.pending().remove(&self.id);
    }
}

impl Client {
    /// Starts configuring a client of `url`
    /// (`ws://host:8000/connection/websocket`).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            token: None,
            name: "rust".to_owned(),
            version: None,
            timeout: Duration::from_secs(5),
            buffer: 1024,
        }
    }

    /// The id the server gave this connection.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Calls the method named by marker `M` with its params type; the
    /// result is decoded as its output type.
    ///
    /// # Errors
    /// The method's error ([`ClientError::Rpc`]), a timeout, a closed
    /// connection, or a result that does not decode.
    ///
    /// # Cancel safety
    /// Dropping the future forgets the call; the connection stays healthy.
    pub async fn call<M>(&self, params: M::Params) -> Result<M::Output, ClientError>
    where
        M: Method,
        M::Params: Serialize,
        M::Output: DeserializeOwned,
    {
        let params =
            serde_json::to_value(params).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let raw = self.call_raw(M::NAME, &params).await?;
        serde_json::from_str(raw.get()).map_err(|e| {
            ClientError::Protocol(format!("result of {} does not decode: {e}", M::NAME))
        })
    }

    /// Calls `method` with JSON params; returns the result's JSON.
    ///
    /// # Errors
    /// As [`Client::call`].
    ///
    /// # Cancel safety
    /// As [`Client::call`].
    pub async fn call_raw(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<Box<RawValue>, ClientError> {
        let reply = self
            .command("rpc", json!({ "method": method, "data": params }))
            .await?;
        let result = reply
            .rpc
            .ok_or_else(|| ClientError::Protocol("rpc reply without a result".into()))?;
        Ok(result
            .data
            .unwrap_or_else(|| RawValue::from_string("null".to_owned()).unwrap_or_default()))
    }

    /// Subscribes to `channel`, asking for recovery support; the returned
    /// stream yields its events in order.
    ///
    /// # Errors
    /// The server's refusal (102 unknown namespace, 103 permission denied,
    /// 105 already subscribed, …), timeout or disconnection.
    ///
    /// # Cancel safety
    /// If dropped after the request was sent, the server-side subscription
    /// may exist without a local stream; unsubscribe to clear it.
    pub async fn subscribe(&self, channel: &str) -> Result<Subscription, ClientError> {
        let (route, events) = Route::new(self.shared.buffer);
        self.shared
            .routes()
            .channels
            .insert(channel.to_owned(), route);
        let request = json!({"channel": channel, "recoverable": true, "positioned": true, "join_leave": true});
        match self.command("subscribe", request).await {
            Ok(reply) => {
                if let Some(result) = reply.subscribe.filter(|r| !r.epoch.is_empty()) {
                    let position = StreamPosition {
                        offset: result.offset,
                        epoch: result.epoch,
                    };
                    self.shared
                        .routes()
                        .positions
                        .insert(channel.to_owned(), position);
                }
                Ok(Subscription {
                    channel: channel.to_owned(),
                    client: self.clone(),
                    events,
                })
            }
            Err(error) => {
                self.forget_route(channel);
                Err(error)
            }
        }
    }

    /// Subscribes and decodes each publication as `T`.
    ///
    /// # Errors
    /// As [`Client::subscribe`].
    pub async fn subscribe_as<T: DeserializeOwned>(
        &self,
        channel: &str,
    ) -> Result<TypedSubscription<T>, ClientError> {
        Ok(self.subscribe(channel).await?.typed())
    }

    /// The events of server-side subscriptions (the personal channel and
    /// those the server adds), with their channel. Only the first call gets
    /// the stream; later calls get `None`.
    pub fn server_subscriptions(&self) -> Option<ServerSubscriptions> {
        let mut routes = self.shared.routes();
        if routes.server_side.as_ref().is_some_and(|r| !r.is_closed()) {
            return None;
        }
        let (route, events) = Route::new(self.shared.buffer);
        routes.server_side = Some(route);
        Some(ServerSubscriptions { events })
    }

    pub(crate) fn position_of(&self, channel: &str) -> Option<StreamPosition> {
        self.shared.routes().positions.get(channel).cloned()
    }

    pub(crate) fn forget_route(&self, channel: &str) {
        let mut routes = self.shared.routes();
        routes.channels.remove(channel);
        routes.positions.remove(channel);
    }

    /// Sends `{"id":N,"<kind>":body}` and waits for its reply.
    pub(crate) async fn command(&self, kind: &str, body: Value) -> Result<Reply, ClientError> {
        let shared = &*self.shared;
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        shared.pending().insert(id, tx);
        let _guard = PendingGuard { shared, id };
        let mut frame = json!({ "id": id });
        frame[kind] = body;
        shared
            .outgoing
            .send(frame.to_string())
            .map_err(|_| ClientError::Disconnected)?;
        let reply = tokio::time::timeout(self.timeout, rx)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
            .map_err(|_| ClientError::Disconnected)?;
        match reply.error {
            Some(error) => Err(ClientError::Rpc(error)),
            None => Ok(reply),
        }
    }
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;
type Stream = futures_util::stream::SplitStream<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
>;

/// Sends queued commands, batching what is already queued into one frame.
async fn write_loop(mut sink: Sink, mut queue: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = queue.recv().await {
        let mut frame = first;
        while let Ok(next) = queue.try_recv() {
            frame.push('\n');
            frame.push_str(&next);
        }
        if sink.send(Message::text(frame)).await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

/// Routes replies to their callers and answers pings; ends when the
/// connection does, failing every pending call as disconnected.
async fn read_loop(mut stream: Stream, shared: Arc<Shared>) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                break;
            }
            continue;
        };
        for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
            let reply: Reply = match serde_json::from_str(line) {
                Ok(reply) => reply,
                Err(error) => {
                    tracing::warn!(%error, "unreadable frame from the server");
                    continue;
                }
            };
            if reply.id > 0 {
                if let Some(waiter) = shared.pending().remove(&reply.id) {
                    let _ = waiter.send(reply);
                }
            } else if let Some(push) = reply.push {
                shared.routes().route(push);
            } else {
                // A server ping: answer with the pong `{}`.
                let _ = shared.outgoing.send("{}".to_owned());
            }
        }
    }
    shared.pending().clear();
}
