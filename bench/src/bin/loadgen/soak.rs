//! `loadgen soak`: mixed load for a long run against a tasks server (see
//! `bench/soak.sh`). Most connections churn: connect, subscribe to a hot
//! channel (recovering from their last position after the first time) and
//! a cold one, call a few RPCs, read for a while, leave, come back. Some
//! stop reading (they must be closed as slow), some send bad frames (they
//! must be closed as bad requests). A publisher feeds the hot channels and
//! random cold ones through the HTTP API. A summary line every 10 s.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use wirecall_client::ApiClient;
use wirecall_server::auth::mint_hmac_token;

use crate::ws::{Ws, connect_frame, lines, open};

#[derive(clap::Args)]
pub(crate) struct SoakArgs {
    /// The server's WebSocket endpoint.
    #[arg(long)]
    url: String,
    /// Its HTTP API (`http://127.0.0.1:PORT/api`).
    #[arg(long)]
    api_url: String,
    /// The API key.
    #[arg(long)]
    api_key: String,
    /// The HS256 secret tokens are minted with.
    #[arg(long)]
    secret: String,
    /// Connections kept busy at once.
    #[arg(long, default_value_t = 10_000)]
    connections: u64,
    /// How long the load runs.
    #[arg(long, default_value_t = 3600)]
    seconds: u64,
}

const HOT: [&str; 3] = ["news:hot-0", "news:hot-1", "news:hot-2"];

#[derive(Default)]
struct Counters {
    connects: AtomicU64,
    rpcs: AtomicU64,
    pushes: AtomicU64,
    recovered: AtomicU64,
    slow_closed: AtomicU64,
    bad_closed: AtomicU64,
    other_closed: AtomicU64,
    errors: AtomicU64,
    published: AtomicU64,
}

impl Counters {
    fn line(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "connects={} rpcs={} pushes={} recovered={} slow_closed={} bad_closed={} \
             other_closed={} errors={} published={}",
            n(&self.connects),
            n(&self.rpcs),
            n(&self.pushes),
            n(&self.recovered),
            n(&self.slow_closed),
            n(&self.bad_closed),
            n(&self.other_closed),
            n(&self.errors),
            n(&self.published)
        )
    }
}

pub(crate) async fn run(args: SoakArgs) -> Result<(), String> {
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..args.connections {
        let (url, secret, counters) = (args.url.clone(), args.secret.clone(), counters.clone());
        tasks.spawn(async move {
            // Spread the first connects over a minute.
            sleep(Duration::from_millis(
                index * 60_000 / args.connections.max(1),
            ))
            .await;
            let role = index % 20;
            let mut positions = Positions::new();
            while Instant::now() < deadline {
                let token = token(&secret, &format!("user{}", index % 2000));
                let outcome = match role {
                    0 => slow(&url, &token, &counters).await,
                    1 => bad(&url, &token, &counters).await,
                    _ => churn(&url, &token, index, &counters, &mut positions).await,
                };
                if outcome.is_err() {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    sleep(Duration::from_millis(500)).await;
                }
            }
        });
    }
    let publisher = {
        let (api, counters) = (
            ApiClient::new(&args.api_url, &args.api_key),
            counters.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let channel = if n.is_multiple_of(4) {
                    format!("news:cold-{}", n % 5000)
                } else {
                    HOT[(n % 3) as usize].to_owned()
                };
                let data = serde_json::value::to_raw_value(&json!({"n": n})).expect("json");
                if api.publish_with_key(&channel, &data, None).await.is_ok() {
                    counters.published.fetch_add(1, Ordering::Relaxed);
                }
                sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let report = {
        let counters = counters.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            while Instant::now() < deadline {
                sleep(Duration::from_secs(10)).await;
                println!(
                    "soak t={}s {}",
                    started.elapsed().as_secs(),
                    counters.line()
                );
            }
        })
    };
    while tasks.join_next().await.is_some() {}
    let _ = publisher.await;
    report.abort();
    println!("RESULT soak {}", counters.line());
    Ok(())
}

fn token(secret: &str, user: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 86_400;
    mint_hmac_token(secret.as_bytes(), &json!({"sub": user, "exp": exp})).unwrap_or_default()
}

