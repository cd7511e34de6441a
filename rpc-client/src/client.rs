//! `Client`: a WebSocket connection speaking the Centrifugo client
//! protocol, with typed RPC through the markers `#[websocket_rpc]` emits.
//!
//! Many calls share one connection, matched by command id; a call's future
//! is cancel safe (dropping it forgets its id, and a late reply is
//! ignored). The connection itself (pings, reconnects, resubscribing with
//! recovery, token refresh) is run by `crate::connection`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use wirecall_core::protocol::StreamPosition;
use wirecall_core::{ChannelFamily, Method, RpcError};

use crate::error::{BoxError, ClientError};
use crate::routes::{Route, Routes};
use crate::shared::{ConnectionState, Handle, Settings, Shared};
use crate::subscription::{ServerSubscriptions, Subscription, TypedSubscription};

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    settings: Settings,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.settings.url)
            .field("name", &self.settings.name)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Events buffered per subscription before the reader is told it
    /// lagged (1024).
    pub fn subscription_buffer(mut self, events: usize) -> Self {
        self.settings.buffer = events;
        self
    }

    /// A static connection token (JWT).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.settings.token = Some(token.into());
        self
    }

    /// A function that fetches a fresh token (see [`crate::TokenProvider`]); `?`
    /// turns any error into its [`BoxError`].
    pub fn token_provider<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, BoxError>> + Send + 'static,
    {
        self.settings.token_provider = Some(Arc::new(move || Box::pin(provider())));
        self
    }

    /// The client's name, sent at connect (`rust` by default).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.settings.name = name.into();
        self
    }

    /// The application's version, sent at connect.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.settings.version = Some(version.into());
        self
    }

    /// How long a command waits for its reply (5 s, as the SDKs).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Reconnect delays: exponential from `min` to `max`, with full jitter
    /// (100 ms to 20 s by default).
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.settings.min_backoff = min;
        self.settings.max_backoff = max.max(min);
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
            buffer: self.settings.buffer,
            state: state_tx,
        });
        let (alive, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready) = oneshot::channel();
        let timeout = self.settings.timeout;
        tokio::spawn(crate::connection::supervise(
            shared.clone(),
            self.settings,
            queue,
            stopped,
            ready_tx,
        ));
        match ready.await {
            Ok(Ok(())) => Ok(Client {
                handle: Handle {
                    shared,
                    timeout,
                    _alive: Arc::new(alive),
                },
                state,
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ClientError::Disconnected),
        }
    }
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
    handle: Handle,
    state: watch::Receiver<ConnectionState>,
}

impl Client {
    /// Starts configuring a client of `url`
    /// (`ws://host:8000/connection/websocket`).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            settings: Settings {
                url: url.into(),
                token: None,
                name: "rust".to_owned(),
                version: None,
                timeout: Duration::from_secs(5),
                buffer: 1024,
                token_provider: None,
                min_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(20),
            },
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
            .handle
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
        let id = self
            .handle
            .shared
            .next_route
            .fetch_add(1, Ordering::Relaxed);
        let (route, events) = Route::new(self.handle.shared.buffer, id);
        {
            let mut routes = self.handle.shared.routes();
            if routes.channels.contains_key(channel) {
                // The first subscription keeps working; this one is refused
                // as the server would refuse it.
                return Err(ClientError::Rpc(RpcError::already_subscribed()));
            }
            routes.channels.insert(channel.to_owned(), route);
        }
        let request = json!({"channel": channel, "recoverable": true, "positioned": true, "join_leave": true});
        match self.handle.command("subscribe", request).await {
            Ok(reply) => {
                if let Some(result) = reply.subscribe.filter(|r| !r.epoch.is_empty()) {
                    let position = StreamPosition {
                        offset: result.offset,
                        epoch: result.epoch,
                    };
                    self.handle
                        .shared
                        .routes()
                        .positions
                        .insert(channel.to_owned(), position);
                }
                Ok(Subscription {
                    channel: channel.to_owned(),
                    client: self.handle.clone(),
                    events,
                    route: id,
                })
            }
            Err(error) => {
                self.handle.forget_route(channel, id);
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

    /// Subscribes to the channel of family `F` that `params` name; its
    /// publications arrive decoded as the family's payload:
    /// `client.subscribe_family::<chat_room>(ChatRoom { room_id: 7 })`.
    /// The markers come from `#[websocket_channel]` or from a generated
    /// Rust client (`generate-clients --rust`).
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with 107 for parameters that make no valid
    /// name; otherwise as [`Client::subscribe`].
    pub async fn subscribe_family<F: ChannelFamily>(
        &self,
        params: F::Params,
    ) -> Result<TypedSubscription<F::Payload>, ClientError>
    where
        F::Payload: DeserializeOwned,
    {
        let channel = F::channel(&params).map_err(ClientError::Rpc)?;
        self.subscribe_as(&channel).await
    }

    /// The events of server-side subscriptions (the personal channel and
    /// those the server adds), with their channel. Only the first call gets
    /// the stream; later calls get `None`.
    pub fn server_subscriptions(&self) -> Option<ServerSubscriptions> {
        let mut routes = self.handle.shared.routes();
        if routes.server_side.as_ref().is_some_and(|r| !r.is_closed()) {
            return None;
        }
        let (route, events) = Route::new(self.handle.shared.buffer, 0);
        routes.server_side = Some(route);
        Some(ServerSubscriptions { events })
    }
}
