//! Between the Protobuf messages and the JSON protocol's types. Payloads
//! move as they are: a JSON value's text becomes the bytes of a `data`
//! field, and a `data` field's bytes must be JSON to become a value.

use serde_json::value::RawValue;

use super::messages as pb;
use crate::RpcError;
use crate::protocol as json;

/// A `data` field that is not JSON (wirecall's payloads are typed JSON
/// values in both encodings). Names the field.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field} is not JSON")]
pub struct NotJson {
    /// The command's id, to answer it.
    pub id: u32,
    /// Which field, e.g. `rpc.data`.
    pub field: &'static str,
}

/// Empty bytes are no value; anything else must be one JSON value.
fn raw<'a>(id: u32, field: &'static str, bytes: &'a [u8]) -> Result<Option<&'a RawValue>, NotJson> {
    if bytes.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|_| NotJson { id, field })
}

impl pb::Command {
    /// How many requests the command carries (one is a command, none is
    /// the pong), as [`json::Command::request_count`].
    pub fn request_count(&self) -> usize {
        [
            self.connect.is_some(),
            self.subscribe.is_some(),
            self.unsubscribe.is_some(),
            self.publish.is_some(),
            self.presence.is_some(),
            self.presence_stats.is_some(),
            self.history.is_some(),
            self.ping.is_some(),
            self.send.is_some(),
            self.rpc.is_some(),
            self.refresh.is_some(),
            self.sub_refresh.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }

    /// The command's RPC when it is one alone, read without converting the
    /// whole command (the hot path). Its data is not checked here: the
    /// handler's decoder parses it, and [`NotJson`] is for the caller to
    /// tell when that decoding fails.
    pub fn only_rpc(&self) -> Option<&pb::RpcRequest> {
        self.rpc.as_ref().filter(|_| self.request_count() == 1)
    }
}

impl<'a> TryFrom<&'a pb::Command> for json::Command<'a> {
    type Error = NotJson;

    fn try_from(command: &'a pb::Command) -> Result<Self, NotJson> {
        let id = command.id;
        let channel = |request: &Option<pb::ChannelRequest>| {
            request.as_ref().map(|r| json::ChannelRequest {
                channel: r.channel.clone(),
            })
        };
        Ok(json::Command {
            id,
            connect: command
                .connect
                .as_ref()
                .map(|c| connect_request(id, c))
                .transpose()?,
            subscribe: command
                .subscribe
                .as_ref()
                .map(|s| subscribe_request(id, s))
                .transpose()?,
            unsubscribe: channel(&command.unsubscribe),
            publish: command
                .publish
                .as_ref()
                .map(|p| {
                    Ok(json::PublishRequest {
                        channel: p.channel.clone(),
                        data: raw(id, "publish.data", &p.data)?,
                    })
                })
                .transpose()?,
            presence: channel(&command.presence),
            presence_stats: channel(&command.presence_stats),
            history: command.history.as_ref().map(|h| json::HistoryRequest {
                channel: h.channel.clone(),
                limit: h.limit,
                since: h.since.as_ref().map(|s| json::StreamPosition {
                    offset: s.offset,
                    epoch: s.epoch.clone(),
                }),
                reverse: h.reverse,
            }),
            ping: command.ping.map(|_| serde::de::IgnoredAny),
            send: command
                .send
                .as_ref()
                .map(|s| {
                    Ok(json::SendRequest {
                        data: raw(id, "send.data", &s.data)?,
                    })
                })
                .transpose()?,
            rpc: command
                .rpc
                .as_ref()
                .map(|r| {
                    Ok(json::RpcRequest {
                        method: std::borrow::Cow::Borrowed(r.method.as_str()),
                        data: raw(id, "rpc.data", &r.data)?,
                    })
                })
                .transpose()?,
            refresh: command.refresh.as_ref().map(|r| json::RefreshRequest {
                token: r.token.clone(),
            }),
            sub_refresh: command
                .sub_refresh
                .as_ref()
                .map(|r| json::SubRefreshRequest {
                    channel: r.channel.clone(),
                    token: r.token.clone(),
                }),
        })
    }
}

/// An empty string is an absent one, as in the JSON protocol.
fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn connect_request(id: u32, c: &pb::ConnectRequest) -> Result<json::ConnectRequest<'_>, NotJson> {
    Ok(json::ConnectRequest {
        token: non_empty(&c.token),
        data: raw(id, "connect.data", &c.data)?,
        name: non_empty(&c.name),
        version: non_empty(&c.version),
        subs: c
            .subs
            .iter()
            .map(|(channel, s)| {
                let position = json::RecoverPosition {
                    recover: s.recover,
                    offset: s.offset,
                    epoch: s.epoch.clone(),
                };
                (channel.clone(), position)
            })
            .collect(),
    })
}

fn subscribe_request(
    id: u32,
    s: &pb::SubscribeRequest,
) -> Result<json::SubscribeRequest<'_>, NotJson> {
    Ok(json::SubscribeRequest {
        channel: s.channel.clone(),
        token: non_empty(&s.token),
        data: raw(id, "subscribe.data", &s.data)?,
        recover: s.recover,
        offset: s.offset,
        epoch: s.epoch.clone(),
        positioned: s.positioned,
        recoverable: s.recoverable,
        join_leave: s.join_leave,
    })
}

/// A JSON value's text as bytes, without a copy.
fn bytes(value: Box<RawValue>) -> Vec<u8> {
    Box::<str>::from(value).into_boxed_bytes().into_vec()
}

fn opt_bytes(value: Option<Box<RawValue>>) -> Vec<u8> {
    value.map(bytes).unwrap_or_default()
}

