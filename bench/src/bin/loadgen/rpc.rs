//! `loadgen rpc`: RPC round trips. Every connection connects, then keeps
//! F `bench.add` calls outstanding (pipelined), matching replies by id.
//! Against the echo server the same frames come back unchanged and count
//! the same way. When the server's process is known, its CPU time over
//! the measured window is read from /proc, so the report has calls per
//! server CPU-second: the work each server does per call, whoever
//! saturates first.

use std::collections::HashMap;
use std::time::Duration;

use clap::value_parser;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::Target;
use crate::child::cpu_seconds;
use crate::codec::{Encoding, Reply};
use crate::ws::Ws;

#[derive(clap::Args)]
pub(crate) struct RpcArgs {
    #[command(flatten)]
    target: Target,
    /// Connections.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Calls each connection keeps in flight.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u32).range(1..=1024))]
    in_flight: u32,
    /// Measured seconds, after the warm-up.
    #[arg(long, default_value_t = 5, value_parser = value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// Warm-up seconds, not counted.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u64).range(0..=60))]
    warmup: u64,
    /// Name of the server in the report.
    #[arg(long, default_value = "server")]
    label: String,
    /// The protocol encoding.
    #[arg(long, value_enum, default_value_t = Encoding::Json)]
    encoding: Encoding,
}

/// What one connection saw in the measured window.
#[derive(Default)]
struct Outcome {
    /// Round-trip times of calls answered in the window, in µs.
    latencies_us: Vec<u32>,
    /// Error replies (any time).
    errors: u64,
    /// Calls never answered.
    lost: u64,
    /// The server's CPU seconds over the measured window, when its
    /// process is known.
    server_cpu_s: Option<f64>,
}

pub(crate) async fn run(args: RpcArgs) -> Result<(), String> {
    let started = args.target.start().await?;
    let measured = measure(&args, &started.url, &started.token, &started.pids).await;
    if let Some(child) = started.child {
        child.stop().await;
    }
    let mut outcome = measured?;
    let Summary {
        calls,
        rate,
        p50,
        p99,
    } = Summary::of(&mut outcome.latencies_us, args.seconds);
    let (label, c, f, s) = (&args.label, args.connections, args.in_flight, args.seconds);
    let encoding = args.encoding.name();
    // Calls per CPU-second of the server ("n/a" when its process is not known).
    let (cpu, per_cpu) = match outcome.server_cpu_s {
        Some(cpu) if cpu > 0.0 => (format!("{cpu:.2}"), format!("{:.0}", calls as f64 / cpu)),
        _ => ("n/a".to_owned(), "n/a".to_owned()),
    };
    println!(
        "rpc {label} ({encoding}): {c} conn x {f} in flight, {s} s: {calls} calls, {rate:.0} calls/s, \
         p50 {p50} us, p99 {p99} us, server CPU {cpu} s ({per_cpu} calls per CPU-second), \
         {} errors, {} lost",
        outcome.errors, outcome.lost
    );
    println!(
        "RESULT rpc label={label} encoding={encoding} connections={c} in_flight={f} seconds={s} \
         calls={calls} calls_per_s={rate:.0} p50_us={p50} p99_us={p99} server_cpu_s={cpu} \
         calls_per_cpu_s={per_cpu} errors={} lost={}",
        outcome.errors, outcome.lost
    );
    if outcome.errors > 0 || outcome.lost > 0 {
        return Err("some calls failed or were never answered".into());
    }
    Ok(())
}

async fn measure(
    args: &RpcArgs,
    url: &str,
    token: &str,
    server_pids: &[u32],
) -> Result<Outcome, String> {
    let encoding = args.encoding;
    let mut opening = JoinSet::new();
    for _ in 0..args.connections {
        let (url, token) = (url.to_owned(), token.to_owned());
        opening.spawn(async move {
            let mut ws = encoding.open(&url).await?;
            encoding
                .request(&mut ws, 1, encoding.connect(1, &token))
                .await?;
            Ok::<_, String>(ws)
        });
    }
    let mut connections = Vec::new();
    while let Some(joined) = opening.join_next().await {
        connections.push(joined.map_err(|e| e.to_string())??);
    }

    let warm_end = Instant::now() + Duration::from_secs(args.warmup);
    let end = warm_end + Duration::from_secs(args.seconds);
    // Calls still unanswered this long after the end count as lost.
    let hard_end = end + Duration::from_secs(10);
    let mut driving = JoinSet::new();
    for ws in connections {
        driving.spawn(drive(ws, encoding, args.in_flight, warm_end, end, hard_end));
    }
    let server_cpu_s = if server_pids.is_empty() {
        None
    } else {
        tokio::time::sleep_until(warm_end).await;
        let before = cpu_seconds(server_pids)?;
        tokio::time::sleep_until(end).await;
        Some(cpu_seconds(server_pids)? - before)
    };
    let mut total = Outcome {
        server_cpu_s,
        ..Outcome::default()
    };
    while let Some(joined) = driving.join_next().await {
        let outcome = joined.map_err(|e| e.to_string())??;
        total.latencies_us.extend(outcome.latencies_us);
        total.errors += outcome.errors;
        total.lost += outcome.lost;
    }
    Ok(total)
}

