//! The HTTP server API: `POST /api/<method>`, compatible with Centrifugo's
//! as the official `cent` (PyPI) and `cent.js` clients use it
//! (shared/protocol.md §10). Off unless an API key is configured.
//!
//! Success is `200 {"result":{…}}`; a failed request is
//! `200 {"error":{"code":N,"message":"…"}}` as Centrifugo answers; a body
//! that is not JSON is `400` and an unknown method `404`, both with the
//! same error object; a missing or wrong key is `401` with an empty body.

mod methods;

use std::time::Instant;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use wirecall_core::{RpcError, code};

use crate::context::Context;

/// The API's routes, or none when no key is configured.
pub(crate) fn routes(cx: &Arc<Context>) -> axum::Router {
    if cx.api_key.is_none() {
        return axum::Router::new();
    }
    axum::Router::new()
        .route("/api/{method}", post(handle))
        .with_state(cx.clone())
}

async fn handle(
    State(cx): State<Arc<Context>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&cx, &headers, query.as_deref()) {
        tracing::warn!(method, "API request with a missing or wrong key");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    respond(&cx, &method, &body).await
}

/// Answers an authorized request: `method` with a JSON `body`.
pub(crate) async fn respond(cx: &Context, method: &str, body: &[u8]) -> Response {
    let started = Instant::now();
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(error) => {
                let error = RpcError::bad_request(format!("body is not JSON: {error}"));
                return (StatusCode::BAD_REQUEST, error_body(&error)).into_response();
            }
        }
    };
    let response = if method == "batch" {
        methods::batch(cx, request).await
    } else {
        match methods::call(cx, method, request).await {
            Some(Ok(result)) => json!({ "result": result }),
            Some(Err(error)) => json!({ "error": error }),
            None => {
                let error = RpcError::new(
                    code::METHOD_NOT_FOUND,
                    format!("unknown API method `{method}`"),
                );
                return (StatusCode::NOT_FOUND, error_body(&error)).into_response();
            }
        }
    };
    tracing::debug!(
        method,
        elapsed_us = started.elapsed().as_micros(),
        "API request"
    );
    json_response(&response)
}

fn error_body(error: &RpcError) -> Response {
    json_response(&json!({ "error": error }))
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// `X-API-Key: <key>`, else `Authorization: apikey <key>`, else the query
/// `?api_key=<key>` (Centrifugo's order), compared in constant time.
fn authorized(cx: &Context, headers: &HeaderMap, query: Option<&str>) -> bool {
    let Some(expected) = cx.api_key.as_deref() else {
        return false;
    };
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
            let (scheme, key) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("apikey").then_some(key.trim())
        })
        .map(str::to_owned)
        .or_else(|| query_key(query?));
    given.is_some_and(|given| same_key(&given, expected))
}

/// `?api_key=`, percent-decoded as any query value.
fn query_key(query: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find_map(|(name, value)| (name == "api_key").then_some(value))
}

/// Equality whose time depends only on the lengths, not on where the
/// first difference is (API keys, the admin password).
pub(crate) fn same_key(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::{query_key, same_key};

    #[test]
    fn key_comparison() {
        assert!(same_key("secret", "secret"));
        assert!(!same_key("secret", "secreT"));
        assert!(!same_key("secret", "secret2"));
        assert!(!same_key("", "x"));
    }

    #[test]
    fn the_query_key_is_percent_decoded() {
        assert_eq!(query_key("api_key=a%2Bb%26c").as_deref(), Some("a+b&c"));
        assert_eq!(query_key("x=1&api_key=k").as_deref(), Some("k"));
        assert_eq!(query_key("x=1"), None);
    }
}
