//! The server over a raw WebSocket: the happy paths and every kind of bad
//! input, each asserting the exact reply or close code and that another
//! client on the same server keeps working.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{RawClient, TestServer, pub_data, token};
use wirecall_server::Limits;
use wirecall_server::SubscribeDecision;
use wirecall_tests::test_server;

/// Another client proves the server still serves after a bad connection.
async fn still_serving(witness: &mut RawClient) {
    let reply = witness.call("test.echo", json!({"ok": true})).await;
    assert_eq!(reply["rpc"]["data"], json!({"ok": true}), "{reply}");
}

#[tokio::test]
async fn connect_then_rpc() {
    let server = TestServer::start(test_server()).await;
    let mut client = RawClient::open(&server.url).await;
    let reply = client.connect(&token("u1", 3600)).await;
    let connect = &reply["connect"];
    assert_eq!(connect["ping"], 25);
    assert_eq!(connect["pong"], true);
    assert_eq!(connect["expires"], true);
    assert!(connect["ttl"].as_u64().unwrap() > 3500);
    // Server-side subscription to the personal channel, positioned.
    let personal = &connect["subs"]["personal:#u1"];
    assert_eq!(personal["recoverable"], true, "{reply}");
    assert!(personal["epoch"].is_string());

    let reply = client.call("test.whoami", json!(null)).await;
    assert_eq!(reply["rpc"]["data"]["user"], "u1");
    assert_eq!(reply["rpc"]["data"]["client"], connect["client"]);
}

#[tokio::test]
async fn connect_and_subscribe_in_one_frame() {
    let server = TestServer::start(test_server()).await;
    let mut client = RawClient::open(&server.url).await;
    let frame = format!(
        "{}\n{}",
        json!({"id": 1, "connect": {"token": token("u1", 3600)}}),
        json!({"id": 2, "subscribe": {"channel": "news:general", "recoverable": true, "flag": 1}})
    );
    client.send_text(&frame).await;
    let connect = client.json().await;
    assert_eq!(connect["id"], 1);
    let subscribe = client.json().await;
    assert_eq!(subscribe["id"], 2);
    assert_eq!(subscribe["subscribe"]["recoverable"], true, "{subscribe}");
}

#[tokio::test]
async fn bad_tokens_are_refused_as_the_sdks_expect() {
    let server = TestServer::start(test_server()).await;
    let mut witness = server.client("w").await;

    let mut expired = RawClient::open(&server.url).await;
    let reply = expired.connect(&token("u1", -10)).await;
    assert_eq!(
        reply["error"],
        json!({"code": 109, "message": "token expired"})
    );

    let mut forged = RawClient::open(&server.url).await;
    let forged_token =
        wirecall_server::auth::mint_hmac_token(b"wrong", &json!({"sub": "u1"})).unwrap();
    forged
        .command(json!({"connect": {"token": forged_token}}))
        .await;
    forged.expect_close(3500).await;

    let mut anonymous = RawClient::open(&server.url).await;
    anonymous.command(json!({"connect": {}})).await;
    anonymous.expect_close(3501).await;
    still_serving(&mut witness).await;
}

#[tokio::test]
async fn malformed_frames_close_with_bad_request() {
    let server = TestServer::start(test_server()).await;
    let mut witness = server.client("w").await;
    for garbage in [
        "{not json",
        "[1,2,3]",
        "\"connect\"",
        "{\"id\":1,\"rpc\":{\"method\":1}}",
        // RPCs of the common shape whose params are not JSON: found out
        // after the handler's decoder (or the method lookup) failed.
        r#"{"id":1,"rpc":{"method":"test.echo","data":{"ok":}}}"#,
        r#"{"id":1,"rpc":{"method":"test.whoami","data":{"a":tru}}}"#,
        r#"{"id":1,"rpc":{"method":"test.nope","data":[1,}}}"#,
        r#"{"rpc":{"method":"test.echo","data":"\x"},"id":1}"#,
    ] {
        let mut client = server.client("u1").await;
        client.send_text(garbage).await;
        client.expect_close(3501).await;
        still_serving(&mut witness).await;
    }
}

