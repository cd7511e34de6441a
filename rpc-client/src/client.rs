//! `Client`: a WebSocket connection speaking the Centrifugo client
//! protocol, with typed RPC through the markers `#[websocket_rpc]` emits.
//!
//! Many calls share one connection, matched by command id; a call's future
//! is cancel safe (dropping it forgets its id, and a late reply is
//! ignored). The connection itself (pings, reconnects, resubscribing with
//! recovery, token refresh) is run by `crate::connection`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use wirecall_core::protocol::{Reply, StreamPosition};
use wirecall_core::{Method, RpcError};

use crate::subscription::{Route, Routes, ServerSubscriptions, Subscription, TypedSubscription};

/// An error from somewhere else (the WebSocket library, a token provider),
/// kept as the `source()` of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// The first connect failed.
    #[error("cannot connect: {0}")]
    Connect(#[source] ConnectError),
    /// Params did not encode as JSON, or a reply did not decode as the
    /// type the method declares.
    #[error("{context}: {source}")]
    Codec {
        /// What was being encoded or decoded.
        context: String,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The server's reply lacks what the protocol requires of it.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
}

/// Why the first connect failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The WebSocket could not be opened (address, TCP, TLS or the HTTP
    /// upgrade); the WebSocket library's error is the `source()`.
    #[error("cannot open {url}: {source}")]
    Open {
        /// The URL tried.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The server refused the connect, with its error or close code:
    /// 3500 invalid token, 3501 bad request, 109 token expired, …
    #[error("{reason} (code {code})")]
    Refused {
        /// The code.
        code: u32,
        /// The server's reason.
        reason: String,
    },
    /// The connection broke, or no reply came in time, during the
    /// handshake.
    #[error("{0}")]
    Interrupted(String),
}

/// Fetches a fresh connection token: called before every connect attempt
/// (so reconnects use a current token), after a 109 "token expired", and
/// before the token expires when the server asked for refresh. A failure
/// is logged (with its cause) and the last token is used.
pub type TokenProvider = Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, Result<String, BoxError>> + Send + Sync,
>;

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    pub(crate) url: String,
    pub(crate) token: Option<String>,
    pub(crate) token_provider: Option<TokenProvider>,
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) buffer: usize,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Events buffered per subscription before the reader is told it
    /// lagged (1024).
    pub fn subscription_buffer(mut self, events: usize) -> Self {
        self.buffer = events;
        self
    }

    /// A static connection token (JWT).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A function that fetches a fresh token (see [`TokenProvider`]); `?`
    /// turns any error into its [`BoxError`].
    pub fn token_provider<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, BoxError>> + Send + 'static,
    {
        self.token_provider = Some(Arc::new(move || Box::pin(provider())));
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

    /// Reconnect delays: exponential from `min` to `max`, with full jitter
    /// (100 ms to 20 s by default).
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }

    /// Opens the connection and completes the connect handshake; from then
    /// on the client reconnects by itself when the connection drops (or the
    /// server closes with a code that allows it), resubscribing with
    /// recovery.
    ///
    /// # Errors
    /// [`ClientError::Connect`] when the first attempt fails: the socket
    /// cannot be opened or the server refuses the connect (the message
    /// carries its code).
    ///
    /// # Cancel safety
    /// Dropping the future stops the connection attempt.
    pub async fn connect(self) -> Result<Client, ClientError> {
        let (outgoing, queue) = mpsc::unbounded_channel::<String>();
        let (state_tx, state) = watch::channel(ConnectionState::Connecting);
        let shared = Arc::new(Shared {
            outgoing,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            next_route: AtomicU64::new(1),
            routes: Mutex::new(Routes::default()),
            buffer: self.buffer,
            state: state_tx,
        });
        let (alive, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready) = oneshot::channel();
        let timeout = self.timeout;
        tokio::spawn(crate::connection::supervise(
            shared.clone(),
            self,
            queue,
            stopped,
            ready_tx,
        ));
        match ready.await {
            Ok(Ok(())) => Ok(Client {
                shared,
                timeout,
                state,
                _alive: Arc::new(alive),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ClientError::Disconnected),
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the socket or waiting for the connect reply.
    Connecting,
    /// Connected, with the id the server gave this connection.
    Connected {
        /// The client id.
        client_id: String,
    },
    /// Not connected. `terminal` means the client will not retry (bad
    /// token, banned, …); otherwise it is waiting to reconnect.
    Disconnected {
        /// The close or error code.
        code: u32,
        /// Why.
        reason: String,
        /// No more reconnects.
        terminal: bool,
    },
}

/// A connected client; cheap to clone (clones share the connection).
///
/// ```no_run
/// # use wirecall_client::Client;
/// # use wirecall_core::Method;
/// # async fn run<M: Method<Params = serde_json::Value, Output = serde_json::Value>>() -> Result<(), wirecall_client::ClientError> {
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
    state: watch::Receiver<ConnectionState>,
    /// Dropped with the last clone: the connection task then ends.
    _alive: Arc<oneshot::Sender<()>>,
}

/// Who waits for a reply.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A caller.
    Reply(oneshot::Sender<Reply>),
    /// The connection task's own resubscribe of this channel.
    Resubscribe(String),
    /// The connection task's own token refresh.
    Refresh,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) outgoing: mpsc::UnboundedSender<String>,
    pub(crate) pending: Mutex<HashMap<u32, Waiter>>,
    pub(crate) next_id: AtomicU32,
    /// Ids of subscription routes.
    pub(crate) next_route: AtomicU64,
    pub(crate) routes: Mutex<Routes>,
    pub(crate) buffer: usize,
    pub(crate) state: watch::Sender<ConnectionState>,
}

