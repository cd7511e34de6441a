//! The Redis broker: several nodes (and worker processes that only
//! publish) share channels, history, presence and the node registry
//! through one Redis.
//!
//! - Publishing with history is one server-side script: the stream (a Redis
//!   stream trimmed to exactly the history size; entry ids are offsets), the
//!   position (a hash with the epoch and the top offset), their TTLs, the
//!   idempotency result and the pub/sub message carrying offset and epoch.
//!   The script runs atomically, so every node receives a channel's
//!   publications in offset order.
//! - A node subscribes a channel's pub/sub only while it has local
//!   subscribers, on a few dedicated connections (the `pubsub` module).
//! - Presence and the node registry are a sorted set of expiry times with a
//!   hash of entries; reads drop what expired, by Redis's clock.
//! - Commands go through `redis`'s connection manager, which reconnects by
//!   itself; while Redis cannot be reached they fail at once with
//!   [`BrokerError::Unavailable`] (error 100 for clients, which retry).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use wirecall_server::Server;
//! use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
//!
//! let broker = RedisBroker::connect(RedisOptions::new("redis://127.0.0.1:6379")).await?;
//! let server = Server::builder().broker(Arc::new(broker)).build()?;
//! # Ok(()) }
//! ```

mod names;
mod pubsub;
mod scripts;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;
use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

use super::{
    BoxFuture, Broker, BrokerError, BrokerSink, HistoryPage, HistoryPolicy, HistoryQuery,
    IDEMPOTENCY_WINDOW, NodeInfo, PublishOptions,
};
use names::{Names, encode_presence_event};
use pubsub::{PubSubTimings, ShardContext, Shards};

/// How to reach Redis and how to share it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisOptions {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Starts every key and pub/sub channel, so several deployments can
    /// share one Redis (default `wirecall`).
    pub prefix: String,
    /// Dedicated pub/sub connections (default 2).
    pub pubsub_shards: usize,
    /// How long a command may wait for Redis before it fails (2 s).
    pub command_timeout: Duration,
    /// Silence on a pub/sub connection after which it is probed (30 s).
    pub probe_after: Duration,
    /// How long a probe may take to come back before the connection is
    /// replaced (5 s).
    pub probe_timeout: Duration,
}

impl RedisOptions {
    /// Options for the Redis at `url`, with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "wirecall".into(),
            pubsub_shards: 2,
            command_timeout: Duration::from_secs(2),
            probe_after: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(5),
        }
    }
}

crate::setters::chained_setters!(RedisOptions {
    prefix: String,
    pubsub_shards: usize,
    command_timeout: Duration,
    probe_after: Duration,
    probe_timeout: Duration,
});

