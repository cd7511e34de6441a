// Accepts `Result<T, E>` where the user's error enum converts into RpcError,
// and the `wirecall_core::Result<T>` alias.
use wirecall_core::{RpcError, websocket_rpc};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug)]
pub enum TaskError {
    NotFound,
}

impl From<TaskError> for RpcError {
    fn from(_: TaskError) -> Self {
        RpcError::application(404, "task not found")
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct TaskId {
    pub id: String,
}

fn find(_id: &str) -> Result<u32, TaskError> {
    Err(TaskError::NotFound)
}

#[websocket_rpc("tasks.get")]
pub async fn get(params: TaskId) -> Result<u32, TaskError> {
    let task = find(&params.id)?;
    Ok(task)
}

#[websocket_rpc("tasks.count")]
pub async fn count(params: TaskId) -> wirecall_core::Result<u32> {
    Ok(find(&params.id)?)
}

fn main() {}
