//! The server: its configuration, the WebSocket and health routes, and the
//! serve loop with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::WebSocketUpgrade;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wirecall_core::protocol::{Disconnect, Publication, StreamPosition};
use wirecall_core::{AppState, ChannelFamilies, Router, RpcError};

use crate::auth::TokenVerifier;
use crate::broker::{Broker, MemoryBroker};
use crate::config::{Channels, Limits, NamespaceOptions, Timings};
use crate::context::Context;
use crate::engine::{Engine, EngineConfig, Node};
use crate::hooks::{
    ConnectContext, ConnectDecision, DisconnectContext, Hooks, Rejection, SubscribeContext,
    SubscribeDecision,
};
use crate::{session, wire};

/// The default WebSocket path, as in Centrifugo.
pub const WEBSOCKET_PATH: &str = "/connection/websocket";

/// A configured wirecall server; cheap to clone. Serve it on its own
/// ([`Server::listen`]) or mount [`Server::axum_router`] into an existing
/// axum application.
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<Context>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("methods", &self.inner.router.len())
            .field("connections", &self.inner.engine.hub().connection_count())
            .finish_non_exhaustive()
    }
}

/// Why a server could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The router could not be built (duplicate method names).
    #[error(transparent)]
    Router(#[from] wirecall_core::RouterError),
    /// Two channel families share a name or a pattern.
    #[error(transparent)]
    Families(#[from] Box<wirecall_core::DuplicateFamily>),
    /// The personal channel's namespace is not configured.
    #[error(
        "personal channels use namespace `{0}`, which is not configured; add it with .namespace()"
    )]
    PersonalNamespace(String),
    /// The service's own routes overlap the server's
    /// (`/connection/websocket`, `/health`, `/api/{method}`).
    #[error("the service's routes overlap the server's: {0}")]
    RouteOverlap(String),
    /// A limit or timing that cannot work (a zero interval, a zero size,
    /// a lifetime shorter than its refresh).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A handler takes `State<T>` and the server's state has no `T`.
    #[error(
        "handler `{handler}` of {method} ({location}) takes State<{state}>, which the server's \
         state does not hold; add it with .state(AppState::new().with(value))"
    )]
    MissingState {
        /// The method.
        method: &'static str,
        /// The handler's function name.
        handler: &'static str,
        /// Where the handler is defined.
        location: wirecall_core::Location,
        /// The missing type's name.
        state: &'static str,
    },
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The routes `GET /connection/websocket`, `GET /health` and, when an
    /// API key is configured, `POST /api/<method>`; to serve or to merge
    /// into an application's router.
    pub fn axum_router(&self) -> axum::Router {
        axum::Router::new()
            .route(WEBSOCKET_PATH, self.websocket_route())
            .route("/health", get(health))
            .merge(crate::api::routes(&self.inner))
            .merge(self.inner.routes.clone())
    }

    /// The WebSocket endpoint alone, to mount at a path of your choice:
    /// `app.route("/ws", server.websocket_route())`.
    pub fn websocket_route<S: Clone + Send + Sync + 'static>(&self) -> MethodRouter<S> {
        self.inner.engine.start_upkeep();
        let server = self.clone();
        get(move |upgrade: WebSocketUpgrade, request: Parts| {
            let server = server.clone();
            async move { server.upgrade(upgrade, request) }
        })
    }

    fn upgrade(&self, upgrade: WebSocketUpgrade, request: Parts) -> Response {
        let headers = &request.headers;
        if !self.origin_allowed(headers) {
            tracing::warn!(origin = ?headers.get(header::ORIGIN), "websocket origin not allowed");
            record!(self.inner, |m| m.refuse("origin"));
            return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
        }
        let limits = &self.inner.limits;
        if limits
            .max_connections
            .is_some_and(|max| self.inner.engine.hub().connection_count() >= max)
        {
            // Refused before the upgrade: a flood past the limit costs an
            // HTTP answer, not a WebSocket session each.
            record!(self.inner, |m| m.refuse("connection_limit"));
            return (StatusCode::SERVICE_UNAVAILABLE, "connection limit reached").into_response();
        }
        let handshake = Arc::new(handshake_of(&request));
        let upgrade = upgrade.protocols([wire::PROTOBUF_SUBPROTOCOL]);
        let encoding = wire::Encoding::of_upgrade(
            upgrade.selected_protocol().map(|p| p.as_bytes()),
            request.uri.query(),
        );
        let server = self.clone();
        let shutdown = self.shutdown_token();
        let sessions = self.inner.sessions.clone();
        upgrade
            // Every connection keeps its read buffer, so it is small: 1 KiB
            // holds a burst of typical frames and a larger message grows
            // it (tungstenite reserves a frame's whole length); the write
            // side has no buffer of its own.
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(0)
            .max_message_size(limits.max_message_size)
            .max_frame_size(limits.max_message_size)
            .on_upgrade(move |socket| {
                sessions.track_future(session::run(
                    server.inner,
                    socket,
                    shutdown,
                    handshake,
                    encoding,
                ))
            })
    }

    /// Centrifugo's rule, plus same-origin: no `Origin` header (non-browser
    /// clients) is fine; a browser's must be listed, `*`, or this host.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return true;
        };
        let allowed = &self.inner.allowed_origins;
        if allowed
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        host.is_some_and(|host| host.eq_ignore_ascii_case(origin_host))
    }

    fn shutdown_token(&self) -> CancellationToken {
        self.inner
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Binds `addr`; the returned listener is ready before serving starts,
    /// so a test can connect to [`Listening::local_addr`] at once.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn listen(&self, addr: impl ToSocketAddrs) -> std::io::Result<Listening> {
        let listener = TcpListener::bind(addr).await?;
        self.inner.engine.start_upkeep();
        Ok(Listening {
            server: self.clone(),
            local_addr: listener.local_addr()?,
            listener,
        })
    }

    /// The router this server dispatches RPCs to.
    pub fn router(&self) -> &Router {
        &self.inner.router
    }

    #[cfg(feature = "metrics")]
    /// The server's metrics, when turned on with [`ServerBuilder::metrics`].
    pub fn metrics(&self) -> Option<&crate::metrics::Metrics> {
        self.inner.metrics.as_deref()
    }

    #[cfg(feature = "metrics")]
    /// `GET /metrics` in the Prometheus text format (404 when metrics are
    /// off), to serve on an admin listener rather than the public one.
    pub fn metrics_router(&self) -> axum::Router {
        let inner = self.inner.clone();
        axum::Router::new().route(
            "/metrics",
            get(move || {
                let inner = inner.clone();
                async move {
                    let Some(metrics) = &inner.metrics else {
                        return (StatusCode::NOT_FOUND, "metrics are off").into_response();
                    };
                    // Presence and history sizes are read now.
                    metrics.sample(&inner.engine).await;
                    let text_format = "text/plain; version=0.0.4; charset=utf-8";
                    ([(header::CONTENT_TYPE, text_format)], metrics.render()).into_response()
                }
            }),
        )
    }

    #[cfg(feature = "metrics")]
    /// The admin endpoints behind `password` (`POST /admin/login`,
    /// `GET /admin/api/overview`, `POST /admin/api/command/{method}`), to
    /// serve with [`Server::metrics_router`] on the admin listener.
    pub fn admin_router(&self, password: impl Into<String>) -> axum::Router {
        crate::admin::router(self.inner.clone(), password.into())
    }

    /// Connections on this node.
    pub fn connection_count(&self) -> usize {
        self.inner.engine.hub().connection_count()
    }

    /// Publishes `data` into `channel` from the server (no client info),
    /// keeping it in the channel's stream when its namespace has history.
    ///
    /// # Errors
    /// 107 for an invalid channel name or data that is not JSON, 102 for an
    /// unknown namespace, 100 when the broker fails.
    pub async fn publish(
        &self,
        channel: &str,
        data: &serde_json::value::RawValue,
    ) -> Result<StreamPosition, RpcError> {
        let publication = Publication {
            data: data.to_owned(),
            info: None,
            offset: 0,
            tags: None,
        };
        let position = self
            .inner
            .engine
            .publish(channel, publication, false, None)
            .await?;
        record!(self.inner, |m| m
            .published(channel, crate::metrics::Source::Server));
        Ok(position)
    }

    /// A cloneable publisher: publish, message users, report task progress
    /// (see [`wirecall_core::PublisherExt`]).
    pub fn publisher(&self) -> crate::ServerPublisher {
        crate::ServerPublisher {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Live connections of `user` on every node of the deployment.
    ///
    /// # Errors
    /// 100 when the broker fails.
    pub async fn user_connections(&self, user: &str) -> Result<usize, RpcError> {
        self.inner.engine.user_connections(user).await
    }

    /// Closes every connection on this node with `disconnect`.
    pub fn disconnect_all(&self, disconnect: Disconnect) {
        for client in self.inner.engine.hub().all_clients() {
            client.out.close(disconnect.clone());
        }
    }

    /// Leaves the deployment for good: this node drops out of the node
    /// registry at once (instead of expiring) and the broker's background
    /// work stops. Call it after the last serve loop ended.
    pub async fn close(&self) {
        self.inner.engine.close().await;
    }

    /// Ends every session gracefully: in-flight RPCs get `shutdown_grace`
    /// to finish, then clients are told to reconnect (3001); returns once
    /// every session has ended. [`Listening::serve_with_shutdown`] calls it;
    /// an application that mounts [`Server::axum_router`] or
    /// [`Server::websocket_route`] into its own server calls it from its own
    /// shutdown. The server (channels, the broker) stays usable: new
    /// connections may come afterwards.
    pub async fn shutdown(&self) {
        self.shut_down_sessions().await;
    }

    async fn shut_down_sessions(&self) {
        // The token stays cancelled until every session has ended: one
        // upgraded during the shutdown itself takes it and ends at once,
        // instead of waiting forever on a fresh token.
        let token = self.shutdown_token();
        token.cancel();
        self.inner.sessions.close();
        self.inner.sessions.wait().await;
        self.inner.sessions.reopen();
        *self
            .inner
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = CancellationToken::new();
    }
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// A bound server, ready to serve.
#[derive(Debug)]
pub struct Listening {
    server: Server,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Listening {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// The listener failed.
    pub async fn serve(self) -> std::io::Result<()> {
        self.serve_with_shutdown(shutdown_signal()).await
    }

    /// Serves until `signal` resolves: stops accepting, lets in-flight calls
    /// finish within the grace period, closes clients with 3001 (they
    /// reconnect), and returns once every session has ended. Channel state
    /// (the broker) survives, so the same [`Server`] can listen again.
    ///
    /// # Errors
    /// The listener failed.
    pub async fn serve_with_shutdown(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Listening {
            server, listener, ..
        } = self;
        let app = server.axum_router();
        let stop = CancellationToken::new();
        let header_timeout = server.inner.timings.http_header_timeout;
        let serving = tokio::spawn(crate::serve::serve(
            listener,
            app,
            stop.clone(),
            header_timeout,
        ));
        signal.await;
        tracing::info!("shutting down: no new connections; closing sessions");
        stop.cancel();
        server.shut_down_sessions().await;
        match serving.await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Configures a [`Server`].
#[derive(Default)]
pub struct ServerBuilder {
    router: Option<Router>,
    families: Option<ChannelFamilies>,
    rpc_over_publish: bool,
    verifier: Option<TokenVerifier>,
    allow_anonymous: bool,
    channels: Channels,
    limits: Limits,
    timings: Timings,
    state: AppState,
    hooks: Hooks,
    broker: Option<Arc<dyn Broker>>,
    allowed_origins: Vec<String>,
    api_key: Option<String>,
    node_name: Option<String>,
    #[cfg(feature = "export")]
    client_options: Option<wirecall_core::export::ClientOptions>,
    #[cfg(feature = "metrics")]
    metrics: bool,
    routes: axum::Router,
}

impl ServerBuilder {
    /// HTTP routes of the service itself (a page, a webhook), served by
    /// [`Server::listen`] and included in [`Server::axum_router`]. Each call
    /// adds to the previous ones. A route at a path the server serves itself
    /// (`/connection/websocket`, `/health`, `/api/…`) makes
    /// [`ServerBuilder::build`] fail with [`BuildError::RouteOverlap`].
    pub fn routes(mut self, routes: axum::Router) -> Self {
        self.routes = std::mem::take(&mut self.routes).merge(routes);
        self
    }

    #[cfg(feature = "metrics")]
    /// Keeps Prometheus metrics (feature `metrics`; off by default), served
    /// by [`Server::metrics_router`] wherever the application mounts it,
    /// which should not be the public port.
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    #[cfg(feature = "export")]
    /// How `generate-clients` names the generated packages (npm name, Go
    /// module); its flags override these.
    pub fn client_options(mut self, options: wirecall_core::export::ClientOptions) -> Self {
        self.client_options = Some(options);
        self
    }

    #[cfg(feature = "export")]
    /// The options set with [`ServerBuilder::client_options`], or the
    /// defaults.
    pub fn export_options(&self) -> wirecall_core::export::ClientOptions {
        let mut options = self.client_options.clone().unwrap_or_default();
        let access = |options: &NamespaceOptions| wirecall_core::export::ChannelAccess {
            subscribe: options.allow_subscribe_for_client,
            publish: options.allow_publish_for_subscriber || options.allow_publish_for_client,
        };
        options.channel_access = self
            .channels
            .namespaces
            .iter()
            .map(|(name, namespace)| (name.clone(), access(namespace)))
            .chain([(String::new(), access(&self.channels.default_namespace))])
            .collect();
        options.personal_namespace = self.channels.personal_namespace.clone();
        options
    }

    /// The channel settings so far (namespaces, personal channels), for a
    /// [`crate::BrokerPublisher`] in a worker that must publish as the
    /// nodes do.
    pub fn channels(&self) -> Channels {
        self.channels.clone()
    }

    /// The RPC methods to serve (default: every registered handler).
    pub fn router(mut self, router: Router) -> Self {
        self.router = Some(router);
        self
    }

    /// The channel families whose client publications are checked
    /// against their payload type (default: every family declared with
    /// `#[websocket_channel]`).
    pub fn channel_families(mut self, families: ChannelFamilies) -> Self {
        self.families = Some(families);
        self
    }

    /// Compatibility for clients that do RPC over publications (the
    /// clients seed 001's generator wrote): a publication into
    /// `rpc.requests`, `{method, params, correlation_id, reply_to}`, calls
    /// the method and publishes `{correlation_id, result}` or
    /// `{correlation_id, error}` into `reply_to`, which must be the
    /// caller's own channel `user#<id>`. Off by default.
    pub fn rpc_over_publish(mut self, on: bool) -> Self {
        self.rpc_over_publish = on;
        self
    }

    /// How connection tokens are verified.
    pub fn token_verifier(mut self, verifier: TokenVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Shorthand for HS256 tokens signed with `secret`.
    pub fn hmac_secret(self, secret: impl AsRef<[u8]>) -> Self {
        self.token_verifier(TokenVerifier::hmac(secret))
    }

    /// Lets clients connect without a token, as anonymous users.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    /// Configures a channel namespace.
    pub fn namespace(mut self, name: impl Into<String>, options: NamespaceOptions) -> Self {
        self.channels.namespaces.insert(name.into(), options);
        self
    }

    /// Options for channels without a namespace (closed unless set).
    pub fn default_namespace(mut self, options: NamespaceOptions) -> Self {
        self.channels.default_namespace = options;
        self
    }

    /// Subscribes every connection of user U server-side to `namespace:#U`;
    /// the namespace must be configured.
    pub fn personal_channels(mut self, namespace: impl Into<String>) -> Self {
        self.channels.personal_namespace = Some(namespace.into());
        self
    }

    /// Connection limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Ping, pong, connect, expiry and shutdown timings.
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Shared application state, which handlers take as `State<T>`: an
    /// [`struct@AppState`], or a struct with `#[derive(AppState)]` whose fields
    /// are shared by their types.
    pub fn state(mut self, state: impl Into<AppState>) -> Self {
        self.state = state.into();
        self
    }

    /// Where channel state lives (default: in memory).
    pub fn broker(mut self, broker: Arc<dyn Broker>) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Browser origins allowed besides this server's own (`*` for any).
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Turns on the HTTP server API (`POST /api/<method>`), authenticated
    /// with this key. Without a key the API is off.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into()).filter(|k| !k.is_empty());
        self
    }

    /// This node's name in the API's `info` (default: the host name).
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.node_name = Some(name.into());
        self
    }

    /// Decides at connect: may reject, replace the info, add server-side
    /// subscriptions.
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(ConnectContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ConnectDecision, Rejection>> + Send + 'static,
    {
        self.hooks.on_connect = Some(Arc::new(move |cx| Box::pin(hook(cx))));
        self
    }

    /// Decides at subscribe: may reject, or allow what the namespace would not.
    pub fn on_subscribe<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(SubscribeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SubscribeDecision> + Send + 'static,
    {
        self.hooks.on_subscribe = Some(Arc::new(move |cx| Box::pin(hook(cx))));
        self
    }

    /// Hears each unsubscribe (best effort; see the `hooks` docs).
    pub fn on_unsubscribe<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(DisconnectContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.on_unsubscribe = Some(Arc::new(move |cx| Box::pin(hook(cx))));
        self
    }

    /// Hears each disconnect with its reason (best effort).
    pub fn on_disconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(DisconnectContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.on_disconnect = Some(Arc::new(move |cx| Box::pin(hook(cx))));
        self
    }

    /// The router `build` would use: the custom one, else the global
    /// registry (what `generate-clients` exports).
    ///
    /// # Errors
    /// Duplicate method names in the global registry.
    pub fn resolved_router(&self) -> Result<Router, BuildError> {
        match &self.router {
            Some(router) => Ok(router.clone()),
            None => Ok(Router::global()?),
        }
    }

    /// Finishes the server.
    ///
    /// # Errors
    /// Duplicate method names, a personal-channel namespace that is not
    /// configured, service routes that overlap the server's, or a handler
    /// whose `State<T>` the state does not hold.
    pub fn build(self) -> Result<Server, BuildError> {
        let router = match self.router {
            Some(router) => router,
            None => Router::global()?,
        };
        let families = match self.families {
            Some(families) => families,
            None => ChannelFamilies::global()?,
        };
        if let Some(namespace) = &self.channels.personal_namespace
            && !self.channels.namespaces.contains_key(namespace)
        {
            return Err(BuildError::PersonalNamespace(namespace.clone()));
        }
        check_routes(&self.routes)?;
        check_state(&router, &self.state)?;
        check_config(&self.limits, &self.timings)?;
        if self.verifier.is_none() && !self.allow_anonymous && self.hooks.on_connect.is_none() {
            tracing::warn!(
                "no token verifier, no connect hook and anonymous connections off: every connect will be refused"
            );
        }
        if self.hooks.on_connect.is_some() && self.allowed_origins.iter().any(|o| o == "*") {
            // A connect hook may sign connections in by cookie; the origin
            // check is then what stops another site's page from opening a
            // WebSocket with the user's cookies.
            tracing::warn!(
                "allowed_origins is \"*\" and a connect hook is set: if the hook trusts cookies, any site can connect as your users"
            );
        }
        if self.api_key.is_none() {
            tracing::info!("HTTP API off: no API key configured");
        }
        let broker = self.broker.unwrap_or_else(|| Arc::new(MemoryBroker::new()));
        #[cfg(feature = "metrics")]
        let mut metrics = self.metrics.then(|| {
            let methods = router.methods().iter().map(|r| r.method).collect();
            crate::metrics::Metrics::new(methods)
        });
        #[cfg(feature = "metrics")]
        let broker = match &metrics {
            Some(metrics) => metrics.metered(broker),
            None => broker,
        };
        let engine = Engine::new(
            EngineConfig {
                channels: self.channels,
                limits: self.limits.clone(),
                timings: self.timings.clone(),
                node: Node {
                    uid: uuid::Uuid::new_v4().to_string(),
                    name: self.node_name.unwrap_or_else(host_name),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    started: std::time::Instant::now(),
                },
                on_unsubscribe: self.hooks.on_unsubscribe.clone(),
            },
            broker,
        );
        engine.start_upkeep();
        #[cfg(feature = "metrics")]
        let metrics = metrics.take().map(|mut metrics| {
            metrics.watch(&engine);
            Arc::new(metrics)
        });
        Ok(Server {
            inner: Arc::new_cyclic(|weak| Context {
                router,
                families,
                rpc_over_publish: self.rpc_over_publish,
                verifier: self.verifier,
                allow_anonymous: self.allow_anonymous,
                limits: self.limits,
                timings: self.timings,
                state: self.state,
                hooks: self.hooks,
                engine,
                allowed_origins: self.allowed_origins,
                routes: self.routes,
                api_key: self.api_key,
                publisher: Arc::new(crate::ServerPublisher {
                    inner: weak.clone(),
                }),
                shutdown: Mutex::new(CancellationToken::new()),
                sessions: TaskTracker::new(),
                #[cfg(feature = "metrics")]
                metrics,
            }),
        })
    }
}

/// Limits and timings that would stop the server or make it useless:
/// zero intervals (a timer cannot tick at zero), zero sizes, lifetimes
/// shorter than their refresh (entries would expire between refreshes).
fn check_config(limits: &Limits, timings: &Timings) -> Result<(), BuildError> {
    let zero_sizes = [
        ("max_message_size", limits.max_message_size),
        ("outbound_queue_bytes", limits.outbound_queue_bytes),
        ("max_in_flight_rpcs", limits.max_in_flight_rpcs),
        (
            "max_channels_per_connection",
            limits.max_channels_per_connection,
        ),
    ];
    let zero_times = [
        ("rpc_timeout", limits.rpc_timeout),
        ("ping_interval", timings.ping_interval),
        (
            "presence_refresh_interval",
            timings.presence_refresh_interval,
        ),
        ("position_check_interval", timings.position_check_interval),
        ("node_announce_interval", timings.node_announce_interval),
        ("write_timeout", timings.write_timeout),
    ];
    let invalid = |what: String| Err(BuildError::InvalidConfig(what));
    if let Some((name, _)) = zero_sizes.iter().find(|(_, value)| *value == 0) {
        return invalid(format!("Limits::{name} is 0"));
    }
    if let Some((name, _)) = zero_times.iter().find(|(_, value)| value.is_zero()) {
        return invalid(format!("{name} is zero"));
    }
    if timings.presence_ttl <= timings.presence_refresh_interval {
        return invalid(format!(
            "Timings::presence_ttl ({:?}) must be longer than presence_refresh_interval ({:?})",
            timings.presence_ttl, timings.presence_refresh_interval
        ));
    }
    if timings.node_ttl <= timings.node_announce_interval {
        return invalid(format!(
            "Timings::node_ttl ({:?}) must be longer than node_announce_interval ({:?})",
            timings.node_ttl, timings.node_announce_interval
        ));
    }
    Ok(())
}

/// Every handler's extractors find their state: a forgotten `.state(..)`
/// fails here, at start, instead of at the first call.
fn check_state(router: &Router, state: &AppState) -> Result<(), BuildError> {
    for registration in router.methods() {
        (registration.check_state)(state).map_err(|missing| BuildError::MissingState {
            method: registration.method,
            handler: registration.handler,
            location: registration.location,
            state: missing,
        })?;
    }
    Ok(())
}

/// The service's routes beside the server's own: axum refuses an overlap
/// by panicking when routers are merged, so the merge is tried here, once,
/// where it can become an error.
fn check_routes(routes: &axum::Router) -> Result<(), BuildError> {
    let own = axum::Router::<()>::new()
        .route(WEBSOCKET_PATH, get(|| async {}))
        .route("/health", get(|| async {}))
        .route("/api/{method}", axum::routing::post(|| async {}));
    let routes = routes.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| own.merge(routes)))
        .map(drop)
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "conflicting routes".to_owned());
            BuildError::RouteOverlap(message)
        })
}

/// The WebSocket read buffer of each connection (see `upgrade`).
const READ_BUFFER_BYTES: usize = 1024;

/// The upgrade request's facts, for the connect hook and `Conn`.
fn handshake_of(request: &Parts) -> wirecall_core::Handshake {
    let headers = request.headers.iter().filter_map(|(name, value)| {
        Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
    });
    let uri = request
        .uri
        .path_and_query()
        .map_or_else(|| request.uri.path().to_owned(), |p| p.as_str().to_owned());
    let peer = request
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    wirecall_core::Handshake::new(headers, uri, peer)
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "wirecall".to_owned())
}
