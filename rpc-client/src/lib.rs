//! wsrpc's Rust clients. Today: [`ApiClient`], the HTTP server API from any
//! process, implementing the same [`rpc_core::Publisher`] interface as the
//! in-process publisher. The typed WebSocket client follows.
//!
//! # Features
//! - `tls`: HTTPS for `ApiClient` (rustls). Off by default.

#![warn(missing_docs, unreachable_pub)]

mod api;

pub use api::{ApiClient, ApiError};
pub use rpc_core::{Method, Publisher, PublisherExt, RpcError};

/// The runtime core, for `#[websocket_rpc]` in crates that depend on
/// `rpc-client` only.
#[doc(hidden)]
pub use rpc_core as __rpc_core;
