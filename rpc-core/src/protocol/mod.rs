//! The Centrifugo client protocol's JSON frames (shared/protocol.md §2–§6),
//! shared by the server and the Rust client.
//!
//! Field names are the protocol's snake_case names; `data` and `info` are
//! raw embedded JSON, never re-encoded; zero values are omitted except
//! where an SDK indexes the key unconditionally (§2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::RpcError;

#[cfg(feature = "protobuf")]
pub mod protobuf;

/// One client command. Exactly one request field is set; unknown fields
/// (newer SDK options such as `flag`) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Command<'a> {
    /// Matches the reply; 0 for `send` and for the pong `{}`.
    pub id: u32,
    /// Authenticate the connection.
    #[serde(borrow)]
    pub connect: Option<ConnectRequest<'a>>,
    /// Subscribe to a channel.
    #[serde(borrow)]
    pub subscribe: Option<SubscribeRequest<'a>>,
    /// Leave a channel.
    pub unsubscribe: Option<ChannelRequest>,
    /// Publish into a channel.
    #[serde(borrow)]
    pub publish: Option<PublishRequest<'a>>,
    /// Who is in a channel.
    pub presence: Option<ChannelRequest>,
    /// How many are in a channel.
    pub presence_stats: Option<ChannelRequest>,
    /// A channel's stream.
    pub history: Option<HistoryRequest>,
    /// Legacy client ping; no current SDK sends it.
    pub ping: Option<serde::de::IgnoredAny>,
    /// One-way message to the server.
    #[serde(borrow)]
    pub send: Option<SendRequest<'a>>,
    /// Call an RPC method.
    #[serde(borrow)]
    pub rpc: Option<RpcRequest<'a>>,
    /// Refresh the connection token.
    pub refresh: Option<RefreshRequest>,
    /// Refresh a subscription token.
    pub sub_refresh: Option<SubRefreshRequest>,
}

impl Command<'_> {
    /// How many requests the command carries: one is a command, none is
    /// the pong `{}` (with id 0), more is malformed.
    pub fn request_count(&self) -> usize {
        self.requests().into_iter().filter(|(set, _)| *set).count()
    }

    /// The name of the command's (first) request, as the protocol spells
    /// its field (`connect`, `rpc`, `sub_refresh`…); `ping` for none (the
    /// pong `{}`).
    pub fn kind(&self) -> &'static str {
        self.requests()
            .into_iter()
            .find_map(|(set, kind)| set.then_some(kind))
            .unwrap_or("ping")
    }

    /// Each request field: whether it is set, and its name.
    fn requests(&self) -> [(bool, &'static str); 12] {
        [
            (self.connect.is_some(), "connect"),
            (self.subscribe.is_some(), "subscribe"),
            (self.unsubscribe.is_some(), "unsubscribe"),
            (self.publish.is_some(), "publish"),
            (self.presence.is_some(), "presence"),
            (self.presence_stats.is_some(), "presence_stats"),
            (self.history.is_some(), "history"),
            (self.ping.is_some(), "ping"),
            (self.send.is_some(), "send"),
            (self.rpc.is_some(), "rpc"),
            (self.refresh.is_some(), "refresh"),
            (self.sub_refresh.is_some(), "sub_refresh"),
        ]
    }
}

/// `connect` request (§4.1).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConnectRequest<'a> {
    /// The connection JWT.
    pub token: Option<String>,
    /// Application data.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
    /// SDK or application name.
    pub name: Option<String>,
    /// Application version.
    pub version: Option<String>,
    /// Recovery positions of earlier server-side subscriptions.
    pub subs: BTreeMap<String, RecoverPosition>,
}

/// A server-side subscription's last position, sent on reconnect.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RecoverPosition {
    /// Whether recovery is asked for.
    pub recover: bool,
    /// Last seen offset.
    pub offset: u64,
    /// Last seen epoch.
    pub epoch: String,
}

