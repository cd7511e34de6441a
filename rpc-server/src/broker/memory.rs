//! The in-memory broker: one process, no network. Every stream gets a fresh
//! random epoch when it is created, so after a restart (or once its state
//! was dropped) clients see a new epoch and never "recover" against a
//! different sequence.
//!
//! Everything a client can make it keep is bounded: streams expire after
//! their namespace's `meta_ttl` without use and each namespace keeps at
//! most `max_channels` of them (least recently used first out); presence
//! entries expire unless refreshed; idempotency keys live for their window
//! and their number is capped.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::config::namespace_of;
use hashlink::LinkedHashMap;
use tokio::time::Instant;
use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

use super::{
    BoxFuture, Broker, BrokerError, BrokerSink, HistoryPage, HistoryPolicy, HistoryQuery,
    IDEMPOTENCY_WINDOW, NodeInfo, PublishOptions,
};

/// Idempotency keys remembered at most; past it the oldest are forgotten
/// early (a repeat of those publishes again, as after the window).
const MAX_IDEMPOTENCY_KEYS: usize = 100_000;

/// Channel state in this process; the embedded default.
#[derive(Default)]
pub struct MemoryBroker {
    sink: OnceLock<(String, Arc<dyn BrokerSink>)>,
    streams: Mutex<HashMap<String, Streams>>,
    presence: Mutex<HashMap<String, Present>>,
    idempotency: Mutex<LinkedHashMap<(String, String), (Instant, StreamPosition)>>,
    nodes: Mutex<HashMap<String, (Instant, NodeInfo)>>,
}

/// A channel's presence: each client's entry and when it expires.
type Present = HashMap<String, (Instant, ClientInfo)>;

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker").finish_non_exhaustive()
    }
}

/// The streams of one namespace, least recently used first, each with
/// when it was last used.
#[derive(Default)]
struct Streams {
    by_channel: LinkedHashMap<String, (Instant, Arc<Mutex<Stream>>)>,
}

impl Streams {
    /// The channel's stream, created if missing, marked as just used; drops
    /// streams idle past `meta_ttl` and the oldest past `max_channels`.
    fn touch(&mut self, channel: &str, policy: HistoryPolicy, now: Instant) -> Arc<Mutex<Stream>> {
        let stream = match self.by_channel.to_back(channel) {
            Some((used, stream)) => {
                *used = now;
                stream.clone()
            }
            None => {
                let stream = Arc::new(Mutex::new(Stream::new()));
                self.by_channel
                    .insert(channel.to_owned(), (now, stream.clone()));
                stream
            }
        };
        while self.by_channel.len() > policy.max_channels.max(1) {
            self.by_channel.pop_front();
        }
        while let Some((_, (used, _))) = self.by_channel.front()
            && *used + policy.meta_ttl <= now
        {
            self.by_channel.pop_front();
        }
        stream
    }
}

/// One channel: its position and its retained publications. Its lock also
/// orders deliveries, so subscribers see offsets strictly increasing.
struct Stream {
    epoch: String,
    top: u64,
    items: VecDeque<(Instant, Publication)>,
}

impl Stream {
    fn new() -> Self {
        let mut epoch = uuid::Uuid::new_v4().simple().to_string();
        epoch.truncate(12);
        Self {
            epoch,
            top: 0,
            items: VecDeque::new(),
        }
    }

    fn position(&self) -> StreamPosition {
        StreamPosition {
            offset: self.top,
            epoch: self.epoch.clone(),
        }
    }

