//! Measures the channel engine's brokers, in process, on 127.0.0.1:
//!
//! - `publish`: publications per second (and per-publish latency) from one
//!   node with many concurrent publishers, through the memory broker and
//!   the Redis broker, with and without history, interleaved round by
//!   round (the machine is shared and noisy), medians of the rounds;
//! - `resubscribe`: how long a node with N channels subscribed takes to be
//!   subscribed again after its Redis restarts, and then that a publication
//!   into any of them arrives.
//!
//! It starts its own redis-server (Debian's package) on a free port. Each
//! measurement prints a summary and a `RESULT key=value …` line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::value::RawValue;
use tokio::sync::Notify;
use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
use wirecall_server::broker::{Broker, BrokerSink, MemoryBroker};
use wirecall_server::protocol::{ClientInfo, Publication};
use wirecall_server::{NamespaceOptions, Server};
use wirecall_tests::redis_server::RedisServer;

#[derive(Parser)]
#[command(about = "wirecall's broker benchmark (memory vs Redis)")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publications per second from one node with concurrent publishers.
    Publish {
        /// Concurrent publishers.
        #[arg(long, default_value_t = 64)]
        publishers: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Interleaved rounds; medians are reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Approximate bytes of each publication's data.
        #[arg(long, default_value_t = 100)]
        bytes: usize,
    },
    /// Resident memory after reading the position of N random channels
    /// (what a client's subscribe with recovery does) in the memory broker,
    /// with a namespace ceiling and without one.
    Growth {
        /// Random channels touched.
        #[arg(long, default_value_t = 200_000)]
        channels: usize,
        /// The namespace's `history_max_channels` (0: none). One measurement
        /// per process, so freed memory of another cannot blur it.
        #[arg(long, default_value_t = 1000)]
        ceiling: usize,
    },
    /// Time to subscribe N channels again after Redis restarts.
    Resubscribe {
        /// Channels the node is subscribed to.
        #[arg(long, default_value_t = 10_000)]
        channels: usize,
        /// Restarts; medians are reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Args::parse().command {
        Command::Publish {
            publishers,
            seconds,
            rounds,
            bytes,
        } => publish(publishers, Duration::from_secs(seconds), rounds, bytes).await,
        Command::Resubscribe { channels, rounds } => resubscribe(channels, rounds).await,
        Command::Growth { channels, ceiling } => growth(channels, ceiling).await,
    }
}

/// This process's resident memory, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

async fn growth(channels: usize, ceiling: usize) -> Result<(), Box<dyn std::error::Error>> {
    use wirecall_server::broker::{HistoryPolicy, HistoryQuery};
    let max_channels = if ceiling == 0 { usize::MAX } else { ceiling };
    {
        let broker = MemoryBroker::new();
        let policy = HistoryPolicy {
            size: 100,
            ttl: Duration::from_secs(300),
            meta_ttl: Duration::from_secs(30 * 24 * 3600),
            max_channels,
        };
        let before = rss();
        for n in 0..channels {
            let channel = format!(
                "news:{:032x}",
                (n as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            );
            broker
                .history(&channel, HistoryQuery::default(), policy)
                .await?;
        }
        let after = rss();
        println!(
            "{channels} random channels, ceiling {ceiling}: {} streams kept, VmRSS +{:.1} MiB",
            broker.stream_count(),
            after.saturating_sub(before) as f64 / (1024.0 * 1024.0)
        );
        println!(
            "RESULT growth ceiling={ceiling} channels={channels} streams={} rss_growth_bytes={}",
            broker.stream_count(),
            after.saturating_sub(before)
        );
    }
    Ok(())
}

/// A node with two namespaces: `hist` (history 100 for 5 minutes, as
/// Centrifugo's benchmark keeps) and `plain` (no history).
fn node(broker: Arc<dyn Broker>) -> Result<Server, Box<dyn std::error::Error>> {
    Ok(Server::builder()
        .broker(broker)
        .namespace(
            "hist",
            NamespaceOptions::default()
                .history_size(100)
                .history_ttl(Duration::from_secs(300)),
        )
        .namespace("plain", NamespaceOptions::default())
        .build()?)
}

struct Measured {
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
}

/// `publishers` tasks publish to their own channels of `namespace` for
/// `duration`; each publish awaited before the next.
async fn measure(
    server: &Server,
    namespace: &str,
    publishers: usize,
    duration: Duration,
    data: &RawValue,
) -> Measured {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::with_capacity(publishers);
    for p in 0..publishers {
        let (server, data) = (server.clone(), data.to_owned());
        let channel = format!("{namespace}:bench{p}");
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                server.publish(&channel, &data).await.expect("publish");
                latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("publisher"));
    }
    all.sort_unstable();
    let at = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    Measured {
        per_second: all.len() as f64 / duration.as_secs_f64(),
        p50_us: at(0.5),
        p99_us: at(0.99),
    }
}

