//! The API's methods (shared/protocol.md §10.2), each a request type and a
//! function from it to a JSON result or an [`RpcError`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use wirecall_core::channel::Channel;
use wirecall_core::protocol::{
    ClientInfo, CodeReason, Disconnect, PresenceStatsResult, Publication, StreamPosition,
    unsubscribe_code,
};
use wirecall_core::{RpcError, code};

use super::IDEMPOTENCY_WINDOW;
use crate::broker::HistoryQuery;
use crate::client::ClientHandle;
use crate::config::NamespaceOptions;
use crate::server::{Server, broker_error};
use crate::subscriptions::{SubscribeSpec, leave_channel, subscribe_channel};

/// Runs one method; `None` for a method that does not exist.
pub(super) async fn call(
    server: &Server,
    method: &str,
    request: Value,
) -> Option<Result<Value, RpcError>> {
    let result = match method {
        "publish" => run(request, |r| publish(server, r)).await,
        "broadcast" => run(request, |r| broadcast(server, r)).await,
        "subscribe" => run(request, |r| subscribe(server, r)).await,
        "unsubscribe" => run(request, |r| unsubscribe(server, r)).await,
        "disconnect" => run(request, |r| async move { disconnect(server, r) }).await,
        "refresh" => run(request, |r| async move { refresh(server, r) }).await,
        "presence" => run(request, |r| presence(server, r)).await,
        "presence_stats" => run(request, |r| presence_stats(server, r)).await,
        "history" => run(request, |r| history(server, r)).await,
        "history_remove" => run(request, |r| history_remove(server, r)).await,
        "channels" => run(request, |r| async move { channels(server, r) }).await,
        "info" => run(request, |r: Empty| async move { info(server, r) }).await,
        // wirecall's extension: why did a message not arrive?
        "user_connections" => run(request, |r| async move { user_connections(server, r) }).await,
        _ => return None,
    };
    Some(result)
}

/// Decodes the request (107 naming the field on failure), then runs `f`.
async fn run<R, F, Fut>(request: Value, f: F) -> Result<Value, RpcError>
where
    R: DeserializeOwned,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = Result<Value, RpcError>>,
{
    let request = serde_path_to_error::deserialize(request).map_err(|error| {
        RpcError::bad_request(format!(
            "invalid request: {}: {}",
            error.path(),
            error.inner()
        ))
    })?;
    f(request).await
}

/// `batch`: `{"commands":[{"publish":{…}},…]}` → `{"replies":[…]}`, one per
/// command, in order; not wrapped in `result` (as Centrifugo answers).
pub(super) async fn batch(server: &Server, request: Value) -> Value {
    let commands = match request.get("commands").and_then(Value::as_array) {
        Some(commands) => commands.clone(),
        None => {
            let error = RpcError::bad_request("batch needs `commands`, a list");
            return json!({ "error": error });
        }
    };
    let mut replies = Vec::with_capacity(commands.len());
    for command in commands {
        let reply = match command
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        {
            None => json!({ "error": RpcError::bad_request("each batch command has one method") }),
            Some((method, params)) => match Box::pin(call(server, method, params.clone())).await {
                Some(Ok(result)) => json!({ method.as_str(): result }),
                Some(Err(error)) => json!({ "error": error }),
                None => {
                    json!({ "error": RpcError::new(code::METHOD_NOT_FOUND, format!("unknown API method `{method}`")) })
                }
            },
        };
        replies.push(reply);
    }
    json!({ "replies": replies })
}

/// Checks a channel name and finds its namespace's options.
fn channel_options<'a>(
    server: &'a Server,
    channel: &str,
) -> Result<&'a NamespaceOptions, RpcError> {
    if channel.is_empty() {
        return Err(RpcError::bad_request("channel required"));
    }
    let parsed = Channel::parse(channel).map_err(|e| RpcError::bad_request(e.to_string()))?;
    server
        .inner
        .channels
        .options_for(parsed)
        .ok_or_else(RpcError::unknown_channel)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Empty {}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PublishRequest {
    channel: String,
    data: Option<Box<RawValue>>,
    skip_history: bool,
    tags: Option<BTreeMap<String, String>>,
    idempotency_key: Option<String>,
}

async fn publish(server: &Server, request: PublishRequest) -> Result<Value, RpcError> {
    let options = channel_options(server, &request.channel)?;
    let data = request
        .data
        .filter(|d| d.get() != "null")
        .ok_or_else(|| RpcError::bad_request("data required"))?;
    let cache = &server.inner.idempotency;
    let key = request
        .idempotency_key
        .filter(|k| !k.is_empty())
        .map(|k| (request.channel.clone(), k));
    if let Some(key) = &key
        && let Some(result) = cache.get(key)
    {
        return Ok(result);
    }
    let history =
        (options.history_enabled() && !request.skip_history).then(|| options.history_policy());
    let publication = Publication {
        data,
        info: None,
        offset: 0,
        tags: request.tags.filter(|t| !t.is_empty()),
    };
    let position = server
        .inner
        .broker
        .publish(&request.channel, publication, history)
        .await
        .map_err(broker_error)?;
    let result = position_json(&position);
    if let Some(key) = key {
        cache.put(key, result.clone());
    }
    Ok(result)
}