    fn drop_expired(&mut self, now: Instant) {
        while self
            .items
            .front()
            .is_some_and(|(expires, _)| *expires <= now)
        {
            self.items.pop_front();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them half-updated in a
    // way later readers would misread, so poisoning is ignored.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryBroker {
    /// An empty broker.
    pub fn new() -> Self {
        Self::default()
    }

    fn stream(&self, channel: &str, policy: HistoryPolicy) -> Arc<Mutex<Stream>> {
        lock(&self.streams)
            .entry(namespace_of(channel).to_owned())
            .or_default()
            .touch(channel, policy, Instant::now())
    }

    fn sink(&self) -> Option<&Arc<dyn BrokerSink>> {
        self.sink.get().map(|(_, sink)| sink)
    }

    fn publish_now(
        &self,
        channel: &str,
        mut publication: Publication,
        history: Option<HistoryPolicy>,
    ) -> StreamPosition {
        let Some(policy) = history else {
            // No stream is kept (so publishing to many one-off channels costs
            // no memory); one publisher's awaited publications still arrive
            // in order, and concurrent publishers have no order to keep.
            if let Some(sink) = self.sink() {
                sink.publication(channel, &publication, "");
            }
            return StreamPosition::default();
        };
        let stream = self.stream(channel, policy);
        let mut stream = lock(&stream);
        let now = Instant::now();
        stream.top += 1;
        publication.offset = stream.top;
        stream
            .items
            .push_back((now + policy.ttl, publication.clone()));
        while stream.items.len() > policy.size {
            stream.items.pop_front();
        }
        stream.drop_expired(now);
        if let Some(sink) = self.sink() {
            sink.publication(channel, &publication, &stream.epoch);
        }
        stream.position()
    }

    /// Publishes once per (channel, key) within the window: the key's check
    /// and the publish happen under one lock, so two concurrent publishes
    /// with the same key publish once.
    fn publish_idempotent(
        &self,
        channel: &str,
        key: String,
        publication: Publication,
        history: Option<HistoryPolicy>,
    ) -> StreamPosition {
        let mut keys = lock(&self.idempotency);
        let now = Instant::now();
        while let Some((_, (at, _))) = keys.front()
            && *at + IDEMPOTENCY_WINDOW <= now
        {
            keys.pop_front();
        }
        let key = (channel.to_owned(), key);
        if let Some((_, position)) = keys.get(&key) {
            return position.clone();
        }
        let position = self.publish_now(channel, publication, history);
        keys.insert(key, (now, position.clone()));
        while keys.len() > MAX_IDEMPOTENCY_KEYS {
            keys.pop_front();
        }
        position
    }

    fn read(
        &self,
        channel: &str,
        query: &HistoryQuery,
        policy: HistoryPolicy,
    ) -> Result<HistoryPage, BrokerError> {
        let stream = self.stream(channel, policy);
        let mut stream = lock(&stream);
        stream.drop_expired(Instant::now());
        let position = stream.position();
        if let Some(since) = &query.since
            && !since.epoch.is_empty()
            && since.epoch != stream.epoch
        {
            return Err(BrokerError::UnrecoverablePosition);
        }
        if query.limit == 0 {
            return Ok(HistoryPage {
                publications: Vec::new(),
                position,
            });
        }
        let items = stream.items.iter().map(|(_, p)| p);
        let publications: Vec<Publication> = match (&query.since, query.reverse) {
            (Some(since), false) => items
                .filter(|p| p.offset > since.offset)
                .take(query.limit)
                .cloned()
                .collect(),
            (Some(since), true) => items
                .rev()
                .filter(|p| p.offset < since.offset)
                .take(query.limit)
                .cloned()
                .collect(),
            (None, false) => {
                let skip = stream.items.len().saturating_sub(query.limit);
                items.skip(skip).cloned().collect()
            }
            (None, true) => items.rev().take(query.limit).cloned().collect(),
        };
        Ok(HistoryPage {
            publications,
            position,
        })
    }

    /// Channels whose stream state this broker keeps (for tests and
    /// memory accounting).
    pub fn stream_count(&self) -> usize {
        lock(&self.streams)
            .values()
            .map(|s| s.by_channel.len())
            .sum()
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl Broker for MemoryBroker {
    fn attach(&self, id: &str, sink: Arc<dyn BrokerSink>) {
        if self.sink.set((id.to_owned(), sink)).is_err() {
            tracing::error!("a memory broker serves one node; the second attach is ignored");
        }
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        options: PublishOptions,
    ) -> BoxFuture<'a, Result<StreamPosition, BrokerError>> {
        let position = match options.idempotency_key {
            Some(key) => self.publish_idempotent(channel, key, publication, options.history),
            None => self.publish_now(channel, publication, options.history),
        };
        ready(Ok(position))
    }

    fn publish_join<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        if let Some(sink) = self.sink() {
            sink.join(channel, &info);
        }
        ready(Ok(()))
    }

    fn publish_leave<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        if let Some(sink) = self.sink() {
            sink.leave(channel, &info);
        }
        ready(Ok(()))
    }

    fn subscribe_node<'a>(&'a self, _channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        ready(Ok(()))
    }

