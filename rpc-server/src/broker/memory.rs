//! The in-memory broker: one process, no network. Every stream gets a fresh
//! random epoch when it is created, so after a restart clients see a new
//! epoch and never "recover" against a different sequence.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::time::Instant;
use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

use super::{BoxFuture, Broker, BrokerError, BrokerSink, HistoryPage, HistoryPolicy, HistoryQuery};

/// Channel state in this process; the embedded default.
#[derive(Default)]
pub struct MemoryBroker {
    sink: OnceLock<Arc<dyn BrokerSink>>,
    streams: Mutex<HashMap<String, Arc<Mutex<Stream>>>>,
    presence: Mutex<HashMap<String, BTreeMap<String, ClientInfo>>>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker").finish_non_exhaustive()
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

    fn stream(&self, channel: &str) -> Arc<Mutex<Stream>> {
        lock(&self.streams)
            .entry(channel.to_owned())
            .or_insert_with(|| Arc::new(Mutex::new(Stream::new())))
            .clone()
    }

    fn sink(&self) -> Option<&Arc<dyn BrokerSink>> {
        self.sink.get()
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
                sink.publication(channel, &publication);
            }
            return StreamPosition::default();
        };
        let stream = self.stream(channel);
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
            sink.publication(channel, &publication);
        }
        stream.position()
    }

    fn read(&self, channel: &str, query: &HistoryQuery) -> Result<HistoryPage, BrokerError> {
        let stream = self.stream(channel);
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
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl Broker for MemoryBroker {
    fn attach(&self, sink: Arc<dyn BrokerSink>) {
        if self.sink.set(sink).is_err() {
            tracing::error!("a memory broker serves one node; the second attach is ignored");
        }
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        history: Option<HistoryPolicy>,
    ) -> BoxFuture<'a, Result<StreamPosition, BrokerError>> {
        ready(Ok(self.publish_now(channel, publication, history)))
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
        _policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>> {
        ready(self.read(channel, &query))
    }

    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        lock(&self.stream(channel)).items.clear();
        ready(Ok(()))
    }

    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        lock(&self.presence)
            .entry(channel.to_owned())
            .or_default()
            .insert(info.client.clone(), info);
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
        ready(Ok(lock(&self.presence)
            .get(channel)
            .cloned()
            .unwrap_or_default()))
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
    };

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
                .publish("ch", publication(n), Some(POLICY))
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
            .publish("ch", publication(1), Some(POLICY))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(61)).await;
        broker
            .publish("ch", publication(2), Some(POLICY))
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
                .publish(&channel, publication(n), None)
                .await
                .unwrap();
            assert_eq!(position, StreamPosition::default());
        }
        assert!(lock(&broker.streams).is_empty());
    }

    #[tokio::test]
    async fn each_broker_starts_new_epochs() {
        let a = MemoryBroker::new();
        let b = MemoryBroker::new();
        let pa = a.publish("ch", publication(1), Some(POLICY)).await.unwrap();
        let pb = b.publish("ch", publication(1), Some(POLICY)).await.unwrap();
        assert_ne!(pa.epoch, pb.epoch);
    }
}