impl Shared {
    pub(crate) fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Waiter>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh command id; 0 is not a valid id, so after 2^32 − 1 commands
    /// the count goes on from 1.
    pub(crate) fn next_id(&self) -> u32 {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
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
            token_provider: None,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(20),
        }
    }

    /// The id the server gave the current connection (empty while not
    /// connected).
    pub fn client_id(&self) -> String {
        match &*self.state.borrow() {
            ConnectionState::Connected { client_id } => client_id.clone(),
            _ => String::new(),
        }
    }

    /// Where the connection stands now.
    pub fn state(&self) -> ConnectionState {
        self.state.borrow().clone()
    }

    /// Every change of [`Client::state`], to watch reconnects.
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
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
        let params = serde_json::to_value(params).map_err(|source| ClientError::Codec {
            context: format!("params of {} do not encode", M::NAME),
            source,
        })?;
        let raw = self.call_raw(M::NAME, &params).await?;
        serde_json::from_str(raw.get()).map_err(|source| ClientError::Codec {
            context: format!("result of {} does not decode", M::NAME),
            source,
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
            .ok_or_else(|| ClientError::Protocol("rpc reply without a result"))?;
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
        let id = self.shared.next_route.fetch_add(1, Ordering::Relaxed);
        let (route, events) = Route::new(self.shared.buffer, id);
        {
            let mut routes = self.shared.routes();
            if routes.channels.contains_key(channel) {
                // The first subscription keeps working; this one is refused
                // as the server would refuse it.
                return Err(ClientError::Rpc(RpcError::already_subscribed()));
            }
            routes.channels.insert(channel.to_owned(), route);
        }
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
                    route: id,
                })
            }
            Err(error) => {
                self.forget_route(channel, id);
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
        let (route, events) = Route::new(self.shared.buffer, 0);
        routes.server_side = Some(route);
        Some(ServerSubscriptions { events })
    }

    pub(crate) fn position_of(&self, channel: &str) -> Option<StreamPosition> {
        self.shared.routes().positions.get(channel).cloned()
    }

    /// Removes `channel`'s route if it is still route `id`; whether it was.
    pub(crate) fn forget_route(&self, channel: &str, id: u64) -> bool {
        let mut routes = self.shared.routes();
        if routes.channels.get(channel).is_none_or(|r| r.id != id) {
            return false;
        }
        routes.channels.remove(channel);
        routes.positions.remove(channel);
        true
    }

    /// Sends `{"id":N,"<kind>":body}` and does not wait for the reply.
    pub(crate) fn send_without_reply(&self, kind: &str, body: Value) {
        let mut frame = json!({ "id": self.shared.next_id() });
        frame[kind] = body;
        let _ = self.shared.outgoing.send(frame.to_string());
    }

    /// Sends `{"id":N,"<kind>":body}` and waits for its reply.
    pub(crate) async fn command(&self, kind: &str, body: Value) -> Result<Reply, ClientError> {
        let shared = &*self.shared;
        let id = shared.next_id();
        let (tx, rx) = oneshot::channel();
        shared.pending().insert(id, Waiter::Reply(tx));
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::Shared;

    #[tokio::test]
    async fn command_ids_skip_zero_when_they_wrap() {
        let (outgoing, _queue) = tokio::sync::mpsc::unbounded_channel();
        let (state, _watch) = tokio::sync::watch::channel(super::ConnectionState::Connecting);
        let shared = Shared {
            outgoing,
            pending: Default::default(),
            next_id: std::sync::atomic::AtomicU32::new(u32::MAX),
            next_route: std::sync::atomic::AtomicU64::new(1),
            routes: Default::default(),
            buffer: 16,
            state,
        };
        assert_eq!(shared.next_id(), u32::MAX);
        assert_eq!(shared.next_id(), 1, "0 is not a valid command id");
        assert_eq!(shared.next_id.load(Ordering::Relaxed), 2);
    }
}