/// `subscribe` request (§5.1).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubscribeRequest<'a> {
    /// The channel.
    pub channel: String,
    /// A subscription token.
    pub token: Option<String>,
    /// Application data.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
    /// The client asks for missed publications since `offset`/`epoch`.
    pub recover: bool,
    /// Last seen offset.
    pub offset: u64,
    /// Last seen epoch.
    pub epoch: String,
    /// The client asks for stream positioning.
    pub positioned: bool,
    /// The client asks for recovery support.
    pub recoverable: bool,
    /// The client wants join/leave pushes.
    pub join_leave: bool,
}

/// A request naming only a channel (`unsubscribe`, `presence`, `presence_stats`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChannelRequest {
    /// The channel.
    pub channel: String,
}

/// `publish` request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishRequest<'a> {
    /// The channel.
    pub channel: String,
    /// The payload.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
}

/// `history` request (§6.4).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HistoryRequest {
    /// The channel.
    pub channel: String,
    /// 0: position only; > 0: at most that many; -1: all (capped).
    pub limit: i32,
    /// Only publications after this position.
    pub since: Option<StreamPosition>,
    /// Newest first.
    pub reverse: bool,
}

/// `send` request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SendRequest<'a> {
    /// The payload.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
}

/// `rpc` request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RpcRequest<'a> {
    /// The method name (borrowed from the frame unless it has escapes).
    #[serde(borrow)]
    pub method: std::borrow::Cow<'a, str>,
    /// The params; absent or `null` means none.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
}

/// `refresh` request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RefreshRequest {
    /// The new connection token.
    pub token: String,
}

/// `sub_refresh` request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubRefreshRequest {
    /// The channel.
    pub channel: String,
    /// The new subscription token.
    pub token: String,
}

/// A position in a channel's stream.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamPosition {
    /// Offset of the newest publication (0: none yet).
    pub offset: u64,
    /// The stream's epoch; changes whenever the stream is lost or reset.
    pub epoch: String,
}

/// Who a connection is, as other clients see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientInfo {
    /// User id (always present, `""` for anonymous).
    pub user: String,
    /// Client id (always present).
    pub client: String,
    /// Connection info from the token.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub conn_info: Option<Box<RawValue>>,
    /// Channel-scoped info.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chan_info: Option<Box<RawValue>>,
}

/// One publication in a channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Publication {
    /// The payload.
    pub data: Box<RawValue>,
    /// The publishing client, when a client published it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub info: Option<ClientInfo>,
    /// Stream offset (0 when the channel has no history).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub offset: u64,
    /// Free-form tags.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tags: Option<BTreeMap<String, String>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The result of a subscription, in a reply, in `connect.subs` or in a
/// `subscribe` push (§5.2).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeResult {
    /// Credentials expire; the client must refresh.
    #[serde(skip_serializing_if = "is_false")]
    pub expires: bool,
    /// Seconds until expiry.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub ttl: u32,
    /// Recovery is on.
    #[serde(skip_serializing_if = "is_false")]
    pub recoverable: bool,
    /// The stream position is tracked.
    #[serde(skip_serializing_if = "is_false")]
    pub positioned: bool,
    /// Current epoch (always sent when positioned or recoverable).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub epoch: String,
    /// Current top offset, or the request's offset after recovery.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Recovered publications, ascending.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub publications: Vec<Publication>,
    /// Every missed publication was delivered.
    #[serde(skip_serializing_if = "is_false")]
    pub recovered: bool,
    /// The request asked for recovery.
    #[serde(skip_serializing_if = "is_false")]
    pub was_recovering: bool,
    /// Application data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// The connect result (§4.2).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectResult {
    /// The connection's id (always present).
    pub client: String,
    /// Server version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Credentials expire; the client must refresh.
    #[serde(skip_serializing_if = "is_false")]
    pub expires: bool,
    /// Seconds until expiry.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub ttl: u32,
    /// Application data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    /// Server-side subscriptions.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub subs: BTreeMap<String, SubscribeResult>,
    /// Server ping interval in seconds.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub ping: u32,
    /// The client must answer pings.
    #[serde(skip_serializing_if = "is_false")]
    pub pong: bool,
}