fn borrowed_bytes(value: Option<&RawValue>) -> Vec<u8> {
    value
        .map(|v| v.get().as_bytes().to_vec())
        .unwrap_or_default()
}

impl From<RpcError> for pb::Error {
    fn from(error: RpcError) -> Self {
        Self {
            code: error.code,
            message: error.message,
            temporary: error.temporary,
        }
    }
}

impl From<&json::ClientInfo> for pb::ClientInfo {
    fn from(info: &json::ClientInfo) -> Self {
        Self {
            user: info.user.clone(),
            client: info.client.clone(),
            conn_info: borrowed_bytes(info.conn_info.as_deref()),
            chan_info: borrowed_bytes(info.chan_info.as_deref()),
        }
    }
}

impl From<json::ClientInfo> for pb::ClientInfo {
    fn from(info: json::ClientInfo) -> Self {
        Self {
            user: info.user,
            client: info.client,
            conn_info: opt_bytes(info.conn_info),
            chan_info: opt_bytes(info.chan_info),
        }
    }
}

/// For fan-out: one publication encoded once for every subscriber.
impl From<&json::Publication> for pb::Publication {
    fn from(publication: &json::Publication) -> Self {
        Self {
            data: publication.data.get().as_bytes().to_vec(),
            info: publication.info.as_ref().map(Into::into),
            offset: publication.offset,
            tags: publication.tags.clone().unwrap_or_default(),
        }
    }
}

impl From<json::Publication> for pb::Publication {
    fn from(publication: json::Publication) -> Self {
        Self {
            data: bytes(publication.data),
            info: publication.info.map(Into::into),
            offset: publication.offset,
            tags: publication.tags.unwrap_or_default(),
        }
    }
}

fn publications(publications: Vec<json::Publication>) -> Vec<pb::Publication> {
    publications.into_iter().map(Into::into).collect()
}

impl From<json::SubscribeResult> for pb::SubscribeResult {
    fn from(result: json::SubscribeResult) -> Self {
        Self {
            expires: result.expires,
            ttl: result.ttl,
            recoverable: result.recoverable,
            epoch: result.epoch,
            publications: publications(result.publications),
            recovered: result.recovered,
            offset: result.offset,
            positioned: result.positioned,
            data: opt_bytes(result.data),
            was_recovering: result.was_recovering,
        }
    }
}

/// The push of a server-side subscription carries less than a reply.
impl From<json::SubscribeResult> for pb::Subscribe {
    fn from(result: json::SubscribeResult) -> Self {
        Self {
            recoverable: result.recoverable,
            epoch: result.epoch,
            offset: result.offset,
            positioned: result.positioned,
            data: opt_bytes(result.data),
        }
    }
}

impl From<json::ConnectResult> for pb::ConnectResult {
    fn from(result: json::ConnectResult) -> Self {
        Self {
            client: result.client,
            version: result.version,
            expires: result.expires,
            ttl: result.ttl,
            data: opt_bytes(result.data),
            subs: result
                .subs
                .into_iter()
                .map(|(channel, sub)| (channel, sub.into()))
                .collect(),
            ping: result.ping,
            pong: result.pong,
        }
    }
}

impl From<json::RefreshResult> for pb::RefreshResult {
    fn from(result: json::RefreshResult) -> Self {
        Self {
            client: result.client,
            version: String::new(),
            expires: result.expires,
            ttl: result.ttl,
        }
    }
}

impl From<json::RefreshResult> for pb::SubRefreshResult {
    fn from(result: json::RefreshResult) -> Self {
        Self {
            expires: result.expires,
            ttl: result.ttl,
        }
    }
}

fn info_push(push: json::InfoPush) -> pb::InfoPush {
    pb::InfoPush {
        info: Some(push.info.into()),
    }
}

impl From<json::Push> for pb::Push {
    fn from(push: json::Push) -> Self {
        Self {
            channel: push.channel,
            publication: push.publication.map(Into::into),
            join: push.join.map(info_push),
            leave: push.leave.map(info_push),
            unsubscribe: push.unsubscribe.map(|u| pb::Unsubscribe {
                code: u.code,
                reason: u.reason,
            }),
            message: push.message.map(|m| pb::DataRequest {
                data: bytes(m.data),
            }),
            subscribe: push.subscribe.map(Into::into),
            disconnect: push.disconnect.map(|d| pb::DisconnectPush {
                reconnect: u16::try_from(d.code)
                    .map_or(true, |code| json::Disconnect::new(code, "").reconnects()),
                code: d.code,
                reason: d.reason,
            }),
        }
    }
}

impl From<json::Reply> for pb::Reply {
    fn from(reply: json::Reply) -> Self {
        Self {
            id: reply.id,
            error: reply.error.map(Into::into),
            push: reply.push.map(Into::into),
            connect: reply.connect.map(Into::into),
            subscribe: reply.subscribe.map(Into::into),
            unsubscribe: reply.unsubscribe.map(|_| pb::Empty {}),
            publish: reply.publish.map(|_| pb::Empty {}),
            presence: reply.presence.map(|p| pb::PresenceResult {
                presence: p
                    .presence
                    .into_iter()
                    .map(|(client, info)| (client, info.into()))
                    .collect(),
            }),
            presence_stats: reply.presence_stats.map(|s| pb::PresenceStatsResult {
                num_clients: s.num_clients,
                num_users: s.num_users,
            }),
            history: reply.history.map(|h| pb::HistoryResult {
                publications: publications(h.publications),
                epoch: h.epoch,
                offset: h.offset,
            }),
            ping: None,
            rpc: reply.rpc.map(|r| pb::RpcResult {
                data: opt_bytes(r.data),
            }),
            refresh: reply.refresh.map(Into::into),
            sub_refresh: reply.sub_refresh.map(Into::into),
        }
    }
}
