//! Prometheus metrics of one server (feature `metrics`): what an operator
//! asks first, in the Prometheus text format ([`Metrics::render`]).
//!
//! Every label's values are bounded: methods come from the router (one
//! `(unknown)` for the rest), namespaces from the configuration (channels
//! never become labels), codes from the protocol. The hot paths hold
//! their handles (an RPC's by the method's index in the router), so
//! recording is an add (a plain one to the thread's own tallies for RPC
//! calls, an atomic one elsewhere), never a lookup by name. What is
//! cheaper to read than to keep (users, subscriptions per namespace, the
//! process) is read at each scrape.

mod broker;
mod calls;
mod histogram;
mod scrape;

use broker::MeteredBroker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use wirecall_core::RpcError;
use wirecall_core::protocol::Disconnect;

use crate::config::namespace_of;
use crate::engine::Engine;
use histogram::AtomicHistogram;

/// The label of a method the router does not have.
const UNKNOWN_METHOD: &str = "(unknown)";

/// Channels whose presence and history sizes a scrape samples.
const SAMPLED_CHANNELS: usize = 10;

/// Nanoseconds per second.
const NANOS: u64 = 1_000_000_000;

/// Latency buckets in nanoseconds, 10 µs to 10 s: in-process handlers
/// answer in microseconds, handlers that call a database in milliseconds.
static LATENCY_BUCKETS: [u64; 18] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    NANOS,
    5 * NANOS / 2,
    10 * NANOS,
];

/// Outbound queue buckets in bytes, 0 to 4 MiB (the default limit is 1 MiB).
static QUEUE_BUCKETS: [u64; 8] = [0, 1024, 4096, 16_384, 65_536, 262_144, 1 << 20, 4 << 20];

/// Connection lifetime buckets in nanoseconds, a second to a day.
static LIFETIME_BUCKETS: [u64; 8] = [
    NANOS,
    10 * NANOS,
    60 * NANOS,
    300 * NANOS,
    1800 * NANOS,
    3600 * NANOS,
    14_400 * NANOS,
    86_400 * NANOS,
];

/// A latency histogram, exposed in seconds.
fn latency_histogram() -> AtomicHistogram {
    AtomicHistogram::new(&LATENCY_BUCKETS, 1e-9)
}

/// `elapsed` in nanoseconds, as histograms take it.
fn nanos(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PublicationLabels {
    namespace: String,
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    operation: &'static str,
    outcome: &'static str,
}

/// Where a publication came from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// A client's `publish` command.
    Client,
    /// The HTTP API.
    Api,
    /// This process: a handler or the application (`Publisher`).
    Server,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Client => "client",
            Source::Api => "api",
            Source::Server => "server",
        }
    }
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    connections: Gauge,
    accepted: Counter,
    refused: Family<ReasonLabels, Counter>,
    connect_duration: AtomicHistogram,
    disconnects: Family<CodeLabels, Counter>,
    lifetime: AtomicHistogram,
    commands: Family<CommandLabels, Counter>,
    calls: Arc<calls::Calls>,
    clock: quanta::Clock,
    panics: Family<MethodLabels, Counter>,
    timeouts: Family<MethodLabels, Counter>,
    subscribes: Family<NamespaceLabels, Counter>,
    publications: Family<PublicationLabels, Counter>,
    messages_sent: Counter,
    bytes_sent: Counter,
    queued: AtomicHistogram,
    sampled_presence: Family<NamespaceLabels, Gauge>,
    sampled_history: Family<NamespaceLabels, Gauge>,
    broker: BrokerMetrics,
}

/// The broker's operations: counts by outcome, latency, reconnects.
#[derive(Clone)]
pub(crate) struct BrokerMetrics {
    operations: Family<OutcomeLabels, Counter>,
    duration: Family<OperationLabels, AtomicHistogram, fn() -> AtomicHistogram>,
    reconnects: Counter,
}

impl BrokerMetrics {
    /// Records one operation.
    pub(crate) fn operation(&self, operation: &'static str, ok: bool, elapsed: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.operations
            .get_or_create(&OutcomeLabels { operation, outcome })
            .inc();
        self.duration
            .get_or_create(&OperationLabels { operation })
            .observe(nanos(elapsed));
    }

