//! The connection task: opens the socket, completes the connect handshake
//! (with a fresh token when a provider is set), resubscribes every
//! subscription with recovery, routes replies and pushes, answers pings,
//! refreshes an expiring token, and reconnects with exponential backoff and
//! jitter until the server closes with a terminal code or the client is
//! dropped.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wirecall_core::protocol::{Push, Reply, StreamPosition, unsubscribe_code};
use wirecall_core::{RpcError, code};

use crate::error::{ClientError, ConnectError};
use crate::routes::SubscriptionEvent;
use crate::shared::{ConnectionState, Settings, Shared, Waiter};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How one connection ended.
enum Ended {
    /// Reconnect (after backoff). `token_expired` asks for a new token.
    Retry {
        code: u32,
        reason: String,
        token_expired: bool,
    },
    /// Stop for good.
    Terminal { code: u32, reason: String },
    /// The socket could not be opened: reported as it is on the first
    /// attempt, retried after that.
    CannotOpen(tokio_tungstenite::tungstenite::Error),
    /// The client was dropped.
    Dropped,
}

/// Runs the client's connections until the end.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    settings: Settings,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    mut stopped: oneshot::Receiver<()>,
    ready: oneshot::Sender<Result<(), ClientError>>,
) {
    let mut ready = Some(ready);
    let mut token = settings.token.clone();
    let mut attempt: u32 = 0;
    loop {
        let _ = shared.state.send(ConnectionState::Connecting);
        if let Some(provider) = &settings.token_provider {
            match provider().await {
                Ok(fresh) => token = Some(fresh),
                // With no token at all, the first connect fails with why.
                Err(why) if token.is_none() && ready.is_some() => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Err(ClientError::Connect(ConnectError::Token(why))));
                    }
                    return;
                }
                Err(why) => tracing::warn!(%why, "token provider failed; using the last token"),
            }
        }
        let ended = tokio::select! {
            _ = &mut stopped => Ended::Dropped,
            ended = connection(&shared, &settings, token.as_deref(), &mut outgoing, &mut ready, &mut attempt) => ended,
        };
        fail_pending(&shared, &mut outgoing);
        let ended = match ended {
            Ended::CannotOpen(error) => match ready.take() {
                Some(ready) => {
                    let _ = ready.send(Err(ClientError::Connect(ConnectError::Open {
                        url: settings.url.clone(),
                        source: Box::new(error),
                    })));
                    return;
                }
                None => Ended::Retry {
                    code: 0,
                    reason: format!("cannot open {}: {error}", settings.url),
                    token_expired: false,
                },
            },
            other => other,
        };
        match ended {
            Ended::Dropped | Ended::CannotOpen(_) => return,
            Ended::Terminal { code, reason } => {
                tracing::info!(code, %reason, "disconnected for good");
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(ClientError::Connect(ConnectError::Refused {
                        code,
                        reason: reason.clone(),
                    })));
                }
                let _ = shared.state.send(ConnectionState::Disconnected {
                    code,
                    reason,
                    terminal: true,
                });
                return;
            }
            Ended::Retry {
                code,
                reason,
                token_expired,
            } => {
                let new_token_may_help = token_expired && settings.token_provider.is_some();
                if !new_token_may_help && let Some(ready) = ready.take() {
                    // The first attempt failed: report it instead of retrying.
                    // 0: ended here; 1000–2999: a WebSocket close, not
                    // an answer to the connect.
                    let error = if code == 0 || (1000..3000).contains(&code) {
                        ConnectError::Interrupted(reason)
                    } else {
                        ConnectError::Refused { code, reason }
                    };
                    let _ = ready.send(Err(ClientError::Connect(error)));
                    return;
                }
                let _ = shared.state.send(ConnectionState::Disconnected {
                    code,
                    reason,
                    terminal: false,
                });
                if token_expired && settings.token_provider.is_none() {
                    let _ = shared.state.send(ConnectionState::Disconnected {
                        code: code::TOKEN_EXPIRED,
                        reason: "token expired and no token provider".into(),
                        terminal: true,
                    });
                    return;
                }
                let delay = if token_expired {
                    Duration::ZERO
                } else {
                    backoff(attempt, settings.min_backoff, settings.max_backoff)
                };
                attempt = attempt.saturating_add(1);
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Exponential backoff with full jitter: a random delay up to
/// `min * 2^attempt`, capped at `max`.
fn backoff(attempt: u32, min: Duration, max: Duration) -> Duration {
    let ceiling = min.saturating_mul(1u32 << attempt.min(16)).min(max);
    let random = RandomState::new().hash_one(std::time::Instant::now());
    let fraction = (random % 1000) as f64 / 1000.0;
    min.max(ceiling.mul_f64(fraction))
}

/// Calls waiting on a connection that is gone fail at once; commands not
/// yet written are dropped with them.
fn fail_pending(shared: &Shared, outgoing: &mut mpsc::UnboundedReceiver<String>) {
    shared.pending().clear();
    while outgoing.try_recv().is_ok() {}
}

/// One connection, from opening the socket to its end.
async fn connection(
    shared: &Arc<Shared>,
    settings: &Settings,
    token: Option<&str>,
    outgoing: &mut mpsc::UnboundedReceiver<String>,
    ready: &mut Option<oneshot::Sender<Result<(), ClientError>>>,
    attempt: &mut u32,
) -> Ended {
    let retry = |reason: String| Ended::Retry {
        code: 0,
        reason,
        token_expired: false,
    };
    let socket = match tokio_tungstenite::connect_async(&settings.url).await {
        Ok((socket, _)) => socket,
        Err(error) => return Ended::CannotOpen(error),
    };
    let (mut sink, mut stream) = socket.split();

    // The handshake: connect, with the positions of server-side subscriptions.
    let id = shared.next_id();
    let mut connect = json!({ "name": settings.name });
    if let Some(token) = token {
        connect["token"] = json!(token);
    }
    if let Some(version) = &settings.version {
        connect["version"] = json!(version);
    }
    let server_side: BTreeMap<String, Value> = {
        let routes = shared.routes();
        routes
            .positions
            .iter()
            .filter(|(channel, _)| !routes.channels.contains_key(*channel))
            .map(|(channel, p)| {
                let recover = json!({"recover": true, "offset": p.offset, "epoch": p.epoch});
                (channel.clone(), recover)
            })
            .collect()
    };
    if !server_side.is_empty() {
        connect["subs"] = json!(server_side);
    }
    let frame = json!({ "id": id, "connect": connect }).to_string();
    if sink.send(Message::text(frame)).await.is_err() {
        return retry("the connection closed during connect".into());
    }
    let reply = match tokio::time::timeout(settings.timeout, connect_reply(&mut stream, id)).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(ended)) => return ended,
        Err(_) => return retry("no connect reply in time".into()),
    };
    if let Some(error) = reply.error {
        return refused(error);
    }
    let Some(result) = reply.connect else {
        return retry("connect reply without a result".into());
    };

    {
        let mut routes = shared.routes();
        for (channel, sub) in result.subs {
            if sub.epoch.is_empty() {
                continue;
            }
            let position = StreamPosition {
                offset: sub.offset,
                epoch: sub.epoch,
            };
            routes.positions.insert(channel.clone(), position);
            // As the official SDKs: recovered publications are delivered
            // only when nothing is missing.
            if sub.recovered {
                for publication in sub.publications {
                    routes.route(publication_push(&channel, publication));
                }
            }
        }
    }
    let _ = shared.state.send(ConnectionState::Connected {
        client_id: result.client.clone(),
    });
    tracing::debug!(client = %result.client, "connected");
    *attempt = 0;
    // Resubscribe every subscription, asking for what was missed: those
    // that existed before this connection (taken before `connect()` returns,
    // so a subscribe made after it is not sent twice).
    let resubscribe: Vec<(String, Option<StreamPosition>)> = {
        let routes = shared.routes();
        routes
            .channels
            .keys()
            .map(|channel| (channel.clone(), routes.positions.get(channel).cloned()))
            .collect()
    };
    if let Some(ready) = ready.take() {
        let _ = ready.send(Ok(()));
    }
    for (channel, position) in resubscribe {
        let frame = resubscribe_frame(shared, channel, position);
        if sink.send(Message::text(frame)).await.is_err() {
            return retry("the connection closed while resubscribing".into());
        }
    }

    let mut refresh = std::pin::pin!(sleep_opt(refresh_delay(
        result.expires.then_some(result.ttl)
    )));
    let mut retry_later: Vec<String> = Vec::new();
    let mut retry_timer = std::pin::pin!(sleep_opt(None));
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
                        match route_line(shared, line) {
                            Routed::Done => {}
                            Routed::Ping => {
                                if sink.send(Message::text("{}")).await.is_err() {
                                    return retry("the connection closed".into());
                                }
                            }
                            Routed::Refreshed { ttl } => refresh.set(sleep_opt(refresh_delay(ttl))),
                            Routed::Resubscribe(channel) => {
                                let position = shared.routes().positions.get(&channel).cloned();
                                let frame = resubscribe_frame(shared, channel, position);
                                if sink.send(Message::text(frame)).await.is_err() {
                                    return retry("the connection closed".into());
                                }
                            }
                            Routed::RetryLater(channel) => {
                                if retry_later.is_empty() {
                                    retry_timer.set(sleep_opt(Some(RESUBSCRIBE_RETRY)));
                                }
                                retry_later.push(channel);
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => return closed(frame.map(|f| (f.code, f.reason.to_string()))),
                Some(Ok(_)) => {}
                Some(Err(error)) => return retry(format!("connection lost: {error}")),
                None => return retry("connection lost".into()),
            },
            frame = outgoing.recv() => {
                let Some(mut frame) = frame else { return Ended::Dropped };
                // Batched, but never past the server's message limit (it
                // closes with 1009 above it): the rest goes next.
                while let Ok(next) = outgoing.try_recv() {
                    if frame.len() + 1 + next.len() > MAX_MESSAGE_BYTES {
                        if sink.send(Message::text(std::mem::take(&mut frame))).await.is_err() {
                            return retry("the connection closed".into());
                        }
                        frame = next;
                        continue;
                    }
                    frame.push('\n');
                    frame.push_str(&next);
                }
                if sink.send(Message::text(frame)).await.is_err() {
                    return retry("the connection closed".into());
                }
            }
            () = &mut retry_timer => {
                retry_timer.set(sleep_opt(None));
                for channel in std::mem::take(&mut retry_later) {
                    let position = {
                        let routes = shared.routes();
                        if !routes.channels.contains_key(&channel) {
                            continue;
                        }
                        routes.positions.get(&channel).cloned()
                    };
                    let frame = resubscribe_frame(shared, channel, position);
                    if sink.send(Message::text(frame)).await.is_err() {
                        return retry("the connection closed".into());
                    }
                }
            }
            () = &mut refresh => {
                refresh.set(sleep_opt(None));
                let Some(provider) = &settings.token_provider else { continue };
                match provider().await {
                    Ok(token) => {
                        let id = shared.next_id();
                        shared.pending().insert(id, Waiter::Refresh);
                        let frame = json!({"id": id, "refresh": {"token": token}});
                        if sink.send(Message::text(frame.to_string())).await.is_err() {
                            return retry("the connection closed".into());
                        }
                    }
                    Err(why) => tracing::warn!(%why, "token provider failed; the server will close at expiry"),
                }
            }
        }
    }
}

