//! Where channel state lives: streams with history, presence, the
//! delivery of publications to every node that has subscribers, and the
//! control messages and node registry that let nodes act as one
//! deployment.
//!
//! The interface works on whole requests so that a networked broker
//! (Redis) and the in-memory one (the embedded default) implement it
//! alike; the channel engine (the `engine` module) holds the rules on top.

mod memory;
#[cfg(feature = "redis")]
pub mod redis;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

pub use memory::MemoryBroker;

/// A boxed future, for object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a channel's stream is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// Publications kept.
    pub size: usize,
    /// How long publications are kept.
    pub ttl: Duration,
    /// How long the stream's position (epoch and top offset) outlives its
    /// last use; after that the channel starts a new epoch.
    pub meta_ttl: Duration,
    /// Most channels of the namespace whose stream state one broker keeps
    /// in its own memory; past it the least recently used goes first. A
    /// subscriber of a dropped stream notices the new epoch and recovers.
    pub max_channels: usize,
}

/// How a publication is made.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Keep it in the channel's stream under this policy.
    pub history: Option<HistoryPolicy>,
    /// A key seen within [`IDEMPOTENCY_WINDOW`] for the same channel
    /// returns the first publish's position and publishes nothing.
    pub idempotency_key: Option<String>,
}

/// How long a publish's idempotency key is remembered (as in Centrifugo).
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(300);

/// Which part of a stream to read.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// Only publications after this position; its epoch, when not empty,
    /// must be the stream's (else [`BrokerError::UnrecoverablePosition`]).
    pub since: Option<StreamPosition>,
    /// At most this many publications (0: only the position).
    pub limit: usize,
    /// Newest first.
    pub reverse: bool,
}

/// A stream read: publications and the current position.
#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    /// The publications, in the order asked for.
    pub publications: Vec<Publication>,
    /// The stream's top offset and epoch.
    pub position: StreamPosition,
}

/// What a node tells the others about itself, and what `info` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Unique per process run.
    pub uid: String,
    /// A readable name (the host name by default).
    pub name: String,
    /// The server's version.
    pub version: String,
    /// Connections.
    pub num_clients: usize,
    /// Distinct users connected.
    pub num_users: usize,
    /// Channels with subscribers on the node.
    pub num_channels: usize,
    /// Subscriptions on the node.
    pub num_subs: usize,
    /// Seconds since the node started.
    pub uptime: u64,
}

/// Why a broker operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// `since.epoch` is not the stream's epoch (error 112).
    #[error("unrecoverable position")]
    UnrecoverablePosition,
    /// The broker could not be reached or failed (error 100, temporary).
    #[error("{what}")]
    Unavailable {
        /// What failed (`cannot connect to Redis at redis://…`).
        what: String,
        /// The underlying error (the Redis client's), when there is one;
        /// also the error's `source()`.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

impl BrokerError {
    /// The broker failed at `what`, with no underlying error to report.
    pub fn unavailable(what: impl Into<String>) -> Self {
        Self::Unavailable {
            what: what.into(),
            source: None,
        }
    }

    /// The broker failed at `what` because of `source`.
    pub fn unavailable_because(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            what: what.into(),
            source: Some(Arc::new(source)),
        }
    }
}

/// Receives what the broker delivers to this process.
pub trait BrokerSink: Send + Sync + 'static {
    /// A publication in a channel this node subscribed to, in offset
    /// order, with its stream's epoch (`""` when the channel keeps no
    /// history).
    fn publication(&self, channel: &str, publication: &Publication, epoch: &str);
    /// A client joined a channel.
    fn join(&self, channel: &str, info: &ClientInfo);
    /// A client left a channel.
    fn leave(&self, channel: &str, info: &ClientInfo);
    /// A control message sent to every node, or to this one.
    fn control(&self, payload: &str);
    /// Deliveries may have been lost (the broker's connection was down
    /// and is back): subscribers should check their positions now.
    fn reconnected(&self) {}
}

/// Channel state shared by every node of a deployment.
pub trait Broker: Send + Sync + 'static {
    /// Connects the broker's deliveries to this process. `id` is the node's
    /// (or publisher's) uid: control messages addressed to it arrive here.
    fn attach(&self, id: &str, sink: Arc<dyn BrokerSink>);

    /// Publishes into `channel`; returns the new position (offset 0 without
    /// history), or the first publish's for a repeated idempotency key.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        options: PublishOptions,
    ) -> BoxFuture<'a, Result<StreamPosition, BrokerError>>;

    /// Tells every node that `info` joined `channel`.
    fn publish_join<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Tells every node that `info` left `channel`.
    fn publish_leave<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// This node now has subscribers of `channel`: once this returns,
    /// every later publication reaches it.
    fn subscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// This node has no subscribers of `channel` any more.
    fn unsubscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Reads a channel's stream (creating its position if it has none).
    fn history<'a>(
        &'a self,
        channel: &'a str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>>;

    /// Drops a channel's publications, keeping its position and epoch.
    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Records that `info.client` is in `channel` for `ttl` (the node
    /// refreshes it while the client stays).
    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Removes `client` from `channel`'s presence.
    fn remove_presence<'a>(
        &'a self,
        channel: &'a str,
        client: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Everyone in `channel` whose entry has not expired, by client id.
    fn presence<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, ClientInfo>, BrokerError>>;

    /// Sends a control message to every attached process (`to: None`,
    /// the sender included) or to the one attached as `to`.
    fn publish_control<'a>(
        &'a self,
        to: Option<&'a str>,
        payload: String,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Records that a node is alive, for `ttl` unless announced again.
    fn announce_node<'a>(
        &'a self,
        info: NodeInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// A node leaving gracefully.
    fn remove_node<'a>(&'a self, uid: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Every live node.
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeInfo>, BrokerError>>;

    /// Stops the broker's background work (connections, timers).
    fn shutdown(&self) {}
}
