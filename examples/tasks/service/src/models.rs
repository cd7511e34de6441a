//! Params and results of the tasks API, as the clients see them.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wirecall_core::messages::NotificationKind;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Created, not started.
    Pending,
    /// Publishing progress now.
    Running,
    /// Finished.
    Completed,
    /// Stopped by an error.
    Failed,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// Its id.
    pub id: Uuid,
    /// What it is.
    pub title: String,
    /// The user who created it; only they see it.
    pub owner: String,
    /// Where it is.
    pub status: TaskStatus,
    /// Percent done, 0 to 100.
    pub progress: u8,
    /// How many steps a run takes.
    pub steps: u32,
    /// Where runs publish progress (`tasks:<id>#<owner>`); subscribe before
    /// `tasks.run` to see every step.
    pub channel: String,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
}

fn five() -> u32 {
    5
}

fn ten() -> u32 {
    10
}

fn fifty() -> u64 {
    50
}

/// `tasks.create`'s params.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CreateTaskParams {
    /// What the task is; not empty.
    pub title: String,
    /// How many progress steps a run publishes, 1 to 1000.
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 1000))]
    pub steps: u32,
}

/// Names one task.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct TaskRef {
    /// The task's id.
    pub task_id: Uuid,
}

/// `tasks.list`'s params.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ListTasksParams {
    /// Only tasks in this state.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// At most this many, 1 to 1000.
    #[serde(default = "ten")]
    pub limit: u32,
}

/// The caller's tasks, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {
    /// The tasks.
    pub tasks: Vec<Task>,
}

/// `tasks.get_stats`' params.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct TaskStatsParams {
    /// Whose stats: the caller's own user id.
    pub user_id: String,
    /// How many of the newest tasks to count, 1 to 1000.
    #[serde(default = "ten")]
    pub limit: u32,
}

/// Counts over a user's tasks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TaskStats {
    /// Tasks counted.
    pub total: u32,
    /// Of those, how many completed.
    pub completed: u32,
}

/// `tasks.run`'s params.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RunTaskParams {
    /// The task to run.
    pub task_id: Uuid,
    /// Milliseconds between progress steps, up to 10000.
    #[serde(default = "fifty")]
    pub step_ms: u64,
    /// Fail the run when progress reaches this percent (to see the error
    /// path).
    #[serde(default)]
    pub fail_at: Option<u8>,
}

/// A task that started running.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TaskRun {
    /// The task.
    pub task_id: Uuid,
    /// Where its progress is published; only the owner may subscribe.
    pub channel: String,
}

/// `notifications.send`'s params.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SendNotificationParams {
    /// The recipient's user id.
    pub to_user: String,
    /// The text.
    pub message: String,
    /// How to show it (default `info`).
    #[serde(default)]
    pub notification_type: NotificationKind,
    /// A short title.
    #[serde(default)]
    pub title: Option<String>,
}

/// Whether a notification reached a connected client.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// At least one connection of the recipient was subscribed.
    pub delivered: bool,
}

/// Who the caller is.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WhoAmI {
    /// The token's `sub`.
    pub user_id: String,
    /// This connection's id.
    pub client_id: String,
    /// How many connections the user has now (this one included).
    pub connections: u32,
}
