//! The tasks example's server: `tasks serve`, `tasks publish`, `tasks
//! notify`, `tasks token`, `tasks generate-clients`, … (wirecall's standard
//! command line) with the tasks handlers, their channels and the browser
//! page at `/`.

mod page;

use std::process::ExitCode;
use std::time::Duration;

use tasks_service::{TASKS_NAMESPACE, TaskStore};
use wirecall_server::{AppState, NamespaceOptions, ServerBuilder};

/// Namespaces: `news` (public: subscribe and publish, history 100 for 5
/// minutes, recovery, presence, join/leave), `tasks` (owner-only `#`
/// channels, history 50 for 10 minutes, recovery) and `personal` (each
/// user's personal channel).
fn configure(server: ServerBuilder) -> ServerBuilder {
    let tasks = NamespaceOptions {
        allow_user_limited_channels: true,
        history_size: 50,
        history_ttl: Duration::from_secs(600),
        force_recovery: true,
        force_positioning: true,
        ..NamespaceOptions::default()
    };
    let personal = NamespaceOptions {
        presence: true,
        history_size: 50,
        history_ttl: Duration::from_secs(600),
        force_recovery: true,
        ..NamespaceOptions::default()
    };
    server
        .namespace(
            "news",
            NamespaceOptions::public(100, Duration::from_secs(300)),
        )
        .namespace(TASKS_NAMESPACE, tasks)
        .namespace("personal", personal)
        .personal_channels("personal")
        .state(AppState::new().with(TaskStore::default()))
        .client_options(tasks_service::client_options())
        .routes(page::routes())
}

fn main() -> ExitCode {
    wirecall_server::cli::run(configure)
}
