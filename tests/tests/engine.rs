//! The channel engine on one node: per-channel ordering of subscribe and
//! history, lost publications noticed (on delivery and by the periodic
//! position check) and told to the client, presence kept alive by its
//! node, and bounded stream state. Lost deliveries come from a broker
//! that drops chosen publications on their way to this node, the way a
//! dropped pub/sub connection would; the real Redis faults are in
//! tests/redis.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::{RawClient, TestServer, pub_data};
use wirecall_server::broker::{
    BoxFuture, Broker, BrokerError, BrokerSink, HistoryPage, HistoryPolicy, HistoryQuery,
    MemoryBroker, NodeInfo, PublishOptions,
};
use wirecall_server::protocol::{ClientInfo, Publication, StreamPosition};
use wirecall_server::{NamespaceOptions, Timings};
use wirecall_tests::test_server;

/// A memory broker whose deliveries to the node skip publications whose
/// data is `{"lost": true}` (they are still in the stream's history), and
/// which refuses to subscribe the node to channels ending in `#refused`.
struct LossyBroker {
    inner: MemoryBroker,
}

struct LossySink(Arc<dyn BrokerSink>);

impl BrokerSink for LossySink {
    fn publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        if publication.data.get() != r#"{"lost":true}"# {
            self.0.publication(channel, publication, epoch);
        }
    }
    fn join(&self, channel: &str, info: &ClientInfo) {
        self.0.join(channel, info);
    }
    fn leave(&self, channel: &str, info: &ClientInfo) {
        self.0.leave(channel, info);
    }
    fn control(&self, payload: &str) {
        self.0.control(payload);
    }
}

impl Broker for LossyBroker {
    fn attach(&self, id: &str, sink: Arc<dyn BrokerSink>) {
        self.inner.attach(id, Arc::new(LossySink(sink)));
    }
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        publication: Publication,
        options: PublishOptions,
    ) -> BoxFuture<'a, Result<StreamPosition, BrokerError>> {
        self.inner.publish(channel, publication, options)
    }
    fn publish_join<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.publish_join(channel, info)
    }
    fn publish_leave<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.publish_leave(channel, info)
    }
    fn subscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        if channel.ends_with("#refused") {
            // As a broker that cannot be reached would answer.
            return Box::pin(std::future::ready(Err(BrokerError::unavailable(
                "refused for the test",
            ))));
        }
        self.inner.subscribe_node(channel)
    }
    fn unsubscribe_node<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.unsubscribe_node(channel)
    }
    fn history<'a>(
        &'a self,
        channel: &'a str,
        query: HistoryQuery,
        policy: HistoryPolicy,
    ) -> BoxFuture<'a, Result<HistoryPage, BrokerError>> {
        self.inner.history(channel, query, policy)
    }
    fn remove_history<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.remove_history(channel)
    }
    fn add_presence<'a>(
        &'a self,
        channel: &'a str,
        info: ClientInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.add_presence(channel, info, ttl)
    }
    fn remove_presence<'a>(
        &'a self,
        channel: &'a str,
        client: &'a str,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.remove_presence(channel, client)
    }
    fn presence<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, ClientInfo>, BrokerError>> {
        self.inner.presence(channel)
    }
    fn publish_control<'a>(
        &'a self,
        to: Option<&'a str>,
        payload: String,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.publish_control(to, payload)
    }
    fn announce_node<'a>(
        &'a self,
        info: NodeInfo,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.announce_node(info, ttl)
    }
    fn remove_node<'a>(&'a self, uid: &'a str) -> BoxFuture<'a, Result<(), BrokerError>> {
        self.inner.remove_node(uid)
    }
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<NodeInfo>, BrokerError>> {
        self.inner.nodes()
    }
}

fn lossy() -> Arc<LossyBroker> {
    Arc::new(LossyBroker {
        inner: MemoryBroker::new(),
    })
}

async fn publish(server: &TestServer, channel: &str, data: Value) -> u64 {
    let data = serde_json::value::to_raw_value(&data).unwrap();
    server.server.publish(channel, &data).await.unwrap().offset
}

