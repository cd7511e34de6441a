//! What a server is configured with: channel namespaces, limits, timings.
//! Defaults follow Centrifugo's where it has one, so teams moving over keep
//! the behaviour they know.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use wirecall_core::RpcError;
use wirecall_core::channel::Channel;

use crate::broker::PublishOptions;
use crate::setters::chained_setters;

/// Options of one channel namespace, named as in Centrifugo v6
/// (shared/protocol.md §7.4). Everything is off by default: a namespace
/// allows only what it says.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NamespaceOptions {
    /// Authenticated users may subscribe without a subscription token.
    pub allow_subscribe_for_client: bool,
    /// Anonymous users may subscribe too (with the previous option).
    pub allow_subscribe_for_anonymous: bool,
    /// Subscribed clients may publish.
    pub allow_publish_for_subscriber: bool,
    /// Any authenticated client may publish.
    pub allow_publish_for_client: bool,
    /// Anonymous users may publish under the two options above.
    pub allow_publish_for_anonymous: bool,
    /// Keep presence (who is subscribed).
    pub presence: bool,
    /// Subscribers may ask for presence.
    pub allow_presence_for_subscriber: bool,
    /// Any authenticated client may ask for presence.
    pub allow_presence_for_client: bool,
    /// Publish join/leave events (needs `presence`).
    pub join_leave: bool,
    /// Push join/leave to every subscriber, whether it asked or not.
    pub force_push_join_leave: bool,
    /// Publications kept per channel; history is on when this and
    /// `history_ttl` are both non-zero.
    pub history_size: usize,
    /// How long publications are kept.
    #[serde(with = "seconds")]
    pub history_ttl: Duration,
    /// Subscribers may read history.
    pub allow_history_for_subscriber: bool,
    /// Any authenticated client may read history.
    pub allow_history_for_client: bool,
    /// Recovery for every subscriber.
    pub force_recovery: bool,
    /// Recovery for subscribers that ask (`recoverable: true`).
    pub allow_recovery: bool,
    /// Positioning for every subscriber.
    pub force_positioning: bool,
    /// Positioning for subscribers that ask.
    pub allow_positioning: bool,
    /// Channels with `#` are open to the users listed after it.
    pub allow_user_limited_channels: bool,
    /// How long a channel's stream position (epoch and top offset) is kept
    /// after its last publish or read (0: 30 days, Centrifugo's library
    /// default). After it the channel starts a new epoch.
    #[serde(with = "seconds")]
    pub history_meta_ttl: Duration,
    /// Most channels of this namespace whose stream state the in-memory
    /// broker keeps (0: 100,000); past it the least recently used goes
    /// first. Its subscribers notice the new epoch and resubscribe.
    pub history_max_channels: usize,
}

/// The stream position's lifetime when a namespace does not set one.
const DEFAULT_HISTORY_META_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Channels with stream state per namespace when a namespace does not
/// set it.
const DEFAULT_HISTORY_MAX_CHANNELS: usize = 100_000;

impl NamespaceOptions {
    /// Whether history (and so recovery) is on.
    pub fn history_enabled(&self) -> bool {
        self.history_size > 0 && !self.history_ttl.is_zero()
    }

    /// The stream bounds of this namespace's channels.
    pub fn history_policy(&self) -> crate::broker::HistoryPolicy {
        let meta_ttl = if self.history_meta_ttl.is_zero() {
            DEFAULT_HISTORY_META_TTL
        } else {
            self.history_meta_ttl
        };
        let max_channels = if self.history_max_channels == 0 {
            DEFAULT_HISTORY_MAX_CHANNELS
        } else {
            self.history_max_channels
        };
        crate::broker::HistoryPolicy {
            size: self.history_size,
            ttl: self.history_ttl,
            // A position must outlive the publications it counts.
            meta_ttl: meta_ttl.max(self.history_ttl),
            max_channels,
        }
    }