fn position_json(position: &StreamPosition) -> Value {
    if position.offset == 0 {
        json!({})
    } else {
        json!({"offset": position.offset, "epoch": position.epoch})
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BroadcastRequest {
    channels: Vec<String>,
    data: Option<Box<RawValue>>,
    skip_history: bool,
    tags: Option<BTreeMap<String, String>>,
    idempotency_key: Option<String>,
}

async fn broadcast(server: &Server, request: BroadcastRequest) -> Result<Value, RpcError> {
    if request.channels.is_empty() {
        return Err(RpcError::bad_request("channels required"));
    }
    let mut responses = Vec::with_capacity(request.channels.len());
    for channel in request.channels {
        let one = PublishRequest {
            channel,
            data: request.data.clone(),
            skip_history: request.skip_history,
            tags: request.tags.clone(),
            idempotency_key: request.idempotency_key.clone(),
        };
        responses.push(match publish(server, one).await {
            Ok(result) => json!({ "result": result }),
            Err(error) => json!({ "error": error }),
        });
    }
    Ok(json!({ "responses": responses }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserChannelRequest {
    user: String,
    channel: String,
    client: Option<String>,
}

/// The connections of `user` (only `client` when given).
fn user_clients(
    server: &Server,
    user: &str,
    client: Option<&str>,
) -> Result<Vec<Arc<ClientHandle>>, RpcError> {
    if user.is_empty() {
        return Err(RpcError::bad_request("user required"));
    }
    Ok(server
        .inner
        .hub
        .user_clients(user)
        .into_iter()
        .filter(|c| client.is_none_or(|id| c.client_id() == id))
        .collect())
}

async fn subscribe(server: &Server, request: UserChannelRequest) -> Result<Value, RpcError> {
    let options = channel_options(server, &request.channel)?.clone();
    for handle in user_clients(server, &request.user, request.client.as_deref())? {
        if handle.is_subscribed(&request.channel) {
            continue;
        }
        let spec = SubscribeSpec {
            channel: &request.channel,
            options: &options,
            recoverable: true,
            positioned: true,
            join_leave: false,
            server_side: true,
            recover: None,
        };
        let (result, delivered) = subscribe_channel(&server.inner, &handle, spec).await?;
        let push = json!({"push": {"channel": request.channel, "subscribe": result}});
        handle
            .out
            .send(crate::outbound::Frame::Owned(push.to_string()));
        handle.go_live(&request.channel, delivered);
    }
    Ok(json!({}))
}

async fn unsubscribe(server: &Server, request: UserChannelRequest) -> Result<Value, RpcError> {
    channel_options(server, &request.channel)?;
    for handle in user_clients(server, &request.user, request.client.as_deref())? {
        if handle.end_subscription(&request.channel) {
            let reason = CodeReason {
                code: unsubscribe_code::SERVER,
                reason: "server unsubscribe".into(),
            };
            let push = json!({"push": {"channel": request.channel, "unsubscribe": reason}});
            handle
                .out
                .send(crate::outbound::Frame::Owned(push.to_string()));
            leave_channel(&server.inner, &handle, &request.channel, None).await;
        }
    }
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DisconnectRequest {
    user: String,
    client: Option<String>,
    whitelist: Vec<String>,
    disconnect: Option<DisconnectCode>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DisconnectCode {
    code: u16,
    reason: String,
}

fn disconnect(server: &Server, request: DisconnectRequest) -> Result<Value, RpcError> {
    let close = match request.disconnect {
        None => Disconnect::FORCE_DISCONNECT,
        Some(d) if (3000..=4999).contains(&d.code) => Disconnect::custom(d.code, &d.reason),
        Some(d) => {
            return Err(RpcError::bad_request(format!(
                "disconnect code {} is outside 3000..=4999",
                d.code
            )));
        }
    };
    for handle in user_clients(server, &request.user, request.client.as_deref())? {
        if !request.whitelist.iter().any(|id| id == handle.client_id()) {
            handle.out.close(close.clone());
        }
    }
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RefreshRequest {
    user: String,
    client: Option<String>,
    expired: bool,
}

/// `expired: true` closes the user's connections with 3005 (they
/// reconnect with a fresh token). Other refresh options are accepted and
/// have no effect yet.
fn refresh(server: &Server, request: RefreshRequest) -> Result<Value, RpcError> {
    for handle in user_clients(server, &request.user, request.client.as_deref())? {
        if request.expired {
            handle.out.close(Disconnect::EXPIRED);
        }
    }
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelRequest {
    channel: String,
}

/// Who is in the channel; 108 when its namespace keeps no presence.
async fn channel_presence(
    server: &Server,
    channel: &str,
) -> Result<BTreeMap<String, ClientInfo>, RpcError> {
    if !channel_options(server, channel)?.presence {
        return Err(RpcError::not_available());
    }
    server
        .inner
        .broker
        .presence(channel)
        .await
        .map_err(broker_error)
}

async fn presence(server: &Server, request: ChannelRequest) -> Result<Value, RpcError> {
    let presence = channel_presence(server, &request.channel).await?;
    Ok(json!({ "presence": presence }))
}

async fn presence_stats(server: &Server, request: ChannelRequest) -> Result<Value, RpcError> {
    let presence = channel_presence(server, &request.channel).await?;
    Ok(json!(PresenceStatsResult::of(&presence)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HistoryRequest {
    channel: String,
    limit: i32,
    since: Option<StreamPosition>,
    reverse: bool,
}

async fn history(server: &Server, request: HistoryRequest) -> Result<Value, RpcError> {
    let options = channel_options(server, &request.channel)?;
    if !options.history_enabled() {
        return Err(RpcError::not_available());
    }
    let max = server.inner.limits.history_max_publications;
    let limit = match request.limit {
        0 => 0,
        n if n < 0 => max,
        n => usize::try_from(n).unwrap_or(max).min(max),
    };
    let query = HistoryQuery {
        since: request.since,
        limit,
        reverse: request.reverse,
    };
    let page = server
        .inner
        .broker
        .history(&request.channel, query, options.history_policy())
        .await
        .map_err(broker_error)?;
    Ok(json!({
        "publications": page.publications,
        "epoch": page.position.epoch,
        "offset": page.position.offset,
    }))
}

async fn history_remove(server: &Server, request: ChannelRequest) -> Result<Value, RpcError> {
    let options = channel_options(server, &request.channel)?;
    if !options.history_enabled() {
        return Err(RpcError::not_available());
    }
    server
        .inner
        .broker
        .remove_history(&request.channel)
        .await
        .map_err(broker_error)?;
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelsRequest {
    pattern: String,
}

fn channels(server: &Server, request: ChannelsRequest) -> Result<Value, RpcError> {
    let channels: BTreeMap<String, Value> = server
        .inner
        .hub
        .channel_counts()
        .into_iter()
        .filter(|(channel, _)| request.pattern.is_empty() || glob_match(&request.pattern, channel))
        .map(|(channel, count)| (channel, json!({ "num_clients": count })))
        .collect();
    Ok(json!({ "channels": channels }))
}

/// `*` matches any run of characters, `?` any one character.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserRequest {
    user: String,
}

fn user_connections(server: &Server, request: UserRequest) -> Result<Value, RpcError> {
    if request.user.is_empty() {
        return Err(RpcError::bad_request("user required"));
    }
    Ok(json!({ "connections": server.user_connections(&request.user) }))
}

fn info(server: &Server, _request: Empty) -> Result<Value, RpcError> {
    let inner = &server.inner;
    let counts = inner.hub.channel_counts();
    let subs: usize = counts.iter().map(|(_, n)| n).sum();
    Ok(json!({"nodes": [{
        "uid": inner.node_id,
        "name": inner.node_name,
        "version": inner.version,
        "num_clients": inner.hub.connection_count(),
        "num_users": inner.hub.user_count(),
        "num_channels": counts.len(),
        "num_subs": subs,
        "uptime": inner.started.elapsed().as_secs(),
    }]}))
}

/// Results of idempotent publishes, per channel and key, for
/// [`IDEMPOTENCY_WINDOW`].
#[derive(Debug, Default)]
pub(crate) struct IdempotencyCache {
    entries: Mutex<HashMap<(String, String), (Instant, Value)>>,
}

impl IdempotencyCache {
    fn get(&self, key: &(String, String)) -> Option<Value> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < IDEMPOTENCY_WINDOW)
            .map(|(_, result)| result.clone())
    }

    fn put(&self, key: (String, String), result: Value) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (at, _)| at.elapsed() < IDEMPOTENCY_WINDOW);
        entries.insert(key, (Instant::now(), result));
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("news:*", "news:sports"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("chat:?", "chat:1"));
        assert!(!glob_match("news:*", "chat:x"));
        assert!(glob_match("a*b*c", "aXXbYc"));
        assert!(!glob_match("a*b*c", "aXXbY"));
    }
}
