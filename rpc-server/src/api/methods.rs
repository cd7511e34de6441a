//! The API's methods (shared/protocol.md §10.2), each a request type and a
//! function from it to a JSON result or an [`RpcError`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use wirecall_core::protocol::{Disconnect, PresenceStatsResult, Publication, StreamPosition};
use wirecall_core::{RpcError, code};

use crate::broker::HistoryQuery;
use crate::context::Context;
use crate::engine::UserAction;

/// Runs one method; `None` for a method that does not exist.
pub(super) async fn call(
    cx: &Context,
    method: &str,
    request: Value,
) -> Option<Result<Value, RpcError>> {
    let result = match method {
        "publish" => run(request, |r| publish(cx, r)).await,
        "broadcast" => run(request, |r| broadcast(cx, r)).await,
        "subscribe" => run(request, |r| subscribe(cx, r)).await,
        "unsubscribe" => run(request, |r| unsubscribe(cx, r)).await,
        "disconnect" => run(request, |r| disconnect(cx, r)).await,
        "refresh" => run(request, |r| refresh(cx, r)).await,
        "presence" => run(request, |r| presence(cx, r)).await,
        "presence_stats" => run(request, |r| presence_stats(cx, r)).await,
        "history" => run(request, |r| history(cx, r)).await,
        "history_remove" => run(request, |r| history_remove(cx, r)).await,
        "channels" => run(request, |r| channels(cx, r)).await,
        "info" => run(request, |r: Empty| info(cx, r)).await,
        // wirecall's extension: why did a message not arrive?
        "user_connections" => run(request, |r| user_connections(cx, r)).await,
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
pub(super) async fn batch(cx: &Context, request: Value) -> Value {
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
            Some((method, params)) => match Box::pin(call(cx, method, params.clone())).await {
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

async fn publish(cx: &Context, request: PublishRequest) -> Result<Value, RpcError> {
    let engine = &cx.engine;
    engine.options(&request.channel)?;
    let data = request
        .data
        .filter(|d| d.get() != "null")
        .ok_or_else(|| RpcError::bad_request("data required"))?;
    let publication = Publication {
        data,
        info: None,
        offset: 0,
        tags: request.tags.filter(|t| !t.is_empty()),
    };
    let position = engine
        .publish(
            &request.channel,
            publication,
            request.skip_history,
            request.idempotency_key,
        )
        .await?;
    record!(cx, |m| m
        .published(&request.channel, crate::metrics::Source::Api));
    Ok(position_json(&position))
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

async fn broadcast(cx: &Context, request: BroadcastRequest) -> Result<Value, RpcError> {
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
        responses.push(match publish(cx, one).await {
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

async fn subscribe(cx: &Context, request: UserChannelRequest) -> Result<Value, RpcError> {
    let action = UserAction::Subscribe {
        channel: request.channel,
    };
    act_on_user(cx, &request.user, request.client.as_deref(), action).await
}

async fn unsubscribe(cx: &Context, request: UserChannelRequest) -> Result<Value, RpcError> {
    let action = UserAction::Unsubscribe {
        channel: request.channel,
    };
    act_on_user(cx, &request.user, request.client.as_deref(), action).await
}

async fn act_on_user(
    cx: &Context,
    user: &str,
    client: Option<&str>,
    action: UserAction,
) -> Result<Value, RpcError> {
    cx.engine.act_on_user(user, client, action).await?;
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

async fn disconnect(cx: &Context, request: DisconnectRequest) -> Result<Value, RpcError> {
    let (code, reason) = match request.disconnect {
        None => (
            Disconnect::FORCE_DISCONNECT.code,
            Disconnect::FORCE_DISCONNECT.reason.into_owned(),
        ),
        Some(d) if (3000..=4999).contains(&d.code) => (d.code, d.reason),
        Some(d) => {
            return Err(RpcError::bad_request(format!(
                "disconnect code {} is outside 3000..=4999",
                d.code
            )));
        }
    };
    let action = UserAction::Disconnect {
        code,
        reason,
        whitelist: request.whitelist,
    };
    act_on_user(cx, &request.user, request.client.as_deref(), action).await
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
async fn refresh(cx: &Context, request: RefreshRequest) -> Result<Value, RpcError> {
    if !request.expired {
        if request.user.is_empty() {
            return Err(RpcError::bad_request("user required"));
        }
        return Ok(json!({}));
    }
    act_on_user(
        cx,
        &request.user,
        request.client.as_deref(),
        UserAction::Expire,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelRequest {
    channel: String,
}

async fn presence(cx: &Context, request: ChannelRequest) -> Result<Value, RpcError> {
    let presence = cx.engine.presence(&request.channel).await?;
    Ok(json!({ "presence": presence }))
}

async fn presence_stats(cx: &Context, request: ChannelRequest) -> Result<Value, RpcError> {
    let presence = cx.engine.presence(&request.channel).await?;
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

async fn history(cx: &Context, request: HistoryRequest) -> Result<Value, RpcError> {
    let engine = &cx.engine;
    let query = HistoryQuery {
        since: request.since,
        limit: engine.history_limit(request.limit),
        reverse: request.reverse,
    };
    let page = engine.history(&request.channel, query).await?;
    Ok(json!({
        "publications": page.publications,
        "epoch": page.position.epoch,
        "offset": page.position.offset,
    }))
}

async fn history_remove(cx: &Context, request: ChannelRequest) -> Result<Value, RpcError> {
    cx.engine.remove_history(&request.channel).await?;
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelsRequest {
    pattern: String,
}

async fn channels(cx: &Context, request: ChannelsRequest) -> Result<Value, RpcError> {
    let channels: BTreeMap<String, Value> = cx
        .engine
        .channels()
        .await?
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

async fn user_connections(cx: &Context, request: UserRequest) -> Result<Value, RpcError> {
    if request.user.is_empty() {
        return Err(RpcError::bad_request("user required"));
    }
    let connections = cx.engine.user_connections(&request.user).await?;
    Ok(json!({ "connections": connections }))
}

/// Every live node of the deployment, as Centrifugo's `info` lists them.
async fn info(cx: &Context, _request: Empty) -> Result<Value, RpcError> {
    let nodes = cx.engine.nodes().await?;
    Ok(json!({ "nodes": nodes }))
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
