//! The error every handler call ends in, and the protocol's numeric codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Error codes the official Centrifugo SDKs understand (shared/protocol.md §9.1).
/// Named once, never renumbered. Codes 0–399 are the protocol's; applications
/// use 400–1999 ([`RpcError::application`]).
pub mod code {
    /// Server fault; always sent with `temporary: true`.
    pub const INTERNAL: u32 = 100;
    /// The connection is not authenticated.
    pub const UNAUTHORIZED: u32 = 101;
    /// The channel's namespace is not configured.
    pub const UNKNOWN_CHANNEL: u32 = 102;
    /// The caller may not do this.
    pub const PERMISSION_DENIED: u32 = 103;
    /// No RPC method of this name is registered.
    pub const METHOD_NOT_FOUND: u32 = 104;
    /// The connection is already subscribed to the channel.
    pub const ALREADY_SUBSCRIBED: u32 = 105;
    /// A configured limit was reached (channels per connection, …).
    pub const LIMIT_EXCEEDED: u32 = 106;
    /// The request is malformed or its params are invalid.
    pub const BAD_REQUEST: u32 = 107;
    /// The feature is off (history, presence, …).
    pub const NOT_AVAILABLE: u32 = 108;
    /// The connection or subscription token has expired.
    pub const TOKEN_EXPIRED: u32 = 109;
    /// The connection or subscription has expired.
    pub const EXPIRED: u32 = 110;
    /// Rate or concurrency limit; always sent with `temporary: true`.
    pub const TOO_MANY_REQUESTS: u32 = 111;
    /// The requested stream position is gone.
    pub const UNRECOVERABLE_POSITION: u32 = 112;

    /// The first code applications may use for their own errors.
    pub const APPLICATION_MIN: u32 = 400;
    /// The last code applications may use for their own errors.
    pub const APPLICATION_MAX: u32 = 1999;
}

/// An RPC failure as the client sees it: a numeric code to branch on, a
/// message for humans, and whether retrying may help.
///
/// On the wire it is the protocol's error object,
/// `{"code":107,"message":"…","temporary":true}` (`temporary` omitted when
/// false). Handlers return it directly or through any error type that
/// converts with `Into<RpcError>`, so `?` works:
///
/// ```
/// use wirecall_core::RpcError;
///
/// #[derive(Debug)]
/// enum TaskError { NotFound, Busy }
///
/// impl From<TaskError> for RpcError {
///     fn from(e: TaskError) -> Self {
///         match e {
///             TaskError::NotFound => RpcError::application(404, "task not found"),
///             TaskError::Busy => RpcError::application(409, "task is running").retryable(),
///         }
///     }
/// }
/// let wire = serde_json::to_string(&RpcError::from(TaskError::NotFound)).unwrap();
/// assert_eq!(wire, r#"{"code":404,"message":"task not found"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct RpcError {
    /// The numeric code (see [`code`]).
    pub code: u32,
    /// A message safe to show the caller.
    pub message: String,
    /// Whether the same request may succeed later.
    #[serde(default, skip_serializing_if = "is_false")]
    pub temporary: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl RpcError {
    /// An error with any code. Prefer the named constructors; this is for
    /// codes read back from the wire.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            temporary: false,
        }
    }

    /// An application error. Codes outside 400–1999 collide with the
    /// protocol's own or with the SDKs' local codes, so they are moved to
    /// the application range's edge and the mistake is logged.
    pub fn application(code: u32, message: impl Into<String>) -> Self {
        let clamped = code.clamp(code::APPLICATION_MIN, code::APPLICATION_MAX);
        if clamped != code {
            tracing::error!(
                code,
                clamped,
                "application error codes must be within 400..=1999"
            );
        }
        Self::new(clamped, message)
    }

    /// Marks the error as temporary: the client may retry the same request.
    pub fn retryable(mut self) -> Self {
        self.temporary = true;
        self
    }

    /// Internal server error (100). The message stays generic on purpose:
    /// log the cause, do not send it.
    pub fn internal() -> Self {
        Self::new(code::INTERNAL, "internal server error").retryable()
    }

    /// The connection is not authenticated (101).
    pub fn unauthorized() -> Self {
        Self::new(code::UNAUTHORIZED, "unauthorized")
    }

    /// Unknown channel (102).
    pub fn unknown_channel() -> Self {
        Self::new(code::UNKNOWN_CHANNEL, "unknown channel")
    }

    /// Permission denied (103), with a reason the caller may see.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(code::PERMISSION_DENIED, message)
    }

    /// Method not found (104).
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )
    }

    /// Already subscribed (105).
    pub fn already_subscribed() -> Self {
        Self::new(code::ALREADY_SUBSCRIBED, "already subscribed")
    }

    /// Limit exceeded (106).
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(code::LIMIT_EXCEEDED, message)
    }

    /// Bad request (107): say what is wrong, naming the field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(code::BAD_REQUEST, message)
    }

    /// Not available (108).
    pub fn not_available() -> Self {
        Self::new(code::NOT_AVAILABLE, "not available")
    }

    /// Token expired (109).
    pub fn token_expired() -> Self {
        Self::new(code::TOKEN_EXPIRED, "token expired")
    }

    /// Too many requests (111); always temporary.
    pub fn too_many_requests() -> Self {
        Self::new(code::TOO_MANY_REQUESTS, "too many requests").retryable()
    }

    /// Whether this is one of the protocol's own codes rather than an
    /// application's.
    pub fn is_protocol_error(&self) -> bool {
        self.code < code::APPLICATION_MIN
    }
}

/// `Result` with [`RpcError`] as the error, for handler signatures.
pub type Result<T, E = RpcError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_omits_false_temporary() {
        let json = serde_json::to_string(&RpcError::bad_request("limit: too big")).unwrap();
        assert_eq!(json, r#"{"code":107,"message":"limit: too big"}"#);
        let json = serde_json::to_string(&RpcError::internal()).unwrap();
        assert_eq!(
            json,
            r#"{"code":100,"message":"internal server error","temporary":true}"#
        );
    }

    #[test]
    fn application_codes_stay_in_their_range() {
        assert_eq!(RpcError::application(404, "x").code, 404);
        assert_eq!(RpcError::application(42, "x").code, code::APPLICATION_MIN);
        assert_eq!(RpcError::application(5000, "x").code, code::APPLICATION_MAX);
    }
}