    fn unsubscribe_node<'a>(&'a self, _channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        ready(Ok(()))
    }

    fn history<'a>(
        &'a self,
        channel: &'a str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>> {
        ready(self.read(channel, &query, policy))
    }

    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        let streams = lock(&self.streams);
        if let Some(stream) = streams
            .get(namespace_of(channel))
            .and_then(|s| s.by_channel.get(channel))
        {
            lock(&stream.1).items.clear();
        }
        ready(Ok(()))
    }

    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let expires = Instant::now() + ttl;
        lock(&self.presence)
            .entry(channel.to_owned())
            .or_default()
            .insert(info.client.clone(), (expires, info));
        ready(Ok(()))
    }

    fn remove_presence<'a>(
        &'a self,
        channel: &'a str,
        client: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let mut presence = lock(&self.presence);
        if let Some(clients) = presence.get_mut(channel) {
            clients.remove(client);
            if clients.is_empty() {
                presence.remove(channel);
            }
        }
        ready(Ok(()))
    }

    fn presence<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, ClientInfo>, BrokerError>> {
        let now = Instant::now();
        let mut presence = lock(&self.presence);
        let mut live = BTreeMap::new();
        if let Some(clients) = presence.get_mut(channel) {
            clients.retain(|_, (expires, _)| *expires > now);
            live.extend(
                clients
                    .iter()
                    .map(|(id, (_, info))| (id.clone(), info.clone())),
            );
            if clients.is_empty() {
                presence.remove(channel);
            }
        }
        ready(Ok(live))
    }

    fn publish_control<'a>(
        &'a self,
        to: Option<&'a str>,
        payload: String,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        if let Some((id, sink)) = self.sink.get()
            && to.is_none_or(|to| to == id)
        {
            sink.control(&payload);
        }
        ready(Ok(()))
    }

    fn announce_node<'a>(
        &'a self,
        info: NodeInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        let expires = Instant::now() + ttl;
        lock(&self.nodes).insert(info.uid.clone(), (expires, info));
        ready(Ok(()))
    }

    fn remove_node<'a>(&'a self, uid: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        lock(&self.nodes).remove(uid);
        ready(Ok(()))
    }

    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeInfo>, BrokerError>> {
        let now = Instant::now();
        let mut nodes = lock(&self.nodes);
        nodes.retain(|_, (expires, _)| *expires > now);
        ready(Ok(nodes.values().map(|(_, info)| info.clone()).collect()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::value::RawValue;

    use super::*;

    fn publication(n: u32) -> Publication {
        Publication {
            data: RawValue::from_string(n.to_string()).unwrap(),
            info: None,
            offset: 0,
            tags: None,
        }
    }

    const POLICY: HistoryPolicy = HistoryPolicy {
        size: 3,
        ttl: Duration::from_secs(60),
        meta_ttl: Duration::from_secs(3600),
        max_channels: 1000,
    };

    fn with_history() -> PublishOptions {
        PublishOptions {
            history: Some(POLICY),
            idempotency_key: None,
        }
    }

    fn query(since: Option<u64>, epoch: &str, limit: usize, reverse: bool) -> HistoryQuery {
        HistoryQuery {
            since: since.map(|offset| StreamPosition {
                offset,
                epoch: epoch.into(),
            }),
            limit,
            reverse,
        }
    }

    fn offsets(page: &HistoryPage) -> Vec<u64> {
        page.publications.iter().map(|p| p.offset).collect()
    }

    #[tokio::test]
    async fn stream_keeps_the_newest_and_reads_since() {
        let broker = MemoryBroker::new();
        for n in 1..=5 {
            let position = broker
                .publish("ch", publication(n), with_history())
                .await
                .unwrap();
            assert_eq!(position.offset, u64::from(n));
        }
        let all = broker
            .history("ch", query(None, "", 10, false), POLICY)
            .await
            .unwrap();
        assert_eq!(offsets(&all), [3, 4, 5]);
        let epoch = all.position.epoch.clone();
        let since = broker
            .history("ch", query(Some(3), &epoch, 10, false), POLICY)
            .await
            .unwrap();
        assert_eq!(offsets(&since), [4, 5]);
        let newest = broker
            .history("ch", query(None, "", 2, true), POLICY)
            .await
            .unwrap();
        assert_eq!(offsets(&newest), [5, 4]);
        let wrong = broker
            .history("ch", query(Some(3), "other", 10, false), POLICY)
            .await;
        assert!(matches!(wrong, Err(BrokerError::UnrecoverablePosition)));
        let position_only = broker
            .history("ch", query(None, "", 0, false), POLICY)
            .await
            .unwrap();
        assert!(position_only.publications.is_empty());
        assert_eq!(position_only.position.offset, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn publications_expire_after_their_ttl() {
        let broker = MemoryBroker::new();
        broker
            .publish("ch", publication(1), with_history())
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(61)).await;
        broker
            .publish("ch", publication(2), with_history())
            .await
            .unwrap();
        let page = broker
            .history("ch", query(None, "", 10, false), POLICY)
            .await
            .unwrap();
        assert_eq!(offsets(&page), [2]);
    }

    #[tokio::test]
    async fn channels_without_history_keep_no_state() {
        let broker = MemoryBroker::new();
        for n in 0..100 {
            let channel = format!("tasks:{n}");
            let position = broker
                .publish(&channel, publication(n), PublishOptions::default())
                .await
                .unwrap();
            assert_eq!(position, StreamPosition::default());
        }
        assert_eq!(broker.stream_count(), 0);
    }

    #[tokio::test]
    async fn each_broker_starts_new_epochs() {
        let a = MemoryBroker::new();
        let b = MemoryBroker::new();
        let pa = a
            .publish("ch", publication(1), with_history())
            .await
            .unwrap();
        let pb = b
            .publish("ch", publication(1), with_history())
            .await
            .unwrap();
        assert_ne!(pa.epoch, pb.epoch);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_streams_expire_after_the_meta_ttl_with_a_new_epoch() {
        let broker = MemoryBroker::new();
        let first = broker
            .publish("news:a", publication(1), with_history())
            .await
            .unwrap();
        tokio::time::advance(POLICY.meta_ttl - Duration::from_secs(1)).await;
        // A read is a use: it keeps the stream for another meta_ttl.
        broker
            .history("news:a", query(None, "", 0, false), POLICY)
            .await
            .unwrap();
        tokio::time::advance(POLICY.meta_ttl - Duration::from_secs(1)).await;
        let kept = broker
            .history("news:a", query(None, "", 0, false), POLICY)
            .await
            .unwrap();
        assert_eq!(kept.position, first);
        tokio::time::advance(POLICY.meta_ttl + Duration::from_secs(1)).await;
        // Any other stream's use sweeps the expired one out.
        broker
            .history("news:other", query(None, "", 0, false), POLICY)
            .await
            .unwrap();
        assert_eq!(broker.stream_count(), 1);
        let fresh = broker
            .history("news:a", query(None, "", 0, false), POLICY)
            .await
            .unwrap();
        assert_ne!(fresh.position.epoch, first.epoch);
        assert_eq!(fresh.position.offset, 0);
    }

    #[tokio::test]
    async fn each_namespace_keeps_at_most_max_channels_least_recently_used_out() {
        let broker = MemoryBroker::new();
        let policy = HistoryPolicy {
            max_channels: 10,
            ..POLICY
        };
        for n in 0..1000 {
            broker
                .history(&format!("news:{n}"), query(None, "", 0, false), policy)
                .await
                .unwrap();
        }
        // Another namespace has a ceiling of its own.
        broker
            .history("chat:1", query(None, "", 0, false), policy)
            .await
            .unwrap();
        assert_eq!(broker.stream_count(), 11);
        let kept = lock(&broker.streams);
        let news: Vec<&String> = kept["news"].by_channel.keys().collect();
        assert_eq!(news.first().map(|s| s.as_str()), Some("news:990"));
        assert_eq!(news.last().map(|s| s.as_str()), Some("news:999"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idempotency_key_publishes_once_under_concurrency() {
        let broker = Arc::new(MemoryBroker::new());
        let mut tasks = Vec::new();
        for n in 0..32 {
            let broker = broker.clone();
            tasks.push(tokio::spawn(async move {
                let options = PublishOptions {
                    history: Some(POLICY),
                    idempotency_key: Some("key-1".into()),
                };
                broker.publish("ch", publication(n), options).await.unwrap()
            }));
        }
        let mut positions = Vec::new();
        for task in tasks {
            positions.push(task.await.unwrap());
        }
        assert!(positions.iter().all(|p| *p == positions[0]));
        let page = broker
            .history("ch", query(None, "", 10, false), POLICY)
            .await
            .unwrap();
        assert_eq!(offsets(&page), [1]);
        // Another channel, same key: its own publish.
        let other = PublishOptions {
            history: Some(POLICY),
            idempotency_key: Some("key-1".into()),
        };
        let position = broker.publish("ch2", publication(1), other).await.unwrap();
        assert_eq!(position.offset, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn presence_entries_expire_unless_refreshed() {
        let broker = MemoryBroker::new();
        let info = |client: &str| ClientInfo {
            user: "u".into(),
            client: client.into(),
            conn_info: None,
            chan_info: None,
        };
        let ttl = Duration::from_secs(60);
        broker.add_presence("ch", info("a"), ttl).await.unwrap();
        broker.add_presence("ch", info("b"), ttl).await.unwrap();
        tokio::time::advance(Duration::from_secs(40)).await;
        broker.add_presence("ch", info("a"), ttl).await.unwrap();
        tokio::time::advance(Duration::from_secs(40)).await;
        let present = broker.presence("ch").await.unwrap();
        assert_eq!(present.keys().collect::<Vec<_>>(), ["a"]);
    }
}
