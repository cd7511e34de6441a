//! A deployment for the multi-node SDK suites, driven over stdin/stdout
//! like the sdk-fixture: a real redis-server (append-only, so a SIGKILL
//! loses nothing it acknowledged), several sdk-fixture node processes on
//! it, a TCP proxy standing in for a load balancer, and a worker (a
//! broker publisher with no server).
//!
//! Prints `READY {"redis": P, "nodes": [P, …], "proxy": P}`, then answers
//! one line per JSON command with `OK <json>` or `ERR <message>`:
//! - `node` `{index, command}`: a command for that node's sdk-fixture
//!   (its answer is passed on);
//! - `kill_node` `{index}`: SIGKILL, no goodbye;
//! - `kill_redis`, `restart_redis` `{keep_data}`, `kill_pubsub` (`CLIENT
//!   KILL TYPE pubsub`: every node's pub/sub connections);
//! - `proxy_to` `{index}`: the proxy forwards new connections to that node
//!   (`null`: to none, refusing them) and drops the ones it carries (the
//!   clients reconnect through it);
//! - `worker` `{action, …}`: a messaging action through the worker;
//! - `worker_publish` `{channel, data, idempotency_key?}`;
//! - `quit`.
//!
//! Usage: `cluster-fixture [NODES]` (default 3).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::watch;
use wirecall_server::BrokerPublisher;
use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
use wirecall_tests::fixture::{Messaging, messaging};
use wirecall_tests::redis_server::RedisServer;
use wirecall_tests::test_server;

#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum ClusterCommand {
    Node {
        index: usize,
        command: Value,
    },
    KillNode {
        index: usize,
    },
    KillRedis,
    RestartRedis {
        keep_data: bool,
    },
    KillPubsub,
    ProxyTo {
        index: Option<usize>,
    },
    Worker {
        #[serde(flatten)]
        action: Messaging,
    },
    WorkerPublish {
        channel: String,
        data: Value,
        #[serde(default)]
        idempotency_key: Option<String>,
    },
    Quit,
}

/// One sdk-fixture process.
struct Node {
    port: u16,
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Node {
    async fn start(redis_url: &str, name: &str) -> Result<Self, String> {
        let fixture = std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("sdk-fixture");
        let mut child = Command::new(&fixture)
            .args(["--redis", redis_url, "--name", name])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", fixture.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let ready = stdout
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the node ended before READY")?;
        let port = ready
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("unexpected first line {ready:?}"))?;
        Ok(Self {
            port,
            child,
            stdin,
            stdout,
        })
    }

    /// Passes one command on; its answer line.
    async fn ask(&mut self, command: &Value) -> Result<String, String> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|e| format!("node gone: {e}"))?;
        self.stdout
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "node gone".to_owned())
    }
}

/// Forwards every accepted connection to the node the watch names (port 0:
/// none, the connection is closed); a new target drops the connections to
/// the old one.
async fn proxy(listener: TcpListener, target: watch::Receiver<u16>) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let mut target = target.clone();
        let port = *target.borrow_and_update();
        if port == 0 {
            // Pointing nowhere: like a load balancer with no healthy backend.
            continue;
        }
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = target.changed() => {}
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut redis = RedisServer::start(true);
    let mut nodes = Vec::with_capacity(count);
    for index in 0..count {
        nodes.push(Node::start(&redis.url(), &format!("node{index}")).await?);
    }
    let (target, targeted) = watch::channel(nodes[0].port);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let proxy_port = listener.local_addr()?.port();
    tokio::spawn(proxy(listener, targeted));
    let worker = BrokerPublisher::new(
        Arc::new(RedisBroker::connect(RedisOptions::new(redis.url())).await?),
        test_server().channels(),
    );
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    println!(
        "READY {}",
        json!({"redis": redis.port, "nodes": ports, "proxy": proxy_port})
    );

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let answer: Result<Value, String> = match serde_json::from_str::<ClusterCommand>(&line) {
            Err(error) => Err(format!("bad command: {error}")),
            Ok(ClusterCommand::Quit) => break,
            Ok(ClusterCommand::Node { index, command }) => match nodes.get_mut(index) {
                None => Err(format!("no node {index}")),
                Some(node) => match node.ask(&command).await {
                    // The node's own answer, as it is.
                    Ok(answer) => {
                        println!("{answer}");
                        continue;
                    }
                    Err(error) => Err(error),
                },
            },
            Ok(ClusterCommand::KillNode { index }) => match nodes.get_mut(index) {
                None => Err(format!("no node {index}")),
                Some(node) => {
                    let _ = node.child.start_kill();
                    let _ = node.child.wait().await;
                    Ok(json!({}))
                }
            },
            Ok(ClusterCommand::KillRedis) => {
                redis.kill();
                Ok(json!({}))
            }
            Ok(ClusterCommand::RestartRedis { keep_data }) => {
                redis.restart(keep_data);
                Ok(json!({}))
            }
            Ok(ClusterCommand::KillPubsub) => match redis.command("CLIENT KILL TYPE pubsub") {
                Some(reply) if reply.starts_with(':') => Ok(json!({ "reply": reply.trim() })),
                other => Err(format!("CLIENT KILL failed: {other:?}")),
            },
            Ok(ClusterCommand::ProxyTo { index: None }) => {
                target.send_replace(0);
                Ok(json!({}))
            }
            Ok(ClusterCommand::ProxyTo { index: Some(index) }) => match nodes.get(index) {
                None => Err(format!("no node {index}")),
                Some(node) => {
                    target.send_replace(node.port);
                    Ok(json!({}))
                }
            },
            Ok(ClusterCommand::Worker { action }) => messaging(&worker, action).await,
            Ok(ClusterCommand::WorkerPublish {
                channel,
                data,
                idempotency_key,
            }) => match serde_json::value::to_raw_value(&data) {
                Err(error) => Err(error.to_string()),
                Ok(raw) => worker
                    .publish_with_key(&channel, &raw, idempotency_key.as_deref())
                    .await
                    .map(|p| json!({"offset": p.offset, "epoch": p.epoch}))
                    .map_err(|e| e.to_string()),
            },
        };
        match answer {
            Ok(value) => println!("OK {value}"),
            Err(message) => println!("ERR {message}"),
        }
    }
    for node in &mut nodes {
        let _ = node.ask(&json!({"cmd": "quit"})).await;
        let _ = node.child.wait().await;
    }
    Ok(())
}
