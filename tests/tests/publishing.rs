//! Publishing from the server process: the messaging helpers and the task
//! notifier deliver exactly the documented payloads, in order, to a real
//! connection's personal or task channel.

mod support;

use serde_json::{Value, json};
use support::{TestServer, pub_data};
use wirecall_server::PublisherExt;
use wirecall_server::messages::{NotificationKind, TaskUpdateStatus};
use wirecall_server::publish::{FileNotice, Notification};
use wirecall_tests::test_server;

/// Drops the timestamp after checking it is RFC 3339 UTC.
fn without_timestamp(mut payload: Value) -> Value {
    let timestamp = payload["timestamp"].as_str().expect("timestamp").to_owned();
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    chrono::DateTime::parse_from_rfc3339(&timestamp).expect("RFC 3339");
    payload.as_object_mut().unwrap().remove("timestamp");
    payload
}

#[tokio::test]
async fn messaging_helpers_deliver_the_documented_payloads() {
    let server = TestServer::start(test_server()).await;
    let publisher = server.server.publisher();
    let mut alice = server.client("alice").await;

    let delivery = publisher
        .send_message("alice", "hello", Some(json!({"k": 1})))
        .await
        .unwrap();
    assert!(delivery.delivered);
    let push = alice.push().await;
    assert_eq!(push["channel"], "personal:#alice");
    assert_eq!(
        without_timestamp(pub_data(&push).clone()),
        json!({"type": "user.message", "username": "alice", "message": "hello", "data": {"k": 1}})
    );

    let notification = Notification {
        message: "Saved".into(),
        kind: NotificationKind::Warning,
        title: "Heads up".into(),
        data: None,
    };
    publisher
        .send_notification("alice", notification)
        .await
        .unwrap();
    assert_eq!(
        without_timestamp(pub_data(&alice.push().await).clone()),
        json!({"type": "user.notification", "username": "alice", "notification_type": "warning",
               "title": "Heads up", "message": "Saved", "data": {}})
    );

    let file = FileNotice {
        file_url: "https://files.example/exports/report.csv?sig=abc".into(),
        file_size: Some(2048),
        ..FileNotice::default()
    };
    publisher.send_file("alice", file).await.unwrap();
    assert_eq!(
        without_timestamp(pub_data(&alice.push().await).clone()),
        json!({"type": "user.file", "username": "alice",
               "file_url": "https://files.example/exports/report.csv?sig=abc",
               "file_name": "report.csv", "file_size": 2048,
               "message": "File ready for download", "data": {}})
    );
}

#[tokio::test]
async fn unknown_users_are_not_errors_but_empty_names_are() {
    let server = TestServer::start(test_server()).await;
    let publisher = server.server.publisher();
    let delivery = publisher.send_message("nobody", "hi", None).await.unwrap();
    assert!(!delivery.delivered);
    assert_eq!(delivery.position.offset, 1, "kept for when they connect");
    let error = publisher.send_message("", "hi", None).await.unwrap_err();
    assert_eq!(error.code, 107);

    let mut bob = server.client("bob").await;
    let users = ["bob".to_owned(), "carol".to_owned()];
    assert_eq!(
        publisher
            .broadcast_message("hi all", &users, None)
            .await
            .unwrap(),
        1
    );
    let with_empty = ["bob".to_owned(), String::new()];
    let error = publisher
        .broadcast_message("x", &with_empty, None)
        .await
        .unwrap_err();
    assert_eq!(
        error.code, 107,
        "an empty name fails before anything is sent"
    );
    let twice = ["bob".to_owned(), "bob".to_owned()];
    assert_eq!(
        publisher
            .broadcast_message("once", &twice, None)
            .await
            .unwrap(),
        1
    );
    assert!(publisher.is_connected("bob").await.unwrap());
    assert!(!publisher.is_connected("carol").await.unwrap());
    let messages: Vec<_> = [bob.push().await, bob.push().await]
        .iter()
        .map(|push| pub_data(push)["message"].clone())
        .collect();
    assert_eq!(
        messages,
        [json!("hi all"), json!("once")],
        "nothing from the failed call, one 'once'"
    );
}

#[tokio::test]
async fn task_progress_arrives_in_order() {
    let server = TestServer::start(test_server()).await;
    let publisher = server.server.publisher();
    let mut client = server.client("u1").await;
    client.subscribe(json!({"channel": "chat:#u1"})).await;
    let task = publisher.task("t-1", "chat:#u1");
    for progress in [0, 45, 100] {
        task.update(
            TaskUpdateStatus::Processing,
            &format!("at {progress}"),
            progress,
            None,
        )
        .await
        .unwrap();
    }
    assert_eq!(
        task.update(TaskUpdateStatus::Processing, "too far", 101, None)
            .await
            .unwrap_err()
            .code,
        107
    );
    task.complete("done", Some(json!({"rows": 3})))
        .await
        .unwrap();
    task.error("boom", "it failed").await.unwrap();

    for progress in [0, 45, 100] {
        let push = client.push().await;
        assert_eq!(
            pub_data(&push),
            &json!({"type": "task_update", "task_id": "t-1", "status": "processing",
                    "message": format!("at {progress}"), "progress": progress, "data": {}})
        );
    }
    assert_eq!(
        pub_data(&client.push().await),
        &json!({"type": "task_complete", "task_id": "t-1", "status": "completed",
                "message": "done", "result": {"rows": 3}})
    );
    assert_eq!(
        pub_data(&client.push().await),
        &json!({"type": "task_error", "task_id": "t-1", "error": "boom", "message": "it failed"})
    );
}

#[tokio::test]
async fn handlers_publish_through_their_context() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u5").await;
    let reply = client
        .call("test.notify_me", json!("your export is ready"))
        .await;
    assert_eq!(reply["rpc"]["data"], true, "{reply}");
    let push = client.push().await;
    assert_eq!(pub_data(&push)["type"], "user.notification");
    assert_eq!(pub_data(&push)["notification_type"], "success");
    assert_eq!(pub_data(&push)["message"], "your export is ready");
}
