//! The admin endpoints (feature `metrics`), behind a password: what an
//! admin page reads and does. Served beside `/metrics` on the admin
//! listener, never on the public port.
//!
//! - `POST /admin/login` `{"password": "…"}`: 204 with a session cookie
//!   (HttpOnly, SameSite=Strict), or 401; 429 after ten wrong passwords
//!   in a minute;
//! - `GET /admin/api/overview`: the nodes (every node on Redis), this
//!   node's connections, users and busiest channels, and each method's
//!   calls, errors and p50/p99;
//! - `POST /admin/api/command/{method}`: any server API command (publish,
//!   disconnect, presence, history…) with the API's own answer;
//! - `GET /admin/api/watch?channel=…`: the channel's publications as they
//!   come, as server-sent events (each the push frame's JSON), through a
//!   subscription of the engine's own like a client's;
//! - `GET /admin`: the page that does all of this (`admin/page.html`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::context::Context;
use crate::engine::SubscribeSpec;
use crate::engine::client::ClientHandle;
use crate::outbound::{Outbound, OutboundQueue};
use crate::wire::Encoding;
use wirecall_core::protocol::ClientInfo;

/// What a watcher may hold unread before it is dropped as slow.
const WATCH_QUEUE_BYTES: usize = 1 << 20;

/// The session cookie's name.
const COOKIE: &str = "wirecall_admin";

/// Sessions kept at most: past it a login forgets the oldest.
const MAX_SESSIONS: usize = 64;

/// Failed logins allowed per window, whoever makes them: past it every
/// login is refused (429) until the window ends, so the password cannot
/// be guessed at speed. (The admin listener is on the operator's network,
/// where locking out an attacker matters more than their lockout of the
/// operator for a minute.)
const MAX_FAILED_LOGINS: u32 = 10;
const FAILED_LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// How long a session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Channels the overview lists, busiest first.
const BUSIEST_CHANNELS: usize = 20;

struct Admin {
    cx: Arc<Context>,
    password: String,
    /// Session tokens and when they were issued, oldest first.
    sessions: Mutex<VecDeque<(String, Instant)>>,
    /// When the current window of failed logins began, and their count.
    failures: Mutex<(Instant, u32)>,
}

/// The admin routes, for `password`.
pub(crate) fn router(cx: Arc<Context>, password: String) -> axum::Router {
    let admin = Arc::new(Admin {
        cx,
        password,
        sessions: Mutex::new(VecDeque::new()),
        failures: Mutex::new((Instant::now(), 0)),
    });
    axum::Router::new()
        .route("/admin/login", post(login))
        .route("/admin/api/overview", get(overview))
        .route("/admin/api/command/{method}", post(command))
        .route("/admin/api/watch", get(watch))
        .route("/admin", get(page))
        .with_state(admin)
}

#[derive(Deserialize)]
struct Login {
    password: String,
}

