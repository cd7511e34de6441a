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

mod channels;
mod handlers;
mod jobs;
mod models;
mod store;

pub use channels::*;
pub use handlers::*;
pub use jobs::{TaskJob, TaskQueue, run_job};
pub use models::*;
pub use store::TaskStore;

/// The namespace of task channels ([`TaskProgress`]): `tasks:<task
/// id>#<owner>`, which only the owner may subscribe to.
pub const TASKS_NAMESPACE: &str = "tasks";

/// The namespace of comment channels ([`TaskComments`]):
/// `comments:<task id>#<owner>`, where the owner's subscribed tabs publish.
pub const COMMENTS_NAMESPACE: &str = "comments";

use wirecall_core::ChannelFamily;
use wirecall_core::export::{ChannelAccess, ClientOptions};

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
///
/// What clients may do in each namespace is here too, for the AsyncAPI
/// document the build script writes; the server's `generate-clients` reads
/// it from its namespace options, and test.sh's `--check` fails if the two
/// disagree.
pub fn client_options() -> ClientOptions {
    let access = |subscribe, publish| ChannelAccess { subscribe, publish };
    ClientOptions {
        go_module: Some("example.com/tasks-client".into()),
        channel_access: [
            ("", access(false, false)),
            ("news", access(true, true)),
            (TASKS_NAMESPACE, access(false, false)),
            (COMMENTS_NAMESPACE, access(false, true)),
            ("personal", access(false, false)),
        ]
        .into_iter()
        .map(|(namespace, access)| (namespace.to_owned(), access))
        .collect(),
        personal_namespace: Some("personal".into()),
        ..ClientOptions::named("tasks-client")
    }
}

/// The channel a task's progress is published on.
///
/// # Errors
/// Bad request (107) for an owner id that cannot name a channel (one with
/// `#` or `,`, which would admit other users).
pub fn task_channel(task_id: &uuid::Uuid, owner: &str) -> Result<String, wirecall_core::RpcError> {
    task_progress::channel(&TaskProgress {
        task_id: *task_id,
        owner: owner.to_owned(),
    })
}