#[tokio::test]
async fn every_line_of_a_frame_is_answered_until_a_malformed_one() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    client
        .send_text(concat!(
            r#"{"id":7,"rpc":{"method":"test.echo","data":{"n":1}}}"#,
            "\r\n\n",
            r#" {"rpc": {"data": [2], "method": "test.echo"}, "id": 8}"#,
            "\n",
            r#"{"id":9,"rpc":{"method":"test.echo","data":{"n":3}}}"#,
            "\n{\"id\":10,\"rpc\":{\"method\":\"test.echo\",\"data\":{\"n\":\n4}}}",
        ))
        .await;
    for (id, data) in [(7, json!({"n": 1})), (8, json!([2])), (9, json!({"n": 3}))] {
        let reply = client.json().await;
        assert_eq!(reply["id"], id, "{reply}");
        assert_eq!(reply["rpc"]["data"], data, "{reply}");
    }
    // A command cut by a newline is two malformed lines.
    client.expect_close(3501).await;
}

#[tokio::test]
async fn unknown_command_is_answered_not_fatal() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    let id = client.command(json!({"teleport": {}})).await;
    let reply = client.reply_to(id).await;
    assert_eq!(reply["error"]["code"], 104, "{reply}");
    still_serving(&mut client).await;
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let server = TestServer::start(test_server()).await;
    let mut witness = server.client("w").await;
    let mut client = server.client("u1").await;
    let big = "x".repeat(70 * 1024);
    client.call_nowait(&big).await;
    client.expect_close(1009).await;
    still_serving(&mut witness).await;
}

