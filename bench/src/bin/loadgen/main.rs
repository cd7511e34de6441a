//! wirecall's load generator: speaks the Centrifugo client protocol (JSON)
//! over tokio-tungstenite and measures a server on 127.0.0.1.
//!
//! - `rpc`: round trips per second and p50/p99 latency of `bench.add`
//!   with C connections × F calls in flight, against `bench-server` or,
//!   with the same frames, the raw `echo-server`;
//! - `idle`: the server's resident memory per idle connection (connected
//!   and subscribed to one channel);
//! - `fanout`: deliveries per second of publications to N subscribers of
//!   one channel;
//! - `client`: the same calls through `wirecall_client::Client` on one
//!   connection, so the client's own overhead shows against `rpc`.
//!
//! Each prints a human-readable summary and one `RESULT` line of
//! `key=value` pairs for `bench/run.sh`. With `--server-bin` the server is
//! started as a child process (and stopped at the end); `--url` and
//! `--token` use one already running.

mod child;
mod client;
mod codec;
mod rpc;
mod soak;
mod subscribers;
mod ws;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::child::ServerChild;

#[derive(Parser)]
#[command(about = "Load generator for wirecall (Centrifugo JSON protocol over WebSocket)")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// RPC round trips: C connections, each keeping F calls in flight.
    Rpc(rpc::RpcArgs),
    /// Resident memory per idle, subscribed connection.
    Idle(subscribers::IdleArgs),
    /// Fan-out deliveries per second to N subscribers of one channel.
    Fanout(subscribers::FanoutArgs),
    /// RPC round trips through `wirecall_client::Client` (one connection), to
    /// compare with `rpc --connections 1` and see the client's own cost.
    Client(client::ClientArgs),
    /// Mixed load for a long run against a tasks server (`bench/soak.sh`).
    Soak(soak::SoakArgs),
}

/// Which server to measure.
#[derive(clap::Args, Clone)]
pub(crate) struct Target {
    /// Start this server (`bench-server` or `echo-server`) as a child
    /// process on 127.0.0.1 and stop it at the end.
    #[arg(long, required_unless_present = "url", conflicts_with = "url")]
    server_bin: Option<PathBuf>,
    /// Arguments for the child server.
    #[arg(long, allow_hyphen_values = true, requires = "server_bin")]
    server_arg: Vec<String>,
    /// Pin the child server to these CPUs (`taskset -c`, e.g. `0`).
    #[arg(long, requires = "server_bin")]
    server_cpus: Option<String>,
    /// With `--url`: the server's process, whose CPU time `rpc` reports.
    #[arg(long, requires = "url")]
    server_pid: Option<u32>,
    /// Or a server already running, e.g.
    /// `ws://127.0.0.1:8000/connection/websocket`.
    #[arg(long)]
    url: Option<String>,
    /// Connection token (with `--url`; a child `bench-server` prints its own).
    #[arg(long, default_value = "")]
    token: String,
}

/// The server under test: where it is, its token, and the child process
/// when this program started it.
pub(crate) struct Started {
    pub(crate) url: String,
    pub(crate) token: String,
    /// The server's processes, when known (CPU time).
    pub(crate) pids: Vec<u32>,
    pub(crate) child: Option<ServerChild>,
}

impl Target {
    pub(crate) async fn start(&self) -> Result<Started, String> {
        if let Some(bin) = &self.server_bin {
            let child =
                ServerChild::spawn(bin, &self.server_arg, self.server_cpus.as_deref()).await?;
            let url = format!("ws://127.0.0.1:{}/connection/websocket", child.port);
            let token = child.token.clone().unwrap_or_default();
            return Ok(Started {
                url,
                token,
                pids: child.server_pids.clone(),
                child: Some(child),
            });
        }
        let url = self.url.clone().ok_or("give --server-bin or --url")?;
        if !url.starts_with("ws://127.0.0.1:") {
            return Err("only ws://127.0.0.1:<port>/... is measured".into());
        }
        Ok(Started {
            url,
            token: self.token.clone(),
            pids: self.server_pid.into_iter().collect(),
            child: None,
        })
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let outcome = match args.command {
        Command::Rpc(args) => rpc::run(args).await,
        Command::Idle(args) => subscribers::idle(args).await,
        Command::Fanout(args) => subscribers::fanout(args).await,
        Command::Client(args) => client::run(args).await,
        Command::Soak(args) => soak::run(args).await,
    };
    if let Err(why) = outcome {
        eprintln!("loadgen: {why}");
        std::process::exit(1);
    }
}
