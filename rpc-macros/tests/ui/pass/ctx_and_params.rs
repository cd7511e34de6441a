// Accepts `async fn(ctx, params) -> Result<T, RpcError>`, the common shape.
use wirecall_core::{Conn, Method, RpcError, websocket_rpc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, JsonSchema)]
pub struct TaskStatsParams {
    pub user_id: String,
}

#[derive(Serialize, JsonSchema)]
pub struct TaskStats {
    pub total: u64,
}

/// Get task statistics for user.
#[websocket_rpc("tasks.get_stats")]
pub async fn get_task_stats(conn: &Conn, params: TaskStatsParams) -> Result<TaskStats, RpcError> {
    let _ = (conn.user_id(), params.user_id);
    Ok(TaskStats { total: 1 })
}

fn main() {
    assert_eq!(<tasks_get_stats as Method>::NAME, "tasks.get_stats");
}