#[tokio::test]
async fn binary_frame_closes_with_bad_request() {
    let server = TestServer::start(test_server()).await;
    let mut witness = server.client("w").await;
    let mut client = server.client("u1").await;
    client
        .send_binary(br#"{"id":5,"rpc":{"method":"test.echo","data":1}}"#.to_vec())
        .await;
    client.expect_close(3501).await;
    still_serving(&mut witness).await;
}

#[tokio::test]
async fn commands_before_connect_and_second_connect_are_fatal() {
    let server = TestServer::start(test_server()).await;
    let mut witness = server.client("w").await;
    let mut early = RawClient::open(&server.url).await;
    early
        .command(json!({"rpc": {"method": "test.echo", "data": 1}}))
        .await;
    early.expect_close(3501).await;

    let mut twice = server.client("u1").await;
    twice
        .command(json!({"connect": {"token": token("u1", 3600)}}))
        .await;
    twice.expect_close(3501).await;
    still_serving(&mut witness).await;
}

#[tokio::test]
async fn channel_permissions() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    let reply = client.subscribe(json!({"channel": "chat:#u2,u3"})).await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    let reply = client.subscribe(json!({"channel": "chat:#u1,u2"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let reply = client.subscribe(json!({"channel": "nope:x"})).await;
    assert_eq!(reply["error"]["code"], 102, "{reply}");
    let reply = client.subscribe(json!({"channel": "news:general"})).await;
    assert!(reply.get("subscribe").is_some());
    let reply = client.subscribe(json!({"channel": "news:general"})).await;
    assert_eq!(reply["error"]["code"], 105, "{reply}");

    // Publishing: allowed for news subscribers, not into another user's
    // channel, not where the client is not subscribed.
    for (channel, code) in [("chat:#u9", 103), ("news:other", 103), ("news:general", 0)] {
        let id = client
            .command(json!({"publish": {"channel": channel, "data": {"t": 1}}}))
            .await;
        let reply = client.reply_to(id).await;
        if code == 0 {
            assert_eq!(reply["publish"], json!({}), "{reply}");
        } else {
            assert_eq!(reply["error"]["code"], code, "{channel}: {reply}");
        }
    }
    still_serving(&mut client).await;
}

#[tokio::test]
async fn client_publications_into_a_typed_family_are_checked_against_its_payload() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    let mut witness = server.client("u2").await;
    for channel in [
        "chat:room:7",
        "news:story:00000000-0000-0000-0000-000000000007",
    ] {
        let reply = client.subscribe(json!({"channel": channel})).await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
    }
    let cases = [
        ("chat:room:7", json!({"author": "u1", "text": "hi"}), None),
        (
            "chat:room:7",
            json!({"author": "u1", "text": 5}),
            Some("text"),
        ),
        (
            "chat:room:7",
            json!({"author": "u1"}),
            Some("missing field `text`"),
        ),
        (
            "news:story:00000000-0000-0000-0000-000000000007",
            // Inside an internally tagged enum serde does not track the
            // field; the message names the expected type.
            json!({"kind": "edited", "title": "t", "revision": -1}),
            Some("expected u32"),
        ),
        (
            "news:story:00000000-0000-0000-0000-000000000007",
            json!({"kind": "shouted"}),
            Some("unknown variant `shouted`"),
        ),
        (
            "news:story:00000000-0000-0000-0000-000000000007",
            json!({"kind": "retracted", "reason": "wrong"}),
            None,
        ),
    ];
    for (channel, data, refused) in cases {
        let id = client
            .command(json!({"publish": {"channel": channel, "data": data}}))
            .await;
        let reply = client.reply_to(id).await;
        match refused {
            None => assert_eq!(reply["publish"], json!({}), "{data}: {reply}"),
            Some(naming) => {
                assert_eq!(reply["error"]["code"], 107, "{data}: {reply}");
                let message = reply["error"]["message"].as_str().unwrap();
                assert!(message.contains(naming), "{data}: {message}");
                assert!(message.contains("channel family"), "{message}");
            }
        }
    }
    // Only the accepted publications arrived, in order.
    let first = client.push().await;
    assert_eq!(pub_data(&first)["text"], "hi", "{first}");
    let second = client.push().await;
    assert_eq!(pub_data(&second)["reason"], "wrong", "{second}");
    // A channel of the namespace outside any family is not checked.
    let reply = client.subscribe(json!({"channel": "chat:lobby"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let id = client
        .command(json!({"publish": {"channel": "chat:lobby", "data": {"any": 1}}}))
        .await;
    assert_eq!(client.reply_to(id).await["publish"], json!({}));
    still_serving(&mut witness).await;
}

#[tokio::test]
async fn rpc_over_publish_is_off_unless_asked() {
    let request =
        json!({"method": "test.echo", "params": 1, "correlation_id": "c1", "reply_to": "user#u1"});
    for (on, code) in [(false, Some(103)), (true, None)] {
        let server = TestServer::start(test_server().rpc_over_publish(on)).await;
        let mut client = server.client("u1").await;
        let reply = client.subscribe(json!({"channel": "user#u1"})).await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
        let id = client
            .command(json!({"publish": {"channel": "rpc.requests", "data": request}}))
            .await;
        let reply = client.reply_to(id).await;
        match code {
            Some(code) => assert_eq!(reply["error"]["code"], code, "{reply}"),
            None => {
                assert_eq!(reply["publish"], json!({}), "{reply}");
                let push = client.push().await;
                assert_eq!(
                    pub_data(&push),
                    &json!({"correlation_id": "c1", "result": 1}),
                    "{push}"
                );
            }
        }
    }
}

#[tokio::test]
async fn rpc_over_publish_needs_a_reply_channel_of_the_callers_own() {
    let server = TestServer::start(test_server()).await;
    // `user#a,b` admits both users: an id with a `,` has no channel of its
    // own, so its calls are refused rather than answered where another
    // user can read them.
    let mut shared = server.client("a,b").await;
    let mut reader = server.client("b").await;
    // With the mode on, `user#…` is for replies: only its one user reads it.
    let reply = reader.subscribe(json!({"channel": "user#a,b"})).await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    let request =
        json!({"method": "test.echo", "params": 1, "correlation_id": "c1", "reply_to": "user#a,b"});
    let id = shared
        .command(json!({"publish": {"channel": "rpc.requests", "data": request}}))
        .await;
    assert_eq!(shared.reply_to(id).await["error"]["code"], 103);
    // `user#a:b` would be a channel of namespace `user#a`.
    let mut colon = server.client("a:b").await;
    let request =
        json!({"method": "test.echo", "params": 1, "correlation_id": "c1", "reply_to": "user#a:b"});
    let id = colon
        .command(json!({"publish": {"channel": "rpc.requests", "data": request}}))
        .await;
    assert_eq!(colon.reply_to(id).await["error"]["code"], 103);
    still_serving(&mut reader).await;
}

#[tokio::test]
async fn rpc_over_publish_takes_escaped_strings_and_keeps_replies_from_hooks() {
    // A subscribe hook that allows everything does not open another
    // user's reply channel.
    let server =
        TestServer::start(test_server().on_subscribe(|_| async { SubscribeDecision::Allow })).await;
    let mut spy = server.client("b").await;
    let reply = spy.subscribe(json!({"channel": "user#jos\u{e9}"})).await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    // JSON encoders escape non-ASCII: the request is read all the same.
    let mut jose = server.client("jos\u{e9}").await;
    let reply = jose.subscribe(json!({"channel": "user#jos\u{e9}"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let escaped = r#"{"publish":{"channel":"rpc.requests","data":{"method":"test.echo","params":"\u00e9","correlation_id":7,"reply_to":"user#jos\u00e9"}},"id":99}"#;
    jose.send_text(escaped).await;
    assert_eq!(jose.reply_to(99).await["publish"], json!({}));
    let push = jose.push().await;
    assert_eq!(
        pub_data(&push),
        &json!({"correlation_id": 7, "result": "\u{e9}"}),
        "{push}"
    );
}

#[tokio::test]
async fn the_default_namespace_is_closed_unless_configured() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    let reply = client.subscribe(json!({"channel": "lobby"})).await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    let id = client
        .command(json!({"publish": {"channel": "lobby", "data": 1}}))
        .await;
    assert_eq!(client.reply_to(id).await["error"]["code"], 103);
    let reply = client.subscribe(json!({"channel": "news:sports"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
}

#[tokio::test]
async fn rpc_errors() {
    let server = TestServer::start(
        test_server().limits(Limits::default().rpc_timeout(Duration::from_millis(200))),
    )
    .await;
    let mut client = server.client("u1").await;
    let reply = client.call("test.nope", json!({})).await;
    assert_eq!(reply["error"]["code"], 104, "{reply}");
    let reply = client.call("test.sleep", json!("soon")).await;
    assert_eq!(reply["error"]["code"], 107, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid params")
    );
    let reply = client.call("test.fail", json!(null)).await;
    assert_eq!(
        reply["error"],
        json!({"code": 1001, "message": "custom app error"})
    );
    let reply = client.call("test.panic", json!(null)).await;
    assert_eq!(
        reply["error"],
        json!({"code": 100, "message": "internal server error", "temporary": true})
    );
    let reply = client.call("test.sleep", json!(5_000)).await;
    assert_eq!(reply["error"]["message"], "handler timed out", "{reply}");
    still_serving(&mut client).await;
}

#[tokio::test]
async fn slow_handler_does_not_block_other_commands() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    let slow = client
        .command(json!({"rpc": {"method": "test.sleep", "data": 300}}))
        .await;
    let fast = client
        .command(json!({"rpc": {"method": "test.echo", "data": "fast"}}))
        .await;
    let first = client.json().await;
    assert_eq!(first["id"], fast, "the fast call answers first: {first}");
    let second = client.json().await;
    assert_eq!(second["id"], slow);
}

#[tokio::test]
async fn publications_reach_subscribers_in_order() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u1").await;
    client.subscribe(json!({"channel": "news:general"})).await;
    for n in 1..=5 {
        let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
        server.server.publish("news:general", &data).await.unwrap();
    }
    for n in 1..=5 {
        let push = client.push().await;
        assert_eq!(push["channel"], "news:general");
        assert_eq!(pub_data(&push), &json!({"n": n}));
        assert_eq!(push["pub"]["offset"], n);
    }
}

#[tokio::test]
async fn personal_channel_receives_server_messages() {
    let server = TestServer::start(test_server()).await;
    let mut client = server.client("u7").await;
    let data = serde_json::value::to_raw_value(&json!({"type": "user.message"})).unwrap();
    server.server.publish("personal:#u7", &data).await.unwrap();
    let push = client.push().await;
    assert_eq!(push["channel"], "personal:#u7");
    assert_eq!(pub_data(&push)["type"], "user.message");
}

#[tokio::test]
async fn presence_history_and_join_leave() {
    let server = TestServer::start(test_server()).await;
    let mut a = server.client("a").await;
    let reply = a
        .subscribe(json!({"channel": "news:general", "join_leave": true}))
        .await;
    assert!(reply.get("subscribe").is_some());
    let join = a.push().await;
    assert_eq!(
        join["join"]["info"]["user"], "a",
        "a sees its own join: {join}"
    );

    let mut b = server.client("b").await;
    b.subscribe(json!({"channel": "news:general"})).await;
    let join = a.push().await;
    assert_eq!(join["join"]["info"]["user"], "b");

    let id = a
        .command(json!({"presence_stats": {"channel": "news:general"}}))
        .await;
    let reply = a.reply_to(id).await;
    assert_eq!(
        reply["presence_stats"],
        json!({"num_clients": 2, "num_users": 2})
    );
    let id = a
        .command(json!({"presence": {"channel": "news:general"}}))
        .await;
    let reply = a.reply_to(id).await;
    assert_eq!(reply["presence"]["presence"].as_object().unwrap().len(), 2);

    for n in 1..=3 {
        let id = b
            .command(json!({"publish": {"channel": "news:general", "data": {"n": n}}}))
            .await;
        b.reply_to(id).await;
    }
    let id = a
        .command(json!({"history": {"channel": "news:general", "limit": 10}}))
        .await;
    let reply = a.reply_to(id).await;
    let publications = reply["history"]["publications"].as_array().unwrap();
    let ns: Vec<_> = publications
        .iter()
        .map(|p| p["data"]["n"].clone())
        .collect();
    assert_eq!(ns, [json!(1), json!(2), json!(3)]);
    assert_eq!(publications[0]["info"]["user"], "b");
    assert_eq!(reply["history"]["offset"], 3);

    drop(b);
    loop {
        let push = a.push().await;
        if push.get("leave").is_some() {
            assert_eq!(push["leave"]["info"]["user"], "b");
            break;
        }
    }
}

#[tokio::test]
async fn resubscribe_recovers_exactly_the_missed_publications() {
    let server = TestServer::start(test_server()).await;
    let publish = |n: u32| {
        let server = server.server.clone();
        async move {
            let data = serde_json::value::to_raw_value(&json!({"n": n})).unwrap();
            server.publish("news:general", &data).await.unwrap()
        }
    };
    let mut client = server.client("u1").await;
    let reply = client
        .subscribe(json!({"channel": "news:general", "recoverable": true}))
        .await;
    let epoch = reply["subscribe"]["epoch"].as_str().unwrap().to_owned();
    publish(1).await;
    let seen = client.push().await["pub"]["offset"].as_u64().unwrap();
    drop(client);

    for n in 2..=4 {
        publish(n).await;
    }
    let mut client = server.client("u1").await;
    let reply = client
        .subscribe(
            json!({"channel": "news:general", "recover": true, "offset": seen, "epoch": epoch}),
        )
        .await;
    let result = &reply["subscribe"];
    assert_eq!(result["recovered"], true, "{reply}");
    assert_eq!(result["was_recovering"], true);
    assert_eq!(result["offset"], seen);
    let missed: Vec<_> = result["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"]["n"].clone())
        .collect();
    assert_eq!(missed, [json!(2), json!(3), json!(4)]);
    publish(5).await;
    let push = client.push().await;
    assert_eq!(
        pub_data(&push),
        &json!({"n": 5}),
        "live continues without duplicates"
    );

    // A position from another epoch cannot be recovered.
    let mut other = server.client("u2").await;
    let reply = other
        .subscribe(
            json!({"channel": "news:general", "recover": true, "offset": 1, "epoch": "gone"}),
        )
        .await;
    assert_eq!(reply["subscribe"]["was_recovering"], true);
    assert!(reply["subscribe"].get("recovered").is_none(), "{reply}");
    assert_eq!(reply["subscribe"]["offset"], 5);
}

#[tokio::test]
async fn too_many_calls_in_flight_are_refused() {
    let server =
        TestServer::start(test_server().limits(Limits::default().max_in_flight_rpcs(2))).await;
    let mut client = server.client("u1").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            client
                .command(json!({"rpc": {"method": "test.sleep", "data": 200}}))
                .await,
        );
    }
    let refused = client.reply_to(ids[2]).await;
    assert_eq!(
        refused["error"],
        json!({"code": 111, "message": "too many requests", "temporary": true})
    );
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_as_slow() {
    let (reasons, mut closed) = tokio::sync::mpsc::unbounded_channel();
    let server = TestServer::start(
        test_server()
            .limits(Limits::default().outbound_queue_bytes(256 * 1024))
            .on_disconnect(move |cx| {
                let reasons = reasons.clone();
                async move {
                    let _ = reasons.send((cx.user_id, cx.reason));
                }
            }),
    )
    .await;
    let mut reader = server.client("reader").await;
    reader.subscribe(json!({"channel": "news:general"})).await;
    let mut sleeper = server.client("sleeper").await;
    sleeper.subscribe(json!({"channel": "news:general"})).await;

    // Publish until the sleeper is gone; the reader keeps reading all of it.
    let payload = "y".repeat(16 * 1024);
    let mut published = 0u64;
    let reason = loop {
        let data =
            serde_json::value::to_raw_value(&json!({"n": published, "pad": payload})).unwrap();
        server.server.publish("news:general", &data).await.unwrap();
        published += 1;
        let push = reader.push().await;
        assert_eq!(push["pub"]["data"]["n"], published - 1);
        if let Ok(closed) = closed.try_recv() {
            break closed;
        }
        assert!(published < 20_000, "the sleeper was never closed");
    };
    assert_eq!(reason.0, "sleeper");
    assert_eq!(reason.1, Some(wirecall_server::protocol::Disconnect::SLOW));
    assert_eq!(server.server.connection_count(), 1);
    still_serving(&mut reader).await;
}

impl RawClient {
    /// Sends `text` as an RPC param without waiting for an answer.
    async fn call_nowait(&mut self, text: &str) {
        self.command(json!({"rpc": {"method": "test.echo", "data": text}}))
            .await;
    }
}

#[tokio::test]
async fn rpc_replies_count_against_the_outbound_limit() {
    // A client that sends calls and never reads: every reply the server
    // holds for it counts, so it is closed as slow (3008) once they pass
    // the limit, instead of the server buffering whatever TCP lets in.
    let (reasons, mut closed) = tokio::sync::mpsc::unbounded_channel();
    let server = TestServer::start(
        test_server()
            .limits(Limits::default().outbound_queue_bytes(32 * 1024))
            .on_disconnect(move |cx| {
                let reasons = reasons.clone();
                async move {
                    let _ = reasons.send((cx.user_id, cx.reason));
                }
            }),
    )
    .await;
    let mut flooder = server.client("flooder").await;
    let flooding = tokio::spawn(async move {
        let data = "z".repeat(100);
        let mut id = 100u32;
        for _ in 0..2_000 {
            let frame: Vec<String> = (0..100)
                .map(|_| {
                    id += 1;
                    json!({"id": id, "rpc": {"method": "test.echo", "data": data}}).to_string()
                })
                .collect();
            if flooder.try_send_text(&frame.join("\n")).await.is_err() {
                return;
            }
        }
    });
    let (user, reason) = tokio::time::timeout(support::GUARD, closed.recv())
        .await
        .expect("the flooder is closed before the guard")
        .unwrap();
    assert_eq!(user, "flooder");
    assert_eq!(reason, Some(wirecall_server::protocol::Disconnect::SLOW));
    flooding.abort();
    let mut witness = server.client("witness").await;
    still_serving(&mut witness).await;
}