/// The refresh result.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshResult {
    /// The connection's id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    /// Credentials expire.
    #[serde(skip_serializing_if = "is_false")]
    pub expires: bool,
    /// Seconds until expiry.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub ttl: u32,
}

/// Presence result: client id → info, always an object.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceResult {
    /// Who is subscribed.
    pub presence: BTreeMap<String, ClientInfo>,
}

/// Presence stats result; both keys always present.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceStatsResult {
    /// Connections subscribed.
    pub num_clients: u32,
    /// Distinct users subscribed.
    pub num_users: u32,
}

impl PresenceStatsResult {
    /// Counts connections and distinct users in a presence map.
    pub fn of(presence: &BTreeMap<String, ClientInfo>) -> Self {
        let users: std::collections::BTreeSet<&str> =
            presence.values().map(|info| info.user.as_str()).collect();
        Self {
            num_clients: u32::try_from(presence.len()).unwrap_or(u32::MAX),
            num_users: u32::try_from(users.len()).unwrap_or(u32::MAX),
        }
    }
}

/// History result; every key always present.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryResult {
    /// The publications asked for.
    pub publications: Vec<Publication>,
    /// Current epoch.
    pub epoch: String,
    /// Current top offset.
    pub offset: u64,
}

/// RPC result.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcResult {
    /// The method's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

/// An empty result object (`"publish":{}`, `"unsubscribe":{}`).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct Empty {}

/// A reply to a command: `id` plus either `error` or exactly one result.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Reply {
    /// The command's id.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub id: u32,
    /// The failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
    /// An asynchronous push (id is 0 then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
    /// Connect result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectResult>,
    /// Subscribe result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<SubscribeResult>,
    /// Unsubscribe result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<Empty>,
    /// Publish result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<Empty>,
    /// Presence result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceResult>,
    /// Presence stats result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_stats: Option<PresenceStatsResult>,
    /// History result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryResult>,
    /// RPC result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc: Option<RpcResult>,
    /// Refresh result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshResult>,
    /// Subscription refresh result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_refresh: Option<RefreshResult>,
}

impl Reply {
    /// An error reply to command `id`.
    pub fn error(id: u32, error: RpcError) -> Self {
        Self {
            id,
            error: Some(error),
            ..Self::default()
        }
    }
}

/// An asynchronous message from the server (§3.3).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Push {
    /// The channel it concerns.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// A publication.
    #[serde(rename = "pub", skip_serializing_if = "Option::is_none")]
    pub publication: Option<Publication>,
    /// Someone subscribed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join: Option<InfoPush>,
    /// Someone left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave: Option<InfoPush>,
    /// The server ended a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<CodeReason>,
    /// The server added a server-side subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<SubscribeResult>,
    /// An asynchronous message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessagePush>,
    /// Disconnect (non-WebSocket transports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect: Option<CodeReason>,
}

/// Join/leave payload; `info` is always present.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InfoPush {
    /// Who joined or left.
    pub info: ClientInfo,
}

/// Unsubscribe/disconnect payload; both keys always present.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeReason {
    /// The code (§9.2, §9.3).
    pub code: u32,
    /// Human-readable reason.
    pub reason: String,
}

/// A `message` push.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessagePush {
    /// The payload.
    pub data: Box<RawValue>,
}

/// A WebSocket close code and reason that tells the SDKs whether to
/// reconnect (§9.3: 3000–3499 and 4000–4499 reconnect, 3500–3999 and
/// 4500–4999 do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// The close code.
    pub code: u16,
    /// The close reason; plain text, never JSON-looking, at most 123 bytes.
    pub reason: std::borrow::Cow<'static, str>,
}

