//! `cargo run -p tasks-rust-client -- <token>`: creates and runs a task on
//! the tasks server (`WIRECALL_URL`, default ws://127.0.0.1:8000), printing
//! its progress. With `serve --dev`, the banner prints a token for alice.

use std::process::ExitCode;

use tasks_rust_client::create_and_run;
use wirecall_client::Client;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(token) = std::env::args().nth(1) else {
        eprintln!("usage: tasks-rust-client <token>  (serve --dev prints one)");
        return ExitCode::from(2);
    };
    let url = std::env::var("WIRECALL_URL")
        .unwrap_or_else(|_| "ws://127.0.0.1:8000/connection/websocket".into());
    let run = async {
        let client = Client::builder(url).token(token).connect().await?;
        create_and_run(&client, "From the Rust client", 4).await
    };
    match run.await {
        Ok(run) => {
            println!("task {} ({})", run.task.id, run.task.title);
            println!("progress: {:?}", run.progress);
            println!("done: {}", run.completed.message);
            println!(
                "stats: {} of {} completed",
                run.stats.completed, run.stats.total
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
