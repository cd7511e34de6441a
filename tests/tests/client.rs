//! The typed Rust client against a real server: typed success and error,
//! many calls in flight on one connection, and cancel safety.

mod support;

use std::time::Duration;

use rpc_client::{Client, ClientError};
use serde_json::json;
use support::{TestServer, token};
use wsrpc_tests::{test_echo, test_fail, test_server, test_sleep, test_whoami};

async fn client(server: &TestServer, user: &str) -> Client {
    Client::builder(&server.url)
        .token(token(user, 600))
        .connect()
        .await
        .expect("connects")
}

#[tokio::test]
async fn typed_success_and_typed_error() {
    let server = TestServer::start(test_server()).await;
    let client = client(&server, "u1").await;
    let me = client.call::<test_whoami>(()).await.unwrap();
    assert_eq!(me.user, "u1");
    assert_eq!(me.client, client.client_id());

    let error = client.call::<test_fail>(()).await.unwrap_err();
    let ClientError::Rpc(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (error.code, error.message.as_str()),
        (1001, "custom app error")
    );

    let raw = client.call_raw("test.nope", &json!({})).await.unwrap_err();
    assert!(
        matches!(raw, ClientError::Rpc(ref e) if e.code == 104),
        "{raw:?}"
    );
}

#[tokio::test]
async fn a_refused_connect_says_why() {
    let server = TestServer::start(test_server()).await;
    let error = Client::builder(&server.url)
        .token(token("u1", -60))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Connect(why) if why.contains("code 109")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_thousand_concurrent_calls_on_one_connection() {
    let server = TestServer::start(test_server()).await;
    let client = client(&server, "u1").await;
    let calls = (0..1000).map(|n| {
        let client = client.clone();
        async move { (n, client.call::<test_echo>(json!({ "n": n })).await) }
    });
    let results = futures_util::future::join_all(calls).await;
    for (n, result) in results {
        assert_eq!(result.unwrap(), json!({ "n": n }));
    }
}

#[tokio::test]
async fn dropping_a_call_leaves_the_connection_healthy() {
    let server = TestServer::start(test_server()).await;
    let client = client(&server, "u1").await;
    // The slow call is sent, then abandoned before its reply.
    let abandoned =
        tokio::time::timeout(Duration::from_millis(20), client.call::<test_sleep>(300)).await;
    assert!(abandoned.is_err(), "the call was still in flight");
    assert_eq!(
        client.call::<test_echo>(json!("next")).await.unwrap(),
        json!("next")
    );
    // The abandoned call's late reply arrives and is ignored.
    assert_eq!(client.call::<test_sleep>(350).await.unwrap(), 350);
    assert_eq!(
        client.call::<test_echo>(json!("after")).await.unwrap(),
        json!("after")
    );
}
