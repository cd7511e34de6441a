//! The wirecall server the benchmark measures, driven over stdin/stdout.
//!
//! Binds 127.0.0.1 on a free port and prints `TOKEN <jwt>` (a connection
//! token of user `bench`, valid for a day), then `READY <port>`.
//! It serves one method, `bench.add {a, b} -> {sum}`, and the namespace
//! `bench`, where clients may subscribe (no history, no presence). Then
//! it reads commands from stdin, one a line:
//!
//! - `publish <n> <bytes>`: publishes `n` publications of about `bytes`
//!   bytes of data to `bench:fan`, one after the other, each carrying the
//!   time it was made (`"t"`, Unix µs, for latency), and answers
//!   `OK <elapsed µs>` (or `ERR <why>`);
//! - `pace <n> <per second> <bytes>`: the same, at a fixed rate;
//! - `quit`, or the end of stdin: shuts down and exits.
//!
//! `--redis URL` makes it a node of a deployment on that Redis (the
//! fan-out benchmark starts several); `--metrics` keeps Prometheus
//! metrics (what they cost is measured with and without).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;
use wirecall_server::auth::mint_hmac_token;
use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
use wirecall_server::{Limits, NamespaceOptions, Server, websocket_rpc};

/// The HS256 secret of the benchmark server (loopback only).
const SECRET: &str = "wirecall-bench-secret";

/// The channel `publish` sends to.
const FAN_CHANNEL: &str = "bench:fan";

/// Two numbers to add.
#[derive(Deserialize, JsonSchema)]
pub struct AddParams {
    /// First addend.
    pub a: i64,
    /// Second addend.
    pub b: i64,
}

/// Their sum.
#[derive(Serialize, JsonSchema)]
pub struct Sum {
    /// `a + b`, saturating.
    pub sum: i64,
}

/// The benchmark's small method: decode two numbers, add, encode.
#[websocket_rpc("bench.add")]
pub async fn add(params: AddParams) -> Sum {
    Sum {
        sum: params.a.saturating_add(params.b),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Server::builder();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--metrics" {
            builder = builder.metrics(true);
        } else if arg == "--redis" {
            let url = args.next().ok_or("--redis needs a URL")?;
            let broker = RedisBroker::connect(RedisOptions::new(url)).await?;
            builder = builder.broker(Arc::new(broker));
        }
    }
    let server = builder
        .hmac_secret(SECRET)
        .namespace(
            "bench",
            NamespaceOptions::default().allow_subscribe_for_client(true),
        )
        .limits(Limits::default().max_connections(None))
        .build()?;
    let listening = server.listen("127.0.0.1:0").await?;
    let port = listening.local_addr().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(listening.serve_with_shutdown(async move {
        let _ = stopped.await;
    }));
    println!("TOKEN {}", token("bench")?);
    println!("READY {port}");

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["quit"] => break,
            ["publish", n, bytes] => match (n.parse::<u64>(), bytes.parse::<usize>()) {
                (Ok(n), Ok(bytes)) => match publish(&server, n, bytes).await {
                    Ok(elapsed) => println!("OK {}", elapsed.as_micros()),
                    Err(why) => println!("ERR {why}"),
                },
                _ => println!("ERR usage: publish <n> <bytes>"),
            },
            ["pace", n, per_second, bytes] => {
                match (
                    n.parse::<u64>(),
                    per_second.parse::<u64>(),
                    bytes.parse::<usize>(),
                ) {
                    (Ok(n), Ok(per_second), Ok(bytes)) if per_second > 0 => {
                        match pace(&server, n, per_second, bytes).await {
                            Ok(elapsed) => println!("OK {}", elapsed.as_micros()),
                            Err(why) => println!("ERR {why}"),
                        }
                    }
                    _ => println!("ERR usage: pace <n> <per second> <bytes>"),
                }
            }
            _ => println!("ERR unknown command: {line}"),
        }
    }
    let _ = stop.send(());
    serving.await??;
    server.close().await;
    Ok(())
}

/// A connection token of `user`, valid for a day.
fn token(user: &str) -> Result<String, Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    Ok(mint_hmac_token(
        SECRET.as_bytes(),
        &json!({"sub": user, "exp": now + 86_400}),
    )?)
}

/// Publishes `n` publications of about `bytes` bytes each to `bench:fan`.
async fn publish(server: &Server, n: u64, bytes: usize) -> Result<Duration, String> {
    publish_paced(server, n, None, bytes).await
}

/// [`publish`] at `per_second` publications a second (a fixed schedule;
/// a publication that is late goes at once).
async fn pace(server: &Server, n: u64, per_second: u64, bytes: usize) -> Result<Duration, String> {
    publish_paced(
        server,
        n,
        Some(Duration::from_secs(1) / u32::try_from(per_second).unwrap_or(u32::MAX)),
        bytes,
    )
    .await
}

async fn publish_paced(
    server: &Server,
    n: u64,
    every: Option<Duration>,
    bytes: usize,
) -> Result<Duration, String> {
    // `{"t":µs,"seq":N,"pad":"…"}`: the padding makes up the rest of `bytes`.
    let pad = "x".repeat(bytes.saturating_sub(48));
    let started = Instant::now();
    let mut schedule = every.map(|every| {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        interval
    });
    for seq in 0..n {
        if let Some(schedule) = &mut schedule {
            schedule.tick().await;
        }
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_micros();
        let data = RawValue::from_string(format!(r#"{{"t":{t},"seq":{seq},"pad":"{pad}"}}"#))
            .map_err(|e| e.to_string())?;
        server
            .publish(FAN_CHANNEL, &data)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed())
}
