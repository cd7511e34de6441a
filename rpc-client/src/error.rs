//! Why a client operation failed: the connection's errors, each keeping
//! its cause as `source()` rather than in its own message (print the
//! chain, as `anyhow`'s `{:#}` does, to see both).

use std::time::Duration;

use wirecall_core::RpcError;

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
    #[error(transparent)]
    Connect(ConnectError),
    /// Params did not encode as JSON, or a reply did not decode as the
    /// type the method declares.
    #[error("{context}")]
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
    #[error("cannot open {url}")]
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
    /// The token provider failed and there was no token to fall back on;
    /// its error is the `source()`.
    #[error("the token provider failed")]
    Token(#[source] BoxError),
    /// The connection broke, or no reply came in time, during the
    /// handshake.
    #[error("{0}")]
    Interrupted(String),
}
