//! Prometheus metrics: a server that keeps them serves, at `GET /metrics`
//! on a listener of its own, the counts of what its clients did, with
//! bounded labels; one that does not keeps none.

mod support;

use std::net::SocketAddr;

use serde_json::json;
use serde_json::value::RawValue;
use support::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wirecall_tests::test_server;

/// Serves `router` on a free loopback port (the admin listener).
async fn serve_admin(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// `GET path` over a plain socket: the status line and the body.
async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_connections_calls_subscriptions_and_publications() {
    let server = TestServer::start(test_server().metrics(true)).await;
    let admin = serve_admin(server.server.metrics_router()).await;
    let mut client = server.client("u1").await;
    client.call("test.echo", json!({"ok": true})).await;
    client.call("test.echo", json!([1])).await;
    client.call("test.nope", json!({})).await;
    client.call("test.panic", json!(null)).await;
    client.call("test.sleep", json!("soon")).await;
    let reply = client.subscribe(json!({"channel": "news:general"})).await;
    assert!(reply["error"].is_null(), "{reply}");
    let data = RawValue::from_string(r#"{"n":1}"#.into()).unwrap();
    server.server.publish("news:general", &data).await.unwrap();

    let (status, text) = get(admin, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{text}");
    let expected = [
        ("wirecall_connections", 1.0),
        ("wirecall_users", 1.0),
        ("wirecall_connects_accepted_total", 1.0),
        (
            r#"wirecall_rpc_calls_total{method="test.echo",code="ok"}"#,
            2.0,
        ),
        (
            r#"wirecall_rpc_calls_total{method="(unknown)",code="104"}"#,
            1.0,
        ),
        (
            r#"wirecall_rpc_calls_total{method="test.panic",code="100"}"#,
            1.0,
        ),
        (
            r#"wirecall_rpc_calls_total{method="test.sleep",code="107"}"#,
            1.0,
        ),
        (r#"wirecall_rpc_panics_total{method="test.panic"}"#, 1.0),
        (
            r#"wirecall_rpc_duration_seconds_count{method="test.echo"}"#,
            2.0,
        ),
        (r#"wirecall_commands_total{command="subscribe"}"#, 1.0),
        // The personal channel (server-side) and news:general.
        (r#"wirecall_subscribes_total{namespace="personal"}"#, 1.0),
        (r#"wirecall_subscribes_total{namespace="news"}"#, 1.0),
        (r#"wirecall_subscriptions{namespace="news"}"#, 1.0),
        (
            r#"wirecall_publications_total{namespace="news",source="server"}"#,
            1.0,
        ),
    ];
    for (series, value) in expected {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    }
    // Calls are counted as calls, not also as commands.
    assert_eq!(
        sample(&text, r#"wirecall_commands_total{command="rpc"}"#),
        None
    );
    // Every reply and push went out in some message.
    assert!(sample(&text, "wirecall_messages_sent_total").unwrap() >= 1.0);
    assert!(sample(&text, "wirecall_sent_bytes_total").unwrap() > 100.0);
    assert!(sample(&text, "process_resident_memory_bytes").unwrap() > 1e6);
    assert!(sample(&text, "process_open_fds").unwrap() >= 3.0);
    // The memory broker's operations are timed like Redis's would be.
    assert!(
        sample(
            &text,
            r#"wirecall_broker_operations_total{operation="publish",outcome="ok"}"#
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
    // Channels never become labels.
    assert!(!text.contains("news:general"), "{text}");

    // The client goes away: the gauge falls and the close is counted.
    drop(client);
    let mut text = String::new();
    for _ in 0..200 {
        text = get(admin, "/metrics").await.1;
        if sample(&text, "wirecall_connections") == Some(0.0) {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(sample(&text, "wirecall_connections"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, r#"wirecall_disconnects_total{code="none"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "wirecall_connection_duration_seconds_count"),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_are_off_unless_asked_for() {
    let server = TestServer::start(test_server()).await;
    assert!(server.server.metrics().is_none());
    let admin = serve_admin(server.server.metrics_router()).await;
    let (status, _) = get(admin, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}
