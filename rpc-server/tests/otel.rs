//! OpenTelemetry (feature `otel`): `wirecall serve --otlp-endpoint URL`
//! exports a span per RPC call to a collector over OTLP/HTTP. The
//! collector here is a plain HTTP receiver of `POST /v1/traces`; its
//! bodies are the protobuf `ExportTraceServiceRequest`, whose strings
//! (span name, attribute keys and values) travel as plain UTF-8.

use axum::body::Bytes;
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn each_rpc_call_is_a_span_at_the_collector() {
    // The collector.
    let (bodies, mut received) = mpsc::unbounded_channel::<Bytes>();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let bodies = bodies.clone();
            async move {
                let _ = bodies.send(body);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wirecall"))
        .args(["serve", "--bind", "127.0.0.1:0", "--secret", "otel-secret"])
        .args(["--otlp-endpoint", &endpoint])
        // Export every 100 ms rather than every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("WIRECALL_API_KEY")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
            .await
            .expect("serve starts")
            .unwrap()
            .expect("serve prints its address");
        if let Some(url) = line.strip_prefix("wirecall listening on ") {
            break url.to_owned();
        }
    };
    let token = wirecall_server::auth::mint_hmac_token(
        b"otel-secret",
        &json!({"sub": "alice", "exp": now() + 600}),
    )
    .unwrap();
    let client = wirecall_client::Client::builder(url)
        .token(token)
        .connect()
        .await
        .unwrap();
    // The standalone server has no methods: the call fails with 104, and
    // its span says so.
    let error = client
        .call_raw("orders.place", &json!({"n": 1}))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("104"), "{error}");

    let span = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let body = received.recv().await.expect("the collector runs");
            if contains(&body, "orders.place") {
                break body;
            }
        }
    })
    .await
    .expect("the call's span reaches the collector");
    for expected in [
        "rpc",
        "method",
        "orders.place",
        "user",
        "alice",
        "code",
        "wirecall",
    ] {
        assert!(
            contains(&span, expected),
            "{expected:?} in the exported span"
        );
    }
    child.kill().await.unwrap();
}
