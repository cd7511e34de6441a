//! `loadgen idle` and `loadgen fanout`: many connections, each connected
//! and subscribed to one channel, answering pings and counting pushes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::value_parser;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};
use tokio_tungstenite::tungstenite::Message;

use crate::Target;
use crate::child::{Memory, ServerChild, cpu_seconds};
use crate::codec::Encoding;
use crate::ws::{Ws, lines, open};

/// Connections being set up at once (the listen backlog is 1024).
const OPENING_AT_ONCE: usize = 64;

/// How long setting up all connections may take.
const SETUP_GUARD: Duration = Duration::from_secs(300);

/// How long one fan-out round may take.
const ROUND_GUARD: Duration = Duration::from_secs(120);

#[derive(clap::Args)]
pub(crate) struct IdleArgs {
    #[command(flatten)]
    target: Target,
    /// Connections to open.
    #[arg(long, default_value_t = 10_000, value_parser = value_parser!(u64).range(1..=25_000))]
    connections: u64,
    /// The channel each connection subscribes to.
    #[arg(long, default_value = "bench:fan")]
    channel: String,
    /// Seconds the server is left to settle before each memory reading.
    #[arg(long, default_value_t = 3, value_parser = value_parser!(u64).range(0..=60))]
    settle: u64,
}

#[derive(clap::Args)]
pub(crate) struct FanoutArgs {
    /// Must start the server (`--server-bin`): the publications are asked
    /// of it over its stdin.
    #[command(flatten)]
    target: Target,
    /// Subscribers of `bench:fan`.
    #[arg(long, default_value_t = 10_000, value_parser = value_parser!(u64).range(1..=25_000))]
    subscribers: u64,
    /// Publications per round.
    #[arg(long, default_value_t = 100, value_parser = value_parser!(u64).range(1..=100_000))]
    messages: u64,
    /// Approximate bytes of each publication's data.
    #[arg(long, default_value_t = 100, value_parser = value_parser!(u64).range(1..=16_384))]
    bytes: u64,
    /// Rounds; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = value_parser!(u64).range(1..=20))]
    rounds: u64,
    /// Server processes (started with the same `--server-arg`s, e.g. a
    /// shared `--redis URL`); subscribers are spread over them round-robin
    /// and the first one publishes.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u64).range(1..=8))]
    nodes: u64,
    /// Instead of rounds published back to back: publications per second,
    /// in steps (e.g. `10,20,50,100`), each for `--step-seconds`; the
    /// steps stop at the first whose deliveries do not all arrive within
    /// a second of its end, and the highest rate delivered in full is
    /// reported with its latency.
    #[arg(long, value_delimiter = ',')]
    rates: Vec<u64>,
    /// Seconds each rate step publishes for.
    #[arg(long, default_value_t = 3, value_parser = value_parser!(u64).range(1..=60))]
    step_seconds: u64,
}

/// Pushes received by all subscribers, and a wake-up when a target is
/// reached.
#[derive(Default)]
struct Deliveries {
    total: AtomicU64,
    target: AtomicU64,
    reached: Notify,
    /// Subscribers whose connection ended.
    closed: AtomicU64,
    /// From each publication's `"t"` to its arrival.
    latency: Latency,
}

/// A latency histogram: 1 µs buckets below 1 ms, 1 ms buckets up to 10 s.
struct Latency {
    buckets: Vec<AtomicU64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            buckets: (0..11_000).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Latency {
    fn bucket(micros: u64) -> usize {
        if micros < 1000 {
            micros as usize
        } else {
            1000 + (micros / 1000).min(9_999) as usize
        }
    }

    fn record(&self, micros: u64) {
        self.buckets[Self::bucket(micros)].fetch_add(1, Ordering::Relaxed);
    }

    fn reset(&self) {
        for bucket in &self.buckets {
            bucket.store(0, Ordering::Relaxed);
        }
    }

    /// The `q` quantile, in µs (the bucket's lower bound).
    fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let rank = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (index, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank.max(1) {
                return if index < 1000 {
                    index as u64
                } else {
                    (index as u64 - 1000) * 1000
                };
            }
        }
        0
    }
}

