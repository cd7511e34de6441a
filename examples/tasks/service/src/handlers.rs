//! The RPC methods. Each checks its params (a bad request names the
//! field), acts on the caller's own tasks only, and returns a typed result.

use std::sync::Arc;

use serde_json::json;
use wirecall_core::publish::Notification;
use wirecall_core::{Conn, PublisherExt, RpcError, State, websocket_rpc};

use crate::jobs::{TaskJob, TaskQueue, run_job};
use crate::models::*;
use crate::store::TaskStore;

const MAX_STEPS: u32 = 1000;
const MAX_LIMIT: u32 = 1000;
const MAX_STEP_MS: u64 = 10_000;

fn check_limit(limit: u32) -> Result<usize, RpcError> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit as usize)
    } else {
        Err(RpcError::bad_request(format!(
            "limit: must be between 1 and {MAX_LIMIT}"
        )))
    }
}

/// Creates a pending task owned by the caller.
///
/// Errors: 107 (bad request) for an empty title or steps outside 1..=1000.
#[websocket_rpc("tasks.create")]
pub async fn create(
    conn: &Conn,
    State(store): State<TaskStore>,
    params: CreateTaskParams,
) -> Result<Task, RpcError> {
    let title = params.title.trim();
    if title.is_empty() {
        return Err(RpcError::bad_request("title: must not be empty"));
    }
    if !(1..=MAX_STEPS).contains(&params.steps) {
        return Err(RpcError::bad_request(format!(
            "steps: must be between 1 and {MAX_STEPS}"
        )));
    }
    store.create(conn.user_id(), title, params.steps)
}

/// One of the caller's tasks.
///
/// Errors: 404 "task not found" when it does not exist or is someone else's.
#[websocket_rpc("tasks.get")]
pub async fn get(
    conn: &Conn,
    State(store): State<TaskStore>,
    params: TaskRef,
) -> Result<Task, RpcError> {
    store.get(conn.user_id(), params.task_id)
}

/// The caller's tasks, newest first.
#[websocket_rpc("tasks.list")]
pub async fn list(
    conn: &Conn,
    State(store): State<TaskStore>,
    params: ListTasksParams,
) -> Result<TaskList, RpcError> {
    let limit = check_limit(params.limit)?;
    Ok(TaskList {
        tasks: store.list(conn.user_id(), params.status, limit),
    })
}

/// How many of the caller's newest tasks there are, and how many completed.
///
/// Errors: 103 (permission denied) for another user's stats.
#[websocket_rpc("tasks.get_stats")]
pub async fn get_stats(
    conn: &Conn,
    State(store): State<TaskStore>,
    params: TaskStatsParams,
) -> Result<TaskStats, RpcError> {
    let limit = check_limit(params.limit)?;
    let caller = conn.user_id();
    if params.user_id != caller {
        return Err(RpcError::permission_denied(
            "user_id: you may only read your own stats",
        ));
    }
    Ok(store.stats(caller, limit))
}

/// Starts the task in the background: it publishes a `task_update` per step
/// on the returned channel (only the owner may subscribe), then
/// `task_complete`, and sends the owner a success notification. With
/// `fail_at`, the run stops at that percent with `task_error` instead.
///
/// Errors: 404 "task not found"; 409 "task is already running".
#[websocket_rpc("tasks.run")]
pub async fn run(
    conn: &Conn,
    State(store): State<TaskStore>,
    params: RunTaskParams,
) -> Result<TaskRun, RpcError> {
    if params.step_ms > MAX_STEP_MS {
        return Err(RpcError::bad_request(format!(
            "step_ms: must be at most {MAX_STEP_MS}"
        )));
    }
    conn.publisher()?;
    let task = store.start(conn.user_id(), params.task_id)?;
    let channel = task.channel.clone();
    let job = TaskJob {
        task,
        step_ms: params.step_ms,
        fail_at: params.fail_at,
    };
    // A worker queue when the service was started with one (`--redis`).
    match conn.app_state().get::<Arc<dyn TaskQueue>>() {
        Some(queue) => {
            if let Err(error) = queue.enqueue(conn, job).await {
                // Not handed over: the caller may try again.
                store.update(params.task_id, TaskStatus::Pending, 0);
                return Err(error);
            }
        }
        None => {
            tokio::spawn(run_here(conn.clone(), store, job));
        }
    }
    Ok(TaskRun {
        task_id: params.task_id,
        channel,
    })
}

/// The background half of `tasks.run` when there is no worker queue.
async fn run_here(conn: Conn, store: Arc<TaskStore>, job: TaskJob) {
    let Ok(publisher) = conn.publisher() else {
        return;
    };
    let id = job.task.id;
    run_job(publisher, &job, |status, progress| {
        store.update(id, status, progress);
    })
    .await;
}

/// Sends `to_user` a notification on their personal channel.
///
/// Errors: 107 for an empty recipient or message.
#[websocket_rpc("notifications.send")]
pub async fn send(conn: &Conn, params: SendNotificationParams) -> Result<Delivery, RpcError> {
    if params.to_user.trim().is_empty() {
        return Err(RpcError::bad_request("to_user: must not be empty"));
    }
    if params.message.trim().is_empty() {
        return Err(RpcError::bad_request("message: must not be empty"));
    }
    let notification = Notification {
        message: params.message,
        kind: params.notification_type,
        title: params.title.unwrap_or_default(),
        data: Some(json!({"from": conn.user_id()})),
    };
    let delivery = conn
        .publisher()?
        .send_notification(&params.to_user, notification)
        .await?;
    Ok(Delivery {
        delivered: delivery.delivered,
    })
}

/// Who the caller is, and on how many connections.
#[websocket_rpc("users.whoami")]
pub async fn whoami(conn: &Conn) -> Result<WhoAmI, RpcError> {
    let connections = conn.publisher()?.user_connections(conn.user_id()).await?;
    Ok(WhoAmI {
        user_id: conn.user_id().to_owned(),
        client_id: conn.client_id().to_owned(),
        connections: u32::try_from(connections).unwrap_or(u32::MAX),
    })
}