async fn publish(
    publishers: usize,
    duration: Duration,
    rounds: usize,
    bytes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let redis = RedisServer::start(false);
    let memory = node(Arc::new(MemoryBroker::new()))?;
    let on_redis = node(Arc::new(
        RedisBroker::connect(RedisOptions::new(redis.url())).await?,
    ))?;
    let pad = "x".repeat(bytes.saturating_sub(12));
    let data = RawValue::from_string(format!(r#"{{"pad":"{pad}"}}"#))?;
    let mut results: BTreeMap<(&str, &str), Vec<Measured>> = BTreeMap::new();
    for round in 1..=rounds {
        for (label, server) in [("memory", &memory), ("redis", &on_redis)] {
            for namespace in ["hist", "plain"] {
                let m = measure(server, namespace, publishers, duration, &data).await;
                println!(
                    "round {round}: {label}, {}: {:.0} publications/s, p50 {} µs, p99 {} µs",
                    if namespace == "hist" {
                        "history"
                    } else {
                        "no history"
                    },
                    m.per_second,
                    m.p50_us,
                    m.p99_us
                );
                results.entry((label, namespace)).or_default().push(m);
            }
        }
    }
    for ((label, namespace), mut runs) in results {
        runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        let median = &runs[runs.len() / 2];
        println!(
            "RESULT publish broker={label} history={} publishers={publishers} bytes={bytes} \
             per_s={:.0} us_per_publish={:.2} p50_us={} p99_us={}",
            namespace == "hist",
            median.per_second,
            1e6 / median.per_second,
            median.p50_us,
            median.p99_us
        );
    }
    Ok(())
}

/// Counts publications and hears reconnects.
#[derive(Default)]
struct Counting {
    publications: AtomicU64,
    reconnected: Notify,
    arrived: Notify,
}

impl BrokerSink for Counting {
    fn publication(&self, _: &str, _: &Publication, _: &str) {
        self.publications.fetch_add(1, Ordering::AcqRel);
        self.arrived.notify_one();
    }
    fn join(&self, _: &str, _: &ClientInfo) {}
    fn leave(&self, _: &str, _: &ClientInfo) {}
    fn control(&self, _: &str) {}
    fn reconnected(&self) {
        self.reconnected.notify_one();
    }
}

async fn resubscribe(channels: usize, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut redis = RedisServer::start(false);
    let options = RedisOptions::new(redis.url())
        // One connection, as a node with few shards: the worst case.
        .pubsub_shards(1);
    let broker = Arc::new(RedisBroker::connect(options.clone()).await?);
    let sink = Arc::new(Counting::default());
    broker.attach("bench-node", sink.clone());
    let names: Vec<String> = (0..channels).map(|n| format!("bench:ch{n}")).collect();
    let started = Instant::now();
    let mut subscribing = Vec::new();
    for name in &names {
        let broker = broker.clone();
        let name = name.clone();
        subscribing.push(tokio::spawn(
            async move { broker.subscribe_node(&name).await },
        ));
    }
    for task in subscribing {
        task.await??;
    }
    println!(
        "{channels} channels subscribed in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let data = RawValue::from_string("{}".into())?;
    let publication = Publication {
        data,
        info: None,
        offset: 0,
        tags: None,
    };
    let mut times = Vec::new();
    for round in 1..=rounds {
        let reconnected = sink.reconnected.notified();
        redis.restart(false);
        let back = Instant::now();
        tokio::time::timeout(Duration::from_secs(120), reconnected).await?;
        let resubscribed = back.elapsed();
        // Every channel is live again: the last one subscribed receives.
        let publisher = RedisBroker::connect(options.clone()).await?;
        let before = sink.publications.load(Ordering::Acquire);
        let arrived = sink.arrived.notified();
        publisher
            .publish(
                names.last().expect("channels"),
                publication.clone(),
                Default::default(),
            )
            .await?;
        tokio::time::timeout(Duration::from_secs(10), arrived).await?;
        assert!(sink.publications.load(Ordering::Acquire) > before);
        println!(
            "round {round}: Redis back; {channels} channels subscribed again in {:.0} ms",
            resubscribed.as_secs_f64() * 1e3
        );
        times.push(resubscribed);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "RESULT resubscribe channels={channels} rounds={rounds} median_ms={:.0}",
        median.as_secs_f64() * 1e3
    );
    Ok(())
}
