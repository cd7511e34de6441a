//! One publishing interface wherever code runs: in the server process
//! (`wirecall_server::Server::publisher`, or `Conn::publisher` in a handler) and
//! in any other process over the HTTP API (`wirecall_client::ApiClient`). The
//! messaging helpers and the task notifier are written once on top of it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use chrono::Utc;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::messages::{
    NotificationKind, PersonalMessage, TaskComplete, TaskCompleteStatus, TaskError, TaskEvent,
    TaskUpdate, TaskUpdateStatus, UserFile, UserMessage, UserNotification,
};
use crate::protocol::StreamPosition;
use crate::{ChannelFamily, RpcError};

/// A boxed future, so the trait stays object-safe (`&dyn Publisher`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The primitives every publisher provides.
pub trait Publisher: Send + Sync {
    /// Publishes `data` into `channel`; the position is zero when the
    /// channel keeps no history.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        data: &'a RawValue,
    ) -> BoxFuture<'a, Result<StreamPosition, RpcError>>;

    /// Live connections of `user` subscribed to their personal channel.
    fn user_connections<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<usize, RpcError>>;

    /// The personal channel of `user` (`personal:#42`).
    ///
    /// # Errors
    /// Not available (108) when personal channels are off.
    fn personal_channel(&self, user: &str) -> Result<String, RpcError>;
}

/// What a message to a user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The user had at least one live connection when it was published.
    pub delivered: bool,
    /// Where it landed in the personal channel's stream.
    pub position: StreamPosition,
}

/// A notification to send (`send_notification`).
#[derive(Debug, Clone, Default)]
pub struct Notification {
    /// The text.
    pub message: String,
    /// How it is shown (info by default).
    pub kind: NotificationKind,
    /// A short title (empty by default).
    pub title: String,
    /// Extra data (`{}` by default).
    pub data: Option<Value>,
}

/// A file-ready notice to send (`send_file`).
#[derive(Debug, Clone, Default)]
pub struct FileNotice {
    /// Where to download it.
    pub file_url: String,
    /// Its name; the URL's last path segment when `None`.
    pub file_name: Option<String>,
    /// The text; "File ready for download" when `None`.
    pub message: Option<String>,
    /// Its size in bytes.
    pub file_size: Option<u64>,
    /// Extra data (`{}` by default).
    pub data: Option<Value>,
}

fn encode<T: Serialize>(value: &T) -> Result<Box<RawValue>, RpcError> {
    serde_json::value::to_raw_value(value).map_err(|error| {
        tracing::error!(%error, "publication failed to serialise");
        RpcError::internal()
    })
}

fn require_user(user: &str) -> Result<(), RpcError> {
    if user.is_empty() {
        Err(RpcError::bad_request("user required"))
    } else {
        Ok(())
    }
}

/// The last path segment of a URL, without query or fragment.
fn file_name_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty() && !name.contains(':'))
        .unwrap_or("download")
        .to_owned()
}

