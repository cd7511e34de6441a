//! The messaging actions the SDK fixtures run on request: every messaging
//! helper and the task notifier, through whichever publisher the test
//! names (in-process, the HTTP API, or a worker's broker publisher).
//! The variants and fields are the commands' JSON, which
//! tests/sdk/README.md documents.

#![allow(missing_docs)]

use serde::Deserialize;
use serde_json::{Value, json};
use wirecall_server::messages::{NotificationKind, TaskUpdateStatus};
use wirecall_server::publish::{Delivery, FileNotice, Notification};
use wirecall_server::{Publisher, PublisherExt};

/// One messaging helper call, as a fixture command names it.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Messaging {
    SendMessage {
        user: String,
        message: String,
        #[serde(default)]
        data: Option<Value>,
    },
    SendNotification {
        user: String,
        message: String,
        #[serde(default)]
        kind: NotificationKind,
        #[serde(default)]
        title: String,
        #[serde(default)]
        data: Option<Value>,
    },
    SendFile {
        user: String,
        file_url: String,
        #[serde(default)]
        file_name: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        file_size: Option<u64>,
    },
    BroadcastMessage {
        users: Vec<String>,
        message: String,
    },
    Task {
        task_id: String,
        channel: String,
        steps: Vec<TaskStep>,
    },
}

/// One step of a task run.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStep {
    Update {
        #[serde(default = "processing")]
        status: TaskUpdateStatus,
        message: String,
        progress: u8,
        #[serde(default)]
        data: Option<Value>,
    },
    Complete {
        message: String,
        #[serde(default)]
        result: Option<Value>,
    },
    Error {
        error: String,
        message: String,
    },
}

fn processing() -> TaskUpdateStatus {
    TaskUpdateStatus::Processing
}

/// Runs a messaging helper through any publisher.
pub async fn messaging(
    publisher: &(impl Publisher + ?Sized),
    action: Messaging,
) -> Result<Value, String> {
    let delivery = |d: Delivery| json!({"delivered": d.delivered, "offset": d.position.offset});
    let result = match action {
        Messaging::SendMessage {
            user,
            message,
            data,
        } => publisher
            .send_message(&user, &message, data)
            .await
            .map(delivery),
        Messaging::SendNotification {
            user,
            message,
            kind,
            title,
            data,
        } => {
            let notification = Notification {
                message,
                kind,
                title,
                data,
            };
            publisher
                .send_notification(&user, notification)
                .await
                .map(delivery)
        }
        Messaging::SendFile {
            user,
            file_url,
            file_name,
            message,
            file_size,
        } => {
            let file = FileNotice {
                file_url,
                file_name,
                message,
                file_size,
                data: None,
            };
            publisher.send_file(&user, file).await.map(delivery)
        }
        Messaging::BroadcastMessage { users, message } => publisher
            .broadcast_message(&message, &users, None)
            .await
            .map(|reached| json!({ "reached": reached })),
        Messaging::Task {
            task_id,
            channel,
            steps,
        } => {
            let task = publisher.task(&task_id, &channel);
            let mut outcome = Ok(json!({}));
            for step in steps {
                let sent = match step {
                    TaskStep::Update {
                        status,
                        message,
                        progress,
                        data,
                    } => task.update(status, &message, progress, data).await,
                    TaskStep::Complete { message, result } => task.complete(&message, result).await,
                    TaskStep::Error { error, message } => task.error(&error, &message).await,
                };
                if let Err(error) = sent {
                    outcome = Err(error);
                    break;
                }
            }
            outcome
        }
    };
    result.map_err(|e| e.to_string())
}
