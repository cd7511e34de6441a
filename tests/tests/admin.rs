//! The admin endpoints: a password guards them; signed in, an operator
//! sees the connected clients, the busiest channels and each method's
//! calls, and runs server API commands whose effects reach clients.

mod support;

use std::net::SocketAddr;

use serde_json::{Value, json};
use support::{TestServer, pub_data};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wirecall_tests::test_server;

/// An HTTP/1.1 request over a plain socket: the status code, the
/// response's headers (lower-cased names) and its body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{cookie}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// Serves `server`'s admin routes behind `password` on a free port.
async fn serve_admin(server: &TestServer, password: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = listener.local_addr().unwrap();
    let routes = server.server.admin_router(password);
    tokio::spawn(async move { axum::serve(listener, routes).await });
    admin
}

/// `POST /admin/login` with `password`.
async fn login(admin: SocketAddr, password: &str) -> (u16, Vec<(String, String)>, String) {
    let body = json!({ "password": password }).to_string();
    http(admin, "POST", "/admin/login", None, &body).await
}

#[tokio::test]
async fn a_signed_in_operator_sees_the_server_and_runs_api_commands() {
    // The watcher's end runs the unsubscribe hook, after it left the hub.
    let (left_channel, mut unsubscribed) = tokio::sync::mpsc::unbounded_channel();
    let builder = test_server().metrics(true).on_unsubscribe(move |cx| {
        let left_channel = left_channel.clone();
        async move {
            let _ = left_channel.send(cx.channel);
        }
    });
    let server = TestServer::start(builder).await;
    let admin = serve_admin(&server, "s3cret").await;

    let mut client = server.client("u1").await;
    client.call("test.echo", json!(1)).await;
    client.call("test.echo", json!(2)).await;
    client.call("test.fail", json!(null)).await;
    client.subscribe(json!({"channel": "news:general"})).await;

    // Refused: a wrong password, no session, a made-up session.
    let (status, _, _) = login(admin, "guess").await;
    assert_eq!(status, 401);
    let (status, _, _) = http(admin, "GET", "/admin/api/overview", None, "").await;
    assert_eq!(status, 401);
    let forged = Some("wirecall_admin=00000000000000000000000000000000");
    let (status, _, _) = http(admin, "GET", "/admin/api/overview", forged, "").await;
    assert_eq!(status, 401);
    let publish = r#"{"channel":"news:general","data":{"from":"admin"}}"#;
    let (status, _, _) = http(admin, "POST", "/admin/api/command/publish", forged, publish).await;
    assert_eq!(status, 401);

    let (status, headers, _) = login(admin, "s3cret").await;
    assert_eq!(status, 204);
    let set_cookie = &headers
        .iter()
        .find(|(name, _)| name == "set-cookie")
        .unwrap()
        .1;
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let session = set_cookie.split(';').next().unwrap().to_owned();

    let (status, _, body) = http(admin, "GET", "/admin/api/overview", Some(&session), "").await;
    assert_eq!(status, 200, "{body}");
    let overview: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(overview["connections"], 1, "{overview}");
    assert_eq!(overview["users"], 1);
    assert_eq!(overview["nodes"].as_array().unwrap().len(), 1);
    let channels = overview["channels"].as_array().unwrap();
    assert!(
        channels.contains(&json!({"channel": "news:general", "subscribers": 1})),
        "{overview}"
    );
    let methods = overview["methods"].as_array().unwrap();
    let echo = methods.iter().find(|m| m["method"] == "test.echo").unwrap();
    assert_eq!(
        (echo["calls"].as_u64(), echo["errors"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(echo["p99_seconds"].as_f64().unwrap() > 0.0, "{echo}");
    let fail = methods.iter().find(|m| m["method"] == "test.fail").unwrap();
    assert_eq!(
        (fail["calls"].as_u64(), fail["errors"].as_u64()),
        (Some(1), Some(1))
    );

    // A command, with the API's own answer; its publication reaches the
    // subscriber.
    let (status, _, body) = http(
        admin,
        "POST",
        "/admin/api/command/publish",
        Some(&session),
        publish,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(answer.get("result").is_some(), "{answer}");
    let push = client.json().await;
    assert_eq!(pub_data(&push["push"]), &json!({"from": "admin"}), "{push}");
    let (status, _, _) = http(
        admin,
        "POST",
        "/admin/api/command/teleport",
        Some(&session),
        "{}",
    )
    .await;
    assert_eq!(status, 404);

    // The page itself is served to anyone: it only signs in.
    let (status, headers, page) = http(admin, "GET", "/admin", None, "").await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "content-type" && v.starts_with("text/html"))
    );
    assert!(page.contains(r#"id="login-form""#));

    // Watching a channel: publications arrive as server-sent events, and
    // the watcher's subscription ends with its connection.
    let (status, _, _) = http(
        admin,
        "GET",
        "/admin/api/watch?channel=news:general",
        None,
        "",
    )
    .await;
    assert_eq!(status, 401);
    let mut watch = tokio::net::TcpStream::connect(admin).await.unwrap();
    let request = format!(
        "GET /admin/api/watch?channel=news:general HTTP/1.1\r\nHost: {admin}\r\nCookie: {session}\r\n\r\n"
    );
    watch.write_all(request.as_bytes()).await.unwrap();
    let subscribers = |overview: &Value| {
        overview["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == "news:general")
            .map_or(0, |c| c["subscribers"].as_u64().unwrap())
    };
    let overview_now = || async {
        let (_, _, body) = http(admin, "GET", "/admin/api/overview", Some(&session), "").await;
        serde_json::from_str::<Value>(&body).unwrap()
    };
    // The watcher is subscribed once the response has begun.
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("text/event-stream") {
        let n = watch.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the watch ended: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(subscribers(&overview_now().await), 2);
    let publish = r#"{"channel":"news:general","data":{"watched":true}}"#;
    http(
        admin,
        "POST",
        "/admin/api/command/publish",
        Some(&session),
        publish,
    )
    .await;
    while !String::from_utf8_lossy(&seen).contains(r#""watched":true"#) {
        let n = watch.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the watch ended: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    drop(watch);
    let channel = tokio::time::timeout(std::time::Duration::from_secs(10), unsubscribed.recv())
        .await
        .expect("the watch's subscription ended");
    assert_eq!(channel.flatten().as_deref(), Some("news:general"));
    let left = overview_now().await;
    assert_eq!(subscribers(&left), 1, "{left}");
}

#[tokio::test]
async fn wrong_passwords_past_ten_a_minute_shut_the_login_for_the_minute() {
    let server = TestServer::start(test_server().metrics(true)).await;
    let admin = serve_admin(&server, "s3cret").await;
    assert_eq!(login(admin, "s3cret").await.0, 204);
    for _ in 0..10 {
        assert_eq!(login(admin, "guess").await.0, 401);
    }
    // Even the right password waits now.
    let (status, headers, _) = login(admin, "s3cret").await;
    assert_eq!(status, 429);
    let retry: u64 = headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .map(|(_, value)| value.parse().unwrap())
        .unwrap();
    assert!((1..=61).contains(&retry), "{retry}");
}

#[tokio::test]
async fn an_empty_password_opens_nothing() {
    let server = TestServer::start(test_server().metrics(true)).await;
    let admin = serve_admin(&server, "").await;
    assert_eq!(login(admin, "").await.0, 401);
}
