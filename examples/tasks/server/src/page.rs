//! The browser page at `/`: examples/tasks/web's HTML and CSS, and the
//! script its `npm run build` bundles (committed in `dist/`), embedded at
//! compile time, so the binary serves it with no files beside it.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("../../web/index.html");
const APP: &str = include_str!("../../web/dist/app.js");
const STYLE: &str = include_str!("../../web/style.css");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Always the binary's own version; never a stale cached one.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// `GET /`, `/app.js` and `/style.css`.
pub fn routes() -> axum::Router {
    axum::Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}