/// The messaging helpers, available on every [`Publisher`].
pub trait PublisherExt: Publisher {
    /// Publishes the same data into several channels; one result each, in
    /// order.
    fn broadcast<'a>(
        &'a self,
        channels: &'a [String],
        data: &'a RawValue,
    ) -> impl Future<Output = Vec<Result<StreamPosition, RpcError>>> + Send + 'a {
        async move {
            let mut results = Vec::with_capacity(channels.len());
            for channel in channels {
                results.push(self.publish(channel, data).await);
            }
            results
        }
    }

    /// Whether `user` has a live connection now.
    fn is_connected<'a>(
        &'a self,
        user: &'a str,
    ) -> impl Future<Output = Result<bool, RpcError>> + Send + 'a {
        async move { Ok(self.user_connections(user).await? > 0) }
    }

    /// Publishes a personal message to `user`, saying whether they were
    /// connected.
    fn send_personal<'a>(
        &'a self,
        user: &'a str,
        message: &'a PersonalMessage,
    ) -> impl Future<Output = Result<Delivery, RpcError>> + Send + 'a {
        async move {
            require_user(user)?;
            let channel = self.personal_channel(user)?;
            let delivered = self.user_connections(user).await? > 0;
            let position = self.publish(&channel, &encode(message)?).await?;
            Ok(Delivery {
                delivered,
                position,
            })
        }
    }

    /// `{"type":"user.message",…}` to `user`.
    fn send_message<'a>(
        &'a self,
        user: &'a str,
        message: &'a str,
        data: Option<Value>,
    ) -> impl Future<Output = Result<Delivery, RpcError>> + Send + 'a {
        async move {
            let payload = PersonalMessage::Message(UserMessage {
                username: user.to_owned(),
                message: message.to_owned(),
                data: data.unwrap_or_else(|| json!({})),
                timestamp: Utc::now(),
            });
            self.send_personal(user, &payload).await
        }
    }

    /// `{"type":"user.notification",…}` to `user`.
    fn send_notification<'a>(
        &'a self,
        user: &'a str,
        notification: Notification,
    ) -> impl Future<Output = Result<Delivery, RpcError>> + Send + 'a {
        async move {
            let payload = PersonalMessage::Notification(UserNotification {
                username: user.to_owned(),
                notification_type: notification.kind,
                title: notification.title,
                message: notification.message,
                data: notification.data.unwrap_or_else(|| json!({})),
                timestamp: Utc::now(),
            });
            self.send_personal(user, &payload).await
        }
    }

    /// `{"type":"user.file",…}` to `user`.
    fn send_file<'a>(
        &'a self,
        user: &'a str,
        file: FileNotice,
    ) -> impl Future<Output = Result<Delivery, RpcError>> + Send + 'a {
        async move {
            if file.file_url.is_empty() {
                return Err(RpcError::bad_request("file_url required"));
            }
            let payload = PersonalMessage::File(UserFile {
                username: user.to_owned(),
                file_name: file
                    .file_name
                    .unwrap_or_else(|| file_name_of(&file.file_url)),
                file_url: file.file_url,
                file_size: file.file_size,
                message: file
                    .message
                    .unwrap_or_else(|| "File ready for download".to_owned()),
                data: file.data.unwrap_or_else(|| json!({})),
                timestamp: Utc::now(),
            });
            self.send_personal(user, &payload).await
        }
    }

    /// A message to each of `users` (each user once); how many had a live
    /// connection. An empty name fails the whole call before anything is
    /// sent.
    fn broadcast_message<'a>(
        &'a self,
        message: &'a str,
        users: &'a [String],
        data: Option<Value>,
    ) -> impl Future<Output = Result<usize, RpcError>> + Send + 'a {
        async move {
            // All or nothing for bad input: check every name before sending.
            if users.iter().any(String::is_empty) {
                return Err(RpcError::bad_request(
                    "user required (an empty user name was given)",
                ));
            }
            let mut seen = std::collections::HashSet::new();
            let mut reached = 0;
            for user in users.iter().filter(|user| seen.insert(user.as_str())) {
                if self
                    .send_message(user, message, data.clone())
                    .await?
                    .delivered
                {
                    reached += 1;
                }
            }
            Ok(reached)
        }
    }

    /// A channel of family `F`, named from `params`, to publish `F`'s
    /// payload into: `publisher.channel::<chat_room>(ChatRoom { room_id })
    /// .publish(&message)`.
    fn channel<F: ChannelFamily>(&self, params: F::Params) -> TypedChannel<'_, Self, F> {
        TypedChannel {
            publisher: self,
            name: F::channel(&params),
            family: PhantomData,
        }
    }

    /// A notifier for one task's progress on `channel`.
    fn task<'a>(&'a self, task_id: &str, channel: &str) -> TaskNotifier<'a, Self> {
        TaskNotifier {
            publisher: self,
            task_id: task_id.to_owned(),
            channel: channel.to_owned(),
        }
    }
}

