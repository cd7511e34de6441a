//! The Protobuf encoding over a raw WebSocket, where the SDK suites cannot
//! reach: the framing (several commands in one message, the empty ping and
//! pong), bad input (undecodable bytes, a payload that is not JSON, a text
//! message), and one publication fanned out to JSON and Protobuf
//! subscribers at once. The scenarios an SDK can drive run in both
//! encodings in tests/sdk.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::json;
use support::{GUARD, RawClient, TestServer, token};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wirecall_core::protocol::protobuf as pb;
use wirecall_server::Timings;
use wirecall_tests::test_server;

/// One connection speaking `centrifuge-protobuf`, frames built by hand.
struct PbClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Replies received in one message but not yet read.
    pending: std::collections::VecDeque<pb::Reply>,
}

impl PbClient {
    /// Opens with the subprotocol (`url_suffix` empty), or by query alone.
    async fn open(url: &str, url_suffix: &str) -> Self {
        let mut request = format!("{url}{url_suffix}").into_client_request().unwrap();
        if url_suffix.is_empty() {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                "centrifuge-protobuf".parse().unwrap(),
            );
        }
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        if url_suffix.is_empty() {
            let selected = response.headers().get("sec-websocket-protocol");
            assert_eq!(selected.unwrap(), "centrifuge-protobuf");
        }
        Self {
            ws,
            pending: Default::default(),
        }
    }

    async fn send_commands(&mut self, commands: &[pb::Command]) {
        let mut message = Vec::new();
        for command in commands {
            message.extend(pb::encode(command));
        }
        self.send_bytes(message).await;
    }

    async fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(bytes.into())).await.unwrap();
    }

    /// The next reply or push (an empty one is a ping).
    async fn reply(&mut self) -> pb::Reply {
        loop {
            if let Some(reply) = self.pending.pop_front() {
                return reply;
            }
            let message = tokio::time::timeout(GUARD, self.ws.next())
                .await
                .expect("a message in time")
                .expect("the connection is open")
                .unwrap();
            let Message::Binary(bytes) = message else {
                panic!("a binary message, not {message:?}");
            };
            let mut bytes = &bytes[..];
            while !bytes.is_empty() {
                self.pending
                    .push_back(pb::Reply::decode_length_delimited(&mut bytes).unwrap());
            }
        }
    }

    /// The replies to `count` commands, by id (replies to different
    /// commands may come in any order; the SDKs match them by id).
    async fn replies(&mut self, count: usize) -> std::collections::BTreeMap<u32, pb::Reply> {
        let mut replies = std::collections::BTreeMap::new();
        while replies.len() < count {
            let reply = self.next().await;
            assert!(reply.id != 0, "a reply, not a push: {reply:?}");
            replies.insert(reply.id, reply);
        }
        replies
    }

    /// The next reply that is not a ping.
    async fn next(&mut self) -> pb::Reply {
        loop {
            let reply = self.reply().await;
            if reply != pb::Reply::default() {
                return reply;
            }
        }
    }

    async fn expect_close(&mut self, code: u16) {
        loop {
            let message = tokio::time::timeout(GUARD, self.ws.next())
                .await
                .expect("a close in time");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(u16::from(frame.code), code, "{frame:?}");
                    return;
                }
                Some(Ok(Message::Binary(_))) => continue,
                other => panic!("expected close {code}, got {other:?}"),
            }
        }
    }

    async fn connect(&mut self, user: &str) -> pb::ConnectResult {
        self.send_commands(&[connect(1, user)]).await;
        let reply = self.next().await;
        assert_eq!(reply.id, 1, "{reply:?}");
        reply.connect.expect("a connect result")
    }
}

