//! The tasks handlers through the router, in process: validation errors name
//! the field, every task is its owner's alone, lists are newest first.
//! (tasks.run and notifications need a server; tests/sdk covers them.)

use serde_json::{Value, json};
use tasks_service::{TaskStore, codes};
use wirecall_core::{AppState, Conn, Router, RpcError, code};

fn conn(user: &str, state: &AppState) -> Conn {
    Conn::builder().user(user).state(state.clone()).build()
}

async fn call(conn: &Conn, method: &str, params: Value) -> Result<Value, RpcError> {
    let router = Router::global().unwrap();
    let params = serde_json::value::to_raw_value(&params).unwrap();
    let reply = router.call(conn.clone(), method, Some(&params)).await?;
    Ok(serde_json::from_str(reply.get()).unwrap())
}

fn store() -> AppState {
    AppState::new().with(TaskStore::default())
}

#[tokio::test]
async fn create_validates_title_and_steps() {
    let state = store();
    let alice = conn("alice", &state);
    let task = call(&alice, "tasks.create", json!({"title": " Export "}))
        .await
        .unwrap();
    assert_eq!(task["title"], "Export");
    assert_eq!(task["steps"], 5);
    assert_eq!(task["status"], "pending");
    assert_eq!(
        task["channel"],
        format!("tasks:{}#alice", task["id"].as_str().unwrap())
    );

    for (params, message) in [
        (json!({"title": ""}), "title: must not be empty"),
        (
            json!({"title": "x", "steps": 0}),
            "steps: must be between 1 and 1000",
        ),
        (
            json!({"title": "x", "steps": 1001}),
            "steps: must be between 1 and 1000",
        ),
    ] {
        let error = call(&alice, "tasks.create", params).await.unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (code::BAD_REQUEST, message)
        );
    }
    let error = call(&alice, "tasks.create", json!({"steps": 3}))
        .await
        .unwrap_err();
    assert_eq!(error.code, code::BAD_REQUEST);
    assert!(error.message.contains("title"), "{error}");
}

#[tokio::test]
async fn tasks_are_their_owners_alone() {
    let state = store();
    let (alice, bob) = (conn("alice", &state), conn("bob", &state));
    let task = call(&alice, "tasks.create", json!({"title": "mine"}))
        .await
        .unwrap();
    let id = json!({"task_id": task["id"]});
    assert_eq!(call(&alice, "tasks.get", id.clone()).await.unwrap(), task);
    let error = call(&bob, "tasks.get", id).await.unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (codes::TASK_NOT_FOUND, "task not found")
    );
    let missing = json!({"task_id": "00000000-0000-0000-0000-000000000000"});
    let error = call(&alice, "tasks.get", missing).await.unwrap_err();
    assert_eq!(error.code, codes::TASK_NOT_FOUND);
    let listed = call(&bob, "tasks.list", json!({})).await.unwrap();
    assert_eq!(listed, json!({"tasks": []}));
    let error = call(&bob, "tasks.get_stats", json!({"user_id": "alice"}))
        .await
        .unwrap_err();
    assert_eq!(error.code, code::PERMISSION_DENIED);
}

#[tokio::test]
async fn list_is_newest_first_filtered_and_limited() {
    let state = store();
    let alice = conn("alice", &state);
    for title in ["one", "two", "three"] {
        call(&alice, "tasks.create", json!({"title": title}))
            .await
            .unwrap();
    }
    let titles = |list: Value| -> Vec<String> {
        list["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = call(&alice, "tasks.list", json!({})).await.unwrap();
    assert_eq!(titles(all), ["three", "two", "one"]);
    let two = call(&alice, "tasks.list", json!({"limit": 2}))
        .await
        .unwrap();
    assert_eq!(titles(two), ["three", "two"]);
    let done = call(&alice, "tasks.list", json!({"status": "completed"}))
        .await
        .unwrap();
    assert_eq!(titles(done), Vec::<String>::new());
    let error = call(&alice, "tasks.list", json!({"limit": 0}))
        .await
        .unwrap_err();
    assert_eq!(error.message, "limit: must be between 1 and 1000");
    let stats = call(
        &alice,
        "tasks.get_stats",
        json!({"user_id": "alice", "limit": 2}),
    )
    .await;
    assert_eq!(stats.unwrap(), json!({"total": 2, "completed": 0}));
}
