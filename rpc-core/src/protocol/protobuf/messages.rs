//! The messages, field by field.

use std::collections::BTreeMap;

/// One client command; at most one request field is set.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Command {
    /// Matches the reply; 0 for `send` and the pong.
    #[prost(uint32, tag = "1")]
    pub id: u32,
    /// Authenticate the connection.
    #[prost(message, optional, tag = "4")]
    pub connect: Option<ConnectRequest>,
    /// Subscribe to a channel.
    #[prost(message, optional, tag = "5")]
    pub subscribe: Option<SubscribeRequest>,
    /// Leave a channel.
    #[prost(message, optional, tag = "6")]
    pub unsubscribe: Option<ChannelRequest>,
    /// Publish into a channel.
    #[prost(message, optional, tag = "7")]
    pub publish: Option<PublishRequest>,
    /// Who is in a channel.
    #[prost(message, optional, tag = "8")]
    pub presence: Option<ChannelRequest>,
    /// How many are in a channel.
    #[prost(message, optional, tag = "9")]
    pub presence_stats: Option<ChannelRequest>,
    /// A channel's stream.
    #[prost(message, optional, tag = "10")]
    pub history: Option<HistoryRequest>,
    /// Legacy client ping.
    #[prost(message, optional, tag = "11")]
    pub ping: Option<Empty>,
    /// One-way message to the server.
    #[prost(message, optional, tag = "12")]
    pub send: Option<DataRequest>,
    /// Call an RPC method.
    #[prost(message, optional, tag = "13")]
    pub rpc: Option<RpcRequest>,
    /// Refresh the connection token.
    #[prost(message, optional, tag = "14")]
    pub refresh: Option<RefreshRequest>,
    /// Refresh a subscription token.
    #[prost(message, optional, tag = "15")]
    pub sub_refresh: Option<SubRefreshRequest>,
}

/// `connect` request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectRequest {
    /// The connection JWT.
    #[prost(string, tag = "1")]
    pub token: String,
    /// Application data (JSON).
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
    /// Recovery positions of earlier server-side subscriptions.
    #[prost(btree_map = "string, message", tag = "3")]
    pub subs: BTreeMap<String, SubscribeRequest>,
    /// SDK or application name.
    #[prost(string, tag = "4")]
    pub name: String,
    /// Application version.
    #[prost(string, tag = "5")]
    pub version: String,
}

/// `subscribe` request (also a server-side subscription's position in
/// `connect.subs`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    pub channel: String,
    /// A subscription token.
    #[prost(string, tag = "2")]
    pub token: String,
    /// The client asks for missed publications since `offset`/`epoch`.
    #[prost(bool, tag = "3")]
    pub recover: bool,
    /// Last seen epoch.
    #[prost(string, tag = "6")]
    pub epoch: String,
    /// Last seen offset.
    #[prost(uint64, tag = "7")]
    pub offset: u64,
    /// Application data (JSON).
    #[prost(bytes = "vec", tag = "8")]
    pub data: Vec<u8>,
    /// The client asks for stream positioning.
    #[prost(bool, tag = "9")]
    pub positioned: bool,
    /// The client asks for recovery support.
    #[prost(bool, tag = "10")]
    pub recoverable: bool,
    /// The client wants join/leave pushes.
    #[prost(bool, tag = "11")]
    pub join_leave: bool,
}

/// A request naming only a channel (`unsubscribe`, `presence`,
/// `presence_stats`: three messages of one shape in the schema).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChannelRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    pub channel: String,
}

/// `publish` request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublishRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    pub channel: String,
    /// The payload (JSON).
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// `history` request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    pub channel: String,
    /// 0: position only; > 0: at most that many; -1: all (capped).
    #[prost(int32, tag = "7")]
    pub limit: i32,
    /// Only publications after this position.
    #[prost(message, optional, tag = "8")]
    pub since: Option<StreamPosition>,
    /// Newest first.
    #[prost(bool, tag = "9")]
    pub reverse: bool,
}

/// A position in a channel's stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamPosition {
    /// Offset of the newest publication.
    #[prost(uint64, tag = "1")]
    pub offset: u64,
    /// The stream's epoch.
    #[prost(string, tag = "2")]
    pub epoch: String,
}

/// A message with no fields (ping, unsubscribe and publish results).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Empty {}

/// `send` request and `message` push: a payload alone.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DataRequest {
    /// The payload (JSON).
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}

