//! The publication payloads of the messaging layer: what a user's personal
//! channel and a task channel carry. Typed here once, so Rust code, the
//! generated clients and the browser agree on every field.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What arrives on a user's personal channel, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type")]
pub enum PersonalMessage {
    /// A text message.
    #[serde(rename = "user.message")]
    Message(UserMessage),
    /// A typed notification (success, error, info, warning).
    #[serde(rename = "user.notification")]
    Notification(UserNotification),
    /// A file ready for download.
    #[serde(rename = "user.file")]
    File(UserFile),
}

/// `{"type":"user.message",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserMessage {
    /// The recipient.
    pub username: String,
    /// The text.
    pub message: String,
    /// Extra data for the application.
    pub data: Value,
    /// When it was sent (UTC).
    pub timestamp: DateTime<Utc>,
}

/// How a notification is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// Green.
    Success,
    /// Red.
    Error,
    /// Blue (the default).
    #[default]
    Info,
    /// Orange.
    Warning,
}

/// `{"type":"user.notification",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserNotification {
    /// The recipient.
    pub username: String,
    /// How to show it.
    pub notification_type: NotificationKind,
    /// A short title.
    pub title: String,
    /// The text.
    pub message: String,
    /// Extra data for the application.
    pub data: Value,
    /// When it was sent (UTC).
    pub timestamp: DateTime<Utc>,
}

/// `{"type":"user.file",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserFile {
    /// The recipient.
    pub username: String,
    /// Where to download it.
    pub file_url: String,
    /// Its name.
    pub file_name: String,
    /// Its size in bytes; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// The text shown with it.
    pub message: String,
    /// Extra data for the application.
    pub data: Value,
    /// When it was sent (UTC).
    pub timestamp: DateTime<Utc>,
}

/// What arrives on a task channel, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskEvent {
    /// Progress.
    TaskUpdate(TaskUpdate),
    /// Done.
    TaskComplete(TaskComplete),
    /// Failed.
    TaskError(TaskError),
}

/// `{"type":"task_update",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskUpdate {
    /// The task.
    pub task_id: String,
    /// Where the task is: `processing` while it runs.
    pub status: TaskUpdateStatus,
    /// What it is doing.
    pub message: String,
    /// Percent done, 0 to 100.
    #[schemars(range(max = 100))]
    pub progress: u8,
    /// Extra data for the application.
    pub data: Value,
}

/// The `status` of a `task_update`: the values that pages following a
/// task's progress read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskUpdateStatus {
    /// Waiting to start: handed to a worker that has not taken it yet.
    Queued,
    /// Under way; the usual value.
    Processing,
}

/// The `status` of a `task_complete`, which has one value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskCompleteStatus {
    /// Done.
    #[default]
    Completed,
}

/// `{"type":"task_complete",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskComplete {
    /// The task.
    pub task_id: String,
    /// Always `completed`.
    pub status: TaskCompleteStatus,
    /// A closing message.
    pub message: String,
    /// What the task produced.
    pub result: Value,
}

/// `{"type":"task_error",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskError {
    /// The task.
    pub task_id: String,
    /// What went wrong.
    pub error: String,
    /// A message for the user.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wire_shapes() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .to_utc();
        let message = PersonalMessage::Message(UserMessage {
            username: "u1".into(),
            message: "hi".into(),
            data: json!({"k": 1}),
            timestamp: at,
        });
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            json!({"type": "user.message", "username": "u1", "message": "hi", "data": {"k": 1},
                   "timestamp": "2026-11-21T10:00:00Z"})
        );
        let update = TaskEvent::TaskUpdate(TaskUpdate {
            task_id: "t1".into(),
            status: TaskUpdateStatus::Processing,
            message: "step 1".into(),
            progress: 45,
            data: json!({}),
        });
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"type": "task_update", "task_id": "t1", "status": "processing",
                   "message": "step 1", "progress": 45, "data": {}})
        );
    }

    /// The rest of the wire contract: every payload the browsers and the
    /// generated clients read, field by field. A change here is a change
    /// for every client.
    #[test]
    fn every_payload_keeps_its_wire_shape() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .to_utc();
        let cases = [
            (
                serde_json::to_value(PersonalMessage::Notification(UserNotification {
                    username: "u1".into(),
                    notification_type: NotificationKind::Warning,
                    title: "T".into(),
                    message: "m".into(),
                    data: json!({}),
                    timestamp: at,
                })),
                json!({"type": "user.notification", "username": "u1",
                       "notification_type": "warning", "title": "T", "message": "m",
                       "data": {}, "timestamp": "2026-11-21T10:00:00Z"}),
            ),
            (
                serde_json::to_value(PersonalMessage::File(UserFile {
                    username: "u1".into(),
                    file_url: "https://x/r.csv".into(),
                    file_name: "r.csv".into(),
                    file_size: Some(2048),
                    message: "ready".into(),
                    data: json!({}),
                    timestamp: at,
                })),
                json!({"type": "user.file", "username": "u1", "file_url": "https://x/r.csv",
                       "file_name": "r.csv", "file_size": 2048, "message": "ready",
                       "data": {}, "timestamp": "2026-11-21T10:00:00Z"}),
            ),
            (
                serde_json::to_value(TaskEvent::TaskComplete(TaskComplete {
                    task_id: "t1".into(),
                    status: TaskCompleteStatus::Completed,
                    message: "done".into(),
                    result: json!({"n": 1}),
                })),
                json!({"type": "task_complete", "task_id": "t1", "status": "completed",
                       "message": "done", "result": {"n": 1}}),
            ),
            (
                serde_json::to_value(TaskEvent::TaskError(TaskError {
                    task_id: "t1".into(),
                    error: "boom".into(),
                    message: "failed".into(),
                })),
                json!({"type": "task_error", "task_id": "t1", "error": "boom",
                       "message": "failed"}),
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got.unwrap(), want);
        }
    }
}
