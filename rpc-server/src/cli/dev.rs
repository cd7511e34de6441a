//! `serve --dev`: a server a newcomer can use at once. Missing secrets are
//! generated for the run, a ready-to-paste token is printed, and
//! `GET /dev/token?user=NAME` mints tokens for the page. Never for
//! production: anyone who reaches the server can get a token for any user.

use axum::Json;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

/// The user the printed token and the page's link are for.
pub(super) const DEV_USER: &str = "alice";

/// How long dev tokens last.
const DEV_TOKEN_TTL_SECS: u64 = 24 * 3600;

/// A random secret for one run.
pub(super) fn generated_secret() -> String {
    format!("dev-{}", uuid::Uuid::new_v4().simple())
}

/// A connection token for `user`, valid for a day.
pub(super) fn token(secret: &str, user: &str) -> Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let claims = json!({"sub": user, "exp": now + DEV_TOKEN_TTL_SECS});
    crate::auth::mint_hmac_token(secret.as_bytes(), &claims).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct TokenQuery {
    user: String,
}

/// `GET /dev/token?user=NAME` → `{"user": NAME, "token": JWT}`.
pub(super) fn token_route(secret: String) -> axum::Router {
    axum::Router::new().route(
        "/dev/token",
        get(move |Query(query): Query<TokenQuery>| {
            let secret = secret.clone();
            async move {
                let user = query.user.trim();
                if user.is_empty() {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": "user is empty"})),
                    );
                }
                match token(&secret, user) {
                    Ok(token) => (StatusCode::OK, Json(json!({"user": user, "token": token}))),
                    Err(error) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Json(Value::String(error)),
                    ),
                }
            }
        }),
    )
}
