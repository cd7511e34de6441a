//! `ApiClient`: the server's HTTP API from any process (a worker, a cron
//! job, a CLI). It implements [`Publisher`], so the messaging helpers and
//! the task notifier work over HTTP exactly as they do in the server.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use wirecall_core::channel::personal_channel;
use wirecall_core::protocol::StreamPosition;
use wirecall_core::publish::BoxFuture;
use wirecall_core::{Publisher, RpcError, code};

use crate::error::BoxError;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The server answered with the API's error object.
    #[error("{0}")]
    Rpc(RpcError),
    /// The key was missing or wrong (HTTP 401).
    #[error("the server refused the API key (HTTP 401)")]
    Unauthorized,
    /// The server could not be reached, or the connection broke before the
    /// answer was read; the HTTP client's error is the `source()`.
    #[error("cannot reach the server at {url}")]
    Unreachable {
        /// The API URL.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// Any other HTTP status, or a body that is not the API's shape.
    #[error("unexpected response from the server (HTTP {status}): {body}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
        /// Why the body was not the API's answer, when a decoder said so.
        #[source]
        source: Option<BoxError>,
    },
}

impl From<ApiError> for RpcError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Rpc(error) => error,
            ApiError::Unauthorized => RpcError::unauthorized(),
            // The reply reaches end users: the server's address and body
            // stay in the log, not in it.
            ApiError::Unreachable { ref source, .. } => {
                tracing::warn!(error = %error, cause = root_cause(source.as_ref()), "server API unreachable");
                RpcError::new(code::INTERNAL, "the server API is unreachable").retryable()
            }
            other => {
                tracing::warn!(error = %other, "unexpected answer from the server API");
                RpcError::internal()
            }
        }
    }
}

/// A client of `POST <url>/<method>` with an API key.
///
/// ```no_run
/// use wirecall_client::ApiClient;
/// use wirecall_core::PublisherExt;
/// use wirecall_core::messages::TaskUpdateStatus;
///
/// # async fn run() -> Result<(), wirecall_core::RpcError> {
/// let api = ApiClient::new("http://127.0.0.1:8000/api", "api-key");
/// let delivery = api.send_message("42", "Your report is ready", None).await?;
/// println!("delivered: {}", delivery.delivered);
/// api.task("t-1", "tasks:#42").update(TaskUpdateStatus::Processing, "halfway", 50, None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    url: String,
    key: String,
    personal_namespace: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    result: Option<T>,
    error: Option<RpcError>,
}

/// What `publish` answers.
#[derive(Debug, Default, Deserialize)]
struct Position {
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    epoch: String,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key: Debug output ends up in logs.
        f.debug_struct("ApiClient")
            .field("url", &self.url)
            .field("key", &"[redacted]")
            .field("personal_namespace", &self.personal_namespace)
            .finish()
    }
}

impl ApiClient {
    /// A client of the API at `url` (e.g. `http://127.0.0.1:8000/api`).
    pub fn new(url: impl Into<String>, key: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            http,
            url: url.into().trim_end_matches('/').to_owned(),
            key: key.into(),
            personal_namespace: "personal".to_owned(),
        }
    }

    fn unreachable(&self, error: reqwest::Error) -> ApiError {
        ApiError::Unreachable {
            url: self.url.clone(),
            source: Box::new(error),
        }
    }

    /// The namespace of personal channels on the server (`personal`).
    pub fn personal_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.personal_namespace = namespace.into();
        self
    }

    /// Calls any API method with a JSON request.
    ///
    /// # Errors
    /// The API's error, 401, an unreachable server or an unexpected answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        request: &Value,
    ) -> Result<T, ApiError> {
        let url = format!("{}/{method}", self.url);
        let response = self
            .http
            .post(&url)
            .header("X-API-Key", &self.key)
            .json(request)
            .send()
            .await
            .map_err(|error| self.unreachable(error))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ApiError::Unauthorized);
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| self.unreachable(error))?;
        let unexpected = |source: Option<BoxError>| ApiError::Unexpected {
            status: status.as_u16(),
            body: body_start(&body),
            source,
        };
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|error| unexpected(Some(Box::new(error))))?;
        match (envelope.result, envelope.error) {
            (_, Some(error)) => Err(ApiError::Rpc(error)),
            (Some(result), None) => Ok(result),
            (None, None) => Err(unexpected(None)),
        }
    }

    /// Publishes `data` into `channel`, at most once per `idempotency_key`
    /// within the server's window.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn publish_with_key(
        &self,
        channel: &str,
        data: &RawValue,
        idempotency_key: Option<&str>,
    ) -> Result<StreamPosition, ApiError> {
        let mut request = json!({ "channel": channel, "data": data });
        if let Some(key) = idempotency_key {
            request["idempotency_key"] = json!(key);
        }
        let position: Position = self.call("publish", &request).await?;
        Ok(StreamPosition {
            offset: position.offset,
            epoch: position.epoch,
        })
    }

    /// Live connections of `user` (a wirecall extension of the API).
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn connections_of(&self, user: &str) -> Result<usize, ApiError> {
        #[derive(Deserialize)]
        struct Connections {
            connections: usize,
        }
        let result: Connections = self
            .call("user_connections", &json!({ "user": user }))
            .await?;
        Ok(result.connections)
    }
}

/// The first 512 bytes of a body, for an error message.
fn body_start(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    text.into_owned()
}

/// The innermost error's text: "connection refused", not the URL again.
fn root_cause(error: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl Publisher for ApiClient {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        data: &'a RawValue,
    ) -> BoxFuture<'a, Result<StreamPosition, RpcError>> {
        Box::pin(async move { Ok(self.publish_with_key(channel, data, None).await?) })
    }

    fn user_connections<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<usize, RpcError>> {
        Box::pin(async move { Ok(self.connections_of(user).await?) })
    }

    fn personal_channel(&self, user: &str) -> Result<String, RpcError> {
        Ok(personal_channel(&self.personal_namespace, user))
    }
}

#[cfg(test)]
mod tests {
    use super::ApiClient;

    #[test]
    fn debug_output_never_shows_the_key() {
        let client = ApiClient::new("http://127.0.0.1:8000/api", "k3y-value");
        let shown = format!("{client:?}");
        assert!(!shown.contains("k3y-value"), "{shown}");
        assert!(shown.contains("127.0.0.1:8000"));
    }
}