/// A subscribe that renews `channel`, recovering from `position`; its
/// reply ends in a `Resubscribed` event.
fn resubscribe_frame(shared: &Shared, channel: String, position: Option<StreamPosition>) -> String {
    let id = shared.next_id();
    let mut request =
        json!({"channel": channel, "recoverable": true, "positioned": true, "join_leave": true});
    if let Some(position) = position {
        request["recover"] = json!(true);
        request["offset"] = json!(position.offset);
        request["epoch"] = json!(position.epoch);
    }
    shared.pending().insert(id, Waiter::Resubscribe(channel));
    json!({ "id": id, "subscribe": request }).to_string()
}

/// When to refresh a token that expires in `ttl` seconds: a little before.
fn refresh_delay(ttl: Option<u32>) -> Option<Duration> {
    ttl.filter(|ttl| *ttl > 0)
        .map(|ttl| Duration::from_secs(u64::from(ttl)).mul_f64(0.9))
}

async fn sleep_opt(after: Option<Duration>) {
    match after {
        Some(after) => tokio::time::sleep(after).await,
        None => std::future::pending().await,
    }
}

/// Reads until the reply to `id`, skipping anything before it.
async fn connect_reply(
    stream: &mut futures_util::stream::SplitStream<Socket>,
    id: u32,
) -> Result<Reply, Ended> {
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => {
                for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
                    if let Ok(reply) = serde_json::from_str::<Reply>(line)
                        && reply.id == id
                    {
                        return Ok(reply);
                    }
                }
            }
            Ok(Message::Close(frame)) => {
                return Err(closed(frame.map(|f| (f.code, f.reason.to_string()))));
            }
            Ok(_) => {}
            Err(error) => {
                return Err(Ended::Retry {
                    code: 0,
                    reason: format!("connection lost: {error}"),
                    token_expired: false,
                });
            }
        }
    }
    Err(Ended::Retry {
        code: 0,
        reason: "connection lost during connect".into(),
        token_expired: false,
    })
}

