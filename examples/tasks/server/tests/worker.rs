//! The tasks example on two nodes sharing a real Redis, with `tasks
//! worker`: `tasks.run` on node A hands the run to the worker, whose
//! progress (published through Redis, no HTTP) reaches the owner's
//! subscription on node B, and whose status changes come back to node A's
//! store.

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use serde_json::json;
use tasks_service::Task;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wirecall_client::{Client, SubscriptionEvent};
use wirecall_tests::redis_server::RedisServer;

const SECRET: &str = "worker-test-secret";

/// `tasks serve --redis` on a free port; the child and its WebSocket URL.
async fn node(redis: &RedisServer) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log", "warn"])
        .args(["--secret", SECRET, "--redis", &redis.url()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("wirecall listening on ") {
            // Keep reading what it prints after.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, url.to_owned());
        }
    }
    panic!("the node printed no address");
}

async fn client(url: &str, user: &str) -> Client {
    let token = wirecall_server::auth::mint_hmac_token(
        SECRET.as_bytes(),
        &serde_json::json!({"sub": user, "exp": 4_000_000_000u64}),
    )
    .unwrap();
    Client::builder(url).token(token).connect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_one_node_is_done_by_the_worker_and_seen_on_another() {
    let redis = RedisServer::start(false);
    let (_a, url_a) = node(&redis).await;
    let (_b, url_b) = node(&redis).await;
    let mut worker = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["worker", "--redis", &redis.url()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut worker_out = BufReader::new(worker.stdout.take().unwrap()).lines();
    let ready = worker_out.next_line().await.unwrap().unwrap();
    assert!(ready.starts_with("tasks worker: taking jobs"), "{ready}");
    tokio::spawn(async move { while let Ok(Some(_)) = worker_out.next_line().await {} });

    let on_a = client(&url_a, "alice").await;
    let on_b = client(&url_b, "alice").await;
    let task = call(
        &on_a,
        "tasks.create",
        json!({"title": "report", "steps": 4}),
    )
    .await;
    let mut progress = on_b.subscribe(&task.channel).await.unwrap();
    let mut personal = on_b.server_subscriptions().expect("taken once");
    on_a.call_raw("tasks.run", &json!({"task_id": task.id, "step_ms": 20}))
        .await
        .unwrap();

    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("task_complete") {
        let event = tokio::time::timeout(Duration::from_secs(10), progress.next())
            .await
            .expect("progress arrives")
            .expect("subscription open");
        if let SubscriptionEvent::Publication(publication) = event {
            let data: Value = serde_json::from_str(publication.data.get()).unwrap();
            seen.push(data["type"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        seen,
        [
            "task_update",
            "task_update",
            "task_update",
            "task_update",
            "task_complete"
        ]
    );
    let (channel, notification) = tokio::time::timeout(Duration::from_secs(10), personal.next())
        .await
        .expect("the notification arrives")
        .expect("open");
    assert_eq!(channel, "personal:#alice");
    let SubscriptionEvent::Publication(notification) = notification else {
        panic!("{notification:?}");
    };
    assert!(
        notification.data.get().contains("Task completed"),
        "{}",
        notification.data.get()
    );

    // The worker's status changes reach the store of node A, where the task
    // lives.
    let mut status = String::new();
    for _ in 0..100 {
        let now = call(&on_a, "tasks.get", json!({"task_id": task.id})).await;
        status = serde_json::to_value(now.status)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        if status == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "completed");
}

async fn call(client: &Client, method: &str, params: Value) -> Task {
    let reply = client.call_raw(method, &params).await.unwrap();
    serde_json::from_str(reply.get()).unwrap()
}