#[tokio::test]
async fn a_lost_publication_unsubscribes_with_insufficient_state_and_recovery_fills_it() {
    let server = TestServer::start(test_server().broker(lossy())).await;
    let mut client = server.client("u1").await;
    let reply = client
        .subscribe(json!({"channel": "news:general", "recoverable": true}))
        .await;
    let epoch = reply["subscribe"]["epoch"].as_str().unwrap().to_owned();
    publish(&server, "news:general", json!({"n": 1})).await;
    publish(&server, "news:general", json!({"lost": true})).await;
    publish(&server, "news:general", json!({"n": 3})).await;

    let first = client.push().await;
    assert_eq!(pub_data(&first), &json!({"n": 1}));
    let told = client.push().await;
    assert_eq!(
        told,
        json!({"channel": "news:general", "unsubscribe": {"code": 2500, "reason": "insufficient state"}}),
        "offset 3 after 1 is a gap, never passed over"
    );
    // What an SDK does on 2500: resubscribe, recovering from its position.
    let reply = client
        .subscribe(json!({"channel": "news:general", "recover": true, "offset": 1, "epoch": epoch}))
        .await;
    let result = &reply["subscribe"];
    assert_eq!(result["recovered"], true, "{reply}");
    let recovered: Vec<&Value> = result["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["data"])
        .collect();
    assert_eq!(recovered, [&json!({"lost": true}), &json!({"n": 3})]);
    publish(&server, "news:general", json!({"n": 4})).await;
    assert_eq!(pub_data(&client.push().await), &json!({"n": 4}));
}

#[tokio::test]
async fn a_lost_publication_on_the_personal_channel_closes_with_3010() {
    let server = TestServer::start(test_server().broker(lossy())).await;
    let mut client = server.client("u1").await;
    publish(&server, "personal:#u1", json!({"n": 1})).await;
    assert_eq!(pub_data(&client.push().await), &json!({"n": 1}));
    publish(&server, "personal:#u1", json!({"lost": true})).await;
    publish(&server, "personal:#u1", json!({"n": 3})).await;
    client.expect_close(3010).await;
}

#[tokio::test]
async fn a_lost_last_publication_is_found_by_the_position_check() {
    let timings = Timings::default().position_check_interval(Duration::from_millis(100));
    let server = TestServer::start(test_server().broker(lossy()).timings(timings)).await;
    let mut client = server.client("u1").await;
    client
        .subscribe(json!({"channel": "news:general", "recoverable": true}))
        .await;
    publish(&server, "news:general", json!({"lost": true})).await;
    // Nothing else is published: only the check can notice.
    let told = client.push().await;
    assert_eq!(told["unsubscribe"]["code"], 2500, "{told}");
}

#[tokio::test]
async fn subscriptions_that_are_not_positioned_are_not_checked() {
    let timings = Timings::default().position_check_interval(Duration::from_millis(50));
    let builder = test_server().broker(lossy()).timings(timings).namespace(
        "plain",
        NamespaceOptions::default()
            .allow_subscribe_for_client(true)
            .history_size(10)
            .history_ttl(Duration::from_secs(60)),
    );
    let server = TestServer::start(builder).await;
    let mut client = server.client("u1").await;
    client.subscribe(json!({"channel": "plain:x"})).await;
    publish(&server, "plain:x", json!({"n": 1})).await;
    publish(&server, "plain:x", json!({"lost": true})).await;
    publish(&server, "plain:x", json!({"n": 3})).await;
    assert_eq!(pub_data(&client.push().await), &json!({"n": 1}));
    // No 2500 in between: the client asked for no position.
    assert_eq!(pub_data(&client.push().await), &json!({"n": 3}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_subscribers_of_a_new_channel_miss_nothing_between_recovery_and_live() {
    let server = TestServer::start(test_server()).await;
    let publishing = {
        let server = server.server.clone();
        tokio::spawn(async move {
            for n in 1..=300u32 {
                let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
                server.publish("news:fresh", &data).await.unwrap();
                if n % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut subscribers = Vec::new();
    for user in 0..20 {
        let url = server.url.clone();
        subscribers.push(tokio::spawn(async move {
            let mut client = RawClient::open(&url).await;
            client
                .connect(&support::token(&format!("u{user}"), 3600))
                .await;
            let reply = client
                .subscribe(json!({"channel": "news:fresh", "recoverable": true}))
                .await;
            let start = reply["subscribe"]["offset"].as_u64().unwrap();
            let mut expected = start + 1;
            while expected <= 300 {
                let push = client.push().await;
                assert_eq!(
                    push["pub"]["offset"].as_u64(),
                    Some(expected),
                    "subscriber u{user} from offset {start}: {push}"
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

#[tokio::test]
async fn presence_stays_while_its_node_refreshes_it() {
    let timings = Timings::default()
        .presence_ttl(Duration::from_millis(300))
        .presence_refresh_interval(Duration::from_millis(100));
    let server = TestServer::start(test_server().timings(timings)).await;
    let mut client = server.client("u1").await;
    client.subscribe(json!({"channel": "news:here"})).await;
    // Several TTLs later the entry is still there: the node refreshed it.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let id = client
        .command(json!({"presence_stats": {"channel": "news:here"}}))
        .await;
    let reply = client.reply_to(id).await;
    assert_eq!(reply["presence_stats"]["num_clients"], 1, "{reply}");
}

#[tokio::test]
async fn random_channels_keep_bounded_stream_state() {
    let broker = Arc::new(MemoryBroker::new());
    let builder = test_server().broker(broker.clone()).namespace(
        "news",
        NamespaceOptions::public(100, Duration::from_secs(300)).history_max_channels(50),
    );
    let server = TestServer::start(builder).await;
    let mut client = server.client("u1").await;
    for n in 0..2000 {
        let channel = format!("news:{}", uuid_like(n));
        let reply = client
            .subscribe(json!({"channel": channel, "recoverable": true}))
            .await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
        let id = client
            .command(json!({"unsubscribe": {"channel": channel}}))
            .await;
        client.reply_to(id).await;
    }
    // 50 in `news`, and u1's personal channel in a namespace of its own.
    assert_eq!(broker.stream_count(), 51);
    let mut witness = server.client("u2").await;
    let reply = witness.call("test.echo", json!("still serving")).await;
    assert_eq!(reply["rpc"]["data"], "still serving");
}

fn uuid_like(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-{:012x}", u64::from(n) * 7919)
}

#[tokio::test]
async fn lost_deliveries_are_counted_only_once_per_subscription() {
    // Two lost publications in a row still make one 2500, not two.
    let server = TestServer::start(test_server().broker(lossy())).await;
    let mut client = server.client("u1").await;
    client
        .subscribe(json!({"channel": "news:twice", "recoverable": true}))
        .await;
    publish(&server, "news:twice", json!({"lost": true})).await;
    publish(&server, "news:twice", json!({"lost": true})).await;
    publish(&server, "news:twice", json!({"n": 3})).await;
    publish(&server, "news:twice", json!({"n": 4})).await;
    let told = client.push().await;
    assert_eq!(told["unsubscribe"]["code"], 2500);
    // A witness publication on another channel proves nothing else came.
    client.subscribe(json!({"channel": "news:witness"})).await;
    publish(&server, "news:witness", json!({"witness": true})).await;
    let next = client.push().await;
    assert_eq!(next["channel"], "news:witness", "{next}");
}

#[tokio::test]
async fn a_connect_whose_personal_channel_fails_leaves_nothing_connected() {
    let server = TestServer::start(test_server().broker(lossy())).await;
    let mut client = RawClient::open(&server.url).await;
    let reply = client.connect(&support::token("refused", 3600)).await;
    assert_eq!(reply["error"]["code"], 100, "{reply}");
    assert_eq!(reply["error"]["temporary"], true);
    assert_eq!(server.server.connection_count(), 0);
    // The session is not connected: a command now is a protocol error.
    client
        .command(json!({"rpc": {"method": "test.echo", "data": 1}}))
        .await;
    client.expect_close(3501).await;
}
