//! The generated Rust client (`tasks-rust-client`, which links none of the
//! service's code) against a real `tasks serve --dev`: a typed create, a
//! typed task channel through a run, typed stats.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wirecall_client::Client;

#[tokio::test]
async fn the_generated_rust_client_runs_a_task() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["serve", "--dev", "--bind", "127.0.0.1:0", "--log", "warn"])
        .env_remove("WIRECALL_SECRET")
        .env_remove("WIRECALL_API_KEY")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = lines.next_line().await.unwrap().expect("the dev banner");
        if let Some(rest) = line.strip_prefix("wirecall listening on ") {
            url = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.trim_start().strip_prefix("token for alice:") {
            token = Some(rest.trim().to_owned());
        }
    }
    let client = Client::builder(url.unwrap())
        .token(token.unwrap())
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
