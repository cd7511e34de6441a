//! The `wirecall` binary, run as a user runs it, against a live server: each
//! success and each error prints one clear line and exits as documented.

use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use wirecall_client::ApiClient;
use wirecall_server::auth::TokenVerifier;
use wirecall_server::{NamespaceOptions, Server};

const KEY: &str = "cli-test-key";

struct Running {
    api_url: String,
    _stop: oneshot::Sender<()>,
}

async fn server() -> Running {
    let server = Server::builder()
        .hmac_secret("cli-secret")
        .api_key(KEY)
        .namespace(
            "news",
            NamespaceOptions::public(10, Duration::from_secs(60)),
        )
        .build()
        .unwrap();
    let listening = server.listen("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}/api", listening.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(listening.serve_with_shutdown(async move {
        let _ = stopped.await;
    }));
    Running {
        api_url,
        _stop: stop,
    }
}

async fn wirecall(args: &[&str]) -> Output {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_wirecall"))
        .args(args)
        .env_remove("WIRECALL_API_KEY")
        .env_remove("WIRECALL_API_URL")
        .env_remove("WIRECALL_SECRET")
        .output()
        .await
        .expect("wirecall runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

async fn history(api_url: &str, channel: &str) -> Value {
    ApiClient::new(api_url, KEY)
        .call("history", &json!({"channel": channel, "limit": 10}))
        .await
        .unwrap()
}

#[tokio::test]
async fn publish_text_and_json() {
    let server = server().await;
    let api = server.api_url.as_str();
    let out = wirecall(&[
        "publish",
        "-c",
        "news:general",
        "-m",
        "hello",
        "--api-url",
        api,
        "--api-key",
        KEY,
        "--idempotency-key",
        "k-1",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("Published to news:general (message id k-1, offset 1, epoch "),
        "{stdout}"
    );

    let out = wirecall(&[
        "publish",
        "-c",
        "news:general",
        "-d",
        r#"{"n": 2}"#,
        "--api-url",
        api,
        "--api-key",
        KEY,
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("message id ") && stdout.contains("offset 2"),
        "{stdout}"
    );

    let history = history(api, "news:general").await;
    let data: Vec<_> = history["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"].clone())
        .collect();
    assert_eq!(data, [json!({"text": "hello"}), json!({"n": 2})]);
}

#[tokio::test]
async fn invalid_json_fails_before_any_network_call() {
    // Port 1 refuses connections: a network call would say so instead.
    let out = wirecall(&[
        "publish",
        "-c",
        "news:x",
        "-d",
        "{\"a\":",
        "--api-url",
        "http://127.0.0.1:1/api",
        "--api-key",
        KEY,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: Invalid JSON in --data: EOF while parsing a value at line 1 column 5"
    );
}

#[tokio::test]
async fn message_and_data_are_exclusive_and_one_is_required() {
    let both = wirecall(&[
        "publish",
        "-c",
        "news:x",
        "-m",
        "a",
        "-d",
        "1",
        "--api-key",
        KEY,
    ])
    .await;
    assert_eq!(both.status.code(), Some(2), "usage error");
    assert!(
        text(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both.stderr)
    );
    let neither = wirecall(&["publish", "-c", "news:x", "--api-key", KEY]).await;
    assert_eq!(neither.status.code(), Some(2));
    assert!(
        text(&neither.stderr).contains("required"),
        "{}",
        text(&neither.stderr)
    );
}

#[tokio::test]
async fn server_errors_are_one_line_each() {
    let server = server().await;
    let api = server.api_url.as_str();
    let wrong_key = wirecall(&[
        "publish",
        "-c",
        "news:x",
        "-m",
        "a",
        "--api-url",
        api,
        "--api-key",
        "nope",
    ])
    .await;
    assert_eq!(wrong_key.status.code(), Some(1));
    assert_eq!(
        text(&wrong_key.stderr),
        "error: the server refused the API key (HTTP 401)"
    );

    let unknown = wirecall(&[
        "publish",
        "-c",
        "nope:x",
        "-m",
        "a",
        "--api-url",
        api,
        "--api-key",
        KEY,
    ])
    .await;
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        text(&unknown.stderr),
        "error: unknown channel namespace \"nope\" in \"nope:x\": configure it on the server (code 102)"
    );

    let unreachable = wirecall(&[
        "publish",
        "-c",
        "news:x",
        "-m",
        "a",
        "--api-url",
        "http://127.0.0.1:1/api",
        "--api-key",
        KEY,
    ])
    .await;
    assert_eq!(unreachable.status.code(), Some(1));
    let stderr = text(&unreachable.stderr);
    assert!(
        stderr.starts_with("error: cannot reach the server at http://127.0.0.1:1/api: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        history(api, "news:x").await["offset"],
        0,
        "nothing was published"
    );
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_one_line_and_a_failure() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let out = wirecall(&["serve", "--bind", "127.0.0.1:0", "--redis", &url]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot connect to Redis at {url}: ")),
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("refused"),
        "the cause: {stderr}"
    );
}

#[tokio::test]
async fn dev_mode_refuses_a_public_bind_address() {
    let out = wirecall(&["serve", "--dev", "--bind", "0.0.0.0:0"]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--dev mints tokens for any user"),
        "{stderr}"
    );
    assert!(stderr.contains("--dev-on-public-address"), "{stderr}");
}

#[tokio::test]
async fn user_limited_channel_names_get_a_warning() {
    let server = server().await;
    let out = wirecall(&[
        "publish",
        "-c",
        "ai_chat#workspace#UUID",
        "-m",
        "a",
        "--api-url",
        &server.api_url,
        "--api-key",
        KEY,
    ])
    .await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("warning: \"ai_chat#workspace#UUID\": `#` marks a user-limited channel"),
        "{stderr}"
    );
    assert!(stderr.contains("`:` separates the namespace"), "{stderr}");
}

#[tokio::test]
async fn token_and_check_user() {
    let out = wirecall(&[
        "token",
        "--user",
        "42",
        "--ttl",
        "30m",
        "--info",
        r#"{"name":"Ada"}"#,
        "--secret",
        "cli-secret",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let verified = TokenVerifier::hmac("cli-secret")
        .verify(&text(&out.stdout))
        .unwrap();
    assert_eq!(verified.user, "42");
    assert_eq!(verified.info, Some(json!({"name": "Ada"})));
    let ttl = verified.expires_at.unwrap() - now();
    assert!((1790..=1800).contains(&ttl), "{ttl}");

    let bad_info = wirecall(&["token", "--user", "42", "--info", "{", "--secret", "s"]).await;
    assert_eq!(bad_info.status.code(), Some(1));
    assert!(text(&bad_info.stderr).starts_with("error: Invalid JSON in --info: "));

    let server = server().await;
    let out = wirecall(&[
        "check-user",
        "--user",
        "42",
        "--api-url",
        &server.api_url,
        "--api-key",
        KEY,
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "user 42 is not connected");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn generate_clients_without_methods_explains_why() {
    // The standalone binary links no handlers: the usual mistake, shown as
    // the error a service author would see.
    let out = wirecall(&["generate-clients", "--all", "--output", "/nonexistent"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: found no RPC methods."),
        "{stderr}"
    );
    assert!(stderr.contains("not linked"), "{stderr}");
    assert!(stderr.contains("custom router"), "{stderr}");
}

/// A server with personal channels, and a connected client of user 42.
async fn server_with_user_42() -> (Running, wirecall_client::Client) {
    let server = Server::builder()
        .hmac_secret("cli-secret")
        .api_key(KEY)
        .namespace("personal", NamespaceOptions::default())
        .personal_channels("personal")
        .build()
        .unwrap();
    let listening = server.listen("127.0.0.1:0").await.unwrap();
    let addr = listening.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(listening.serve_with_shutdown(async move {
        let _ = stopped.await;
    }));
    let token = wirecall_server::auth::mint_hmac_token(
        b"cli-secret",
        &json!({"sub": "42", "exp": now() + 600}),
    )
    .unwrap();
    let client = wirecall_client::Client::builder(format!("ws://{addr}/connection/websocket"))
        .token(token)
        .connect()
        .await
        .unwrap();
    let running = Running {
        api_url: format!("http://{addr}/api"),
        _stop: stop,
    };
    (running, client)
}

#[tokio::test]
async fn notify_and_send_file_reach_the_personal_channel() {
    let (server, _client) = server_with_user_42().await;
    let api = ["--api-url", server.api_url.as_str(), "--api-key", KEY];
    let notify = [
        [
            "notify",
            "--user",
            "42",
            "--message",
            "hi",
            "--type",
            "warning",
        ]
        .as_slice(),
        &api,
    ]
    .concat();
    let out = wirecall(&notify).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Notification sent to 42 (delivered)");

    let file = [
        [
            "send-file",
            "--user",
            "42",
            "--url",
            "https://example.com/r.csv",
            "--size",
            "10",
        ]
        .as_slice(),
        &api,
    ]
    .concat();
    let out = wirecall(&file).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "File notice sent to 42 (delivered)");

    let absent = [
        ["notify", "--user", "7", "--message", "hi"].as_slice(),
        &api,
    ]
    .concat();
    let out = wirecall(&absent).await;
    assert_eq!(
        text(&out.stdout),
        "Notification sent to 7 (not connected now)"
    );

    let bad_type = [
        [
            "notify",
            "--user",
            "7",
            "--message",
            "hi",
            "--type",
            "purple",
        ]
        .as_slice(),
        &api,
    ]
    .concat();
    let out = wirecall(&bad_type).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("possible values: success, error, info, warning"),
        "{}",
        text(&out.stderr)
    );
}

/// Reads `serve`'s stdout until a line starts with `prefix`; the rest of
/// that line.
async fn line_after(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    prefix: &str,
    seen: &mut Vec<String>,
) -> String {
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
            .await
            .expect("serve prints in time")
            .unwrap()
            .unwrap_or_else(|| panic!("serve ended before {prefix:?}: {seen:?}"));
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// `wirecall serve` on loopback with the secret `cli-secret` and `extra`
/// arguments, and its stdout's lines.
fn spawn_serve(
    extra: &[&str],
) -> (
    tokio::process::Child,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) {
    use tokio::io::AsyncBufReadExt;

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wirecall"))
        .args(["serve", "--bind", "127.0.0.1:0", "--secret", "cli-secret"])
        .args(extra)
        .env_remove("WIRECALL_API_KEY")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

#[tokio::test]
async fn serve_exposes_metrics_on_the_admin_address_and_logs_json_lines() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (mut child, mut lines) =
        spawn_serve(&["--admin-bind", "127.0.0.1:0", "--log-format", "json"]);
    let mut seen = Vec::new();
    let url = line_after(&mut lines, "wirecall listening on ", &mut seen).await;
    let metrics = line_after(&mut lines, "metrics on http://", &mut seen).await;
    let admin = metrics.trim_end_matches("/metrics").to_owned();

    let token = wirecall_server::auth::mint_hmac_token(
        b"cli-secret",
        &json!({"sub": "alice", "exp": now() + 600}),
    )
    .unwrap();
    let client = wirecall_client::Client::builder(url)
        .token(token)
        .connect()
        .await
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(&admin).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("\nwirecall_connections 1\n"),
        "{response}"
    );
    assert!(response.contains("\nwirecall_users 1\n"), "{response}");

    // The connection's two lines, as JSON objects with their fields.
    drop(client);
    let mut events = Vec::new();
    while !events
        .iter()
        .any(|e: &Value| e["fields"]["message"] == "disconnected")
    {
        let line = line_after(&mut lines, "{", &mut seen).await;
        let event: Value = serde_json::from_str(&format!("{{{line}"))
            .unwrap_or_else(|e| panic!("a JSON log line: {e}: {{{line}"));
        events.push(event);
    }
    let connected = events
        .iter()
        .find(|e| e["fields"]["message"] == "connected")
        .expect("a connected line");
    assert_eq!(connected["level"], "INFO");
    assert_eq!(connected["span"]["user"], "alice", "{connected}");
    let disconnected = events.last().unwrap();
    assert_eq!(disconnected["span"]["user"], "alice", "{disconnected}");
    assert!(
        disconnected["fields"]["duration_ms"].is_u64(),
        "{disconnected}"
    );
    assert!(
        disconnected["fields"]["reason"].is_string(),
        "{disconnected}"
    );
    // On loopback, no warning about the admin address.
    assert!(
        !seen
            .iter()
            .any(|line| line.contains("not a loopback address")),
        "{seen:?}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn an_admin_address_open_to_the_network_is_warned_about() {
    let (mut child, mut lines) = spawn_serve(&["--admin-bind", "0.0.0.0:0"]);
    let mut seen = Vec::new();
    // The warning comes right after the admin address is printed.
    line_after(&mut lines, "metrics on http://0.0.0.0:", &mut seen).await;
    let warning = line_after(&mut lines, "", &mut seen).await;
    assert!(warning.contains("not a loopback address"), "{seen:?}");
    child.kill().await.unwrap();
}
