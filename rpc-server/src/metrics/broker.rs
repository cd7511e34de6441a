//! The broker, measured: every operation counted by outcome and timed,
//! and the broker's reconnects (Redis) counted as its sink hears of them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

use super::BrokerMetrics;
use crate::broker::{
    BoxFuture, Broker, BrokerError, BrokerSink, HistoryPage, HistoryPolicy, HistoryQuery, NodeInfo,
    PublishOptions,
};

/// A broker whose operations are recorded in `metrics`.
pub(crate) struct MeteredBroker {
    inner: Arc<dyn Broker>,
    metrics: BrokerMetrics,
}

impl MeteredBroker {
    pub(crate) fn new(inner: Arc<dyn Broker>, metrics: BrokerMetrics) -> Self {
        Self { inner, metrics }
    }

    /// `operation`'s future, recorded when it ends.
    fn timed<'a, T: Send + 'a>(
        &'a self,
        operation: &'static str,
        future: BoxFuture<'a, Result<T, BrokerError>>,
    ) -> BoxFuture<'a, Result<T, BrokerError>> {
        Box::pin(async move {
            let started = Instant::now();
            let result = future.await;
            self.metrics
                .operation(operation, result.is_ok(), started.elapsed());
            result
        })
    }
}

/// Forwards deliveries to the engine, counting reconnects on the way.
struct MeteredSink {
    inner: Arc<dyn BrokerSink>,
    metrics: BrokerMetrics,
}

impl BrokerSink for MeteredSink {
    fn publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        self.inner.publication(channel, publication, epoch);
    }

    fn join(&self, channel: &str, info: &ClientInfo) {
        self.inner.join(channel, info);
    }

    fn leave(&self, channel: &str, info: &ClientInfo) {
        self.inner.leave(channel, info);
    }

    fn control(&self, payload: &str) {
        self.inner.control(payload);
    }

    fn reconnected(&self) {
        self.metrics.reconnected();
        self.inner.reconnected();
    }
}

impl Broker for MeteredBroker {
    fn attach(&self, id: &str, sink: Arc<dyn BrokerSink>) {
        let sink = MeteredSink {
            inner: sink,
            metrics: self.metrics.clone(),
        };
        self.inner.attach(id, Arc::new(sink));
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        options: PublishOptions,
    ) -> BoxFuture<'a, Result<StreamPosition, BrokerError>> {
        self.timed("publish", self.inner.publish(channel, publication, options))
    }

    fn publish_join<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("publish_join", self.inner.publish_join(channel, info))
    }

    fn publish_leave<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("publish_leave", self.inner.publish_leave(channel, info))
    }

    fn subscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("subscribe", self.inner.subscribe_node(channel))
    }

    fn unsubscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("unsubscribe", self.inner.unsubscribe_node(channel))
    }

    fn history<'a>(
        &'a self,
        channel: &'a str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>> {
        self.timed("history", self.inner.history(channel, query, policy))
    }

    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("remove_history", self.inner.remove_history(channel))
    }

    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("add_presence", self.inner.add_presence(channel, info, ttl))
    }

    fn remove_presence<'a>(
        &'a self,
        channel: &'a str,
        client: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed(
            "remove_presence",
            self.inner.remove_presence(channel, client),
        )
    }

    fn presence<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, ClientInfo>, BrokerError>> {
        self.timed("presence", self.inner.presence(channel))
    }

    fn publish_control<'a>(
        &'a self,
        to: Option<&'a str>,
        payload: String,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("publish_control", self.inner.publish_control(to, payload))
    }

    fn announce_node<'a>(
        &'a self,
        info: NodeInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("announce_node", self.inner.announce_node(info, ttl))
    }

    fn remove_node<'a>(&'a self, uid: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.timed("remove_node", self.inner.remove_node(uid))
    }

    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeInfo>, BrokerError>> {
        self.timed("nodes", self.inner.nodes())
    }

    fn shutdown(&self) {
        self.inner.shutdown();
    }
}