async fn login(State(admin): State<Arc<Admin>>, body: Bytes) -> Response {
    {
        let mut failures = lock(&admin.failures);
        if failures.0.elapsed() >= FAILED_LOGIN_WINDOW {
            *failures = (Instant::now(), 0);
        }
        if failures.1 >= MAX_FAILED_LOGINS {
            let wait = FAILED_LOGIN_WINDOW.saturating_sub(failures.0.elapsed());
            tracing::warn!("admin login refused: too many wrong passwords this minute");
            let retry = (wait.as_secs() + 1).to_string();
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry)],
            )
                .into_response();
        }
    }
    let given = serde_json::from_slice::<Login>(&body).map(|l| l.password);
    // An empty password opens nothing, whatever was configured.
    let right = given.is_ok_and(|given| {
        !admin.password.is_empty() && crate::api::same_key(&given, &admin.password)
    });
    if !right {
        lock(&admin.failures).1 += 1;
        tracing::warn!("admin login with a wrong password");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut sessions = lock(&admin.sessions);
    if sessions.len() >= MAX_SESSIONS {
        sessions.pop_front();
    }
    sessions.push_back((token.clone(), Instant::now()));
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

impl Admin {
    /// Whether the request carries a live session's cookie.
    fn signed_in(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
        let Some(token) = token else {
            return false;
        };
        let mut sessions = lock(&self.sessions);
        sessions.retain(|(_, issued)| issued.elapsed() < SESSION_LIFETIME);
        sessions
            .iter()
            .any(|(live, _)| crate::api::same_key(token, live))
    }
}

async fn overview(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !admin.signed_in(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let engine = &admin.cx.engine;
    let nodes = match engine.nodes().await {
        Ok(nodes) => json!(nodes),
        Err(error) => json!({ "error": error }),
    };
    let mut channels = engine.hub().channel_counts();
    channels.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    channels.truncate(BUSIEST_CHANNELS);
    let channels: Vec<_> = channels
        .into_iter()
        .map(|(channel, subscribers)| json!({ "channel": channel, "subscribers": subscribers }))
        .collect();
    let methods = admin
        .cx
        .metrics
        .as_ref()
        .map(|metrics| metrics.method_stats())
        .unwrap_or_default();
    axum::Json(json!({
        "nodes": nodes,
        "connections": engine.hub().connection_count(),
        "users": engine.hub().user_count(),
        "channels": channels,
        "methods": methods,
    }))
    .into_response()
}

async fn command(
    State(admin): State<Arc<Admin>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !admin.signed_in(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    tracing::info!(method, "admin runs an API command");
    crate::api::respond(&admin.cx, &method, &body).await
}

/// The admin page: a login form, then the overview, the command form and
/// the channel watcher (plain HTML and script, no build step).
async fn page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("admin/page.html"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Watch {
    channel: String,
}

async fn watch(
    State(admin): State<Arc<Admin>>,
    Query(Watch { channel }): Query<Watch>,
    headers: HeaderMap,
) -> Response {
    if !admin.signed_in(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let engine = admin.cx.engine.clone();
    let options = match engine.options(&channel) {
        Ok(options) => options.clone(),
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "error": error })),
            )
                .into_response();
        }
    };
    let (out, queue) = Outbound::new(WATCH_QUEUE_BYTES, Encoding::Json);
    let handle = Arc::new(ClientHandle::new(
        ClientInfo {
            user: String::new(),
            client: format!("admin-{}", uuid::Uuid::new_v4().simple()),
            conn_info: None,
            chan_info: None,
        },
        out.clone(),
    ));
    let spec = SubscribeSpec {
        channel: &channel,
        options: &options,
        recoverable: false,
        positioned: false,
        join_leave: false,
        server_side: true,
        recover: None,
    };
    let subscribed = match engine.subscribe(&handle, spec).await {
        Ok(subscribed) => subscribed,
        Err(error) => {
            return (
                StatusCode::BAD_GATEWAY,
                axum::Json(json!({ "error": error })),
            )
                .into_response();
        }
    };
    engine.go_live(&handle, &channel, &subscribed.live);
    tracing::info!(channel, "admin watches a channel");
    let watcher = Watcher {
        queue,
        out,
        leave: Some((engine, handle)),
    };
    let events = futures_util::stream::unfold(watcher, |watcher| async move {
        let text = watcher.next().await?;
        Some((
            Ok::<_, std::convert::Infallible>(Event::default().data(text)),
            watcher,
        ))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// A watching page's subscription: its pushes, and on drop (the page went
/// away, or was too slow) the subscription's end.
struct Watcher {
    queue: OutboundQueue,
    out: Arc<Outbound>,
    leave: Option<(Arc<crate::engine::Engine>, Arc<ClientHandle>)>,
}

impl Watcher {
    /// The next push's JSON; `None` once the watcher is closed as slow.
    async fn next(&self) -> Option<String> {
        tokio::select! {
            frame = self.queue.next() => Some(String::from_utf8_lossy(frame.as_bytes()).into_owned()),
            () = self.out.closed() => None,
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some((engine, handle)) = self.leave.take() {
            tokio::spawn(async move {
                // As a connection's end does: off the handle, then out of
                // the hub (and presence).
                for channel in handle.take_subscriptions() {
                    engine.leave(&handle, &channel, None).await;
                }
            });
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
