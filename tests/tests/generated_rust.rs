//! The generated Rust client (`tests/golden/clients/rust/api.rs`, the
//! fixture's) compiles on its own types, and keeps the wire shape: the
//! value `types.sample` sends, decoded into the generated types and sent
//! back, is what `types.check` expects. Calls go through the generated
//! markers, which carry no handler code.

mod support;

// Generated code, kept byte for byte as the exporter wrote it.
#[rustfmt::skip]
#[path = "../golden/clients/rust/api.rs"]
mod api;

use support::{TestServer, token};
use wirecall_client::{Client, ClientError};
use wirecall_tests::test_server;

/// A test server and a client of `user` connected to it.
async fn connected(user: &str) -> (TestServer, Client) {
    let server = TestServer::start(test_server()).await;
    let client = Client::builder(&server.url)
        .token(token(user, 600))
        .connect()
        .await
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn every_type_feature_round_trips_through_the_generated_types() {
    let (_server, client) = connected("u1").await;
    let sample: api::Everything = client.call::<api::types_sample>(()).await.unwrap();
    assert!(
        client
            .call::<api::types_check>(sample.clone())
            .await
            .unwrap()
    );

    // A changed value is a different value on the server too: the check
    // compares, it does not just parse.
    let mut changed = sample;
    changed.revision += 1;
    match client.call::<api::types_check>(changed).await {
        Err(ClientError::Rpc(error)) => {
            assert_eq!(error.code, 107);
            assert!(error.message.contains("differs from the sample"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn generated_markers_call_by_name_with_typed_params() {
    let (_server, client) = connected("alice").await;
    let me = client.call::<api::test_whoami>(()).await.unwrap();
    assert_eq!(me.user, "alice");
    assert_eq!(
        <api::test_whoami as wirecall_core::Method>::NAME,
        "test.whoami"
    );
}

/// The generated family markers name channels as the service's own do: a
/// typed publication through the HTTP API client reaches a typed
/// subscription of the WebSocket client, with nothing of the service linked.
#[tokio::test]
async fn generated_family_markers_subscribe_and_publish_typed() {
    use futures_util::StreamExt;
    use wirecall_client::TypedEvent;
    use wirecall_core::PublisherExt;

    let (server, client) = connected("u1").await;
    let story_id = uuid::Uuid::from_u128(0x2a);
    let mut stories = client
        .subscribe_family::<api::news_story>(api::NewsStory { story_id })
        .await
        .unwrap();
    let api_client = server.api();
    let edited = api::StoryEvent::Edited {
        title: "t".into(),
        revision: 3,
    };
    let channel = api_client.channel::<api::news_story>(api::NewsStory { story_id });
    assert_eq!(
        channel.name().unwrap(),
        "news:story:00000000-0000-0000-0000-00000000002a"
    );
    channel.publish(&edited).await.unwrap();
    let received = loop {
        let event = tokio::time::timeout(support::GUARD, stories.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let TypedEvent::Publication(story) = event {
            break story;
        }
    };
    assert_eq!(received, edited);
    // The generated marker refuses what the service's would.
    let refused = client
        .subscribe_family::<api::chat_inbox>(api::ChatInbox {
            inbox: 1,
            user: "u1,u2".into(),
        })
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Rpc(error)) if error.code == 107),
        "{refused:?}"
    );
}