/// What a refused connect means, as the SDKs read it: 109 asks for a new
/// token, a temporary error is retried, anything else is terminal.
fn refused(error: RpcError) -> Ended {
    if error.code == code::TOKEN_EXPIRED {
        Ended::Retry {
            code: error.code,
            reason: error.message,
            token_expired: true,
        }
    } else if error.temporary {
        Ended::Retry {
            code: error.code,
            reason: error.message,
            token_expired: false,
        }
    } else {
        Ended::Terminal {
            code: error.code,
            reason: error.message,
        }
    }
}

/// A close from the server: 3500–3999 and 4500–4999 are terminal,
/// anything else reconnects (shared/protocol.md §9.3).
fn closed(frame: Option<(CloseCode, String)>) -> Ended {
    let (code, reason) = frame.map_or((1006, String::new()), |(code, reason)| {
        (u16::from(code), reason)
    });
    let code = u32::from(code);
    if matches!(code, 3500..=3999 | 4500..=4999) {
        Ended::Terminal { code, reason }
    } else {
        Ended::Retry {
            code,
            reason,
            token_expired: false,
        }
    }
}

fn publication_push(channel: &str, publication: wirecall_core::protocol::Publication) -> Push {
    Push {
        channel: channel.to_owned(),
        publication: Some(publication),
        ..Push::default()
    }
}

