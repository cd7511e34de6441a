//! `loadgen client`: `bench.add` through `wirecall_client::Client` on one
//! connection with F calls in flight (F tasks sharing the client), the
//! project's own client measured the way `rpc` measures raw frames.

use std::time::Duration;

use clap::value_parser;
use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;
use wirecall_client::Client;

use crate::Target;
use crate::rpc::Summary;

#[derive(clap::Args)]
pub(crate) struct ClientArgs {
    #[command(flatten)]
    target: Target,
    /// Calls kept in flight on the one connection.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u32).range(1..=1024))]
    in_flight: u32,
    /// Measured seconds, after the warm-up.
    #[arg(long, default_value_t = 5, value_parser = value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// Warm-up seconds, not counted.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u64).range(0..=60))]
    warmup: u64,
}

pub(crate) async fn run(args: ClientArgs) -> Result<(), String> {
    let started = args.target.start().await?;
    let measured = measure(&args, &started.url, &started.token).await;
    if let Some(child) = started.child {
        child.stop().await;
    }
    let mut latencies = measured?;
    let Summary {
        calls,
        rate,
        p50,
        p99,
    } = Summary::of(&mut latencies, args.seconds);
    let (f, s) = (args.in_flight, args.seconds);
    println!(
        "client: 1 conn x {f} in flight, {s} s: {calls} calls, {rate:.0} calls/s, p50 {p50} us, p99 {p99} us"
    );
    println!(
        "RESULT client connections=1 in_flight={f} seconds={s} calls={calls} calls_per_s={rate:.0} \
         p50_us={p50} p99_us={p99}"
    );
    Ok(())
}

/// Round-trip times (µs) of the calls answered in the measured window.
async fn measure(args: &ClientArgs, url: &str, token: &str) -> Result<Vec<u32>, String> {
    let client = Client::builder(url)
        .token(token)
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let begin = Instant::now() + Duration::from_secs(args.warmup);
    let end = begin + Duration::from_secs(args.seconds);
    let mut workers: JoinSet<Result<Vec<u32>, String>> = JoinSet::new();
    for worker in 0..args.in_flight {
        let client = client.clone();
        workers.spawn(async move {
            let params = json!({"a": worker, "b": 1});
            let mut latencies = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    return Ok(latencies);
                }
                client
                    .call_raw("bench.add", &params)
                    .await
                    .map_err(|e| e.to_string())?;
                if sent >= begin {
                    let micros = sent.elapsed().as_micros();
                    latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = workers.join_next().await {
        all.extend(joined.map_err(|e| e.to_string())??);
    }
    Ok(all)
}