/// `rpc` request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcRequest {
    /// The params (JSON); empty means none.
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    /// The method name.
    #[prost(string, tag = "2")]
    pub method: String,
}

/// `refresh` request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RefreshRequest {
    /// The new connection token.
    #[prost(string, tag = "1")]
    pub token: String,
}

/// `sub_refresh` request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubRefreshRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    pub channel: String,
    /// The new subscription token.
    #[prost(string, tag = "2")]
    pub token: String,
}

/// A reply to a command, or a push (id 0); empty, it is the server's ping.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Reply {
    /// The command's id.
    #[prost(uint32, tag = "1")]
    pub id: u32,
    /// The failure.
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    /// An asynchronous push.
    #[prost(message, optional, tag = "4")]
    pub push: Option<Push>,
    /// Connect result.
    #[prost(message, optional, tag = "5")]
    pub connect: Option<ConnectResult>,
    /// Subscribe result.
    #[prost(message, optional, tag = "6")]
    pub subscribe: Option<SubscribeResult>,
    /// Unsubscribe result.
    #[prost(message, optional, tag = "7")]
    pub unsubscribe: Option<Empty>,
    /// Publish result.
    #[prost(message, optional, tag = "8")]
    pub publish: Option<Empty>,
    /// Presence result.
    #[prost(message, optional, tag = "9")]
    pub presence: Option<PresenceResult>,
    /// Presence stats result.
    #[prost(message, optional, tag = "10")]
    pub presence_stats: Option<PresenceStatsResult>,
    /// History result.
    #[prost(message, optional, tag = "11")]
    pub history: Option<HistoryResult>,
    /// Legacy ping result.
    #[prost(message, optional, tag = "12")]
    pub ping: Option<Empty>,
    /// RPC result.
    #[prost(message, optional, tag = "13")]
    pub rpc: Option<RpcResult>,
    /// Refresh result.
    #[prost(message, optional, tag = "14")]
    pub refresh: Option<RefreshResult>,
    /// Subscription refresh result.
    #[prost(message, optional, tag = "15")]
    pub sub_refresh: Option<SubRefreshResult>,
}

/// A command's failure.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Error {
    /// The numeric code.
    #[prost(uint32, tag = "1")]
    pub code: u32,
    /// A message safe to show the caller.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Whether the same request may succeed later.
    #[prost(bool, tag = "3")]
    pub temporary: bool,
}

/// An asynchronous message from the server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Push {
    /// The channel it concerns.
    #[prost(string, tag = "2")]
    pub channel: String,
    /// A publication.
    #[prost(message, optional, tag = "4")]
    pub publication: Option<Publication>,
    /// Someone subscribed.
    #[prost(message, optional, tag = "5")]
    pub join: Option<InfoPush>,
    /// Someone left.
    #[prost(message, optional, tag = "6")]
    pub leave: Option<InfoPush>,
    /// The server ended a subscription.
    #[prost(message, optional, tag = "7")]
    pub unsubscribe: Option<Unsubscribe>,
    /// An asynchronous message.
    #[prost(message, optional, tag = "8")]
    pub message: Option<DataRequest>,
    /// The server added a server-side subscription.
    #[prost(message, optional, tag = "9")]
    pub subscribe: Option<Subscribe>,
    /// Disconnect (non-WebSocket transports).
    #[prost(message, optional, tag = "11")]
    pub disconnect: Option<DisconnectPush>,
}

/// Who a connection is, as other clients see it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientInfo {
    /// User id (`""` for anonymous).
    #[prost(string, tag = "1")]
    pub user: String,
    /// Client id.
    #[prost(string, tag = "2")]
    pub client: String,
    /// Connection info (JSON).
    #[prost(bytes = "vec", tag = "3")]
    pub conn_info: Vec<u8>,
    /// Channel info (JSON).
    #[prost(bytes = "vec", tag = "4")]
    pub chan_info: Vec<u8>,
}

/// One publication in a channel.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Publication {
    /// The payload (JSON).
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
    /// The publishing client.
    #[prost(message, optional, tag = "5")]
    pub info: Option<ClientInfo>,
    /// Stream offset.
    #[prost(uint64, tag = "6")]
    pub offset: u64,
    /// Free-form tags.
    #[prost(btree_map = "string, string", tag = "7")]
    pub tags: BTreeMap<String, String>,
}

