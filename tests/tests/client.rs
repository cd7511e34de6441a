//! The typed Rust client against a real server: typed success and error,
//! many calls in flight on one connection, and cancel safety.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{TestServer, token};
use wirecall_client::{Client, ClientError, ConnectError};
use wirecall_tests::{test_echo, test_fail, test_server, test_sleep, test_whoami};

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
        matches!(
            &error,
            ClientError::Connect(ConnectError::Refused { code: 109, .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_open_error_with_its_cause() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/connection/websocket");
    let error = Client::builder(&url).connect().await.unwrap_err();
    let ClientError::Connect(ConnectError::Open { url: tried, source }) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*tried, url);
    // The cause is kept as a type, not flattened into text.
    assert!(
        source
            .downcast_ref::<tokio_tungstenite::tungstenite::Error>()
            .is_some(),
        "{source:?}"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn a_failing_token_provider_without_a_token_is_the_connect_error() {
    let server = TestServer::start(test_server()).await;
    let error = Client::builder(&server.url)
        .token_provider(|| async { Err("the identity service is down".into()) })
        .connect()
        .await
        .unwrap_err();
    let ClientError::Connect(ConnectError::Token(why)) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(why.to_string(), "the identity service is down");
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

#[tokio::test]
async fn a_burst_of_calls_larger_than_one_message_all_succeed() {
    // 3,000 calls of ~200 bytes queued at once: about 600 KiB, which one
    // joined message would put far over the server's 64 KiB limit (close
    // 1009, then a reconnect loop under load).
    let server = TestServer::start(test_server()).await;
    let client = client(&server, "u1").await;
    let padding = "x".repeat(200);
    let calls = (0..3000).map(|n| {
        let client = client.clone();
        let params = json!({"n": n, "padding": padding});
        async move { client.call_raw("test.echo", &params).await }
    });
    let replies = futures_util::future::join_all(calls).await;
    assert!(
        replies.iter().all(Result::is_ok),
        "{:?}",
        replies.iter().find(|r| r.is_err())
    );
    assert_eq!(
        client.client_id(),
        client.client_id(),
        "still the same connection"
    );
}

mod subscriptions {
    use futures_util::StreamExt;
    use serde::Deserialize;
    use wirecall_client::{SubscriptionEvent, TypedEvent};
    use wirecall_server::PublisherExt;

    use super::*;

    async fn next(
        stream: &mut (impl futures_util::Stream<Item = SubscriptionEvent> + Unpin),
    ) -> SubscriptionEvent {
        tokio::time::timeout(support::GUARD, stream.next())
            .await
            .expect("an event in time")
            .expect("the stream is open")
    }

    fn publish(
        server: &TestServer,
        channel: &str,
        data: serde_json::Value,
    ) -> impl Future<Output = ()> {
        let server = server.server.clone();
        let channel = channel.to_owned();
        async move {
            let raw = serde_json::value::to_raw_value(&data).unwrap();
            server.publish(&channel, &raw).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_second_subscribe_is_refused_and_the_first_keeps_working() {
        let server = TestServer::start(test_server()).await;
        let client = client(&server, "u1").await;
        let mut first = client.subscribe("news:twice").await.unwrap();
        let second = client.subscribe("news:twice").await.unwrap_err();
        assert!(
            matches!(&second, ClientError::Rpc(e) if e.code == 105),
            "{second:?}"
        );
        publish(&server, "news:twice", json!({"n": 1})).await;
        loop {
            if let SubscriptionEvent::Publication(p) = next(&mut first).await {
                assert_eq!(p.data.get(), r#"{"n":1}"#);
                break;
            }
        }
    }

    #[tokio::test]
    async fn dropping_a_subscription_unsubscribes() {
        let server = TestServer::start(test_server()).await;
        // A second subscriber hears u1 leave: the moment the server has
        // taken the unsubscribe (presence goes before the leave event).
        let watcher = client(&server, "u2").await;
        let mut watching = watcher.subscribe("news:dropped").await.unwrap();
        let client = client(&server, "u1").await;
        let sub = client.subscribe("news:dropped").await.unwrap();
        let present = || async {
            server
                .api()
                .call::<serde_json::Value>("presence_stats", &json!({"channel": "news:dropped"}))
                .await
                .unwrap()["num_clients"]
                .as_u64()
                .unwrap()
        };
        assert_eq!(present().await, 2);
        drop(sub);
        let u1 = client.client_id();
        let left = async {
            while let Some(event) = watching.next().await {
                if matches!(&event, SubscriptionEvent::Leave(info) if info.client == u1) {
                    return;
                }
            }
        };
        tokio::time::timeout(support::GUARD, left)
            .await
            .expect("u1 never left");
        assert_eq!(present().await, 1, "u1's presence is gone");
        // And the channel can be subscribed again.
        client.subscribe("news:dropped").await.unwrap();
    }

    #[tokio::test]
    async fn publications_arrive_in_order_with_positions() {
        let server = TestServer::start(test_server()).await;
        let client = client(&server, "u1").await;
        let mut sub = client.subscribe("news:general").await.unwrap();
        // Its own join comes first (join/leave is on in `news`).
        assert!(matches!(next(&mut sub).await, SubscriptionEvent::Join(info) if info.user == "u1"));
        for n in 1..=5 {
            publish(&server, "news:general", json!({ "n": n })).await;
        }
        for n in 1..=5u64 {
            let SubscriptionEvent::Publication(publication) = next(&mut sub).await else {
                panic!()
            };
            assert_eq!(publication.offset, n);
            assert_eq!(publication.data.get(), format!(r#"{{"n":{n}}}"#));
        }
        assert_eq!(sub.position().unwrap().offset, 5);

        sub.publish(&json!({"from": "client"})).await.unwrap();
        let SubscriptionEvent::Publication(own) = next(&mut sub).await else {
            panic!()
        };
        assert_eq!(own.info.unwrap().user, "u1");
        assert_eq!(sub.presence_stats().await.unwrap().num_clients, 1);
        assert_eq!(sub.history(10).await.unwrap().publications.len(), 6);
        sub.unsubscribe().await.unwrap();
    }

    #[tokio::test]
    async fn typed_subscription_and_refusals() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Score {
            n: u32,
        }
        let server = TestServer::start(test_server()).await;
        let client = client(&server, "u1").await;
        let mut scores = client.subscribe_as::<Score>("chat:#u1").await.unwrap();
        publish(&server, "chat:#u1", json!({ "n": 7 })).await;
        publish(&server, "chat:#u1", json!("not a score")).await;
        loop {
            let event = tokio::time::timeout(support::GUARD, scores.next())
                .await
                .unwrap()
                .unwrap();
            match event {
                Ok(TypedEvent::Publication(score)) => {
                    assert_eq!(score, Score { n: 7 });
                    break;
                }
                Ok(TypedEvent::Other(_)) => {}
                Err(error) => panic!("{error:?}"),
            }
        }
        let bad = tokio::time::timeout(support::GUARD, scores.next())
            .await
            .unwrap()
            .unwrap();
        assert!(
            bad.is_err(),
            "a payload of the wrong shape is an error, not a panic"
        );

        let refused = client.subscribe("chat:#u2").await.unwrap_err();
        assert!(
            matches!(refused, ClientError::Rpc(ref e) if e.code == 103),
            "{refused:?}"
        );
        let unknown = client.subscribe("nope:x").await.unwrap_err();
        assert!(
            matches!(unknown, ClientError::Rpc(ref e) if e.code == 102),
            "{unknown:?}"
        );
    }

    #[tokio::test]
    async fn the_personal_channel_is_a_stream_too() {
        let server = TestServer::start(test_server()).await;
        let client = client(&server, "alice").await;
        let mut personal = client.server_subscriptions().unwrap();
        assert!(client.server_subscriptions().is_none(), "one taker");
        server
            .server
            .publisher()
            .send_message("alice", "hi", None)
            .await
            .unwrap();
        let (channel, event) = tokio::time::timeout(support::GUARD, personal.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(channel, "personal:#alice");
        let SubscriptionEvent::Publication(publication) = event else {
            panic!("{event:?}")
        };
        let payload: serde_json::Value = serde_json::from_str(publication.data.get()).unwrap();
        assert_eq!(payload["type"], "user.message");
    }

    #[tokio::test]
    async fn a_slow_reader_gets_a_lag_signal_not_unbounded_memory() {
        let server = TestServer::start(test_server()).await;
        let client = Client::builder(&server.url)
            .token(token("u1", 600))
            .subscription_buffer(4)
            .connect()
            .await
            .unwrap();
        let mut sub = client.subscribe("news:fast").await.unwrap();
        for n in 0..20 {
            publish(&server, "news:fast", json!(n)).await;
        }
        // A call after the publications: once it is answered, all 20 have
        // been routed (one connection, in order).
        client.call::<test_echo>(json!("sync")).await.unwrap();
        // The buffer held its 4 events (the join and offsets 1..=3); the
        // other 17 were counted, and the count comes before the next event.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(match next(&mut sub).await {
                SubscriptionEvent::Join(_) => 0,
                SubscriptionEvent::Publication(p) => p.offset,
                other => panic!("{other:?}"),
            });
        }
        assert_eq!(held, [0, 1, 2, 3]);
        publish(&server, "news:fast", json!("after")).await;
        assert!(matches!(
            next(&mut sub).await,
            SubscriptionEvent::Lagged { missed: 17 }
        ));
        let SubscriptionEvent::Publication(p) = next(&mut sub).await else {
            panic!()
        };
        assert_eq!(p.data.get(), r#""after""#);
        assert_eq!(p.offset, 21);
    }
}

mod reconnect {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures_util::StreamExt;
    use tokio::sync::oneshot;
    use wirecall_client::{ConnectionState, SubscriptionEvent};
    use wirecall_server::protocol::Disconnect;

    use super::*;

    /// A server that can be stopped and started again on the same port,
    /// keeping its channel state (as a restart behind a shared broker).
    struct Restartable {
        server: wirecall_server::Server,
        addr: std::net::SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    }

    impl Restartable {
        async fn start() -> Self {
            let server = test_server().build().unwrap();
            let listening = server.listen("127.0.0.1:0").await.unwrap();
            let addr = listening.local_addr();
            let mut this = Self {
                server,
                addr,
                stop: None,
                serving: None,
            };
            this.serve(listening);
            this
        }

        fn serve(&mut self, listening: wirecall_server::Listening) {
            let (stop, stopped) = oneshot::channel::<()>();
            self.stop = Some(stop);
            self.serving = Some(tokio::spawn(listening.serve_with_shutdown(async move {
                let _ = stopped.await;
            })));
        }

        fn url(&self) -> String {
            format!("ws://{}/connection/websocket", self.addr)
        }

        async fn stop(&mut self) {
            let _ = self.stop.take().unwrap().send(());
            self.serving.take().unwrap().await.unwrap().unwrap();
        }

        async fn start_again(&mut self) {
            let listening = self.server.listen(self.addr).await.unwrap();
            self.serve(listening);
        }

        async fn publish(&self, channel: &str, data: serde_json::Value) {
            let raw = serde_json::value::to_raw_value(&data).unwrap();
            self.server.publish(channel, &raw).await.unwrap();
        }
    }

    async fn wait_for(
        client: &Client,
        wanted: impl Fn(&ConnectionState) -> bool,
    ) -> ConnectionState {
        let mut changes = client.state_changes();
        tokio::time::timeout(support::GUARD, async {
            loop {
                let state = changes.borrow_and_update().clone();
                if wanted(&state) {
                    return state;
                }
                changes.changed().await.expect("the client is alive");
            }
        })
        .await
        .expect("the state was reached in time")
    }

    async fn next(sub: &mut wirecall_client::Subscription) -> SubscriptionEvent {
        loop {
            let event = tokio::time::timeout(support::GUARD, sub.next())
                .await
                .unwrap()
                .unwrap();
            if !matches!(
                event,
                SubscriptionEvent::Join(_) | SubscriptionEvent::Leave(_)
            ) {
                return event;
            }
        }
    }

    #[tokio::test]
    async fn after_a_restart_the_client_recovers_what_it_missed() {
        let mut server = Restartable::start().await;
        let client = Client::builder(server.url())
            .token(token("u1", 600))
            .backoff(Duration::from_millis(10), Duration::from_millis(50))
            .connect()
            .await
            .unwrap();
        let first_id = client.client_id();
        let mut sub = client.subscribe("news:restart").await.unwrap();
        server.publish("news:restart", json!(1)).await;
        let SubscriptionEvent::Publication(p) = next(&mut sub).await else {
            panic!()
        };
        assert_eq!(p.offset, 1);

        server.stop().await;
        let state = wait_for(&client, |s| {
            matches!(s, ConnectionState::Disconnected { .. })
        })
        .await;
        assert_eq!(
            state,
            ConnectionState::Disconnected {
                code: 3001,
                reason: "shutdown".into(),
                terminal: false
            }
        );
        for n in 2..=4 {
            server.publish("news:restart", json!(n)).await;
        }
        server.start_again().await;
        wait_for(&client, |s| matches!(s, ConnectionState::Connected { .. })).await;
        assert_ne!(client.client_id(), first_id, "a new connection");

        let mut recovered = Vec::new();
        loop {
            match next(&mut sub).await {
                SubscriptionEvent::Publication(p) => recovered.push(p.offset),
                SubscriptionEvent::Resubscribed { recovered: ok } => {
                    assert!(ok, "nothing was lost");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            recovered,
            [2, 3, 4],
            "each missed publication once, in order"
        );
        server.publish("news:restart", json!(5)).await;
        let SubscriptionEvent::Publication(p) = next(&mut sub).await else {
            panic!()
        };
        assert_eq!(p.offset, 5, "live again, no duplicates");
        assert_eq!(
            client.call::<test_echo>(json!("ok")).await.unwrap(),
            json!("ok")
        );
    }

    #[tokio::test]
    async fn an_expired_token_calls_the_token_provider() {
        let server = TestServer::start(test_server()).await;
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        let client = Client::builder(&server.url)
            .token_provider(move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                // The first token is already expired; the second is good.
                let ttl = if n == 0 { -60 } else { 600 };
                async move { Ok(token("u1", ttl)) }
            })
            .connect()
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(client.call::<test_whoami>(()).await.unwrap().user, "u1");
    }

    #[tokio::test]
    async fn an_expiring_token_is_refreshed_before_the_server_closes() {
        use wirecall_server::Timings;
        let server = TestServer::start(
            test_server().timings(Timings::default().expired_close_delay(Duration::ZERO)),
        )
        .await;
        let calls = Arc::new(AtomicU32::new(0));
        let (refreshed_tx, refreshed) = tokio::sync::watch::channel(0u32);
        let counted = calls.clone();
        let client = Client::builder(&server.url)
            .token_provider(move || {
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = refreshed_tx.send(n);
                // Each token lives 2 s; without a refresh the server closes
                // the connection with 3005 when it expires.
                async move { Ok(token("u1", 2)) }
            })
            .connect()
            .await
            .unwrap();
        let id = client.client_id();
        let mut refreshed = refreshed;
        tokio::time::timeout(support::GUARD, refreshed.wait_for(|n| *n >= 2))
            .await
            .expect("the provider ran again before expiry")
            .unwrap();
        // A call that outlives the first token's expiry is still answered on
        // the same connection.
        assert_eq!(client.call::<test_sleep>(2_500).await.unwrap(), 2_500);
        assert_eq!(client.client_id(), id);
    }

    #[tokio::test]
    async fn reconnect_codes_reconnect_and_terminal_codes_stop() {
        let server = TestServer::start(test_server()).await;
        let client = Client::builder(&server.url)
            .token(token("u1", 600))
            .backoff(Duration::from_millis(10), Duration::from_millis(50))
            .connect()
            .await
            .unwrap();
        let first_id = client.client_id();
        server.server.disconnect_all(Disconnect::FORCE_RECONNECT);
        wait_for(
            &client,
            |s| matches!(s, ConnectionState::Connected { client_id } if *client_id != first_id),
        )
        .await;

        server.server.disconnect_all(Disconnect::FORCE_DISCONNECT);
        let state = wait_for(&client, |s| {
            matches!(s, ConnectionState::Disconnected { .. })
        })
        .await;
        assert_eq!(
            state,
            ConnectionState::Disconnected {
                code: 3503,
                reason: "force disconnect".into(),
                terminal: true
            }
        );
        let error = client.call::<test_echo>(json!(1)).await.unwrap_err();
        assert!(
            matches!(error, ClientError::Disconnected | ClientError::Timeout(_)),
            "{error:?}"
        );
        assert_eq!(server.server.connection_count(), 0, "it did not come back");
    }
}