/// Microseconds since the Unix epoch (the server's clock is the same).
fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The `"t"` a bench-server publication carries, from a push line.
fn sent_at(line: &str) -> Option<u64> {
    let at = line.find(r#""t":"#)? + 4;
    let digits = &line[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

impl Deliveries {
    fn add(&self, pushes: u64) {
        let before = self.total.fetch_add(pushes, Ordering::AcqRel);
        let target = self.target.load(Ordering::Acquire);
        if before < target && before + pushes >= target {
            self.reached.notify_one();
        }
    }

    /// Waits until `target` pushes were received in total.
    async fn wait_for(&self, target: u64, guard: Duration) -> Result<(), String> {
        let deadline = Instant::now() + guard;
        loop {
            let total = self.total.load(Ordering::Acquire);
            if total >= target {
                return Ok(());
            }
            if timeout_at_or(deadline, self.reached.notified())
                .await
                .is_err()
            {
                return Err(format!(
                    "only {total} of {target} deliveries arrived in {} s ({} subscribers closed)",
                    guard.as_secs(),
                    self.closed.load(Ordering::Acquire)
                ));
            }
        }
    }
}

async fn timeout_at_or<F: Future>(deadline: Instant, f: F) -> Result<F::Output, ()> {
    tokio::time::timeout_at(deadline, f).await.map_err(|_| ())
}

/// Subscribers kept open; dropping it closes them all.
struct Subscribers {
    tasks: JoinSet<()>,
    deliveries: Arc<Deliveries>,
    opening: Arc<Semaphore>,
}

impl Subscribers {
    fn new() -> Self {
        Self {
            tasks: JoinSet::new(),
            deliveries: Arc::default(),
            opening: Arc::new(Semaphore::new(OPENING_AT_ONCE)),
        }
    }

    /// Opens `count` more connections, each connected and subscribed to
    /// `channel`; returns once all are subscribed.
    async fn add(
        &mut self,
        url: &str,
        token: &str,
        channel: &str,
        count: u64,
    ) -> Result<(), String> {
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<(), String>>();
        for _ in 0..count {
            let (url, token, channel) = (url.to_owned(), token.to_owned(), channel.to_owned());
            let (ready, opening, deliveries) = (
                ready_tx.clone(),
                self.opening.clone(),
                self.deliveries.clone(),
            );
            self.tasks.spawn(async move {
                let Ok(permit) = opening.acquire_owned().await else {
                    return;
                };
                let ws = match subscribe(&url, &token, &channel).await {
                    Ok(ws) => ws,
                    Err(why) => {
                        let _ = ready.send(Err(why));
                        return;
                    }
                };
                drop(permit);
                let _ = ready.send(Ok(()));
                listen(ws, &deliveries).await;
            });
        }
        drop(ready_tx);
        let deadline = Instant::now() + SETUP_GUARD;
        for done in 0..count {
            match timeout_at_or(deadline, ready_rx.recv()).await {
                Ok(Some(Ok(()))) => {}
                Ok(Some(Err(why))) => return Err(format!("connection {done}: {why}")),
                Ok(None) => return Err("subscriber tasks ended early".into()),
                Err(()) => return Err(format!("only {done} of {count} subscribed in time")),
            }
        }
        Ok(())
    }
}

async fn subscribe(url: &str, token: &str, channel: &str) -> Result<Ws, String> {
    let mut ws = open(url).await?;
    let json = Encoding::Json;
    json.request(&mut ws, 1, json.connect(1, token)).await?;
    let subscribe = serde_json::json!({"id": 2, "subscribe": {"channel": channel}});
    json.request(&mut ws, 2, Message::text(subscribe.to_string()))
        .await?;
    Ok(ws)
}

/// Counts pushes and answers pings until the connection ends.
async fn listen(mut ws: Ws, deliveries: &Deliveries) {
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Text(text) => {
                let mut pushes = 0;
                let now = now_micros();
                for line in lines(text.as_str()) {
                    if line.starts_with(r#"{"push""#) {
                        pushes += 1;
                        if let Some(t) = sent_at(line) {
                            deliveries.latency.record(now.saturating_sub(t));
                        }
                    } else if line == "{}" && ws.send(Message::text("{}")).await.is_err() {
                        break;
                    }
                }
                if pushes > 0 {
                    deliveries.add(pushes);
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    deliveries.closed.fetch_add(1, Ordering::AcqRel);
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn memory_line(what: &str, m: Memory) -> String {
    format!(
        "{what}: VmRSS {:.1} MiB (anon {:.1} MiB)",
        mib(m.rss),
        mib(m.anon)
    )
}

pub(crate) async fn idle(args: IdleArgs) -> Result<(), String> {
    let started = args.target.start().await?;
    let mut subscribers = Subscribers::new();
    let outcome = match &started.child {
        Some(child) => {
            idle_memory(&args, &started.url, &started.token, child, &mut subscribers).await
        }
        None => hold(&args, &started.url, &started.token, &mut subscribers).await,
    };
    drop(subscribers);
    if let Some(child) = started.child {
        child.stop().await;
    }
    outcome
}

/// With a server of our own: its memory before, at a tenth, and with all
/// connections subscribed.
async fn idle_memory(
    args: &IdleArgs,
    url: &str,
    token: &str,
    child: &ServerChild,
    subscribers: &mut Subscribers,
) -> Result<(), String> {
    let n = args.connections;
    let settle = Duration::from_secs(args.settle);
    sleep(settle).await;
    let before = child.memory()?;
    println!("{}", memory_line("idle server", before));
    let first = (n / 10).max(1);
    subscribers.add(url, token, &args.channel, first).await?;
    sleep(settle).await;
    let at_first = child.memory()?;
    println!("{}", memory_line(&format!("{first} subscribed"), at_first));
    let rest = n - first;
    if rest > 0 {
        subscribers.add(url, token, &args.channel, rest).await?;
        sleep(settle).await;
    }
    let after = child.memory()?;
    println!("{}", memory_line(&format!("{n} subscribed"), after));
    let closed = subscribers.deliveries.closed.load(Ordering::Acquire);
    if closed > 0 {
        return Err(format!("{closed} connections closed while idle"));
    }
    let per_conn = after.rss.saturating_sub(before.rss) / n;
    let anon_per_conn = after.anon.saturating_sub(before.anon) / n;
    let marginal = after
        .rss
        .saturating_sub(at_first.rss)
        .checked_div(rest)
        .unwrap_or(per_conn);
    println!(
        "idle: {n} connections: {per_conn} B ({:.1} KiB) VmRSS per connection \
         (anon {anon_per_conn} B); from {first} to {n}: {marginal} B each",
        per_conn as f64 / 1024.0
    );
    println!("server smaps_rollup with {n} connections:");
    for line in child.smaps_rollup().lines().skip(1) {
        println!("  {line}");
    }
    println!(
        "RESULT idle connections={n} rss_before={} rss_after={} per_conn_bytes={per_conn} \
         anon_per_conn_bytes={anon_per_conn} marginal_bytes={marginal}",
        before.rss, after.rss
    );
    Ok(())
}

/// Against a server of someone else's: subscribe all, then hold them until
/// stdin ends or gives a line.
async fn hold(
    args: &IdleArgs,
    url: &str,
    token: &str,
    subscribers: &mut Subscribers,
) -> Result<(), String> {
    subscribers
        .add(url, token, &args.channel, args.connections)
        .await?;
    println!(
        "{} connections subscribed to {}; press Enter or close stdin to close them",
        args.connections, args.channel
    );
    let mut line = String::new();
    let _ = BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await;
    Ok(())
}

pub(crate) async fn fanout(args: FanoutArgs) -> Result<(), String> {
    let mut nodes = Vec::new();
    for _ in 0..args.nodes {
        let started = args.target.start().await?;
        let Some(child) = started.child else {
            return Err("fanout starts the servers itself: give --server-bin".into());
        };
        nodes.push((started.url, started.token, child));
    }
    let mut subscribers = Subscribers::new();
    let outcome = match subscribe_spread(&args, &nodes, &mut subscribers).await {
        Err(why) => Err(why),
        Ok(()) if args.rates.is_empty() => fanout_rounds(&args, &mut nodes, &mut subscribers).await,
        Ok(()) => fanout_rates(&args, &mut nodes, &mut subscribers).await,
    };
    drop(subscribers);
    for (_, _, child) in nodes {
        child.stop().await;
    }
    outcome
}

/// The subscribers of `bench:fan`, spread round-robin over the nodes.
async fn subscribe_spread(
    args: &FanoutArgs,
    nodes: &[(String, String, ServerChild)],
    subscribers: &mut Subscribers,
) -> Result<(), String> {
    let (n, count) = (args.subscribers, nodes.len() as u64);
    for (index, (url, token, _)) in nodes.iter().enumerate() {
        let share = n / count + u64::from((index as u64) < n % count);
        subscribers.add(url, token, "bench:fan", share).await?;
    }
    sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// Publications at increasing rates, each step paced by the server
/// (`pace <n> <per second> <bytes>`), until one falls behind.
async fn fanout_rates(
    args: &FanoutArgs,
    nodes: &mut [(String, String, ServerChild)],
    subscribers: &mut Subscribers,
) -> Result<(), String> {
    let n = args.subscribers;
    let count = nodes.len() as u64;
    let deliveries = subscribers.deliveries.clone();
    // The best step so far: (rate, p50, p99).
    let mut best: Option<(u64, u64, u64)> = None;
    let mut target = deliveries.total.load(Ordering::Acquire);
    // Which side is the limit: the servers' CPU share of a step, and this
    // load generator's (on two cores, reading 10,000 sockets can be).
    let server_pids: Vec<u32> = nodes.iter().flat_map(|n| n.2.server_pids.clone()).collect();
    let own_pid = [std::process::id()];
    let mut last_step = (0, 0.0, 0.0);
    for &rate in &args.rates {
        let publications = rate * args.step_seconds;
        target += publications * n;
        deliveries.latency.reset();
        deliveries.target.store(target, Ordering::Release);
        let cpu_before = (cpu_seconds(&server_pids)?, cpu_seconds(&own_pid)?);
        let started = Instant::now();
        let answer = nodes[0]
            .2
            .command(&format!("pace {publications} {rate} {}", args.bytes))
            .await;
        match &answer {
            Ok(line) if line.starts_with("OK") => {}
            Ok(line) => return Err(format!("pace failed: {line}")),
            // No answer within the child guard: it cannot publish at this
            // rate at all.
            Err(why) => {
                println!(
                    "fanout at {rate} publications/s: the server could not keep the pace ({why})"
                );
                break;
            }
        }
        // The server answers when it has published the last one; a server
        // that could not publish at the pace is behind already.
        let on_pace = started.elapsed() <= Duration::from_secs(args.step_seconds + 1);
        let kept_up = on_pace
            && deliveries
                .wait_for(target, Duration::from_secs(1))
                .await
                .is_ok();
        let (p50, p99) = (
            deliveries.latency.quantile(0.5),
            deliveries.latency.quantile(0.99),
        );
        let delivered = deliveries.total.load(Ordering::Acquire);
        let elapsed = started.elapsed().as_secs_f64();
        let shares = (
            (cpu_seconds(&server_pids)? - cpu_before.0) / elapsed,
            (cpu_seconds(&own_pid)? - cpu_before.1) / elapsed,
        );
        println!(
            "fanout at {rate} publications/s to {n} subscribers ({} deliveries/s): {} \
             (p50 {p50} µs, p99 {p99} µs; CPU: server {:.0} %, load generator {:.0} %)",
            rate * n,
            if kept_up {
                "all delivered"
            } else {
                "fell behind"
            },
            shares.0 * 100.0,
            shares.1 * 100.0,
        );
        last_step = (rate, shares.0, shares.1);
        if !kept_up {
            // Let what is still on its way arrive before stopping.
            let _ = deliveries.wait_for(target, ROUND_GUARD).await;
            println!("  {} of {target} deliveries in time", delivered);
            break;
        }
        best = Some((rate, p50, p99));
        sleep(Duration::from_millis(500)).await;
    }
    let (rate, p50, p99) = best.unwrap_or((0, 0, 0));
    // The CPU shares of the last step measured (the one that fell behind,
    // unless every step kept up).
    println!(
        "RESULT fanout_rates nodes={count} subscribers={n} bytes={} step_seconds={} \
         max_rate={rate} deliveries_per_s={} p50_us={p50} p99_us={p99} \
         last_rate={} last_server_cpu={:.2} last_loadgen_cpu={:.2}",
        args.bytes,
        args.step_seconds,
        rate * n,
        last_step.0,
        last_step.1,
        last_step.2,
    );
    Ok(())
}

async fn fanout_rounds(
    args: &FanoutArgs,
    nodes: &mut [(String, String, ServerChild)],
    subscribers: &mut Subscribers,
) -> Result<(), String> {
    let (n, m) = (args.subscribers, args.messages);
    let count = nodes.len() as u64;
    let deliveries = subscribers.deliveries.clone();
    deliveries.latency.reset();
    let mut rates = Vec::new();
    for round in 1..=args.rounds {
        let target = n * m * round;
        deliveries.target.store(target, Ordering::Release);
        let started = Instant::now();
        let answer = nodes[0]
            .2
            .command(&format!("publish {m} {}", args.bytes))
            .await?;
        let published = started.elapsed();
        if !answer.starts_with("OK") {
            return Err(format!("publish failed: {answer}"));
        }
        deliveries.wait_for(target, ROUND_GUARD).await?;
        let elapsed = started.elapsed();
        let rate = (n * m) as f64 / elapsed.as_secs_f64();
        println!(
            "fanout round {round}: {m} publications x {n} subscribers in {:.1} ms \
             (publishing took {:.1} ms): {rate:.0} deliveries/s",
            elapsed.as_secs_f64() * 1e3,
            published.as_secs_f64() * 1e3
        );
        rates.push(rate);
        sleep(Duration::from_millis(500)).await;
    }
    let closed = deliveries.closed.load(Ordering::Acquire);
    if closed > 0 {
        return Err(format!("{closed} subscribers were disconnected"));
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    // Once every round is in, anything more would be a duplicate.
    sleep(Duration::from_millis(500)).await;
    let expected = n * m * args.rounds;
    let delivered = deliveries.total.load(Ordering::Acquire);
    let (p50, p99) = (
        deliveries.latency.quantile(0.5),
        deliveries.latency.quantile(0.99),
    );
    println!(
        "fanout: {delivered} of {expected} deliveries ({:.2} %), latency p50 {p50} µs, p99 {p99} µs",
        delivered as f64 * 100.0 / expected as f64
    );
    println!(
        "RESULT fanout nodes={count} subscribers={n} messages={m} bytes={} rounds={} \
         deliveries_per_s={median:.0} delivered={delivered} expected={expected} p50_us={p50} p99_us={p99}",
        args.bytes, args.rounds
    );
    Ok(())
}