/// Join and leave pushes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InfoPush {
    /// Who joined or left.
    #[prost(message, optional, tag = "1")]
    pub info: Option<ClientInfo>,
}

/// The `unsubscribe` push.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Unsubscribe {
    /// The code.
    #[prost(uint32, tag = "2")]
    pub code: u32,
    /// Human-readable reason.
    #[prost(string, tag = "3")]
    pub reason: String,
}

/// The `subscribe` push (a server-side subscription added).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Subscribe {
    /// Recovery is on.
    #[prost(bool, tag = "1")]
    pub recoverable: bool,
    /// Current epoch.
    #[prost(string, tag = "4")]
    pub epoch: String,
    /// Current top offset.
    #[prost(uint64, tag = "5")]
    pub offset: u64,
    /// The stream position is tracked.
    #[prost(bool, tag = "6")]
    pub positioned: bool,
    /// Application data (JSON).
    #[prost(bytes = "vec", tag = "7")]
    pub data: Vec<u8>,
}

/// The `disconnect` push.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DisconnectPush {
    /// The close code.
    #[prost(uint32, tag = "1")]
    pub code: u32,
    /// The close reason.
    #[prost(string, tag = "2")]
    pub reason: String,
    /// Whether the client should reconnect.
    #[prost(bool, tag = "3")]
    pub reconnect: bool,
}

/// The connect result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectResult {
    /// The connection's id.
    #[prost(string, tag = "1")]
    pub client: String,
    /// Server version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// Credentials expire.
    #[prost(bool, tag = "3")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "4")]
    pub ttl: u32,
    /// Application data (JSON).
    #[prost(bytes = "vec", tag = "5")]
    pub data: Vec<u8>,
    /// Server-side subscriptions.
    #[prost(btree_map = "string, message", tag = "6")]
    pub subs: BTreeMap<String, SubscribeResult>,
    /// Server ping interval in seconds.
    #[prost(uint32, tag = "7")]
    pub ping: u32,
    /// The client must answer pings.
    #[prost(bool, tag = "8")]
    pub pong: bool,
}

/// The result of a subscription.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeResult {
    /// Credentials expire.
    #[prost(bool, tag = "1")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "2")]
    pub ttl: u32,
    /// Recovery is on.
    #[prost(bool, tag = "3")]
    pub recoverable: bool,
    /// Current epoch.
    #[prost(string, tag = "6")]
    pub epoch: String,
    /// Recovered publications, ascending.
    #[prost(message, repeated, tag = "7")]
    pub publications: Vec<Publication>,
    /// Every missed publication was delivered.
    #[prost(bool, tag = "8")]
    pub recovered: bool,
    /// Current top offset.
    #[prost(uint64, tag = "9")]
    pub offset: u64,
    /// The stream position is tracked.
    #[prost(bool, tag = "10")]
    pub positioned: bool,
    /// Application data (JSON).
    #[prost(bytes = "vec", tag = "11")]
    pub data: Vec<u8>,
    /// The request asked for recovery.
    #[prost(bool, tag = "12")]
    pub was_recovering: bool,
}

/// The refresh result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RefreshResult {
    /// The connection's id.
    #[prost(string, tag = "1")]
    pub client: String,
    /// Server version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// Credentials expire.
    #[prost(bool, tag = "3")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "4")]
    pub ttl: u32,
}

/// The subscription refresh result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubRefreshResult {
    /// Credentials expire.
    #[prost(bool, tag = "1")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "2")]
    pub ttl: u32,
}

/// Presence result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PresenceResult {
    /// Client id → who.
    #[prost(btree_map = "string, message", tag = "1")]
    pub presence: BTreeMap<String, ClientInfo>,
}

/// Presence stats result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PresenceStatsResult {
    /// Connections subscribed.
    #[prost(uint32, tag = "1")]
    pub num_clients: u32,
    /// Distinct users subscribed.
    #[prost(uint32, tag = "2")]
    pub num_users: u32,
}

/// History result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryResult {
    /// The publications asked for.
    #[prost(message, repeated, tag = "1")]
    pub publications: Vec<Publication>,
    /// Current epoch.
    #[prost(string, tag = "2")]
    pub epoch: String,
    /// Current top offset.
    #[prost(uint64, tag = "3")]
    pub offset: u64,
}

/// RPC result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcResult {
    /// The method's result (JSON).
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}