impl<P: Publisher + ?Sized> PublisherExt for P {}

/// One channel of a family ([`PublisherExt::channel`]): its payload type
/// is checked at compile time.
pub struct TypedChannel<'a, P: ?Sized, F> {
    publisher: &'a P,
    /// The name, or why the parameters make none.
    name: Result<String, RpcError>,
    family: PhantomData<fn() -> F>,
}

impl<P: Publisher + ?Sized, F: ChannelFamily> TypedChannel<'_, P, F> {
    /// The channel's name.
    ///
    /// # Errors
    /// Bad request (107) when a parameter's value makes no valid name.
    pub fn name(&self) -> Result<&str, RpcError> {
        self.name.as_deref().map_err(Clone::clone)
    }

    /// Publishes `payload` into the channel.
    ///
    /// # Errors
    /// Bad request (107) for parameters that make no valid name; the
    /// publisher's errors.
    pub async fn publish(&self, payload: &F::Payload) -> Result<StreamPosition, RpcError>
    where
        F::Payload: Serialize,
    {
        let name = self.name()?;
        self.publisher.publish(name, &encode(payload)?).await
    }
}

/// Publishes one task's progress: `task_update`, then `task_complete` or
/// `task_error`. Awaiting each call before the next keeps them in order for
/// every subscriber.
pub struct TaskNotifier<'a, P: ?Sized> {
    publisher: &'a P,
    task_id: String,
    channel: String,
}

impl<P: Publisher + ?Sized> TaskNotifier<'_, P> {
    async fn send(&self, event: &TaskEvent) -> Result<StreamPosition, RpcError> {
        self.publisher.publish(&self.channel, &encode(event)?).await
    }

    /// `task_update` with `status` ([`TaskUpdateStatus::Processing`] while
    /// the task runs) and `progress`.
    ///
    /// # Errors
    /// Bad request (107) for progress over 100; the publisher's errors.
    pub async fn update(
        &self,
        status: TaskUpdateStatus,
        message: &str,
        progress: u8,
        data: Option<Value>,
    ) -> Result<StreamPosition, RpcError> {
        if progress > 100 {
            return Err(RpcError::bad_request(format!(
                "progress must be within 0..=100, got {progress}"
            )));
        }
        self.send(&TaskEvent::TaskUpdate(TaskUpdate {
            task_id: self.task_id.clone(),
            status,
            message: message.to_owned(),
            progress,
            data: data.unwrap_or_else(|| json!({})),
        }))
        .await
    }

    /// `task_complete` with the task's result.
    ///
    /// # Errors
    /// The publisher's errors.
    pub async fn complete(
        &self,
        message: &str,
        result: Option<Value>,
    ) -> Result<StreamPosition, RpcError> {
        self.send(&TaskEvent::TaskComplete(TaskComplete {
            task_id: self.task_id.clone(),
            status: TaskCompleteStatus::Completed,
            message: message.to_owned(),
            result: result.unwrap_or_else(|| json!({})),
        }))
        .await
    }

    /// `task_error`.
    ///
    /// # Errors
    /// The publisher's errors.
    pub async fn error(&self, error: &str, message: &str) -> Result<StreamPosition, RpcError> {
        self.send(&TaskEvent::TaskError(TaskError {
            task_id: self.task_id.clone(),
            error: error.to_owned(),
            message: message.to_owned(),
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::file_name_of;

    #[test]
    fn file_names_come_from_the_url() {
        assert_eq!(
            file_name_of("https://x.example/files/report.pdf?sig=1"),
            "report.pdf"
        );
        assert_eq!(file_name_of("https://x.example/a/b/"), "b");
        assert_eq!(file_name_of("https://x.example"), "x.example");
        assert_eq!(file_name_of("report.csv"), "report.csv");
    }
}
