//! Running a task: in this process, or handed to a worker through a queue.
//! Either way the run is [`run_job`]: steps published on the task's channel
//! through a `Publisher` (the node's, or a worker's on Redis), each status
//! change reported to whoever keeps the task.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use wirecall_core::messages::{NotificationKind, TaskUpdateStatus};
use wirecall_core::publish::{BoxFuture, Notification};
use wirecall_core::{Conn, Publisher, PublisherExt, RpcError};

use crate::models::{Task, TaskStatus};

/// One run of a task, as it travels to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskJob {
    /// The task as it was when the run started.
    pub task: Task,
    /// Milliseconds between steps.
    pub step_ms: u64,
    /// Fail when progress reaches this percent.
    pub fail_at: Option<u8>,
}

/// Where `tasks.run` sends a task when the service has workers; without
/// one in the server's state, tasks run in the node's own process.
pub trait TaskQueue: Send + Sync + 'static {
    /// Hands `job` over; `conn` is the caller's (status changes come back
    /// to the store of this node).
    fn enqueue<'a>(&'a self, conn: &'a Conn, job: TaskJob) -> BoxFuture<'a, Result<(), RpcError>>;
}

/// Runs `job`: a `task_update` per step on the task's channel, then
/// `task_complete` and a success notification to the owner, or, at
/// `fail_at`, `task_error`. `report` hears every status change.
pub async fn run_job(
    publisher: &(impl Publisher + ?Sized),
    job: &TaskJob,
    mut report: impl FnMut(TaskStatus, u8),
) {
    let task = &job.task;
    let notifier = publisher.task(&task.id.to_string(), &task.channel);
    let step = Duration::from_millis(job.step_ms);
    for done in 1..=task.steps {
        tokio::time::sleep(step).await;
        let progress = u8::try_from(done * 100 / task.steps).unwrap_or(100);
        if job.fail_at.is_some_and(|at| progress >= at) {
            report(TaskStatus::Failed, progress);
            let failed = notifier.error("failed_on_purpose", "The run failed (fail_at)");
            if let Err(error) = failed.await {
                tracing::warn!(task = %task.id, %error, "task error not published");
            }
            return;
        }
        report(TaskStatus::Running, progress);
        let message = format!("step {done} of {}", task.steps);
        if let Err(error) = notifier
            .update(TaskUpdateStatus::Processing, &message, progress, None)
            .await
        {
            tracing::warn!(task = %task.id, %error, "task update not published");
        }
    }
    report(TaskStatus::Completed, 100);
    let result = json!({"title": task.title, "steps": task.steps});
    if let Err(error) = notifier.complete("Task completed", Some(result)).await {
        tracing::warn!(task = %task.id, %error, "task completion not published");
    }
    let notification = Notification {
        message: format!("“{}” is done", task.title),
        kind: NotificationKind::Success,
        title: "Task completed".into(),
        data: Some(json!({"task_id": task.id})),
    };
    if let Err(error) = publisher.send_notification(&task.owner, notification).await {
        tracing::warn!(task = %task.id, %error, "completion notification not sent");
    }
}
