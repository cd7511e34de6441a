//! Signing in with the web app's own session instead of a token, as the
//! systems wirecall replaces do (Django's session cookie): `POST /login`
//! sets an HttpOnly cookie, and the connect hook turns that cookie into
//! the connection's user, so the page's WebSocket connects with no token.
//!
//! The example's login takes any name, so it is served in development mode
//! only (`serve --dev`); a real service checks a password or its single
//! sign-on there, and keeps its sessions where every node can read them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use wirecall_server::{ConnectDecision, Handshake, ServerBuilder};

/// The session cookie's name.
pub const COOKIE: &str = "tasks_session";

/// Sessions kept at most; past it the oldest is signed out.
const MAX_SESSIONS: usize = 10_000;

/// Session id → user, bounded, oldest first out.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<SessionMap>,
}

#[derive(Default)]
struct SessionMap {
    users: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Sessions {
    /// A new session for `user`; its id.
    fn open(&self, user: &str) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while map.users.len() >= MAX_SESSIONS {
            let Some(oldest) = map.order.pop_front() else {
                break;
            };
            map.users.remove(&oldest);
        }
        map.users.insert(id.clone(), user.to_owned());
        map.order.push_back(id.clone());
        id
    }

    /// The user of session `id`, if it is open.
    pub fn user(&self, id: &str) -> Option<String> {
        let map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.users.get(id).cloned()
    }

    fn close(&self, id: &str) {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if map.users.remove(id).is_some() {
            map.order.retain(|open| open != id);
        }
    }
}

/// The connect hook: a connection that brings an open session's cookie is
/// that session's user; one with a token is the token's; any other is
/// refused by the server.
pub fn authenticate(server: ServerBuilder, sessions: Arc<Sessions>) -> ServerBuilder {
    server.on_connect(move |cx| {
        let user = cx.handshake.cookie(COOKIE).and_then(|id| sessions.user(id));
        async move {
            Ok(match user {
                Some(user) => ConnectDecision::allow().user(user),
                None => ConnectDecision::allow(),
            })
        }
    })
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

/// `POST /login` (`{"user": NAME}`: sets the cookie), `GET /session`
/// (`{"user": NAME}`, or 401) and `POST /logout`.
pub fn routes(sessions: Arc<Sessions>, dev: bool) -> axum::Router {
    let lookup = sessions.clone();
    let session = get(move |headers: HeaderMap| {
        let user = session_id(&headers).and_then(|id| lookup.user(&id));
        async move {
            match user {
                Some(user) => (StatusCode::OK, Json(json!({ "user": user }))).into_response(),
                None => StatusCode::UNAUTHORIZED.into_response(),
            }
        }
    });
    let router = axum::Router::new().route("/session", session);
    if !dev {
        return router;
    }
    let opener = sessions.clone();
    let login = post(move |body: String| {
        let sessions = opener.clone();
        async move { login(&sessions, &body) }
    });
    let logout = post(move |headers: HeaderMap| {
        if let Some(id) = session_id(&headers) {
            sessions.close(&id);
        }
        async move { cookie(StatusCode::NO_CONTENT, "", 0) }
    });
    router.route("/login", login).route("/logout", logout)
}

fn login(sessions: &Sessions, body: &str) -> Response {
    let Ok(Login { user }) = serde_json::from_str(body) else {
        return (StatusCode::BAD_REQUEST, "expected {\"user\": NAME}").into_response();
    };
    let user = user.trim();
    let valid = (1..=64).contains(&user.len())
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        return (
            StatusCode::BAD_REQUEST,
            "user: 1 to 64 letters, digits, '_', '.' or '-'",
        )
            .into_response();
    }
    let id = sessions.open(user);
    cookie(StatusCode::OK, &id, 7 * 24 * 3600)
}

/// A response that sets the session cookie (`max_age` 0 removes it).
fn cookie(status: StatusCode, id: &str, max_age: u32) -> Response {
    let value = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    (status, [(header::SET_COOKIE, value)]).into_response()
}

/// The session cookie of a request.
fn session_id(headers: &HeaderMap) -> Option<String> {
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| ("cookie".to_owned(), value.to_owned()));
    Handshake::new(cookies, "", None)
        .cookie(COOKIE)
        .map(str::to_owned)
}
