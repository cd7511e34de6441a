//! The tasks API's channel families: each task's progress, and each task's
//! comments. Declared once here; the server checks what clients publish
//! into them, and the generated clients subscribe to them by their typed
//! parameters (`subscribeTaskProgress({ taskId, owner })`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall_core::messages::TaskEvent;
use wirecall_core::websocket_channel;

/// A task's progress: `task_update` per step, then `task_complete` or
/// `task_error`. Only the owner may subscribe; only the server publishes.
#[websocket_channel("tasks:{task_id}#{owner}", payload = TaskEvent)]
pub struct TaskProgress {
    /// The task.
    pub task_id: uuid::Uuid,
    /// The user it belongs to.
    pub owner: String,
}

/// A comment on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskComment {
    /// What was said.
    pub text: String,
}

/// The owner's comments on a task, live in every tab they have open: the
/// page publishes them, the server checks each against `TaskComment`.
#[websocket_channel("comments:{task_id}#{owner}", payload = TaskComment)]
pub struct TaskComments {
    /// The task.
    pub task_id: uuid::Uuid,
    /// The user it belongs to.
    pub owner: String,
}
