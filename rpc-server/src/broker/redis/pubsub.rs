//! The pub/sub side of the Redis broker: a few dedicated connections
//! (shards; a channel always goes to the same one), each owned by one task
//! that subscribes what the node asks for, hands what arrives to the node,
//! and reconnects by itself. After a reconnect it subscribes everything
//! again and tells the node that deliveries may have been lost, so
//! positioned subscribers check their positions. A connection that looks
//! alive but has received nothing for a while is probed with a message to
//! itself and replaced if the probe does not come back.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep};
use tokio_util::sync::CancellationToken;

use super::names::{Delivery, Names, decode};
use crate::broker::{BrokerError, BrokerSink};

/// Channels per SUBSCRIBE when (re)subscribing many at once.
const SUBSCRIBE_CHUNK: usize = 1000;

/// Timings of the pub/sub connections.
#[derive(Debug, Clone, Copy)]
pub(super) struct PubSubTimings {
    /// Connecting and each (un)subscribe may take this long.
    pub(super) command_timeout: Duration,
    /// Silence after which a connection is probed (30 s, as Centrifugo).
    pub(super) probe_after: Duration,
    /// How long a probe may take to come back.
    pub(super) probe_timeout: Duration,
}

/// What a shard task needs.
pub(super) struct ShardContext {
    pub(super) client: redis::Client,
    pub(super) commands: ConnectionManager,
    pub(super) names: Names,
    /// The attached process's id (its control channel).
    pub(super) id: String,
    pub(super) sink: Arc<dyn BrokerSink>,
    pub(super) timings: PubSubTimings,
    pub(super) stop: CancellationToken,
}

enum Request {
    Subscribe(String, oneshot::Sender<Result<(), BrokerError>>),
    Unsubscribe(String, oneshot::Sender<()>),
}

/// The running shards.
#[derive(Debug)]
pub(super) struct Shards {
    requests: Vec<mpsc::UnboundedSender<Request>>,
}

impl Shards {
    /// Starts `count` shards on `runtime`; shard 0 also carries the
    /// control channels.
    pub(super) fn start(
        count: usize,
        context: &Arc<ShardContext>,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let requests = (0..count.max(1))
            .map(|index| {
                let (tx, rx) = mpsc::unbounded_channel();
                runtime.spawn(run(index, context.clone(), rx));
                tx
            })
            .collect();
        Self { requests }
    }

    fn shard(&self, pubsub: &str) -> &mpsc::UnboundedSender<Request> {
        let mut hasher = DefaultHasher::new();
        pubsub.hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % self.requests.len() as u64).unwrap_or(0);
        &self.requests[index]
    }

    /// Subscribes a pub/sub channel; returns once Redis confirmed it.
    pub(super) async fn subscribe(&self, pubsub: String) -> Result<(), BrokerError> {
        let (tx, rx) = oneshot::channel();
        self.shard(&pubsub)
            .send(Request::Subscribe(pubsub, tx))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Unsubscribes a pub/sub channel (and forgets it for reconnects).
    pub(super) async fn unsubscribe(&self, pubsub: String) {
        let (tx, rx) = oneshot::channel();
        if self
            .shard(&pubsub)
            .send(Request::Unsubscribe(pubsub, tx))
            .is_ok()
        {
            let _ = rx.await;
        }
    }
}