    /// The broker's connection came back.
    pub(crate) fn reconnected(&self) {
        self.reconnects.inc();
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics for a server whose router has `methods` (in the router's
    /// order, [`wirecall_core::Router::methods`]).
    pub(crate) fn new(methods: Vec<&'static str>) -> Self {
        // `process_*` as Prometheus's own clients name them; the rest
        // under `wirecall_`.
        let mut root = Registry::default();
        root.register_collector(Box::new(scrape::ProcessCollector));
        let registry = root.sub_registry_with_prefix("wirecall");
        let connections = Gauge::default();
        registry.register(
            "connections",
            "Connections on this node (upgraded WebSockets)",
            connections.clone(),
        );
        let accepted = Counter::default();
        registry.register(
            "connects_accepted",
            "Connects that succeeded",
            accepted.clone(),
        );
        let refused = Family::default();
        registry.register(
            "connects_refused",
            "Connects refused, by reason (origin, connection_limit, invalid_token, bad_request, error_reply, or a disconnect code)",
            refused.clone(),
        );
        let connect_duration = latency_histogram();
        registry.register(
            "connect_duration_seconds",
            "Time to handle a connect command (token, hook, server-side subscriptions)",
            connect_duration.clone(),
        );
        let disconnects = Family::default();
        registry.register(
            "disconnects",
            "Connections ended, by close code (none: the client went away)",
            disconnects.clone(),
        );
        let lifetime = AtomicHistogram::new(&LIFETIME_BUCKETS, 1e-9);
        registry.register(
            "connection_duration_seconds",
            "How long connections lasted",
            lifetime.clone(),
        );
        let commands: Family<CommandLabels, Counter> = Family::default();
        registry.register(
            "commands",
            "Client commands other than rpc (those are wirecall_rpc_calls), by type",
            commands.clone(),
        );
        // Calls by method and their latency: read from per-thread
        // tallies at each scrape.
        let calls = Arc::new(calls::Calls::new(methods));
        registry.register_collector(Box::new(calls.clone()));
        let panics = Family::default();
        registry.register(
            "rpc_panics",
            "RPC handlers that panicked (each answered with 100)",
            panics.clone(),
        );
        let timeouts = Family::default();
        registry.register(
            "rpc_timeouts",
            "RPC handlers stopped at the handler timeout",
            timeouts.clone(),
        );
        let subscribes = Family::default();
        registry.register(
            "subscribes",
            "Subscriptions made, by namespace (server-side ones included)",
            subscribes.clone(),
        );
        let publications = Family::default();
        registry.register(
            "publications",
            "Publications accepted on this node, by namespace and source (client, api, server)",
            publications.clone(),
        );
        let messages_sent = Counter::default();
        registry.register(
            "messages_sent",
            "WebSocket messages written to clients (each may hold several replies and pushes)",
            messages_sent.clone(),
        );
        let bytes_sent = Counter::default();
        registry.register(
            "sent_bytes",
            "Bytes of WebSocket messages written to clients",
            bytes_sent.clone(),
        );
        let queued = AtomicHistogram::new(&QUEUE_BUCKETS, 1.0);
        registry.register(
            "outbound_queue_bytes",
            "A connection's queued bytes when a write takes them (the written ones included)",
            queued.clone(),
        );
        let sampled_presence = Family::default();
        registry.register(
            "sampled_presence_clients",
            "Clients in the presence of this node's busiest channels (at most 10), by namespace, read at the last scrape",
            sampled_presence.clone(),
        );
        let sampled_history = Family::default();
        registry.register(
            "sampled_history_publications",
            "Publications kept in the history of this node's busiest channels (at most 10), by namespace, read at the last scrape",
            sampled_history.clone(),
        );
        let broker = BrokerMetrics {
            operations: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            reconnects: Counter::default(),
        };
        registry.register(
            "broker_operations",
            "Broker operations, by operation and outcome",
            broker.operations.clone(),
        );
        registry.register(
            "broker_duration_seconds",
            "Broker operations' latency, by operation",
            broker.duration.clone(),
        );
        registry.register(
            "broker_reconnects",
            "Times the broker's connection (Redis) came back",
            broker.reconnects.clone(),
        );
        Self {
            registry: root,
            connections,
            accepted,
            refused,
            connect_duration,
            disconnects,
            lifetime,
            commands,
            calls,
            clock: quanta::Clock::new(),
            panics,
            timeouts,
            subscribes,
            publications,
            messages_sent,
            bytes_sent,
            queued,
            sampled_presence,
            sampled_history,
            broker,
        }
    }

    /// `broker`, its operations recorded here.
    pub(crate) fn metered(
        &self,
        broker: Arc<dyn crate::broker::Broker>,
    ) -> Arc<dyn crate::broker::Broker> {
        Arc::new(MeteredBroker::new(broker, self.broker.clone()))
    }

    /// Adds what is read from `engine` at each scrape: users, channels,
    /// subscriptions per namespace.
    pub(crate) fn watch(&mut self, engine: &Arc<Engine>) {
        self.registry
            .sub_registry_with_prefix("wirecall")
            .register_collector(Box::new(scrape::EngineCollector::new(engine)));
    }

    /// Reads the presence and history sizes of this node's busiest
    /// channels into their gauges: a sample, taken when `/metrics` is
    /// scraped (each costs a broker read per channel, so not every
    /// channel's, and not on every event).
    pub(crate) async fn sample(&self, engine: &Engine) {
        let mut channels = engine.hub().channel_counts();
        channels.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        channels.truncate(SAMPLED_CHANNELS);
        let mut presence: BTreeMap<String, i64> = BTreeMap::new();
        let mut history: BTreeMap<String, i64> = BTreeMap::new();
        for (channel, _) in &channels {
            let Ok(options) = engine.options(channel).cloned() else {
                continue;
            };
            let namespace = namespace_of(channel).to_owned();
            if options.presence
                && let Ok(clients) = engine.presence(channel).await
            {
                *presence.entry(namespace.clone()).or_default() += clients.len() as i64;
            }
            if options.history_enabled() {
                let query = crate::broker::HistoryQuery {
                    since: None,
                    limit: options.history_size,
                    reverse: false,
                };
                if let Ok(page) = engine.history(channel, query).await {
                    *history.entry(namespace).or_default() += page.publications.len() as i64;
                }
            }
        }
        for (family, sampled) in [
            (&self.sampled_presence, presence),
            (&self.sampled_history, history),
        ] {
            family.clear();
            for (namespace, value) in sampled {
                family
                    .get_or_create(&NamespaceLabels { namespace })
                    .set(value);
            }
        }
    }

    /// Every method's calls, errors and p50/p99 so far (the admin page).
    pub(crate) fn method_stats(&self) -> Vec<calls::MethodStats> {
        self.calls.stats()
    }

    /// The text exposition (Prometheus text format 0.0.4).
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }

    /// A WebSocket was upgraded.
    pub(crate) fn opened(&self) {
        self.connections.inc();
    }

    /// A connection ended with `close` (`None`: the client went away)
    /// after `lifetime`.
    pub(crate) fn closed(&self, close: Option<&Disconnect>, lifetime: Duration) {
        self.connections.dec();
        let code = close.map_or_else(|| "none".to_owned(), |d| d.code.to_string());
        self.disconnects.get_or_create(&CodeLabels { code }).inc();
        self.lifetime.observe(nanos(lifetime));
    }

    /// A connect command was handled: accepted, or refused with a close or
    /// an error reply.
    pub(crate) fn connect(&self, outcome: Result<bool, &Disconnect>, elapsed: Duration) {
        self.connect_duration.observe(nanos(elapsed));
        match outcome {
            Ok(true) => {
                self.accepted.inc();
            }
            Ok(false) => self.refuse("error_reply"),
            Err(close) => self.refuse(&refusal(close)),
        }
    }

    /// A connection refused before or at its connect, by `reason`.
    pub(crate) fn refuse(&self, reason: &str) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A client command other than `rpc` (those count as calls).
    pub(crate) fn command(&self, command: &'static str) {
        self.commands
            .get_or_create(&CommandLabels { command })
            .inc();
    }

    /// An RPC call was refused before it ran (too many in flight): counted
    /// with its code, not timed.
    pub(crate) fn rpc_refused(&self, method: Option<usize>, error: &RpcError) {
        self.calls.failed(self.calls.slot(method), error.code);
    }

    /// Now, on the metrics' clock, in raw ticks ([`Metrics::rpc_ended`]
    /// converts their differences).
    pub(crate) fn now(&self) -> u64 {
        self.clock.raw()
    }

    /// `call` ended with `outcome`; it began at `started` and ended at
    /// `ended` ([`Metrics::now`]).
    pub(crate) fn rpc_ended(
        &self,
        call: &wirecall_core::Call,
        outcome: Result<(), &RpcError>,
        started: u64,
        ended: u64,
    ) {
        let slot = self.calls.slot(call.method_index());
        let failed = outcome.err().map(|error| error.code);
        self.calls
            .record(slot, failed, self.clock.delta_as_nanos(started, ended));
        if call.panicked() {
            let method = self.method_name(call.method_index());
            self.panics.get_or_create(&MethodLabels { method }).inc();
        }
    }

    /// An RPC handler was stopped at the timeout.
    pub(crate) fn rpc_timed_out(&self, method: Option<usize>) {
        let method = self.method_name(method);
        self.timeouts.get_or_create(&MethodLabels { method }).inc();
    }

    fn method_name(&self, method: Option<usize>) -> &'static str {
        self.calls.name(self.calls.slot(method))
    }

    /// A subscription was made to `channel`.
    pub(crate) fn subscribed(&self, channel: &str) {
        let namespace = namespace_of(channel).to_owned();
        self.subscribes
            .get_or_create(&NamespaceLabels { namespace })
            .inc();
    }

    /// A publication to `channel` was accepted.
    pub(crate) fn published(&self, channel: &str, source: Source) {
        let labels = PublicationLabels {
            namespace: namespace_of(channel).to_owned(),
            source: source.label(),
        };
        self.publications.get_or_create(&labels).inc();
    }

    /// A WebSocket message of `bytes` was written, with `queued` bytes
    /// waiting for the connection before it.
    pub(crate) fn sent(&self, bytes: usize, queued: usize) {
        self.messages_sent.inc();
        self.bytes_sent.inc_by(bytes as u64);
        self.queued.observe(queued as u64);
    }
}

/// The refusal reason a connect's close stands for.
fn refusal(close: &Disconnect) -> String {
    match close.code {
        3500 => "invalid_token".into(),
        3501 => "bad_request".into(),
        3504 => "connection_limit".into(),
        code => code.to_string(),
    }
}
