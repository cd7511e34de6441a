//! Several nodes on one real Redis (a redis-server the test starts on a
//! free port): publications reach every node's subscribers once and in
//! order, history, recovery, presence, join/leave and the node registry
//! are shared, the HTTP API acts on the whole deployment, and Redis faults
//! (killed, restarted with or without its data, a killed pub/sub
//! connection) lose nothing a client was told was published.
//!
//! Nodes here share a process but nothing else: each has its own broker,
//! connections and hub. The SDK suites run nodes as separate processes.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{RawClient, TestServer, pub_data, token};
use wirecall_client::{ApiError, Client, SubscriptionEvent};
use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
use wirecall_server::{Publisher, PublisherExt, Timings};
use wirecall_tests::redis_server::RedisServer;
use wirecall_tests::test_server;

/// Short timings, so expiries and checks happen within a test.
fn timings() -> Timings {
    Timings::default()
        .presence_ttl(Duration::from_secs(2))
        .presence_refresh_interval(Duration::from_millis(500))
        .position_check_interval(Duration::from_secs(1))
        .node_announce_interval(Duration::from_millis(200))
        .node_ttl(Duration::from_millis(1500))
        .survey_timeout(Duration::from_secs(1))
}

fn options(redis: &RedisServer) -> RedisOptions {
    RedisOptions::new(redis.url())
        .command_timeout(Duration::from_millis(500))
        .probe_after(Duration::from_millis(500))
        .probe_timeout(Duration::from_millis(500))
}

async fn node(redis: &RedisServer, name: &str) -> TestServer {
    let broker = RedisBroker::connect(options(redis))
        .await
        .expect("redis answers");
    let builder = test_server()
        .broker(Arc::new(broker))
        .node_name(name)
        .timings(timings())
        .metrics(true);
    TestServer::start(builder).await
}

