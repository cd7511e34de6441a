//! With `--redis`, `tasks.run` hands each run to a worker (`tasks
//! worker`) through a Redis list instead of running it in the node; the
//! worker publishes progress through Redis, so a browser on any node sees
//! it, and sends each status change back to the node that keeps the task
//! (a list of its own), which updates its store.

use std::sync::OnceLock;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tasks_service::{TaskJob, TaskQueue, TaskStatus, TaskStore};
use tokio::sync::OnceCell;
use uuid::Uuid;
use wirecall_server::publish::BoxFuture;
use wirecall_server::{Conn, RpcError};

/// The list workers take jobs from.
pub const JOBS: &str = "tasks-example:jobs";

/// A job as it waits in the list.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueuedJob {
    pub job: TaskJob,
    /// The list the node that queued it reads status changes from.
    pub reply_to: String,
}

/// A status change, from the worker to the node.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusChange {
    pub task_id: Uuid,
    pub status: TaskStatus,
    pub progress: u8,
}

/// The node's side of the queue.
pub struct RedisTaskQueue {
    client: redis::Client,
    commands: OnceCell<ConnectionManager>,
    replies: String,
    listening: OnceLock<()>,
}

impl RedisTaskQueue {
    /// A queue on the Redis at `url` (nothing is connected until the first
    /// run).
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("bad Redis URL {url}: {e}"))?;
        Ok(Self {
            client,
            commands: OnceCell::new(),
            replies: format!("tasks-example:status:{}", Uuid::new_v4()),
            listening: OnceLock::new(),
        })
    }

    async fn commands(&self) -> Result<ConnectionManager, RpcError> {
        self.commands
            .get_or_try_init(|| self.client.get_connection_manager())
            .await
            .cloned()
            .map_err(unavailable)
    }

    /// Starts, once, the task that applies status changes to this node's
    /// store (on a connection of its own: BLPOP blocks it).
    fn listen(&self, conn: &Conn) {
        if self.listening.set(()).is_err() {
            return;
        }
        let (client, replies, conn) = (self.client.clone(), self.replies.clone(), conn.clone());
        tokio::spawn(async move {
            let config = ConnectionManagerConfig::new().set_response_timeout(None);
            loop {
                let Ok(mut redis) = client
                    .get_connection_manager_with_config(config.clone())
                    .await
                else {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                };
                while let Ok(popped) = redis
                    .blpop::<_, Option<(String, String)>>(&replies, 5.0)
                    .await
                {
                    let (Some((_, text)), Ok(store)) = (popped, conn.state::<TaskStore>()) else {
                        continue;
                    };
                    if let Ok(change) = serde_json::from_str::<StatusChange>(&text) {
                        store.update(change.task_id, change.status, change.progress);
                    }
                }
            }
        });
    }
}

fn unavailable(error: impl std::fmt::Display) -> RpcError {
    tracing::error!(%error, "task queue unavailable");
    RpcError::internal()
}

impl TaskQueue for RedisTaskQueue {
    fn enqueue<'a>(&'a self, conn: &'a Conn, job: TaskJob) -> BoxFuture<'a, Result<(), RpcError>> {
        Box::pin(async move {
            let mut redis = self.commands().await?;
            self.listen(conn);
            let queued = QueuedJob {
                job,
                reply_to: self.replies.clone(),
            };
            let text = serde_json::to_string(&queued).map_err(unavailable)?;
            redis
                .rpush::<_, _, ()>(JOBS, text)
                .await
                .map_err(unavailable)
        })
    }
}
