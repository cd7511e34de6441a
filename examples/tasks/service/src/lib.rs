//! The tasks example: users create tasks, run them in the background and
//! watch their progress live; they send each other notifications.
//!
//! Handlers and models live in this library (not in the server binary) so
//! that `tasks-clients`' build script can link them and export typed
//! clients: `#[websocket_rpc]` registers handlers at link time, and a build
//! script only sees the crates it depends on.
//!
//! State is in memory ([`TaskStore`], shared through the server's
//! `AppState`); every task belongs to the user who created it.

mod handlers;
mod jobs;
mod models;
mod store;

pub use handlers::*;
pub use jobs::{TaskJob, TaskQueue, run_job};
pub use models::*;
pub use store::TaskStore;

/// The namespace of task channels: `tasks:<task id>#<owner>`, which only
/// the owner may subscribe to.
pub const TASKS_NAMESPACE: &str = "tasks";

/// Application error codes (documented in the generated clients' READMEs
/// through the handlers' docs).
pub mod codes {
    /// The task does not exist, or belongs to someone else.
    pub const TASK_NOT_FOUND: u32 = 404;
    /// The task is already running.
    pub const TASK_RUNNING: u32 = 409;
}

/// How the tasks API's clients are named: `tasks-client` (npm), Go module
/// `example.com/tasks-client` (package `tasksclient`). The build script and
/// `generate-clients` use the same names.
pub fn client_options() -> wirecall_core::export::ClientOptions {
    wirecall_core::export::ClientOptions {
        go_module: Some("example.com/tasks-client".into()),
        ..wirecall_core::export::ClientOptions::named("tasks-client")
    }
}

/// The channel a task's progress is published on.
pub fn task_channel(task_id: &uuid::Uuid, owner: &str) -> String {
    format!("{TASKS_NAMESPACE}:{task_id}#{owner}")
}