    /// The usual public channel: clients subscribe and publish, presence with
    /// join/leave, `size` publications of history for `ttl`, recovery forced.
    pub fn public(size: usize, ttl: Duration) -> Self {
        Self {
            allow_subscribe_for_client: true,
            allow_publish_for_subscriber: true,
            presence: true,
            allow_presence_for_subscriber: true,
            join_leave: true,
            history_size: size,
            history_ttl: ttl,
            allow_history_for_subscriber: true,
            force_recovery: true,
            ..Self::default()
        }
    }
}

chained_setters!(NamespaceOptions {
    allow_subscribe_for_client: bool,
    allow_subscribe_for_anonymous: bool,
    allow_publish_for_subscriber: bool,
    allow_publish_for_client: bool,
    allow_publish_for_anonymous: bool,
    presence: bool,
    allow_presence_for_subscriber: bool,
    allow_presence_for_client: bool,
    join_leave: bool,
    force_push_join_leave: bool,
    history_size: usize,
    history_ttl: Duration,
    allow_history_for_subscriber: bool,
    allow_history_for_client: bool,
    force_recovery: bool,
    allow_recovery: bool,
    force_positioning: bool,
    allow_positioning: bool,
    allow_user_limited_channels: bool,
    history_meta_ttl: Duration,
    history_max_channels: usize,
});

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

/// Every limit a connection is held to, with Centrifugo's defaults where it
/// has one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Largest incoming WebSocket message (64 KiB); larger closes with 1009.
    pub max_message_size: usize,
    /// Channels one connection may be subscribed to (128); more → error 106.
    pub max_channels_per_connection: usize,
    /// Bytes queued for one connection (1 MiB) before it is closed as slow
    /// (3008).
    pub outbound_queue_bytes: usize,
    /// Connections the server accepts in total (`None`: unlimited).
    pub max_connections: Option<usize>,
    /// Connections one user may hold (`None`: unlimited).
    pub max_connections_per_user: Option<usize>,
    /// Commands per second one connection may send, with a burst of the
    /// same size (`None`: unlimited); more → error 111. Off by default;
    /// `Some(100)` is a good production value (far above what an SDK sends
    /// for a page, and it stops one script from spending a core).
    pub commands_per_second: Option<u32>,
    /// RPC calls in flight on one connection (1024); more → error 111.
    pub max_in_flight_rpcs: usize,
    /// How long a handler may run (30 s); longer fails the call with 100.
    pub rpc_timeout: Duration,
    /// Most publications one history request returns (300).
    pub history_max_publications: usize,
    /// Most publications one recovery returns (300).
    pub recovery_max_publications: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 64 * 1024,
            max_channels_per_connection: 128,
            outbound_queue_bytes: 1024 * 1024,
            max_connections: None,
            max_connections_per_user: None,
            commands_per_second: None,
            max_in_flight_rpcs: 1024,
            rpc_timeout: Duration::from_secs(30),
            history_max_publications: 300,
            recovery_max_publications: 300,
        }
    }
}

chained_setters!(Limits {
    max_message_size: usize,
    max_channels_per_connection: usize,
    outbound_queue_bytes: usize,
    max_connections: Option<usize>,
    max_connections_per_user: Option<usize>,
    commands_per_second: Option<u32>,
    max_in_flight_rpcs: usize,
    rpc_timeout: Duration,
    history_max_publications: usize,
    recovery_max_publications: usize,
});