fn connect(id: u32, user: &str) -> pb::Command {
    pb::Command {
        id,
        connect: Some(pb::ConnectRequest {
            token: token(user, 3600),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn rpc(id: u32, method: &str, data: &[u8]) -> pb::Command {
    pb::Command {
        id,
        rpc: Some(pb::RpcRequest {
            method: method.to_owned(),
            data: data.to_vec(),
        }),
        ..Default::default()
    }
}

fn subscribe(id: u32, channel: &str) -> pb::Command {
    pb::Command {
        id,
        subscribe: Some(pb::SubscribeRequest {
            channel: channel.to_owned(),
            recoverable: true,
            positioned: true,
            join_leave: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn json_of(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("a JSON payload")
}

#[tokio::test]
async fn several_commands_in_one_message_are_all_answered() {
    let server = TestServer::start(test_server()).await;
    let mut client = PbClient::open(&server.url, "").await;
    client
        .send_commands(&[
            connect(1, "u1"),
            rpc(2, "test.echo", br#"{"a":[1,"two"]}"#),
            rpc(3, "test.fail", b"{}"),
            rpc(4, "test.whoami", b""),
        ])
        .await;
    let mut replies = client.replies(4).await;
    let result = replies.remove(&1).unwrap().connect.expect("connect result");
    assert_eq!((result.ping, result.pong), (25, true));
    assert!(result.subs["personal:#u1"].recoverable, "{result:?}");
    let echo = replies.remove(&2).unwrap().rpc.expect("an rpc result");
    assert_eq!(json_of(&echo.data), json!({"a": [1, "two"]}));
    let error = replies.remove(&3).unwrap().error.expect("an error");
    assert_eq!(
        (error.code, error.message.as_str()),
        (1001, "custom app error")
    );
    // Empty data is no params, as an absent `data` in JSON.
    let whoami = replies.remove(&4).unwrap().rpc.expect("an rpc result");
    assert_eq!(json_of(&whoami.data)["user"], "u1");
}

#[tokio::test]
async fn the_query_selects_protobuf_without_the_subprotocol() {
    let server = TestServer::start(test_server()).await;
    for query in ["?format=protobuf", "?cf_protocol=protobuf"] {
        let mut client = PbClient::open(&server.url, query).await;
        assert!(!client.connect("u1").await.client.is_empty());
    }
}

#[tokio::test]
async fn pings_are_empty_replies_and_empty_commands_answer_them() {
    let timings = Timings::default()
        .ping_interval(Duration::from_millis(100))
        .pong_timeout(Duration::from_millis(300));
    let server = TestServer::start(test_server().timings(timings)).await;
    let mut client = PbClient::open(&server.url, "").await;
    client.connect("u1").await;
    // Three pings, each answered with the empty command: still connected.
    for _ in 0..3 {
        loop {
            if client.reply().await == pb::Reply::default() {
                break;
            }
        }
        client.send_commands(&[pb::Command::default()]).await;
    }
    client.send_commands(&[rpc(9, "test.whoami", b"")]).await;
    assert_eq!(client.next().await.id, 9);
    // Unanswered, the next ping ends the connection with 3012 (no pong).
    client.expect_close(3012).await;
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_refused_for_its_command_only() {
    let server = TestServer::start(test_server()).await;
    let mut client = PbClient::open(&server.url, "").await;
    client.connect("u1").await;
    client
        .send_commands(&[
            rpc(2, "test.echo", &[0xff, 0x00, 0x01]),
            rpc(3, "test.echo", b"[1]"),
            // UTF-8, but not JSON: found out when decoding fails.
            rpc(4, "test.echo", br#"{"ok":"#),
            rpc(5, "test.nope", b"[1,}"),
            rpc(6, "test.echo", br#"{"ok":1} {"#),
        ])
        .await;
    let mut replies = client.replies(5).await;
    for id in [2, 4, 5, 6] {
        let error = replies.remove(&id).unwrap().error.expect("an error");
        assert_eq!(
            (error.code, error.message.as_str()),
            (107, "rpc.data is not JSON"),
            "command {id}"
        );
    }
    let echo = replies.remove(&3).unwrap().rpc.expect("an rpc result");
    assert_eq!(echo.data, b"[1]");
}

#[tokio::test]
async fn undecodable_bytes_and_text_messages_close_with_bad_request() {
    let server = TestServer::start(test_server()).await;
    let mut witness = PbClient::open(&server.url, "").await;
    witness.connect("w").await;

    let mut garbage = PbClient::open(&server.url, "").await;
    garbage.connect("u1").await;
    // A length prefix promising more than the message holds.
    garbage.send_bytes(vec![0x05, 0x08]).await;
    garbage.expect_close(3501).await;

    let mut text = PbClient::open(&server.url, "").await;
    text.ws
        .send(Message::Text(
            json!({"id": 1, "connect": {}}).to_string().into(),
        ))
        .await
        .unwrap();
    text.expect_close(3501).await;

    witness.send_commands(&[rpc(5, "test.echo", b"{}")]).await;
    assert_eq!(witness.next().await.id, 5);
}

#[tokio::test]
async fn one_publication_reaches_json_and_protobuf_subscribers() {
    let server = TestServer::start(test_server()).await;
    let mut binary = PbClient::open(&server.url, "").await;
    binary.connect("u1").await;
    binary.send_commands(&[subscribe(2, "news:mixed")]).await;
    let subscribed = binary.next().await;
    assert!(subscribed.subscribe.expect("subscribed").recoverable);

    let mut text = RawClient::open(&server.url).await;
    text.connect(&token("u2", 3600)).await;
    text.subscribe(json!({"channel": "news:mixed"})).await;
    // Its own join first, then the JSON client's.
    for user in ["u1", "u2"] {
        let join = binary.next().await.push.expect("a join push");
        assert_eq!(join.join.unwrap().info.unwrap().user, user);
    }

    let data = json!({"headline": "both", "n": 1});
    let raw = serde_json::value::to_raw_value(&data).unwrap();
    server.server.publish("news:mixed", &raw).await.unwrap();
    let push = binary.next().await.push.expect("a publication push");
    assert_eq!(push.channel, "news:mixed");
    let publication = push.publication.unwrap();
    assert_eq!(json_of(&publication.data), data);
    assert_eq!(publication.offset, 1);
    let json_push = text.push().await;
    assert_eq!(json_push["pub"]["data"], data, "{json_push}");
    assert_eq!(json_push["pub"]["offset"], 1);
}
