//! `tasks serve --dev` with nothing else: it makes up a secret and an API
//! key, prints a token that connects, the page's address and a command for
//! a second terminal, and mints tokens at `GET /dev/token`; the generated
//! Rust client runs a task against it; without
//! `--dev` the name-only sign-in is not served.

use std::process::Stdio;

use serde_json::Value;
use tasks_service::users_whoami;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wirecall_client::Client;

/// The value after `label` on the banner line that has it.
fn after<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {lines:#?}"))
        .trim()
}

/// `tasks serve --dev` on a free port; its banner's lines and its address.
async fn start_dev() -> (tokio::process::Child, Vec<String>, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["serve", "--dev", "--bind", "127.0.0.1:0", "--log", "warn"])
        .env_remove("WIRECALL_SECRET")
        .env_remove("WIRECALL_API_KEY")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().await.unwrap() {
        let last = line.trim_start().starts_with("tasks notify");
        lines.push(line);
        if last {
            break;
        }
    }
    let page = after(&lines, "page:");
    let address = page
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/?user=alice"))
        .unwrap_or_else(|| panic!("page line {page:?}"))
        .to_owned();
    (server, lines, address)
}

#[tokio::test]
async fn dev_mode_prints_what_a_newcomer_needs() {
    let (mut server, lines, address) = start_dev().await;
    let address = address.as_str();
    assert!(after(&lines, "secret:").starts_with("dev-"));
    let key = after(&lines, "API key:");
    assert!(
        lines.last().unwrap().contains(&format!("--api-key {key}")),
        "{lines:#?}"
    );

    let url = format!("ws://{address}/connection/websocket");
    let token = after(&lines, "token for alice:").to_owned();
    let alice = Client::builder(&url).token(token).connect().await.unwrap();
    let me = alice.call::<users_whoami>(()).await.unwrap();
    assert_eq!(me.user_id, "alice");

    let minted: Value =
        serde_json::from_str(&http_get(address, "/dev/token?user=bob").await).unwrap();
    assert_eq!(minted["user"], "bob");
    let bob = Client::builder(&url)
        .token(minted["token"].as_str().unwrap().to_owned())
        .connect()
        .await
        .unwrap();
    let me = bob.call::<users_whoami>(()).await.unwrap();
    assert_eq!(me.user_id, "bob");
    server.kill().await.unwrap();
}

/// A bare HTTP/1.0 GET; the body.
async fn http_get(address: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_owned()
}

/// The generated Rust client (`tasks-rust-client`, which links none of the
/// service's code): a typed create, a typed task channel through a run,
/// typed stats.
#[tokio::test]
async fn the_generated_rust_client_runs_a_task() {
    let (mut server, lines, address) = start_dev().await;
    let client = Client::builder(format!("ws://{address}/connection/websocket"))
        .token(after(&lines, "token for alice:").to_owned())
        .connect()
        .await
        .unwrap();
    let run = tasks_rust_client::create_and_run(&client, "Typed from Rust", 4)
        .await
        .unwrap();
    assert_eq!(run.task.title, "Typed from Rust");
    assert_eq!(run.task.owner, "alice");
    assert_eq!(run.progress, [25, 50, 75, 100]);
    assert_eq!(
        run.completed.status,
        tasks_rust_client::api::TaskCompleteStatus::Completed
    );
    assert_eq!((run.stats.total, run.stats.completed), (1, 1));
    server.kill().await.unwrap();
}

/// The cookie sign-in takes any name, so only `--dev` serves it.
#[tokio::test]
async fn the_name_only_sign_in_is_served_in_development_mode_only() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log", "warn"])
        .args(["--secret", "not-dev-secret", "--api-key", "not-dev-key"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(server.stdout.take().unwrap()).lines();
    let address = loop {
        let line = reader.next_line().await.unwrap().expect("a listening line");
        if let Some(rest) = line.strip_prefix("wirecall listening on ws://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    let login = http_request(&address, "POST /login", r#"{"user":"mallory"}"#).await;
    assert!(login.starts_with("HTTP/1.1 404"), "{login}");
    assert!(!login.to_lowercase().contains("set-cookie"), "{login}");
    // Asking who is signed in stays: it only reads the cookie.
    let session = http_request(&address, "GET /session", "").await;
    assert!(session.starts_with("HTTP/1.1 401"), "{session}");
    server.kill().await.unwrap();
}

/// One HTTP/1.1 request with `Connection: close`; the whole response.
async fn http_request(address: &str, line: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{line} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