fn stopped() -> BrokerError {
    BrokerError::unavailable("the Redis broker was shut down")
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> BrokerError {
    BrokerError::unavailable_because("Redis pub/sub", error)
}

fn broken(what: &str) -> BrokerError {
    BrokerError::unavailable(format!("Redis pub/sub: {what}"))
}

/// One shard's state across reconnects.
struct Shard {
    index: usize,
    context: Arc<ShardContext>,
    /// Every pub/sub channel this shard should be subscribed to.
    wanted: HashSet<String>,
    probe: String,
}

async fn run(
    index: usize,
    context: Arc<ShardContext>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let names = &context.names;
    let probe = names.probe(&context.id, index);
    let mut wanted = HashSet::from([probe.clone()]);
    if index == 0 {
        wanted.insert(names.control());
        wanted.insert(names.control_of(&context.id));
    }
    let mut shard = Shard {
        index,
        context: context.clone(),
        wanted,
        probe,
    };
    let mut backoff = Duration::from_millis(50);
    let mut connected_before = false;
    loop {
        match shard.connect().await {
            Ok((sink, stream)) => {
                backoff = Duration::from_millis(50);
                if connected_before {
                    tracing::info!(
                        shard = index,
                        "Redis pub/sub reconnected; checking positions"
                    );
                    context.sink.reconnected();
                }
                connected_before = true;
                if shard.serve(sink, stream, &mut requests).await.is_break() {
                    return;
                }
                tracing::warn!(shard = index, "Redis pub/sub connection lost; reconnecting");
            }
            Err(error) => {
                tracing::warn!(shard = index, error = %crate::report::Report(&error), "Redis pub/sub unavailable; retrying");
            }
        }
        // Until it is back, subscribes fail at once (the client retries)
        // and unsubscribes only update what to subscribe after reconnecting.
        let wait = sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = context.stop.cancelled() => return,
                () = &mut wait => break,
                request = requests.recv() => match request {
                    None => return,
                    Some(Request::Subscribe(_, reply)) => {
                        let _ = reply.send(Err(broken("not connected")));
                    }
                    Some(Request::Unsubscribe(name, reply)) => {
                        shard.wanted.remove(&name);
                        let _ = reply.send(());
                    }
                },
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

impl Shard {
    /// A new connection, subscribed to everything wanted.
    async fn connect(&self) -> Result<(PubSubSink, PubSubStream), BrokerError> {
        let timeout = self.context.timings.command_timeout;
        let pubsub = tokio::time::timeout(timeout, self.context.client.get_async_pubsub())
            .await
            .map_err(|_| broken("connect timed out"))?
            .map_err(unavailable)?;
        let (mut sink, stream) = pubsub.split();
        let wanted: Vec<&String> = self.wanted.iter().collect();
        for chunk in wanted.chunks(SUBSCRIBE_CHUNK) {
            tokio::time::timeout(timeout, sink.subscribe(chunk))
                .await
                .map_err(|_| broken("subscribe timed out"))?
                .map_err(unavailable)?;
        }
        Ok((sink, stream))
    }

    /// Serves one connection until it fails (`Continue`: reconnect) or the
    /// broker stops (`Break`).
    async fn serve(
        &mut self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        requests: &mut mpsc::UnboundedReceiver<Request>,
    ) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow::{Break, Continue};
        let timings = self.context.timings;
        let mut last_heard = Instant::now();
        let mut probe_sent: Option<Instant> = None;
        // At least a millisecond: a zero period would make the timer panic.
        let period =
            (timings.probe_timeout.min(timings.probe_after) / 2).max(Duration::from_millis(1));
        let mut probe_timer = interval(period);
        probe_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = self.context.stop.cancelled() => return Break(()),
                message = stream.next() => {
                    let Some(message) = message else { return Continue(()) };
                    last_heard = Instant::now();
                    if message.get_channel_name() == self.probe {
                        probe_sent = None;
                    } else {
                        self.dispatch(&message);
                    }
                }
                request = requests.recv() => {
                    let Some(first) = request else { return Break(()) };
                    let mut batch = vec![first];
                    while let Ok(more) = requests.try_recv() {
                        batch.push(more);
                    }
                    if let Err(error) = self.apply(&mut sink, batch).await {
                        tracing::warn!(shard = self.index, %error, "Redis (un)subscribe failed");
                        return Continue(());
                    }
                }
                _ = probe_timer.tick() => {
                    let now = Instant::now();
                    if let Some(sent) = probe_sent {
                        if now - sent > timings.probe_timeout {
                            tracing::warn!(shard = self.index, "Redis pub/sub probe did not come back");
                            return Continue(());
                        }
                    } else if now - last_heard > timings.probe_after {
                        probe_sent = Some(now);
                        self.send_probe().await;
                    }
                }
            }
        }
    }

    /// Applies queued requests in order, one SUBSCRIBE or UNSUBSCRIBE per
    /// run of the same kind.
    async fn apply(
        &mut self,
        sink: &mut PubSubSink,
        batch: Vec<Request>,
    ) -> Result<(), BrokerError> {
        let timeout = self.context.timings.command_timeout;
        let mut batch = batch.into_iter().peekable();
        while let Some(request) = batch.next() {
            match request {
                Request::Subscribe(name, reply) => {
                    let mut run = vec![(name, reply)];
                    while let Some(Request::Subscribe(..)) = batch.peek() {
                        if let Some(Request::Subscribe(name, reply)) = batch.next() {
                            run.push((name, reply));
                        }
                    }
                    let names: Vec<&String> = run.iter().map(|(n, _)| n).collect();
                    let result = tokio::time::timeout(timeout, sink.subscribe(&names))
                        .await
                        .map_err(|_| broken("subscribe timed out"))
                        .and_then(|r| r.map_err(unavailable));
                    for (name, reply) in run {
                        if result.is_ok() {
                            self.wanted.insert(name);
                        }
                        let _ = reply.send(result.clone());
                    }
                    result?;
                }
                Request::Unsubscribe(name, reply) => {
                    let mut run = vec![(name, reply)];
                    while let Some(Request::Unsubscribe(..)) = batch.peek() {
                        if let Some(Request::Unsubscribe(name, reply)) = batch.next() {
                            run.push((name, reply));
                        }
                    }
                    for (name, _) in &run {
                        self.wanted.remove(name);
                    }
                    let names: Vec<&String> = run.iter().map(|(n, _)| n).collect();
                    let result = tokio::time::timeout(timeout, sink.unsubscribe(&names))
                        .await
                        .map_err(|_| broken("unsubscribe timed out"))
                        .and_then(|r| r.map_err(unavailable));
                    for (_, reply) in run {
                        let _ = reply.send(());
                    }
                    result?;
                }
            }
        }
        Ok(())
    }

    fn dispatch(&self, message: &redis::Msg) {
        let context = &self.context;
        let name = message.get_channel_name();
        let payload = message.get_payload_bytes();
        if let Some(channel) = context.names.channel_of(name) {
            match decode(payload) {
                Some(Delivery::Publication(publication, epoch)) => {
                    context.sink.publication(channel, &publication, &epoch);
                }
                Some(Delivery::Join(info)) => context.sink.join(channel, &info),
                Some(Delivery::Leave(info)) => context.sink.leave(channel, &info),
                None => tracing::warn!(channel, "undecodable Redis delivery ignored"),
            }
        } else if let Ok(text) = std::str::from_utf8(payload) {
            context.sink.control(text);
        }
    }

    async fn send_probe(&self) {
        let mut commands = self.context.commands.clone();
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(&self.probe).arg("probe");
        let sent = publish.exec_async(&mut commands);
        if let Ok(Err(error)) =
            tokio::time::timeout(self.context.timings.command_timeout, sent).await
        {
            tracing::debug!(%error, "probe not published");
        }
    }
}