/// Keeps `in_flight` calls outstanding on one connection until `end`,
/// then collects the last replies.
async fn drive(
    mut ws: Ws,
    encoding: Encoding,
    in_flight: u32,
    warm_end: Instant,
    end: Instant,
    hard_end: Instant,
) -> Result<Outcome, String> {
    let mut calls = Calls {
        encoding,
        replies: Vec::new(),
        sent: HashMap::with_capacity(in_flight as usize),
        // Id 1 was the connect.
        next_id: 2,
        warm_end,
        end,
        outcome: Outcome::default(),
    };
    for _ in 0..in_flight {
        calls.issue(&mut ws, Instant::now()).await?;
    }
    ws.flush().await.map_err(send_failed)?;
    while !calls.sent.is_empty() {
        let message = match timeout_at(hard_end, ws.next()).await {
            Err(_) => {
                calls.outcome.lost += calls.sent.len() as u64;
                break;
            }
            Ok(message) => message,
        };
        calls.receive(&mut ws, message).await?;
        // Like the servers, answer everything already received in one write.
        while let Some(message) = ws.next().now_or_never() {
            calls.receive(&mut ws, message).await?;
        }
        ws.flush().await.map_err(send_failed)?;
    }
    let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
    Ok(calls.outcome)
}

fn send_failed(e: WsError) -> String {
    format!("send failed: {e}")
}

/// The calls of one connection.
struct Calls {
    encoding: Encoding,
    /// The replies of the message at hand (reused).
    replies: Vec<Reply>,
    /// When each outstanding call was sent, by id.
    sent: HashMap<u32, Instant>,
    next_id: u32,
    warm_end: Instant,
    end: Instant,
    outcome: Outcome,
}

impl Calls {
    /// Queues a new call (sent at the next flush).
    async fn issue(&mut self, ws: &mut Ws, now: Instant) -> Result<(), String> {
        self.sent.insert(self.next_id, now);
        ws.feed(self.encoding.call(self.next_id))
            .await
            .map_err(send_failed)?;
        self.next_id = self.next_id.wrapping_add(1).max(2);
        Ok(())
    }

    /// Matches the replies in one message to their calls and, until the
    /// end, issues a new call for each.
    async fn receive(
        &mut self,
        ws: &mut Ws,
        message: Option<Result<Message, WsError>>,
    ) -> Result<(), String> {
        let message = match message {
            None => return Err("the server closed the connection".into()),
            Some(Err(e)) => return Err(format!("read failed: {e}")),
            Some(Ok(message)) => message,
        };
        let now = Instant::now();
        let mut replies = std::mem::take(&mut self.replies);
        replies.clear();
        self.encoding.replies(&message, &mut replies)?;
        for reply in &replies {
            if reply.ping {
                ws.feed(self.encoding.pong()).await.map_err(send_failed)?;
                continue;
            }
            let Some(at) = self.sent.remove(&reply.id) else {
                continue;
            };
            if reply.error {
                self.outcome.errors += 1;
            } else if now >= self.warm_end && now < self.end {
                let us = now.duration_since(at).as_micros();
                self.outcome
                    .latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            if now < self.end {
                self.issue(ws, now).await?;
            }
        }
        self.replies = replies;
        Ok(())
    }
}

/// The `p` quantile of sorted values (nearest rank); 0 when empty.
/// What a run's round-trip times (µs) come to.
pub(crate) struct Summary {
    pub(crate) calls: usize,
    pub(crate) rate: f64,
    pub(crate) p50: u32,
    pub(crate) p99: u32,
}

impl Summary {
    /// Sorts `latencies` and reads the count, rate and percentiles.
    pub(crate) fn of(latencies: &mut [u32], seconds: u64) -> Self {
        latencies.sort_unstable();
        Self {
            calls: latencies.len(),
            rate: latencies.len() as f64 / seconds as f64,
            p50: percentile(latencies, 0.50),
            p99: percentile(latencies, 0.99),
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