/// Channel state in Redis, shared by every node that uses the same Redis
/// and prefix.
pub struct RedisBroker {
    options: RedisOptions,
    client: redis::Client,
    commands: ConnectionManager,
    names: Names,
    runtime: tokio::runtime::Handle,
    shards: OnceLock<Shards>,
    stop: CancellationToken,
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker")
            .field("url", &self.options.url)
            .field("prefix", &self.options.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> BrokerError {
    BrokerError::unavailable_because("Redis", error)
}

/// A fresh epoch: 16 hex digits, never a colon.
fn new_epoch() -> String {
    let mut epoch = uuid::Uuid::new_v4().simple().to_string();
    epoch.truncate(16);
    epoch
}

fn seconds(duration: Duration) -> u64 {
    duration.as_secs().max(1)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RedisBroker {
    /// Connects to Redis (and checks it answers).
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] naming the URL and the cause when Redis
    /// cannot be reached.
    pub async fn connect(options: RedisOptions) -> Result<Self, BrokerError> {
        let what = format!("cannot connect to Redis at {}", options.url);
        let fail = |cause: redis::RedisError| BrokerError::unavailable_because(what.clone(), cause);
        let client = redis::Client::open(options.url.as_str()).map_err(fail)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.command_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let mut commands = tokio::time::timeout(
            options.command_timeout * 2,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| BrokerError::unavailable(format!("{what}: timed out")))?
        .map_err(fail)?;
        redis::cmd("PING")
            .exec_async(&mut commands)
            .await
            .map_err(fail)?;
        Ok(Self {
            names: Names::new(&options.prefix),
            options,
            client,
            commands,
            runtime: tokio::runtime::Handle::current(),
            shards: OnceLock::new(),
            stop: CancellationToken::new(),
        })
    }

    fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    fn shards(&self) -> Result<&Shards, BrokerError> {
        self.shards
            .get()
            .ok_or_else(|| BrokerError::unavailable("the Redis broker is not attached"))
    }

    async fn publish_now(
        &self,
        channel: &str,
        publication: Publication,
        options: PublishOptions,
    ) -> Result<StreamPosition, BrokerError> {
        let json = serde_json::to_string(&publication).map_err(unavailable)?;
        if options.history.is_none() && options.idempotency_key.is_none() {
            // Nothing to keep or check: a plain PUBLISH, in the form the
            // script sends (offset 0, no epoch).
            let payload = format!("p0::{json}");
            self.publish_raw(self.names.pubsub(channel), payload.into_bytes())
                .await?;
            return Ok(StreamPosition::default());
        }
        let (size, ttl, meta_ttl) = match options.history {
            Some(policy) => (policy.size, seconds(policy.ttl), seconds(policy.meta_ttl)),
            None => (0, 1, 1),
        };
        let idempotency = options
            .idempotency_key
            .map(|key| self.names.idempotency(channel, &key))
            .unwrap_or_default();
        let result: String = scripts::PUBLISH
            .key(self.names.stream(channel))
            .key(self.names.meta(channel))
            .key(idempotency)
            .arg(self.names.pubsub(channel))
            .arg(json)
            .arg(size)
            .arg(ttl)
            .arg(meta_ttl)
            .arg(new_epoch())
            .arg(IDEMPOTENCY_WINDOW.as_secs())
            .invoke_async(&mut self.commands())
            .await
            .map_err(unavailable)?;
        let (offset, epoch) = result.split_once(':').ok_or_else(|| {
            BrokerError::unavailable(format!("Redis: unexpected publish result {result:?}"))
        })?;
        Ok(StreamPosition {
            offset: offset.parse().map_err(unavailable)?,
            epoch: epoch.to_owned(),
        })
    }

    async fn read(
        &self,
        channel: &str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> Result<HistoryPage, BrokerError> {
        let count = query.limit.to_string();
        // Which range, and whether to flip it (the newest `limit` in
        // ascending order are read newest first).
        let (mode, start, end, flip) = match (&query.since, query.reverse) {
            _ if query.limit == 0 => ("", String::new(), String::new(), false),
            (Some(since), false) => ("fwd", format!("{}-0", since.offset + 1), "+".into(), false),
            (Some(since), true) => (
                "rev",
                format!("{}-0", since.offset.saturating_sub(1)),
                "-".into(),
                false,
            ),
            (None, false) => ("rev", "+".into(), "-".into(), true),
            (None, true) => ("rev", "+".into(), "-".into(), false),
        };
        type Entries = Vec<(String, Vec<String>)>;
        let (top, epoch, entries): (u64, String, Entries) = scripts::HISTORY
            .key(self.names.stream(channel))
            .key(self.names.meta(channel))
            .arg(new_epoch())
            .arg(seconds(policy.meta_ttl))
            .arg(mode)
            .arg(start)
            .arg(end)
            .arg(count)
            .invoke_async(&mut self.commands())
            .await
            .map_err(unavailable)?;
        if let Some(since) = &query.since
            && !since.epoch.is_empty()
            && since.epoch != epoch
        {
            return Err(BrokerError::UnrecoverablePosition);
        }
        let mut publications = Vec::with_capacity(entries.len());
        for (id, fields) in entries {
            let offset = id
                .split_once('-')
                .and_then(|(offset, _)| offset.parse().ok())
                .ok_or_else(|| {
                    BrokerError::unavailable(format!("Redis: unexpected stream id {id:?}"))
                })?;
            let json = fields
                .chunks(2)
                .find(|pair| pair.first().is_some_and(|f| f == "d"))
                .and_then(|pair| pair.get(1))
                .ok_or_else(|| BrokerError::unavailable("Redis: stream entry without data"))?;
            let mut publication: Publication = serde_json::from_str(json).map_err(unavailable)?;
            publication.offset = offset;
            publications.push(publication);
        }
        if flip {
            publications.reverse();
        }
        Ok(HistoryPage {
            publications,
            position: StreamPosition { offset: top, epoch },
        })
    }

    /// The live entries of a zset-and-hash pair, decoded.
    async fn live_members<T: serde::de::DeserializeOwned>(
        &self,
        expiry: String,
        entries: String,
    ) -> Result<Vec<(String, T)>, BrokerError> {
        let pairs: Vec<(String, String)> = scripts::LIVE_MEMBERS
            .key(expiry)
            .key(entries)
            .invoke_async(&mut self.commands())
            .await
            .map_err(unavailable)?;
        Ok(pairs
            .into_iter()
            .filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?)))
            .collect())
    }