/// Liveness and lifecycle timings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Timings {
    /// Server ping interval (25 s); the SDKs answer with a pong.
    pub ping_interval: Duration,
    /// How long to wait for a pong (8 s) before closing with 3012.
    pub pong_timeout: Duration,
    /// How long a new socket may take to send `connect` (10 s) before 3502.
    pub connect_timeout: Duration,
    /// How long a new TCP connection may take to send its request headers
    /// (the WebSocket upgrade, an API call) before it is closed (10 s):
    /// slow or silent sockets cannot pile up.
    pub http_header_timeout: Duration,
    /// Grace after token expiry before closing with 3005 (25 s).
    pub expired_close_delay: Duration,
    /// How long shutdown waits for in-flight calls (10 s).
    pub shutdown_grace: Duration,
    /// How long a write may block before the client counts as gone (10 s).
    pub write_timeout: Duration,
    /// How long a presence entry lives unless its node refreshes it (60 s,
    /// as Centrifugo): the clients of a node that died drop out on their own.
    pub presence_ttl: Duration,
    /// How often a node refreshes its subscribers' presence (25 s).
    pub presence_refresh_interval: Duration,
    /// How often positioned subscriptions are compared with their streams
    /// (40 s, as Centrifugo).
    pub position_check_interval: Duration,
    /// How often a node announces itself to the others (3 s).
    pub node_announce_interval: Duration,
    /// How long a node counts as alive after its last announcement (7 s).
    pub node_ttl: Duration,
    /// How long a question to every node (user connections, channels)
    /// waits for the slowest (3 s).
    pub survey_timeout: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(8),
            connect_timeout: Duration::from_secs(10),
            http_header_timeout: Duration::from_secs(10),
            expired_close_delay: Duration::from_secs(25),
            shutdown_grace: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            presence_ttl: Duration::from_secs(60),
            presence_refresh_interval: Duration::from_secs(25),
            position_check_interval: Duration::from_secs(40),
            node_announce_interval: Duration::from_secs(3),
            node_ttl: Duration::from_secs(7),
            survey_timeout: Duration::from_secs(3),
        }
    }
}

chained_setters!(Timings {
    ping_interval: Duration,
    pong_timeout: Duration,
    connect_timeout: Duration,
    http_header_timeout: Duration,
    expired_close_delay: Duration,
    shutdown_grace: Duration,
    write_timeout: Duration,
    presence_ttl: Duration,
    presence_refresh_interval: Duration,
    position_check_interval: Duration,
    node_announce_interval: Duration,
    node_ttl: Duration,
    survey_timeout: Duration,
});

/// Channel configuration: namespaces and the personal channel.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Channels {
    /// Options per namespace name.
    pub namespaces: HashMap<String, NamespaceOptions>,
    /// Options of channels without a namespace (closed by default).
    pub default_namespace: NamespaceOptions,
    /// Namespace of each user's personal channel (`personal` →
    /// `personal:#42`); `None` disables personal channels.
    pub personal_namespace: Option<String>,
}

impl Channels {
    /// The options of a channel by name: 107 for a malformed name, 102 for
    /// a namespace that is not configured.
    pub(crate) fn options_of(&self, channel: &str) -> Result<&NamespaceOptions, RpcError> {
        if channel.is_empty() {
            return Err(RpcError::bad_request("channel required"));
        }
        let parsed = Channel::parse(channel).map_err(|e| RpcError::bad_request(e.to_string()))?;
        self.options_for(parsed)
            .ok_or_else(RpcError::unknown_channel)
    }

    /// How a publication into `channel` is made: into its stream when the
    /// namespace keeps history (unless `skip_history`), at most once per
    /// idempotency key.
    pub(crate) fn publish_options(
        &self,
        channel: &str,
        skip_history: bool,
        idempotency_key: Option<String>,
    ) -> Result<PublishOptions, RpcError> {
        let options = self.options_of(channel)?;
        Ok(PublishOptions {
            history: (options.history_enabled() && !skip_history).then(|| options.history_policy()),
            idempotency_key: idempotency_key.filter(|k| !k.is_empty()),
        })
    }

    /// The options that apply to `channel`, or `None` for a namespace that
    /// is not configured (error 102).
    pub fn options_for(
        &self,
        channel: wirecall_core::channel::Channel<'_>,
    ) -> Option<&NamespaceOptions> {
        match channel.namespace() {
            None => Some(&self.default_namespace),
            Some(namespace) => self.namespaces.get(namespace),
        }
    }
}

/// The namespace a channel is counted under (its stream state, its
/// metrics): `""` for the default namespace and for a malformed name.
pub(crate) fn namespace_of(channel: &str) -> &str {
    Channel::parse(channel)
        .ok()
        .and_then(Channel::namespace)
        .unwrap_or("")
}