/// The sum of a node's samples of `metric` whose labels contain `labels`.
fn metric_sum(server: &TestServer, metric: &str, labels: &str) -> f64 {
    let text = server.server.metrics().expect("metrics are on").render();
    text.lines()
        .filter(|line| line.starts_with(metric) && line.contains(labels))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

async fn api(server: &TestServer, method: &str, request: Value) -> Value {
    server
        .api()
        .call::<Value>(method, &request)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// Offsets of the next `n` publication pushes of `channel`.
async fn offsets(client: &mut RawClient, channel: &str, n: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    while seen.len() < n {
        let push = client.push().await;
        if push["channel"] == channel && push.get("pub").is_some() {
            seen.push(push["pub"]["offset"].as_u64().unwrap());
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_from_any_node_reach_every_subscriber_once_in_order() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let mut on_a = a.client("u1").await;
    let mut on_b = b.client("u2").await;
    on_a.subscribe(json!({"channel": "news:multi", "recoverable": true}))
        .await;
    on_b.subscribe(json!({"channel": "news:multi", "recoverable": true}))
        .await;

    // A client publish on A, the API of B, and a bare broker publisher (a
    // worker) with no server at all.
    let id = on_a
        .command(json!({"publish": {"channel": "news:multi", "data": {"from": "client"}}}))
        .await;
    assert!(on_a.reply_to(id).await.get("publish").is_some());
    api(
        &b,
        "publish",
        json!({"channel": "news:multi", "data": {"from": "api"}}),
    )
    .await;
    let worker = wirecall_server::BrokerPublisher::new(
        Arc::new(RedisBroker::connect(options(&redis)).await.unwrap()),
        test_server().channels(),
    );
    worker
        .publish(
            "news:multi",
            &serde_json::value::to_raw_value(&json!({"from": "worker"})).unwrap(),
        )
        .await
        .unwrap();

    assert_eq!(offsets(&mut on_a, "news:multi", 3).await, [1, 2, 3]);
    assert_eq!(offsets(&mut on_b, "news:multi", 3).await, [1, 2, 3]);
    // Exactly once: a witness publication is the next thing each sees.
    api(
        &a,
        "publish",
        json!({"channel": "news:multi", "data": {"witness": true}}),
    )
    .await;
    for client in [&mut on_a, &mut on_b] {
        let push = client.push().await;
        assert_eq!(pub_data(&push), &json!({"witness": true}), "{push}");
        assert_eq!(push["pub"]["offset"], 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_moves_to_another_node_recovers_what_it_missed() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let mut client = a.client("u1").await;
    let reply = client
        .subscribe(json!({"channel": "news:moving", "recoverable": true}))
        .await;
    let epoch = reply["subscribe"]["epoch"].as_str().unwrap().to_owned();
    api(
        &a,
        "publish",
        json!({"channel": "news:moving", "data": {"n": 1}}),
    )
    .await;
    assert_eq!(offsets(&mut client, "news:moving", 1).await, [1]);
    drop(client);
    for n in 2..=4 {
        api(
            &a,
            "publish",
            json!({"channel": "news:moving", "data": {"n": n}}),
        )
        .await;
    }
    let mut client = b.client("u1").await;
    let reply = client
        .subscribe(json!({"channel": "news:moving", "recover": true, "offset": 1, "epoch": epoch}))
        .await;
    let result = &reply["subscribe"];
    assert_eq!(result["recovered"], true, "{reply}");
    let missed: Vec<&Value> = result["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["data"]["n"])
        .collect();
    assert_eq!(missed, [&json!(2), &json!(3), &json!(4)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_join_leave_and_info_span_the_nodes() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let mut on_a = a.client("ua").await;
    on_a.subscribe(json!({"channel": "news:room", "join_leave": true}))
        .await;
    let own = on_a.push().await;
    assert_eq!(own["join"]["info"]["user"], "ua");
    let mut on_b = b.client("ub").await;
    on_b.subscribe(json!({"channel": "news:room", "join_leave": true}))
        .await;
    let join = on_a.push().await;
    assert_eq!(
        join["join"]["info"]["user"], "ub",
        "A hears B's join: {join}"
    );

    let stats = api(&a, "presence_stats", json!({"channel": "news:room"})).await;
    assert_eq!(stats, json!({"num_clients": 2, "num_users": 2}));
    let presence = api(&b, "presence", json!({"channel": "news:room"})).await;
    assert_eq!(presence["presence"].as_object().unwrap().len(), 2);

    let info = api(&a, "info", json!({})).await;
    let mut names: Vec<&str> = info["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"], "{info}");

    let channels = api(&a, "channels", json!({"pattern": "news:*"})).await;
    assert_eq!(
        channels["channels"]["news:room"]["num_clients"], 2,
        "{channels}"
    );

    drop(on_b);
    loop {
        let push = on_a.push().await;
        if push.get("leave").is_some() {
            assert_eq!(push["leave"]["info"]["user"], "ub");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_of_one_node_acts_on_connections_of_another() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let mut on_b = b.client("target").await;
    // Only on B, yet A's publisher sees the connection.
    let delivery = a
        .server
        .publisher()
        .send_message("target", "hello from A", None)
        .await
        .unwrap();
    assert!(delivery.delivered, "delivered counts every node");
    let push = on_b.push().await;
    assert_eq!(push["channel"], "personal:#target");
    assert_eq!(pub_data(&push)["message"], "hello from A");
    let connections = api(&a, "user_connections", json!({"user": "target"})).await;
    assert_eq!(connections["connections"], 1);

    api(
        &a,
        "subscribe",
        json!({"user": "target", "channel": "news:pushed"}),
    )
    .await;
    let push = on_b.push().await;
    assert_eq!(push["channel"], "news:pushed");
    assert!(push.get("subscribe").is_some(), "{push}");
    api(
        &a,
        "unsubscribe",
        json!({"user": "target", "channel": "news:pushed"}),
    )
    .await;
    let push = on_b.push().await;
    assert_eq!(push["unsubscribe"]["code"], 2000, "{push}");

    api(
        &a,
        "disconnect",
        json!({"user": "target", "disconnect": {"code": 4503, "reason": "bye"}}),
    )
    .await;
    on_b.expect_close(4503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_publishes_once_across_nodes() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let request =
        |n: u32| json!({"channel": "news:once", "data": {"n": n}, "idempotency_key": "k-1"});
    let (first, second) = tokio::join!(
        api(&a, "publish", request(1)),
        api(&b, "publish", request(2))
    );
    assert_eq!(first, second, "both get the first publish's position");
    let history = api(&a, "history", json!({"channel": "news:once", "limit": -1})).await;
    assert_eq!(
        history["publications"].as_array().unwrap().len(),
        1,
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_subscribers_on_two_nodes_miss_nothing_between_recovery_and_live() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let total = 200u64;
    let publishing = {
        let server = a.server.clone();
        tokio::spawn(async move {
            for n in 1..=total {
                let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
                server.publish("news:fresh", &data).await.unwrap();
            }
        })
    };
    let mut subscribers = Vec::new();
    for user in 0..16 {
        let url = if user % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        subscribers.push(tokio::spawn(async move {
            let mut client = RawClient::open(&url).await;
            client.connect(&token(&format!("u{user}"), 3600)).await;
            let reply = client
                .subscribe(json!({"channel": "news:fresh", "recoverable": true}))
                .await;
            let start = reply["subscribe"]["offset"].as_u64().unwrap();
            let mut expected = start + 1;
            while expected <= total {
                let push = client.push().await;
                assert_eq!(
                    push["pub"]["offset"].as_u64(),
                    Some(expected),
                    "u{user} from {start}: {push}"
                );
                expected += 1;
            }
        }));
    }
    publishing.await.unwrap();
    for subscriber in subscribers {
        subscriber.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_keeps_rpc_working_and_channel_commands_answer_100() {
    let mut redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let mut client = a.client("u1").await;
    redis.kill();
    let reply = client.call("test.echo", json!("still here")).await;
    assert_eq!(reply["rpc"]["data"], "still here");
    let reply = client.subscribe(json!({"channel": "news:down"})).await;
    assert_eq!(reply["error"]["code"], 100, "{reply}");
    assert_eq!(reply["error"]["temporary"], true);
    let published = a
        .api()
        .call::<Value>("publish", &json!({"channel": "news:down", "data": {}}))
        .await
        .unwrap_err();
    assert!(published.to_string().contains("100"), "{published}");
    // The operator sees it: broker operations failing.
    let failed = metric_sum(&a, "wirecall_broker_operations_total", r#"outcome="error""#);
    assert!(failed >= 2.0, "{failed} failed broker operations");
    redis.restart(false);
    // Back: the same commands work again (the SDKs retry on 100).
    let mut reply = client.subscribe(json!({"channel": "news:down"})).await;
    for _ in 0..50 {
        if reply.get("subscribe").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        reply = client.subscribe(json!({"channel": "news:down"})).await;
    }
    assert!(reply.get("subscribe").is_some(), "{reply}");
}

/// A Rust client subscribed to `channel` on `server`, recording the data
/// of every publication it gets (the client resubscribes and recovers by
/// itself, as the SDKs do).
async fn follower(
    server: &TestServer,
    user: &str,
    channel: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<SubscriptionEvent> {
    let client = Client::builder(&server.url)
        .token(token(user, 3600))
        .connect()
        .await
        .unwrap();
    let mut subscription = client.subscribe(channel).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _client = client;
        while let Some(event) = subscription.next().await {
            if tx.send(event).is_err() {
                return;
            }
        }
    });
    rx
}

/// Collects publication numbers until `last` arrives.
async fn numbers_until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<SubscriptionEvent>,
    last: u64,
) -> (Vec<u64>, Vec<bool>) {
    let mut numbers = Vec::new();
    let mut recoveries = Vec::new();
    loop {
        let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(20), events.recv()).await
        else {
            panic!("no publication {last} after {numbers:?} (resubscribed: {recoveries:?})");
        };
        match event {
            SubscriptionEvent::Publication(publication) => {
                let n: Value = serde_json::from_str(publication.data.get()).unwrap();
                let n = n["n"].as_u64().unwrap();
                numbers.push(n);
                if n == last {
                    return (numbers, recoveries);
                }
            }
            SubscriptionEvent::Resubscribed { recovered } => recoveries.push(recovered),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_with_its_data_loses_nothing_acknowledged() {
    let mut redis = RedisServer::start(true);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let mut on_a = follower(&a, "u1", "news:outage").await;
    let mut on_b = follower(&b, "u2", "news:outage").await;
    let publisher = a.api();
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 1..=60u64 {
        if n == 20 {
            redis.kill();
        }
        if n == 40 {
            redis.restart(true);
        }
        let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
        match publisher.publish_with_key("news:outage", &data, None).await {
            Ok(_) => acknowledged.push(n),
            Err(ApiError::Rpc(error)) if error.code == 100 && error.temporary => refused += 1,
            Err(other) => panic!("publish {n}: {other}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused > 0, "publishes while Redis was down were refused");
    let last = *acknowledged.last().unwrap();
    for events in [&mut on_a, &mut on_b] {
        let (numbers, _) = numbers_until(events, last).await;
        assert_eq!(
            numbers, acknowledged,
            "every acknowledged publication, once, in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_empty_changes_the_epoch_and_subscribers_are_told() {
    let mut redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let mut events = follower(&a, "u1", "news:reset").await;
    let publisher = a.api();
    let publish = |n: u64| {
        let publisher = publisher.clone();
        async move {
            let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
            publisher.publish_with_key("news:reset", &data, None).await
        }
    };
    publish(1).await.unwrap();
    assert_eq!(numbers_until(&mut events, 1).await.0, [1]);
    redis.restart(false);
    // Publishes after the restart start a new epoch; the first may race
    // the node's reconnect, so retry it.
    while publish(2).await.is_err() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The node notices the new epoch and the client is told it could not
    // recover (it would otherwise be left behind silently).
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("the client is told")
            .expect("subscription open");
        if let SubscriptionEvent::Resubscribed { recovered } = event {
            assert!(!recovered, "a new epoch cannot be recovered");
            break;
        }
    }
    publish(3).await.unwrap();
    let (numbers, _) = numbers_until(&mut events, 3).await;
    assert_eq!(numbers.last(), Some(&3), "live again on the new epoch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pubsub_connection_is_replaced_and_subscribers_recover() {
    let redis = RedisServer::start(false);
    let a = node(&redis, "a").await;
    let b = node(&redis, "b").await;
    let mut on_b = follower(&b, "u1", "news:killed").await;
    let publisher = a.api();
    for n in 1..=30u64 {
        if n == 10 {
            // Every pub/sub connection of every node: what a failover or a
            // network blip does.
            let killed = redis.command("CLIENT KILL TYPE pubsub").unwrap();
            assert!(killed.starts_with(':'), "{killed}");
        }
        let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
        publisher
            .publish_with_key("news:killed", &data, None)
            .await
            .unwrap();
    }
    let (numbers, _) = numbers_until(&mut on_b, 30).await;
    assert_eq!(numbers, (1..=30).collect::<Vec<_>>());
    // The operator sees it: the subscribers' node counted the reconnect.
    let reconnects = metric_sum(&b, "wirecall_broker_reconnects_total", "");
    assert!(reconnects >= 1.0, "{reconnects} reconnects");
}