    async fn publish_raw(&self, pubsub: String, payload: Vec<u8>) -> Result<(), BrokerError> {
        redis::cmd("PUBLISH")
            .arg(pubsub)
            .arg(payload)
            .exec_async(&mut self.commands())
            .await
            .map_err(unavailable)
    }
}

impl Broker for RedisBroker {
    fn attach(&self, id: &str, sink: Arc<dyn BrokerSink>) {
        let context = Arc::new(ShardContext {
            client: self.client.clone(),
            commands: self.commands(),
            names: self.names.clone(),
            id: id.to_owned(),
            sink,
            timings: PubSubTimings {
                command_timeout: self.options.command_timeout,
                probe_after: self.options.probe_after,
                probe_timeout: self.options.probe_timeout,
            },
            stop: self.stop.clone(),
        });
        let shards = Shards::start(self.options.pubsub_shards, &context, &self.runtime);
        if self.shards.set(shards).is_err() {
            tracing::error!("a Redis broker serves one process; the second attach is ignored");
        }
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        options: PublishOptions,
    ) -> BoxFuture<'a, Result<StreamPosition, BrokerError>> {
        Box::pin(self.publish_now(channel, publication, options))
    }

    fn publish_join<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let payload = encode_presence_event(true, &info);
        Box::pin(self.publish_raw(self.names.pubsub(channel), payload))
    }

    fn publish_leave<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let payload = encode_presence_event(false, &info);
        Box::pin(self.publish_raw(self.names.pubsub(channel), payload))
    }

    fn subscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move { self.shards()?.subscribe(self.names.pubsub(channel)).await })
    }

    fn unsubscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            self.shards()?.unsubscribe(self.names.pubsub(channel)).await;
            Ok(())
        })
    }

    fn history<'a>(
        &'a self,
        channel: &'a str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>> {
        Box::pin(self.read(channel, query, policy))
    }

    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            redis::cmd("DEL")
                .arg(self.names.stream(channel))
                .exec_async(&mut self.commands())
                .await
                .map_err(unavailable)
        })
    }

    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let json = serde_json::to_string(&info).map_err(unavailable)?;
            scripts::ADD_PRESENCE
                .key(self.names.presence_expiry(channel))
                .key(self.names.presence(channel))
                .arg(&info.client)
                .arg(json)
                .arg(millis(ttl))
                .invoke_async::<()>(&mut self.commands())
                .await
                .map_err(unavailable)
        })
    }

    fn remove_presence<'a>(
        &'a self,
        channel: &'a str,
        client: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            scripts::REMOVE_MEMBERS
                .key(self.names.presence_expiry(channel))
                .key(self.names.presence(channel))
                .arg(client)
                .invoke_async::<()>(&mut self.commands())
                .await
                .map_err(unavailable)
        })
    }

    fn presence<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, ClientInfo>, BrokerError>> {
        Box::pin(async move {
            let members = self
                .live_members(
                    self.names.presence_expiry(channel),
                    self.names.presence(channel),
                )
                .await?;
            Ok(members.into_iter().collect())
        })
    }

    fn publish_control<'a>(
        &'a self,
        to: Option<&'a str>,
        payload: String,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let pubsub = match to {
            Some(id) => self.names.control_of(id),
            None => self.names.control(),
        };
        Box::pin(self.publish_raw(pubsub, payload.into_bytes()))
    }

    fn announce_node<'a>(
        &'a self,
        info: NodeInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            let json = serde_json::to_string(&info).map_err(unavailable)?;
            scripts::ANNOUNCE_NODE
                .key(self.names.nodes())
                .key(self.names.node_info())
                .arg(&info.uid)
                .arg(json)
                .arg(millis(ttl))
                .invoke_async::<()>(&mut self.commands())
                .await
                .map_err(unavailable)
        })
    }

    fn remove_node<'a>(&'a self, uid: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            scripts::REMOVE_MEMBERS
                .key(self.names.nodes())
                .key(self.names.node_info())
                .arg(uid)
                .invoke_async::<()>(&mut self.commands())
                .await
                .map_err(unavailable)
        })
    }

    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeInfo>, BrokerError>> {
        Box::pin(async move {
            let members = self
                .live_members::<NodeInfo>(self.names.nodes(), self.names.node_info())
                .await?;
            Ok(members.into_iter().map(|(_, info)| info).collect())
        })
    }

    fn shutdown(&self) {
        self.stop.cancel();
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
