//! A wirecall server for the SDK test suites, driven over stdin/stdout.
//!
//! Prints `READY <port>`, then answers one line per JSON command read from
//! stdin with `OK <json>` or `ERR <message>`:
//! `token` (mint a connection JWT), `publish`, `personal`, `restart`
//! (close every client with 3001, publish while they are away, listen again
//! on the same port with state kept), `messaging`, `quit`. See
//! tests/sdk/README.md.
//!
//! `--redis URL --name NAME` makes it one node of a deployment on that
//! Redis, with short expiries (presence, node registry) so tests see them
//! happen; the cluster fixture starts several such nodes.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wirecall_client::ApiClient;
use wirecall_server::auth::mint_hmac_token;
use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
use wirecall_server::channel::personal_channel;
use wirecall_server::{Listening, Server};
use wirecall_tests::channels_fixture::TypedPublication;
use wirecall_tests::fixture::{Messaging, messaging};
use wirecall_tests::{API_KEY, SECRET, test_server};

#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum FixtureCommand {
    Token {
        user: String,
        exp_in: i64,
        #[serde(default)]
        info: Option<Value>,
        #[serde(default)]
        bad_signature: bool,
    },
    Publish {
        channel: String,
        data: Value,
    },
    Personal {
        user: String,
        data: Value,
    },
    Restart {
        #[serde(default)]
        publish: Vec<Publish>,
    },
    /// A messaging helper or the task notifier, through the in-process
    /// publisher (`via: "server"`) or the HTTP API client (`via: "http"`).
    Messaging {
        via: Via,
        #[serde(flatten)]
        action: Messaging,
    },
    Typed {
        via: Via,
        #[serde(flatten)]
        publication: TypedPublication,
    },
    Quit,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Via {
    Server,
    Http,
}

#[derive(Deserialize)]
struct Publish {
    channel: String,
    data: Value,
}

/// The serve loop currently running, and how to stop it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

fn start(listening: Listening) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(listening.serve_with_shutdown(async move {
        let _ = stopped.await;
    }));
    Running { stop, task }
}

/// `--redis URL` and `--name NAME`.
fn node_args() -> (Option<String>, Option<String>) {
    let mut args = std::env::args().skip(1);
    let (mut redis, mut name) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--redis" => redis = args.next(),
            "--name" => name = args.next(),
            _ => {}
        }
    }
    (redis, name)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (redis, name) = node_args();
    let mut builder = test_server();
    if let Some(url) = redis {
        let broker = RedisBroker::connect(RedisOptions::new(url)).await?;
        builder = builder
            .broker(Arc::new(broker))
            .timings(wirecall_tests::cluster_timings());
    }
    if let Some(name) = name {
        builder = builder.node_name(name);
    }
    let server = builder.build()?;
    let listening = server.listen("127.0.0.1:0").await?;
    let addr: SocketAddr = listening.local_addr();
    let mut running = start(listening);
    println!("READY {}", addr.port());

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<FixtureCommand>(&line) {
            Err(error) => Err(format!("bad command: {error}")),
            Ok(FixtureCommand::Quit) => break,
            Ok(FixtureCommand::Restart { publish }) => {
                let _ = running.stop.send(());
                running.task.await??;
                let mut result = Ok(json!({}));
                for p in publish {
                    if let Err(error) = publish_json(&server, &p.channel, &p.data).await {
                        result = Err(error);
                    }
                }
                running = start(server.listen(addr).await?);
                result
            }
            Ok(FixtureCommand::Messaging { via, action }) => match via {
                Via::Server => messaging(&server.publisher(), action).await,
                Via::Http => {
                    let api = ApiClient::new(format!("http://{addr}/api"), API_KEY);
                    messaging(&api, action).await
                }
            },
            Ok(FixtureCommand::Typed { via, publication }) => {
                let published = match via {
                    Via::Server => publication.publish(&server.publisher()).await,
                    Via::Http => {
                        let api = ApiClient::new(format!("http://{addr}/api"), API_KEY);
                        publication.publish(&api).await
                    }
                };
                published
                    .map(Value::String)
                    .map_err(|error| format!("{}: {}", error.code, error.message))
            }
            Ok(command) => run(&server, command).await,
        };
        match answer {
            Ok(value) => println!("OK {value}"),
            Err(message) => println!("ERR {message}"),
        }
    }
    let _ = running.stop.send(());
    running.task.await??;
    server.close().await;
    Ok(())
}

async fn run(server: &Server, command: FixtureCommand) -> Result<Value, String> {
    match command {
        FixtureCommand::Token {
            user,
            exp_in,
            info,
            bad_signature,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs();
            let exp = now.saturating_add_signed(exp_in);
            let mut claims = json!({"sub": user, "exp": exp});
            if let Some(info) = info {
                claims["info"] = info;
            }
            let secret: &[u8] = if bad_signature {
                b"not-the-secret"
            } else {
                SECRET.as_bytes()
            };
            let token = mint_hmac_token(secret, &claims).map_err(|e| e.to_string())?;
            Ok(Value::String(token))
        }
        FixtureCommand::Publish { channel, data } => publish_json(server, &channel, &data).await,
        FixtureCommand::Personal { user, data } => {
            publish_json(server, &personal_channel("personal", &user), &data).await
        }
        FixtureCommand::Restart { .. }
        | FixtureCommand::Messaging { .. }
        | FixtureCommand::Typed { .. }
        | FixtureCommand::Quit => Err("handled by the loop".into()),
    }
}

async fn publish_json(server: &Server, channel: &str, data: &Value) -> Result<Value, String> {
    let raw = serde_json::value::to_raw_value(data).map_err(|e| e.to_string())?;
    let position = server
        .publish(channel, &raw)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({"offset": position.offset, "epoch": position.epoch}))
}
