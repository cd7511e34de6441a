//! Prometheus metrics: a server that keeps them serves, at `GET /metrics`
//! on a listener of its own, the counts of what its clients did, with
//! bounded labels; one that does not keeps none.

mod support;

use std::net::SocketAddr;

use serde_json::json;
use serde_json::value::RawValue;
use support::{RawClient, TestServer, token};
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

/// A server builder whose disconnect hook reports each disconnect on the
/// returned receiver (the close is in the metrics by then).
fn telling_disconnects(
    builder: wirecall_server::ServerBuilder,
) -> (
    wirecall_server::ServerBuilder,
    tokio::sync::mpsc::UnboundedReceiver<()>,
) {
    let (told, disconnects) = tokio::sync::mpsc::unbounded_channel();
    let builder = builder.on_disconnect(move |_| {
        let told = told.clone();
        async move {
            let _ = told.send(());
        }
    });
    (builder, disconnects)
}

/// Waits (with a hang guard) for the next disconnect the hook reports.
async fn disconnected(disconnects: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
    tokio::time::timeout(std::time::Duration::from_secs(10), disconnects.recv())
        .await
        .expect("the server noticed the client leave")
        .expect("the server runs");
}

#[tokio::test]
async fn metrics_count_connections_calls_subscriptions_and_publications() {
    let (builder, mut disconnects) = telling_disconnects(test_server().metrics(true));
    let server = TestServer::start(builder).await;
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
        // Sampled at the scrape: the one publication kept in news:general,
        // and u1 in the presence of its personal channel.
        (
            r#"wirecall_sampled_history_publications{namespace="news"}"#,
            1.0,
        ),
        (
            r#"wirecall_sampled_presence_clients{namespace="personal"}"#,
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
    disconnected(&mut disconnects).await;
    let (_, text) = get(admin, "/metrics").await;
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

/// Metric names in a PromQL expression: identifiers that are not
/// functions, keywords, label names or label values.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let from = &rest[start..];
        let end = from
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(from.len());
        let word = &from[..end];
        let before = rest[..start].chars().last();
        let after = from[end..].trim_start().chars().next();
        // A function or aggregation is followed by `(`, a label by `=`,
        // `!` or `,`/`)` inside `by (…)`; a label value is quoted.
        let quoted = before == Some('"');
        if !quoted
            && after != Some('(')
            && (word.starts_with("wirecall_") || word.starts_with("process_"))
        {
            names.push(word.to_owned());
        }
        rest = &from[end..];
        // Skip a quoted label value whole.
        if quoted && let Some(close) = rest.find('"') {
            rest = &rest[close + 1..];
        }
    }
    names
}

#[tokio::test]
async fn the_grafana_dashboard_queries_only_metrics_the_server_exports() {
    let limits =
        wirecall_server::Limits::default().rpc_timeout(std::time::Duration::from_millis(50));
    let (builder, mut disconnects) =
        telling_disconnects(test_server().metrics(true).limits(limits));
    let server = TestServer::start(builder).await;
    let admin = serve_admin(server.server.metrics_router()).await;
    // Something of everything the dashboard shows: a refused connect, calls
    // that succeed, fail, panic and time out, a subscription, a
    // publication, a disconnect.
    let mut refused = RawClient::open(&server.url).await;
    refused.connect(&token("u2", -10)).await;
    let mut client = server.client("u1").await;
    client.call("test.echo", json!(1)).await;
    client.call("test.panic", json!(null)).await;
    client.call("test.sleep", json!(5_000)).await;
    client.subscribe(json!({"channel": "news:general"})).await;
    let data = RawValue::from_string("1".into()).unwrap();
    server.server.publish("news:general", &data).await.unwrap();
    // Sampled while the client is subscribed, the rest once it is gone.
    let (_, connected) = get(admin, "/metrics").await;
    drop(client);
    disconnected(&mut disconnects).await;
    let (_, text) = get(admin, "/metrics").await;
    let text = format!("{connected}\n{text}");
    // Every family is declared (`# TYPE`), samples or not; a histogram's
    // samples are its _bucket, _sum and _count.
    let mut exported = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some(declared) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut words = declared.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        exported.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                exported.insert(format!("{name}{suffix}"));
            }
        }
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana/wirecall-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "no metric in {expr:?}");
            for name in names {
                assert!(
                    exported.contains(&name),
                    "panel {:?} queries {name}, which /metrics does not export; it exports {exported:?}",
                    panel["title"]
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 30, "{queried} metric references");
    // The templating query too.
    let instance = &dashboard["templating"]["list"][1]["definition"];
    assert!(instance.as_str().unwrap().contains("wirecall_connections"));
}

#[test]
fn metric_names_are_read_from_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (method, le) (rate(wirecall_rpc_duration_seconds_bucket{code!="wirecall_x",instance=~"$instance"}[$__rate_interval])))"#
        ),
        ["wirecall_rpc_duration_seconds_bucket"]
    );
    assert_eq!(
        metric_names("rate(process_cpu_seconds_total[5m]) / process_max_fds"),
        ["process_cpu_seconds_total", "process_max_fds"]
    );
}
