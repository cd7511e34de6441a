//! What every connection and every HTTP API request of a server runs
//! against: the router, the auth settings, limits, hooks and the channel
//! engine. The server builds it; sessions and the API only read it.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wirecall_core::{AppState, ChannelFamilies, Router};

use crate::auth::TokenVerifier;
use crate::config::{Limits, Timings};
use crate::engine::Engine;
use crate::hooks::Hooks;

/// A server's shared state.
pub(crate) struct Context {
    pub(crate) router: Router,
    /// Declared channel families: client publications into them are
    /// checked against the payload type.
    pub(crate) families: ChannelFamilies,
    /// Publications into `rpc.requests` are calls (seed 001's clients).
    pub(crate) rpc_over_publish: bool,
    pub(crate) verifier: Option<TokenVerifier>,
    pub(crate) allow_anonymous: bool,
    pub(crate) limits: Limits,
    pub(crate) timings: Timings,
    pub(crate) state: AppState,
    pub(crate) hooks: Hooks,
    /// Channels, subscribers, the broker: this node's part of the
    /// deployment.
    pub(crate) engine: Arc<Engine>,
    pub(crate) allowed_origins: Vec<String>,
    /// The service's own HTTP routes (a page, a webhook), served beside
    /// the WebSocket endpoint.
    pub(crate) routes: axum::Router,
    /// The HTTP API's key; the API is off without one.
    pub(crate) api_key: Option<String>,
    /// What handlers get from `Conn::publisher` (holds this weakly).
    pub(crate) publisher: Arc<dyn wirecall_core::Publisher>,
    /// Cancelled when the current serve loop shuts down; replaced for the next.
    pub(crate) shutdown: Mutex<CancellationToken>,
    /// Every live session, so shutdown can wait for them.
    pub(crate) sessions: TaskTracker,
    /// The server's Prometheus metrics, when turned on.
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
}
