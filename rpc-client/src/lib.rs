//! wsrpc's typed Rust client. For now it re-exports the method markers'
//! trait and the error type it will return.

#![warn(missing_docs, unreachable_pub)]

pub use rpc_core::{Method, RpcError};

/// The runtime core, for `#[websocket_rpc]` in crates that depend on
/// `rpc-client` only.
#[doc(hidden)]
pub use rpc_core as __rpc_core;
