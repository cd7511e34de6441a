//! Where channel state lives: streams with history, presence, and the
//! delivery of publications to every node that has subscribers.
//!
//! The interface is async and works on whole requests so that a networked
//! implementation (Redis, a later issue) fits it without change; the
//! in-memory one is the embedded default.

mod memory;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

pub use memory::MemoryBroker;

/// A boxed future, for object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a channel's stream is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// Publications kept.
    pub size: usize,
    /// How long each is kept.
    pub ttl: Duration,
}

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

/// Why a broker operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// `since.epoch` is not the stream's epoch (error 112).
    #[error("unrecoverable position")]
    UnrecoverablePosition,
    /// The broker could not be reached or failed (error 100, temporary).
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

/// Receives what the broker delivers to this node.
pub trait BrokerSink: Send + Sync + 'static {
    /// A publication in a channel this node subscribed to, in offset order.
    fn publication(&self, channel: &str, publication: &Publication);
    /// A client joined a channel.
    fn join(&self, channel: &str, info: &ClientInfo);
    /// A client left a channel.
    fn leave(&self, channel: &str, info: &ClientInfo);
}

/// Channel state shared by every node of a deployment.
pub trait Broker: Send + Sync + 'static {
    /// Connects the broker's deliveries to this node.
    fn attach(&self, sink: Arc<dyn BrokerSink>);

    /// Publishes into `channel`, keeping it in the stream when `history` is
    /// given; returns the new position (offset 0 without history).
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        history: Option<HistoryPolicy>,
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

    /// This node now has subscribers of `channel` (a no-op in memory).
    fn subscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// This node has no subscribers of `channel` any more.
    fn unsubscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Reads a channel's stream.
    fn history<'a>(
        &'a self,
        channel: &'a str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>>;

    /// Drops a channel's publications, keeping its position and epoch.
    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Records that `info.client` is in `channel`.
    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Removes `client` from `channel`'s presence.
    fn remove_presence<'a>(
        &'a self,
        channel: &'a str,
        client: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Everyone in `channel`, by client id.
    fn presence<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, ClientInfo>, BrokerError>>;
}
