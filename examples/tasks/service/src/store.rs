//! The tasks, in memory. One lock, held only to read or change a map entry
//! (never across an await), so handlers never wait on each other for long.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use uuid::Uuid;
use wirecall_core::RpcError;

use crate::models::{Task, TaskStats, TaskStatus};
use crate::{codes, task_channel};

/// Every task of the service, by id.
#[derive(Debug, Default)]
pub struct TaskStore {
    tasks: Mutex<Tasks>,
}

/// The map and the creation counter that orders it (timestamps can tie).
#[derive(Debug, Default)]
struct Tasks {
    by_id: HashMap<Uuid, (u64, Task)>,
    created: u64,
}

fn not_found() -> RpcError {
    RpcError::application(codes::TASK_NOT_FOUND, "task not found")
}

impl TaskStore {
    fn with<R>(&self, f: impl FnOnce(&mut Tasks) -> R) -> R {
        // A panic while holding the lock leaves the map consistent (each
        // change is one assignment), so a poisoned lock is still usable.
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut tasks)
    }

    /// A new pending task of `owner`.
    ///
    /// # Errors
    /// Bad request (107) when `owner` cannot name a channel of its own (an
    /// id with `#` or `,` would admit other users to its channels).
    pub fn create(&self, owner: &str, title: &str, steps: u32) -> Result<Task, RpcError> {
        let id = Uuid::new_v4();
        let task = Task {
            id,
            channel: task_channel(&id, owner)?,
            title: title.to_owned(),
            owner: owner.to_owned(),
            status: TaskStatus::Pending,
            progress: 0,
            steps,
            created_at: Utc::now(),
        };
        self.with(|tasks| {
            tasks.created += 1;
            tasks.by_id.insert(id, (tasks.created, task.clone()));
        });
        Ok(task)
    }

    /// `owner`'s task `id`; someone else's is "not found" too, so ids
    /// reveal nothing.
    pub fn get(&self, owner: &str, id: Uuid) -> Result<Task, RpcError> {
        self.with(|tasks| {
            let (_, task) = tasks.by_id.get(&id)?;
            (task.owner == owner).then(|| task.clone())
        })
        .ok_or_else(not_found)
    }

    /// `owner`'s tasks, newest first, optionally only those in `status`.
    pub fn list(&self, owner: &str, status: Option<TaskStatus>, limit: usize) -> Vec<Task> {
        let mut mine: Vec<(u64, Task)> = self.with(|tasks| {
            tasks
                .by_id
                .values()
                .filter(|(_, t)| t.owner == owner && status.is_none_or(|s| t.status == s))
                .cloned()
                .collect()
        });
        mine.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        mine.into_iter().take(limit).map(|(_, task)| task).collect()
    }

    /// Counts over `owner`'s `limit` newest tasks.
    pub fn stats(&self, owner: &str, limit: usize) -> TaskStats {
        let counted = self.list(owner, None, limit);
        let completed = counted
            .iter()
            .filter(|t| t.status == TaskStatus::Completed)
            .count();
        TaskStats {
            total: u32::try_from(counted.len()).unwrap_or(u32::MAX),
            completed: u32::try_from(completed).unwrap_or(u32::MAX),
        }
    }

    /// Marks `owner`'s task running from 0%; an error if it already is.
    pub fn start(&self, owner: &str, id: Uuid) -> Result<Task, RpcError> {
        self.with(|tasks| {
            let task = tasks
                .by_id
                .get_mut(&id)
                .map(|(_, task)| task)
                .filter(|t| t.owner == owner)
                .ok_or_else(not_found)?;
            if task.status == TaskStatus::Running {
                return Err(RpcError::application(
                    codes::TASK_RUNNING,
                    "task is already running",
                ));
            }
            task.status = TaskStatus::Running;
            task.progress = 0;
            Ok(task.clone())
        })
    }

    /// Records progress, or the end of a run.
    pub fn update(&self, id: Uuid, status: TaskStatus, progress: u8) {
        self.with(|tasks| {
            if let Some((_, task)) = tasks.by_id.get_mut(&id) {
                task.status = status;
                task.progress = progress;
            }
        });
    }
}