/// Sends a frame and reads until the reply to `id`, answering pings and
/// counting pushes; the reply.
async fn ask(ws: &mut Ws, id: u32, frame: Value, counters: &Counters) -> Result<Value, String> {
    ws.send(Message::text(frame.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let message = timeout(end - Instant::now(), ws.next())
            .await
            .map_err(|_| format!("no reply to {id}"))?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        let Message::Text(text) = message else {
            continue;
        };
        for line in lines(text.as_str()) {
            let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            if value.get("push").is_some() {
                counters.pushes.fetch_add(1, Ordering::Relaxed);
            } else if value["id"] == json!(id) {
                return Ok(value);
            } else if line == "{}" {
                ws.send(Message::text("{}"))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
}

/// Positions of the hot channels this connection slot last saw.
type Positions = HashMap<&'static str, (u64, String)>;

async fn churn(
    url: &str,
    token: &str,
    index: u64,
    counters: &Counters,
    positions: &mut Positions,
) -> Result<(), String> {
    let (mut ws, reply) = connected(url, token, counters).await?;
    if reply.get("error").is_some() {
        return Err(format!("connect refused: {reply}"));
    }
    let hot = HOT[(index % 3) as usize];
    let mut subscribe = json!({"channel": hot, "recoverable": true});
    if let Some((offset, epoch)) = positions.get(hot) {
        subscribe["recover"] = json!(true);
        subscribe["offset"] = json!(offset);
        subscribe["epoch"] = json!(epoch);
    }
    let reply = ask(
        &mut ws,
        2,
        json!({"id": 2, "subscribe": subscribe}),
        counters,
    )
    .await?;
    if reply["subscribe"]["recovered"] == json!(true) {
        counters.recovered.fetch_add(1, Ordering::Relaxed);
    }
    let cold = format!("news:cold-{}", (index * 7919) % 5000);
    ask(
        &mut ws,
        3,
        json!({"id": 3, "subscribe": {"channel": cold}}),
        counters,
    )
    .await?;
    for id in 4..(4 + index % 3 + 1) as u32 {
        let reply = ask(
            &mut ws,
            id,
            json!({"id": id, "rpc": {"method": "users.whoami", "data": {}}}),
            counters,
        )
        .await?;
        if reply.get("rpc").is_some() {
            counters.rpcs.fetch_add(1, Ordering::Relaxed);
        }
    }
    // Read for a while, answering pings, remembering the hot position.
    let stay = Duration::from_secs(5 + index % 25);
    let end = Instant::now() + stay;
    while let Ok(Some(Ok(message))) = timeout(end - Instant::now(), ws.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        for line in lines(text.as_str()) {
            if line == "{}" {
                let _ = ws.send(Message::text("{}")).await;
                continue;
            }
            counters.pushes.fetch_add(1, Ordering::Relaxed);
            if let Ok(value) = serde_json::from_str::<Value>(line)
                && value["push"]["channel"] == hot
                && let Some(offset) = value["push"]["pub"]["offset"].as_u64()
            {
                let epoch = reply["subscribe"]["epoch"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                positions.insert(hot, (offset, epoch));
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// Opens a socket and sends `connect` (counted); the socket and the reply.
async fn connected(url: &str, token: &str, counters: &Counters) -> Result<(Ws, Value), String> {
    let mut ws = open(url).await?;
    counters.connects.fetch_add(1, Ordering::Relaxed);
    let frame = serde_json::from_str(&connect_frame(1, token)).map_err(|e| e.to_string())?;
    let reply = ask(&mut ws, 1, frame, counters).await?;
    Ok((ws, reply))
}

/// Subscribes, then stops reading: the server must close it as slow.
async fn slow(url: &str, token: &str, counters: &Counters) -> Result<(), String> {
    let (mut ws, _) = connected(url, token, counters).await?;
    ask(
        &mut ws,
        2,
        json!({"id": 2, "subscribe": {"channel": HOT[0]}}),
        counters,
    )
    .await?;
    // Not reading for a minute: pings unanswered, pushes piling up.
    sleep(Duration::from_secs(60)).await;
    match closing_code(&mut ws).await {
        Some(3008 | 3012) => counters.slow_closed.fetch_add(1, Ordering::Relaxed),
        _ => counters.other_closed.fetch_add(1, Ordering::Relaxed),
    };
    Ok(())
}

/// Connects, then sends a malformed frame: the server must close with 3501.
async fn bad(url: &str, token: &str, counters: &Counters) -> Result<(), String> {
    let (mut ws, _) = connected(url, token, counters).await?;
    ws.send(Message::text("{not json"))
        .await
        .map_err(|e| e.to_string())?;
    match closing_code(&mut ws).await {
        Some(3501) => counters.bad_closed.fetch_add(1, Ordering::Relaxed),
        _ => counters.other_closed.fetch_add(1, Ordering::Relaxed),
    };
    sleep(Duration::from_secs(5)).await;
    Ok(())
}

/// Reads to the end; the close code, if a close frame came.
async fn closing_code(ws: &mut Ws) -> Option<u16> {
    let end = Instant::now() + Duration::from_secs(60);
    while let Ok(Some(message)) = timeout(end - Instant::now(), ws.next()).await {
        match message {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}
