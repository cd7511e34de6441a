//! wirecall's server: a WebSocket endpoint speaking the Centrifugo client
//! protocol (JSON), so the official `centrifuge` SDKs (JavaScript, Python,
//! Go) connect unchanged, dispatching `rpc` commands to `#[websocket_rpc]`
//! handlers, with channels, presence, history and recovery.
//!
//! ```no_run
//! use std::time::Duration;
//! use wirecall_server::{NamespaceOptions, Server};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder()
//!     .hmac_secret("change-me")
//!     .namespace("news", NamespaceOptions::public(100, Duration::from_secs(300)))
//!     .namespace("personal", NamespaceOptions::public(50, Duration::from_secs(600)))
//!     .personal_channels("personal")
//!     .build()?;
//! server.listen("127.0.0.1:8000").await?.serve().await?;
//! # Ok(()) }
//! ```
//!
//! A service depending on this crate alone can write handlers: it
//! re-exports what it needs of `wirecall_core` (errors, `Conn`, `Router`,
//! the attribute).
//!
//! # A tour
//!
//! ## Handlers and shared state
//!
//! A handler takes the connection and extractors first, its params last.
//! The service's state is one struct whose fields handlers take by type
//! (`#[derive(AppState)]`); a handler that takes a `State<T>` the server
//! does not hold stops [`ServerBuilder::build`], not the first call:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use wirecall_server::{AppState, BuildError, Conn, RpcError, Server, State, websocket_rpc};
//!
//! #[derive(Default)]
//! pub struct Visits(AtomicU64);
//!
//! #[derive(AppState)]
//! pub struct App { visits: Visits }
//!
//! #[derive(Deserialize, JsonSchema)]
//! pub struct Visit { pub page: String }
//!
//! /// Counts a visit; returns the total.
//! #[websocket_rpc("site.visit")]
//! pub async fn visit(conn: &Conn, State(visits): State<Visits>, params: Visit) -> Result<u64, RpcError> {
//!     tracing::info!(user = conn.user_id(), page = %params.page, "visit");
//!     Ok(visits.0.fetch_add(1, Ordering::Relaxed) + 1)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let forgotten = Server::builder().hmac_secret("change-me").build();
//! assert!(matches!(forgotten, Err(BuildError::MissingState { handler: "visit", .. })));
//!
//! let server = Server::builder()
//!     .hmac_secret("change-me")
//!     .state(App { visits: Visits::default() })
//!     .build()
//!     .expect("every handler finds its state");
//! # drop(server);
//! # }
//! ```
//!
//! ## Who connects
//!
//! A connection authenticates with a JWT ([`ServerBuilder::hmac_secret`],
//! or [`ServerBuilder::token_verifier`] for RS256 and ES256 keys), or,
//! without one, through the connect hook, which sees the upgrade
//! request (headers, cookies, peer address) and can name the user from the
//! web application's own session:
//!
//! ```
//! use wirecall_server::{ConnectDecision, Server};
//!
//! # fn sessions_user(_session: &str) -> Option<String> { None }
//! let builder = Server::builder().hmac_secret("change-me").on_connect(|cx| {
//!     let user = cx.handshake.cookie("session").and_then(sessions_user);
//!     async move {
//!         Ok(match user {
//!             Some(user) => ConnectDecision::allow().user(user),
//!             // A token's user stands; with neither, the connect is refused.
//!             None => ConnectDecision::allow(),
//!         })
//!     }
//! });
//! ```
//!
//! ## Publishing
//!
//! Handlers publish through `conn.publisher()`, the application through
//! [`Server::publisher`], other processes over HTTP (`wirecall_client::ApiClient`)
//! or straight into Redis ([`BrokerPublisher`]); all implement
//! [`Publisher`], so the messaging helpers of [`PublisherExt`] (user
//! messages, notifications, task progress) work the same everywhere.
//!
//! ## Inside an axum application
//!
//! [`Server::axum_router`] gives the routes to merge into an existing app;
//! on the app's own shutdown, [`Server::shutdown`] lets calls in flight
//! finish and tells clients to reconnect elsewhere. A server that serves
//! itself takes any shutdown future with [`Listening::serve_with_shutdown`].
//!
//! ## Limits
//!
//! [`Limits`] and [`Timings`] start from Centrifugo's defaults and change
//! by chained setters: `Limits::default().max_connections(Some(10_000))`.
//! The project README's "Bad input and abuse" table says what each one
//! does to a client that crosses it.
//!
//! # Features
//! All off by default, so a service that only serves compiles the server
//! alone:
//! - `cli`: `cli::run` (`serve`, `publish`, `notify`, `token`,
//!   `generate-clients`, …) and the standalone `wirecall` binary; turns on
//!   `redis` and `export`;
//! - `redis`: the Redis broker (`broker::redis`), for several nodes;
//! - `metrics`: Prometheus metrics (`ServerBuilder::metrics`,
//!   `Server::metrics_router`; `serve --admin-bind`), on with `cli`;
//! - `export`: the client exporter (`generate-clients`,
//!   `ServerBuilder::client_options`).

#![warn(missing_docs, unreachable_pub)]

// The package README is what crates.io shows; its examples are compiled
// as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

extern crate self as wirecall_server;

/// Records into a server's metrics when it keeps them (feature `metrics`,
/// turned on with `ServerBuilder::metrics`); nothing without the feature.
/// `$cx` is anything with a `metrics: Option<Arc<Metrics>>` field.
macro_rules! record {
    ($cx:expr, |$metrics:ident| $body:expr) => {
        #[cfg(feature = "metrics")]
        if let Some($metrics) = $cx.metrics.as_deref() {
            $body;
        }
    };
}

#[cfg(feature = "metrics")]
mod admin;
mod api;
pub mod auth;
pub mod broker;
#[cfg(feature = "cli")]
pub mod cli;
mod config;
mod context;
mod control;
mod engine;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hooks;
#[cfg(feature = "metrics")]
pub mod metrics;
mod outbound;
mod publisher;
mod report;
mod serve;
mod server;
mod session;
mod setters;
mod wire;
mod worker;

pub use config::{Channels, Limits, NamespaceOptions, Timings};
pub use hooks::{
    ConnectContext, ConnectDecision, DisconnectContext, Rejection, SubscribeContext,
    SubscribeDecision,
};
pub use publisher::ServerPublisher;
pub use server::{BuildError, Listening, Server, ServerBuilder, WEBSOCKET_PATH};
// What a service needs from the core, by name (no glob: the server's API
// does not change when the core adds something).
/// The client exporter (feature `export`, on with `cli`).
#[cfg(feature = "export")]
pub use wirecall_core::export;
pub use wirecall_core::{
    AppState, Call, ChannelFamilies, ChannelFamily, ChannelRegistration, Conn, ConnBuilder,
    DuplicateMethod, FromConn, Handler, Handshake, Location, Method, Publisher, PublisherExt,
    Registration, Result, Router, RouterBuilder, RouterError, RpcError, State, channel, code,
    messages, protocol, publish, registered, registered_channels, websocket_channel, websocket_rpc,
};
pub use worker::BrokerPublisher;

/// The runtime core, where code generated by `#[websocket_rpc]` looks for it
/// when the service depends on `wirecall-server` only.
#[doc(hidden)]
pub use wirecall_core as __wirecall_core;
