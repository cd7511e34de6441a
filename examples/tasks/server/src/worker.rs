//! `tasks worker --redis URL`: runs the tasks that `tasks serve --redis`
//! nodes hand over, publishing their progress into the deployment through
//! Redis (a `BrokerPublisher`: no server, no HTTP), and sending each status
//! change back to the node that keeps the task.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use redis::AsyncCommands;
use redis::aio::ConnectionManagerConfig;
use tasks_service::{TaskStatus, run_job};
use tokio::sync::{Semaphore, mpsc};
use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
use wirecall_server::cli::Settings;
use wirecall_server::{BrokerPublisher, Server};

use crate::queue::{JOBS, QueuedJob, StatusChange};

/// The example's own subcommands, beside wirecall's.
#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// Run the tasks that `serve --redis` nodes hand over, publishing their
    /// progress through the same Redis.
    Worker(WorkerArgs),
}

/// `worker`'s options.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The Redis the nodes share.
    #[arg(long, env = "WIRECALL_REDIS")]
    redis: String,
    /// The prefix of wirecall's keys and channels (default `wirecall`).
    #[arg(long, env = "WIRECALL_REDIS_PREFIX")]
    redis_prefix: Option<String>,
    /// Tasks run at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub fn run(command: TasksCommand) -> ExitCode {
    let TasksCommand::Worker(args) = command;
    tracing_subscriber::fmt().with_target(false).init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn work(args: WorkerArgs) -> Result<(), String> {
    let mut options = RedisOptions::new(args.redis.clone());
    if let Some(prefix) = &args.redis_prefix {
        options.prefix.clone_from(prefix);
    }
    let broker = RedisBroker::connect(options)
        .await
        .map_err(|e| e.to_string())?;
    let settings = Settings::default()
        .redis_url(Some(args.redis.clone()))
        .redis_prefix(args.redis_prefix.clone());
    // The same channel settings as the nodes: history, personal channels.
    let channels = crate::configure(Server::builder(), &settings).channels();
    let publisher = BrokerPublisher::new(Arc::new(broker), channels);
    let client = redis::Client::open(args.redis.as_str()).map_err(|e| e.to_string())?;
    let config = ConnectionManagerConfig::new().set_response_timeout(None);
    let mut jobs = client
        .get_connection_manager_with_config(config)
        .await
        .map_err(|e| format!("cannot connect to Redis at {}: {e}", args.redis))?;
    let replies = client
        .get_connection_manager()
        .await
        .map_err(|e| e.to_string())?;
    let slots = Arc::new(Semaphore::new(args.concurrency.max(1)));
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stdout(),
            "tasks worker: taking jobs from {JOBS} on {}",
            args.redis
        );
    }
    loop {
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let popped: Option<(String, String)> = tokio::select! {
            popped = jobs.blpop(JOBS, 5.0) => match popped {
                Ok(popped) => popped,
                Err(error) => {
                    tracing::warn!(%error, "waiting for jobs failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some((_, text)) = popped else { continue };
        let queued: QueuedJob = match serde_json::from_str(&text) {
            Ok(queued) => queued,
            Err(error) => {
                tracing::warn!(%error, "unreadable job dropped");
                continue;
            }
        };
        let (publisher, replies) = (publisher.clone(), replies.clone());
        tokio::spawn(async move {
            run_one(&publisher, replies, queued).await;
            drop(permit);
        });
    }
}

/// Runs one job; status changes go back to the node in order.
async fn run_one(
    publisher: &BrokerPublisher,
    mut replies: redis::aio::ConnectionManager,
    queued: QueuedJob,
) {
    let task_id = queued.job.task.id;
    tracing::info!(task = %task_id, title = queued.job.task.title, "running");
    let (tx, mut rx) = mpsc::unbounded_channel::<(TaskStatus, u8)>();
    let reply_to = queued.reply_to.clone();
    let forward = tokio::spawn(async move {
        while let Some((status, progress)) = rx.recv().await {
            let change = StatusChange {
                task_id,
                status,
                progress,
            };
            let Ok(text) = serde_json::to_string(&change) else {
                continue;
            };
            if let Err(error) = replies.rpush::<_, _, ()>(&reply_to, text).await {
                tracing::warn!(%error, "status change not sent back");
            }
        }
    });
    run_job(publisher, &queued.job, |status, progress| {
        let _ = tx.send((status, progress));
    })
    .await;
    drop(tx);
    let _ = forward.await;
    tracing::info!(task = %task_id, "done");
}
