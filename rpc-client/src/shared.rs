//! What a client's handles and its connection task share: the command
//! queue, the replies awaited, the routes, the connection's state, and what
//! the builder configured.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use wirecall_core::protocol::{Reply, StreamPosition};

use crate::error::{BoxError, ClientError};
use crate::routes::Routes;

/// Fetches a fresh connection token: called before every connect attempt
/// (so reconnects use a current token), after a 109 "token expired", and
/// before the token expires when the server asked for refresh. A failure
/// is logged (with its cause) and the last token is used.
pub type TokenProvider = Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, Result<String, BoxError>> + Send + Sync,
>;

/// What a [`crate::ClientBuilder`] configured, read by the connection task.
#[derive(Clone)]
pub(crate) struct Settings {
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

/// A handle on the connection, shared by a client's clones and its
/// subscriptions: commands go out through it, and the connection task
/// runs as long as one exists.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) timeout: Duration,
    /// Dropped with the last handle: the connection task then ends.
    pub(crate) _alive: Arc<oneshot::Sender<()>>,
}

impl Handle {
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
