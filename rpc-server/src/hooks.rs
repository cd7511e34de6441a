//! In-process hooks: application code that decides at connect and
//! subscribe time, and hears about unsubscribes and disconnects.
//!
//! `on_unsubscribe` and `on_disconnect` are best effort: they run when this
//! process closes a connection (client left, limit hit, shutdown). When the
//! process dies (killed, crashed, machine lost) nothing runs; state that
//! must not leak (presence in a shared broker) expires on its own instead.

use std::sync::Arc;

use serde_json::Value;
use wirecall_core::RpcError;
use wirecall_core::protocol::Disconnect;

use crate::broker::BoxFuture;

/// What a connect hook sees.
///
/// `Default` (with field assignment) builds one to test a hook with.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConnectContext {
    /// The new connection's id.
    pub client_id: String,
    /// The user from the token; `""` for a connection without one, which
    /// reaches the hook whether or not anonymous connections are allowed
    /// (so the hook can sign it in, e.g. from a session cookie, by
    /// returning [`ConnectDecision::user()`]; otherwise it is refused unless
    /// anonymous connections are on).
    pub user_id: String,
    /// The token's `info` claim.
    pub info: Option<Value>,
    /// Every claim of the token.
    pub claims: Value,
    /// The SDK's `name`.
    pub name: Option<String>,
    /// The SDK's `version`.
    pub version: Option<String>,
    /// The SDK's connect `data`.
    pub data: Option<Value>,
    /// The HTTP request the WebSocket was upgraded from: headers, cookies,
    /// URI, peer address.
    pub handshake: Arc<wirecall_core::Handshake>,
}

/// What a connect hook decides when it lets the client in.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConnectDecision {
    /// Who the client is, for a connect without a token that the hook
    /// authenticated itself (from a session cookie, say). Ignored when the
    /// client sent a token: the token's user stands.
    pub user: Option<String>,
    /// Replaces the connection info (presence, join/leave, `Conn::info`).
    pub info: Option<Value>,
    /// Extra server-side subscriptions.
    pub channels: Vec<String>,
    /// Data returned to the client in the connect result.
    pub data: Option<Value>,
}

impl ConnectDecision {
    /// Lets the client in as it is: `ConnectDecision::allow().user("alice")`.
    pub fn allow() -> Self {
        Self::default()
    }

    /// Connects a tokenless client as `user` (see the field).
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Replaces the connection info.
    #[must_use]
    pub fn info(mut self, info: Value) -> Self {
        self.info = Some(info);
        self
    }

    /// Adds a server-side subscription.
    #[must_use]
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channels.push(channel.into());
        self
    }

    /// Data returned to the client in the connect result.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Why a hook refuses.
#[derive(Debug, Clone)]
pub enum Rejection {
    /// Answer the command with this error.
    Error(RpcError),
    /// Close the connection with this code.
    Disconnect(Disconnect),
}

impl From<RpcError> for Rejection {
    fn from(error: RpcError) -> Self {
        Self::Error(error)
    }
}

impl From<Disconnect> for Rejection {
    fn from(disconnect: Disconnect) -> Self {
        Self::Disconnect(disconnect)
    }
}

/// What a subscribe hook sees.
///
/// `Default` (with field assignment) builds one to test a hook with.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SubscribeContext {
    /// The subscribing connection.
    pub client_id: String,
    /// Its user.
    pub user_id: String,
    /// The channel asked for.
    pub channel: String,
    /// The subscribe request's `data`.
    pub data: Option<Value>,
}

/// A subscribe hook's answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SubscribeDecision {
    /// Apply the namespace's rules as if there were no hook.
    Default,
    /// Allow, whatever the namespace and the `#` boundary say.
    Allow,
    /// Refuse with this error.
    Reject(RpcError),
}

/// What the unsubscribe and disconnect hooks hear.
///
/// `Default` (with field assignment) builds one to test a hook with.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DisconnectContext {
    /// The connection.
    pub client_id: String,
    /// Its user.
    pub user_id: String,
    /// The channel (unsubscribe only).
    pub channel: Option<String>,
    /// Why: the close sent, or `None` when the client went away.
    pub reason: Option<Disconnect>,
}

pub(crate) type ConnectHook = Arc<
    dyn Fn(ConnectContext) -> BoxFuture<'static, Result<ConnectDecision, Rejection>> + Send + Sync,
>;
pub(crate) type SubscribeHook =
    Arc<dyn Fn(SubscribeContext) -> BoxFuture<'static, SubscribeDecision> + Send + Sync>;
pub(crate) type NoticeHook = Arc<dyn Fn(DisconnectContext) -> BoxFuture<'static, ()> + Send + Sync>;

/// The hooks a server was built with.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_connect: Option<ConnectHook>,
    pub(crate) on_subscribe: Option<SubscribeHook>,
    pub(crate) on_unsubscribe: Option<NoticeHook>,
    pub(crate) on_disconnect: Option<NoticeHook>,
}

/// Runs a hook so that a panic in it is logged and reported as `None`
/// instead of ending the connection's task (and skipping its cleanup).
pub(crate) async fn guarded<T>(hook: &'static str, run: impl Future<Output = T>) -> Option<T> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(run).catch_unwind().await {
        Ok(value) => Some(value),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("non-string panic payload");
            tracing::error!(hook, panic = message, "hook panicked");
            None
        }
    }
}
