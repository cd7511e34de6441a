//! The tasks example's server: `tasks serve`, `tasks publish`, `tasks
//! notify`, `tasks token`, `tasks generate-clients`, … (wirecall's standard
//! command line) with the tasks handlers, their channels and the browser
//! page at `/`; and `tasks worker`, which runs tasks handed over by nodes
//! that share a Redis (`serve --redis`).

mod login;
mod page;
mod queue;
mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tasks_service::{COMMENTS_NAMESPACE, TASKS_NAMESPACE, TaskQueue, TaskStore};
use wirecall_server::cli::Settings;
use wirecall_server::{AppState, NamespaceOptions, ServerBuilder};

/// Namespaces: `news` (public: subscribe and publish, history 100 for 5
/// minutes, recovery, presence, join/leave), `tasks` (owner-only `#`
/// channels, history 50 for 10 minutes, recovery) and `personal` (each
/// user's personal channel). A connection without a token is signed in
/// by the session cookie `POST /login` sets (development mode). With a Redis (`serve --redis`), `tasks.run`
/// hands runs to `tasks worker` instead of running them in the node.
fn configure(server: ServerBuilder, settings: &Settings) -> ServerBuilder {
    let tasks = NamespaceOptions::default()
        .allow_user_limited_channels(true)
        .history_size(50)
        .history_ttl(Duration::from_secs(600))
        .force_recovery(true)
        .force_positioning(true);
    // The owner's tabs publish comments (checked against TaskComment).
    let comments = NamespaceOptions::default()
        .allow_user_limited_channels(true)
        .allow_publish_for_subscriber(true)
        .history_size(50)
        .history_ttl(Duration::from_secs(600))
        .force_recovery(true);
    let personal = NamespaceOptions::default()
        .presence(true)
        .history_size(50)
        .history_ttl(Duration::from_secs(600))
        .force_recovery(true);
    // Signing in with a session cookie (a connection without a token).
    let sessions = Arc::new(login::Sessions::default());
    login::authenticate(server, sessions.clone())
        .namespace(
            "news",
            NamespaceOptions::public(100, Duration::from_secs(300)),
        )
        .namespace(TASKS_NAMESPACE, tasks)
        .namespace(COMMENTS_NAMESPACE, comments)
        .namespace("personal", personal)
        .personal_channels("personal")
        .state(state(settings))
        .client_options(tasks_service::client_options())
        .routes(page::routes().merge(login::routes(sessions, settings.dev)))
}

/// The handlers' state: the task store, and the worker queue with Redis.
fn state(settings: &Settings) -> AppState {
    let state = AppState::new().with(TaskStore::default());
    let Some(url) = &settings.redis_url else {
        return state;
    };
    match queue::RedisTaskQueue::new(url) {
        Ok(queue) => state.with::<Arc<dyn TaskQueue>>(Arc::new(queue)),
        Err(error) => {
            eprintln!("warning: {error}; tasks run in the node");
            state
        }
    }
}

fn main() -> ExitCode {
    wirecall_server::cli::run_with(configure, worker::run)
}