/// What a routed line asks of the connection task.
enum Routed {
    Done,
    /// A server ping: answer with the pong.
    Ping,
    /// The token was refreshed; refresh again before `ttl` seconds.
    Refreshed {
        ttl: Option<u32>,
    },
    /// The server ended a subscription with a code of 2500 or more
    /// (insufficient state): subscribe again, recovering, as the SDKs do.
    Resubscribe(String),
    /// A resubscribe was refused for now (a temporary error): try again
    /// after [`RESUBSCRIBE_RETRY`].
    RetryLater(String),
}

/// The largest message a batch of commands may make: the server's default
/// limit (64 KiB), above which it closes the connection with 1009.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// How long a temporarily refused resubscribe waits before the next try.
const RESUBSCRIBE_RETRY: Duration = Duration::from_millis(500);

/// Routes one line to its waiter, subscription or handler.
fn route_line(shared: &Shared, line: &str) -> Routed {
    let reply: Reply = match serde_json::from_str(line) {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(%error, "unreadable frame from the server");
            return Routed::Done;
        }
    };
    if reply.id > 0 {
        let waiter = shared.pending().remove(&reply.id);
        match waiter {
            Some(Waiter::Reply(tx)) => {
                let _ = tx.send(reply);
            }
            Some(Waiter::Resubscribe(channel)) => return resubscribed(shared, &channel, reply),
            Some(Waiter::Refresh) => {
                if let Some(error) = &reply.error {
                    tracing::warn!(code = error.code, "token refresh refused");
                }
                let ttl = reply.refresh.filter(|r| r.expires).map(|r| r.ttl);
                return Routed::Refreshed { ttl };
            }
            None => {}
        }
        return Routed::Done;
    }
    match reply.push {
        Some(push) => {
            let mut routes = shared.routes();
            let resubscribe = push
                .unsubscribe
                .as_ref()
                .is_some_and(|u| u.code >= unsubscribe_code::INSUFFICIENT_STATE)
                && routes.channels.contains_key(&push.channel);
            if resubscribe {
                return Routed::Resubscribe(push.channel);
            }
            routes.route(push);
            Routed::Done
        }
        None => Routed::Ping,
    }
}

/// Delivers what a resubscribe recovered, then tells the stream whether
/// anything was lost.
fn resubscribed(shared: &Shared, channel: &str, reply: Reply) -> Routed {
    let mut routes = shared.routes();
    if reply.error.as_ref().is_some_and(|e| e.temporary) && routes.channels.contains_key(channel) {
        // As the SDKs: a temporary refusal (the server's broker is away)
        // is retried; the subscription stays subscribing meanwhile.
        return Routed::RetryLater(channel.to_owned());
    }
    let event = match (reply.subscribe, reply.error) {
        (Some(result), _) => {
            if !result.epoch.is_empty() {
                let position = StreamPosition {
                    offset: result.offset,
                    epoch: result.epoch,
                };
                routes.positions.insert(channel.to_owned(), position);
            }
            for publication in result.publications {
                routes.route(publication_push(channel, publication));
            }
            SubscriptionEvent::Resubscribed {
                recovered: result.recovered,
            }
        }
        (None, Some(error)) => SubscriptionEvent::Unsubscribed {
            code: error.code,
            reason: error.message,
        },
        (None, None) => return Routed::Done,
    };
    routes.notify(channel, event);
    Routed::Done
}
