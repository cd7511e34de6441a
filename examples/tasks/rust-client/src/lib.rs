//! A Rust client of the tasks service built from the generated module
//! (`examples/tasks/clients/generated/rust/api.rs`): typed calls by marker,
//! a typed task channel, and nothing linked from the service itself.

use futures_util::StreamExt;
use wirecall_client::{BoxError, Client, TypedEvent};

/// The tasks API's types and method markers, as `generate-clients --rust`
/// wrote them.
#[rustfmt::skip]
#[path = "../../clients/generated/rust/api.rs"]
pub mod api;

/// What [`create_and_run`] saw.
#[derive(Debug)]
pub struct Run {
    /// The task, as created.
    pub task: api::Task,
    /// The progress of each `task_update`, in order.
    pub progress: Vec<u8>,
    /// The `task_complete` that ended it.
    pub completed: api::TaskComplete,
    /// The caller's stats afterwards.
    pub stats: api::TaskStats,
}

/// Creates a task of `steps` steps, follows its channel, runs it and waits
/// for its completion; then reads the caller's stats.
///
/// # Errors
/// The server's refusals ([`wirecall_client::ClientError`]), a lost
/// connection, a publication that does not decode, or a run that failed.
pub async fn create_and_run(client: &Client, title: &str, steps: u32) -> Result<Run, BoxError> {
    let params = api::CreateTaskParams {
        title: title.to_owned(),
        steps: Some(steps),
    };
    let task = client.call::<api::tasks_create>(params).await?;
    // Subscribed before the run starts, so no step is missed.
    let mut events = client.subscribe_as::<api::TaskEvent>(&task.channel).await?;
    let run = api::RunTaskParams {
        task_id: task.id,
        step_ms: Some(20),
        fail_at: None,
    };
    client.call::<api::tasks_run>(run).await?;
    let mut progress = Vec::new();
    let completed = loop {
        match events.next().await {
            Some(Ok(TypedEvent::Publication(api::TaskEvent::TaskUpdate(update)))) => {
                progress.push(update.progress);
            }
            Some(Ok(TypedEvent::Publication(api::TaskEvent::TaskComplete(done)))) => break done,
            Some(Ok(TypedEvent::Publication(api::TaskEvent::TaskError(failed)))) => {
                return Err(format!("the run failed: {}", failed.message).into());
            }
            Some(Ok(TypedEvent::Other(_))) => {}
            Some(Err(undecodable)) => return Err(undecodable.into()),
            None => return Err("the task channel ended".into()),
        }
    };
    let me = client.call::<api::users_whoami>(()).await?;
    let stats = client
        .call::<api::tasks_get_stats>(api::TaskStatsParams {
            user_id: me.user_id,
            limit: None,
        })
        .await?;
    Ok(Run {
        task,
        progress,
        completed,
        stats,
    })
}
