//! wirecall's Rust clients: [`Client`], a WebSocket connection with typed RPC
//! through the markers `#[websocket_rpc]` emits (`client.call::<tasks_get_stats>(params)`),
//! and [`ApiClient`], the HTTP server API from any process, implementing the
//! same [`wirecall_core::Publisher`] interface as the in-process publisher.
//!
//! Subscriptions are streams with a bounded buffer and an explicit lag
//! signal. The client reconnects by itself (exponential backoff with
//! jitter), resubscribes asking for what it missed, and reports whether
//! recovery succeeded; terminal close codes stop it.
//!
//! Errors are types that keep their causes: a refused connect is
//! `ClientError::Connect(ConnectError::Refused { code, .. })` (3500 a bad
//! token, 109 an expired one, …), an unreachable server
//! `ConnectError::Open` with the WebSocket library's error as `source()`,
//! and a method's own error `ClientError::Rpc` with its code:
//!
//! ```no_run
//! use wirecall_client::{Client, ClientError, ConnectError};
//!
//! # async fn run() {
//! match Client::builder("ws://127.0.0.1:8000/connection/websocket")
//!     .token_provider(|| async { Ok(std::env::var("TOKEN")?) })
//!     .connect()
//!     .await
//! {
//!     Ok(client) => drop(client),
//!     Err(ClientError::Connect(ConnectError::Refused { code: 3500, .. })) => {
//!         eprintln!("the server does not accept this token");
//!     }
//!     Err(other) => eprintln!("{other}"),
//! }
//! # }
//! ```
//!
//! A runnable example that starts a server in-process, calls it by marker
//! and receives a publication: `cargo run -p wirecall-client --example
//! quickstart` (`rpc-client/examples/quickstart.rs`).
//!
//! # Features
//! - `tls`: HTTPS for `ApiClient` (rustls). Off by default.

#![warn(missing_docs, unreachable_pub)]

// The package README is what crates.io shows; its examples are compiled
// as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// From the bottom up: errors, the routing table, what the handles and the
// connection task share, the connection task, subscriptions, the client.
mod api;
mod client;
mod connection;
mod error;
mod routes;
mod shared;
mod subscription;

pub use api::{ApiClient, ApiError};
pub use client::{Client, ClientBuilder};
pub use error::{BoxError, ClientError, ConnectError};
pub use routes::SubscriptionEvent;
pub use shared::{ConnectionState, TokenProvider};
pub use subscription::{
    DecodeError, ServerSubscriptions, Subscription, TypedEvent, TypedSubscription,
};
pub use wirecall_core::{ChannelFamily, Method, Publisher, PublisherExt, RpcError};

/// The runtime core, for `#[websocket_rpc]` in crates that depend on
/// `wirecall-client` only.
#[doc(hidden)]
pub use wirecall_core as __wirecall_core;