impl Disconnect {
    /// Server shutting down; clients reconnect.
    pub const SHUTDOWN: Self = Self::new(3001, "shutdown");
    /// Server fault; clients reconnect.
    pub const INTERNAL: Self = Self::new(3004, "internal server error");
    /// Connection credentials expired; clients reconnect with a new token.
    pub const EXPIRED: Self = Self::new(3005, "connection expired");
    /// The client did not read fast enough; it may reconnect.
    pub const SLOW: Self = Self::new(3008, "slow");
    /// Writing to the client failed.
    pub const WRITE_ERROR: Self = Self::new(3009, "write error");
    /// Asked to reconnect (e.g. to rebalance).
    pub const FORCE_RECONNECT: Self = Self::new(3011, "force reconnect");
    /// No pong in time.
    pub const NO_PONG: Self = Self::new(3012, "no pong");
    /// Command rate limit.
    pub const TOO_MANY_REQUESTS: Self = Self::new(3013, "too many requests");
    /// Bad token: terminal.
    pub const INVALID_TOKEN: Self = Self::new(3500, "invalid token");
    /// Malformed input: terminal.
    pub const BAD_REQUEST: Self = Self::new(3501, "bad request");
    /// No connect in time: terminal.
    pub const STALE: Self = Self::new(3502, "stale");
    /// Disconnected by the server on purpose: terminal.
    pub const FORCE_DISCONNECT: Self = Self::new(3503, "force disconnect");
    /// Too many connections: terminal.
    pub const CONNECTION_LIMIT: Self = Self::new(3504, "connection limit");
    /// Too many channels: terminal.
    pub const CHANNEL_LIMIT: Self = Self::new(3505, "channel limit");
    /// Not allowed: terminal.
    pub const PERMISSION_DENIED: Self = Self::new(3507, "permission denied");

    /// A close code and reason.
    pub const fn new(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason: std::borrow::Cow::Borrowed(reason),
        }
    }

    /// A close with a reason made at run time (from the HTTP API), cut to
    /// the 123 bytes a close frame can carry.
    pub fn custom(code: u16, reason: &str) -> Self {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            code,
            reason: std::borrow::Cow::Owned(reason[..end].to_owned()),
        }
    }

    /// Whether the SDKs will reconnect after this close.
    pub fn reconnects(&self) -> bool {
        !matches!(self.code, 3500..=3999 | 4500..=4999)
    }
}

/// Unsubscribe push codes (§9.2): below 2500 terminal, 2500 and up resubscribe.
pub mod unsubscribe_code {
    /// Unsubscribed by the server: terminal.
    pub const SERVER: u32 = 2000;
    /// Missing state: the client resubscribes and recovers.
    pub const INSUFFICIENT_STATE: u32 = 2500;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_ignore_unknown_fields_and_borrow_data() {
        let cmd: Command<'_> = serde_json::from_str(
            r#"{"id":3,"subscribe":{"channel":"news","flag":1,"recover":true,"offset":2,"epoch":"e"}}"#,
        )
        .unwrap();
        let sub = cmd.subscribe.unwrap();
        assert_eq!((cmd.id, sub.channel.as_str(), sub.offset), (3, "news", 2));
        let cmd: Command<'_> =
            serde_json::from_str(r#"{"id":4,"rpc":{"method":"a.b","data":{"x":[1]}}}"#).unwrap();
        assert_eq!(cmd.rpc.unwrap().data.unwrap().get(), r#"{"x":[1]}"#);
    }

    #[test]
    fn required_keys_are_always_written() {
        let reply = Reply {
            id: 2,
            rpc: Some(RpcResult::default()),
            ..Reply::default()
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"id":2,"rpc":{}}"#
        );
        let reply = Reply {
            id: 5,
            history: Some(HistoryResult::default()),
            ..Reply::default()
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"id":5,"history":{"publications":[],"epoch":"","offset":0}}"#
        );
        let stats = serde_json::to_string(&PresenceStatsResult::default()).unwrap();
        assert_eq!(stats, r#"{"num_clients":0,"num_users":0}"#);
    }

    #[test]
    fn reconnect_policy_follows_code_ranges() {
        assert!(Disconnect::SHUTDOWN.reconnects());
        assert!(Disconnect::SLOW.reconnects());
        assert!(!Disconnect::INVALID_TOKEN.reconnects());
        assert!(!Disconnect::new(4501, "app").reconnects());
        assert!(Disconnect::new(4001, "app").reconnects());
    }
}
