//! Connection lifecycle over real sockets: token algorithms, pings, limits,
//! hooks, graceful shutdown, and mounting into an existing axum app.

mod support;

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use support::{RawClient, TestServer, token};
use tokio::sync::oneshot;
use wirecall_server::auth::TokenVerifier;
use wirecall_server::protocol::Disconnect;
use wirecall_server::{ConnectDecision, Limits, Rejection, RpcError, SubscribeDecision, Timings};
use wirecall_tests::test_server;

fn signed(algorithm: Algorithm, key: &EncodingKey, user: &str) -> String {
    let exp = server_now() + 600;
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &json!({"sub": user, "exp": exp}),
        key,
    )
    .unwrap()
}

fn server_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn rs256_and_es256_tokens() {
    let cases = [
        (
            Algorithm::RS256,
            TokenVerifier::rsa_pem(include_bytes!("../keys/rsa_public.pem")).unwrap(),
            EncodingKey::from_rsa_pem(include_bytes!("../keys/rsa_private.pem")).unwrap(),
        ),
        (
            Algorithm::ES256,
            TokenVerifier::ec_pem(include_bytes!("../keys/ec_public.pem")).unwrap(),
            EncodingKey::from_ec_pem(include_bytes!("../keys/ec_private.pem")).unwrap(),
        ),
    ];
    for (algorithm, verifier, key) in cases {
        let server = TestServer::start(test_server().token_verifier(verifier)).await;
        let mut client = RawClient::open(&server.url).await;
        let reply = client.connect(&signed(algorithm, &key, "u1")).await;
        assert!(
            reply["connect"]["client"].is_string(),
            "{algorithm:?}: {reply}"
        );
        // An HS256 token is refused by a public-key verifier.
        let mut hmac = RawClient::open(&server.url).await;
        hmac.command(json!({"connect": {"token": token("u1", 600)}}))
            .await;
        hmac.expect_close(3500).await;
    }
}

/// A JWT put together by hand: any header, any claims, any signature.
fn forged(header: serde_json::Value, claims: serde_json::Value, signature: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string()),
        b64.encode(signature)
    )
}

/// Connects with `token`: `Ok(())` when it connected and answers a call,
/// else the close code (`None`: dropped without a close frame).
async fn try_connect(server: &TestServer, token: &str) -> Result<(), Option<u16>> {
    let mut client = RawClient::open(&server.url).await;
    let id = client.command(json!({"connect": {"token": token}})).await;
    match client.receive().await {
        support::Received::Closed(close) => Err(close.map(|(code, _)| code)),
        support::Received::Json(reply) if reply["id"] == id && reply.get("connect").is_some() => {
            let reply = client.call("test.echo", json!("alive")).await;
            assert_eq!(reply["rpc"]["data"], "alive");
            Ok(())
        }
        support::Received::Json(reply) => panic!("unexpected {reply}"),
    }
}

#[tokio::test]
async fn hostile_tokens_are_refused_with_3500() {
    let exp = server_now() + 600;
    let claims = json!({"sub": "u1", "exp": exp});

    // alg none, no signature: never accepted.
    let hs = TestServer::start(test_server()).await;
    let none = forged(json!({"alg": "none", "typ": "JWT"}), claims.clone(), b"");
    assert_eq!(try_connect(&hs, &none).await, Err(Some(3500)), "alg none");

    // Algorithm confusion: HS256 signed with the RSA public key's bytes as
    // the secret, sent to a server that verifies RS256 with that key.
    let rsa_public = include_bytes!("../keys/rsa_public.pem");
    let rs = TestServer::start(
        test_server().token_verifier(TokenVerifier::rsa_pem(rsa_public).unwrap()),
    )
    .await;
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(rsa_public),
    )
    .unwrap();
    assert_eq!(
        try_connect(&rs, &confused).await,
        Err(Some(3500)),
        "HS256 with the RSA public key"
    );

    // Not valid yet (nbf in the future): refused, not "expired" (109 would
    // make the SDK fetch a new token and retry forever).
    let early = crate::support::sign(&json!({"sub": "u1", "exp": exp, "nbf": exp}));
    assert_eq!(
        try_connect(&hs, &early).await,
        Err(Some(3500)),
        "nbf in the future"
    );

    // No `sub` on a server that does not take anonymous connections.
    let nobody = crate::support::sign(&json!({"exp": exp}));
    assert_eq!(
        try_connect(&hs, &nobody).await,
        Err(Some(3500)),
        "missing sub"
    );
    // On one that does, it is an anonymous connection.
    let open = TestServer::start(test_server().allow_anonymous(true)).await;
    assert_eq!(
        try_connect(&open, &nobody).await,
        Ok(()),
        "anonymous allowed"
    );

    // An absurd `exp` is just far away: no overflow, the connection works.
    let forever = crate::support::sign(&json!({"sub": "u1", "exp": u64::MAX}));
    assert_eq!(try_connect(&hs, &forever).await, Ok(()), "exp = u64::MAX");
}

#[tokio::test]
async fn silent_clients_are_closed_for_no_pong_and_answering_ones_stay() {
    let server = TestServer::start(
        test_server().timings(
            Timings::default()
                .ping_interval(Duration::from_millis(100))
                .pong_timeout(Duration::from_millis(100)),
        ),
    )
    .await;
    let mut silent = RawClient::open(&server.url).await;
    silent.answer_pings = false;
    silent.connect(&token("quiet", 600)).await;
    silent.expect_close(3012).await;

    let mut polite = server.client("polite").await;
    // Several ping rounds pass while the client answers each.
    for _ in 0..3 {
        polite.call("test.sleep", json!(120)).await;
    }
    let reply = polite.call("test.echo", json!("alive")).await;
    assert_eq!(reply["rpc"]["data"], "alive");
}

#[tokio::test]
async fn a_socket_that_never_connects_is_closed_as_stale() {
    let server = TestServer::start(
        test_server().timings(Timings::default().connect_timeout(Duration::from_millis(100))),
    )
    .await;
    let mut client = RawClient::open(&server.url).await;
    client.expect_close(3502).await;
}

#[tokio::test]
async fn connection_and_channel_limits() {
    let server = TestServer::start(
        test_server().limits(
            Limits::default()
                .max_connections_per_user(Some(1))
                .max_channels_per_connection(2)
                .commands_per_second(Some(5)),
        ),
    )
    .await;
    let mut first = server.client("u1").await;
    let mut second = RawClient::open(&server.url).await;
    second
        .command(json!({"connect": {"token": token("u1", 600)}}))
        .await;
    second.expect_close(3504).await;

    // The personal channel counts: one more channel fits, the next does not.
    let reply = first.subscribe(json!({"channel": "news:a"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let reply = first.subscribe(json!({"channel": "news:b"})).await;
    assert_eq!(reply["error"]["code"], 106, "{reply}");

    // The bucket holds 5 commands; a burst of 10 gets some 111s.
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            first
                .command(json!({"rpc": {"method": "test.echo", "data": 1}}))
                .await,
        );
    }
    // Refusals are sent at once, answers when the call is done: collect all.
    let mut refused = 0;
    for _ in &ids {
        let reply = first.json().await;
        assert!(
            ids.contains(&(reply["id"].as_u64().unwrap() as u32)),
            "{reply}"
        );
        if reply["error"]["code"] == 111 {
            assert_eq!(reply["error"]["temporary"], true);
            refused += 1;
        }
    }
    assert!(refused >= 4, "{refused} of 10 refused");
}

#[tokio::test]
async fn connect_hook_rejects_replaces_info_and_adds_channels() {
    let server = TestServer::start(test_server().on_connect(|cx| async move {
        match cx.user_id.as_str() {
            "banned" => Err(Rejection::Disconnect(Disconnect::new(4501, "banned"))),
            "unpaid" => Err(Rejection::Error(RpcError::application(
                402,
                "payment required",
            ))),
            _ => Ok(ConnectDecision::allow()
                .info(json!({"plan": "pro"}))
                .channel("news:alerts")
                .data(json!({"welcome": true}))),
        }
    }))
    .await;
    let mut banned = RawClient::open(&server.url).await;
    banned
        .command(json!({"connect": {"token": token("banned", 600)}}))
        .await;
    banned.expect_close(4501).await;

    let mut unpaid = RawClient::open(&server.url).await;
    let reply = unpaid.connect(&token("unpaid", 600)).await;
    assert_eq!(
        reply["error"],
        json!({"code": 402, "message": "payment required"})
    );

    let mut ok = RawClient::open(&server.url).await;
    let reply = ok.connect(&token("u1", 600)).await;
    assert_eq!(reply["connect"]["data"], json!({"welcome": true}));
    assert!(
        reply["connect"]["subs"]["news:alerts"].is_object(),
        "{reply}"
    );
    let id = ok
        .command(json!({"presence": {"channel": "news:alerts"}}))
        .await;
    let presence = ok.reply_to(id).await;
    let me = presence["presence"]["presence"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(me["conn_info"], json!({"plan": "pro"}));
}

#[tokio::test]
async fn subscribe_hook_can_allow_what_the_namespace_would_not() {
    let server = TestServer::start(test_server().on_subscribe(|cx| async move {
        if cx.channel == "chat:#owner" && cx.user_id == "helper" {
            SubscribeDecision::Allow
        } else if cx.channel == "news:secret" {
            SubscribeDecision::Reject(RpcError::permission_denied("secret"))
        } else {
            SubscribeDecision::Default
        }
    }))
    .await;
    let mut helper = server.client("helper").await;
    let reply = helper.subscribe(json!({"channel": "chat:#owner"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let reply = helper.subscribe(json!({"channel": "news:secret"})).await;
    assert_eq!(reply["error"], json!({"code": 103, "message": "secret"}));
    let mut stranger = server.client("stranger").await;
    let reply = stranger.subscribe(json!({"channel": "chat:#owner"})).await;
    assert_eq!(reply["error"]["code"], 103);
}

#[tokio::test]
async fn shutdown_lets_calls_finish_then_tells_clients_to_reconnect() {
    let server = test_server().build().unwrap();
    let listening = server.listen("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/connection/websocket", listening.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(listening.serve_with_shutdown(async move {
        let _ = stopped.await;
    }));
    let mut client = RawClient::open(&url).await;
    client.connect(&token("u1", 600)).await;
    let id = client
        .command(json!({"rpc": {"method": "test.sleep", "data": 300}}))
        .await;
    // The call is in flight once the server has its frame: an echo sent
    // after it is answered first.
    client.call("test.echo", json!(0)).await;
    stop.send(()).unwrap();
    let reply = client.reply_to(id).await;
    assert_eq!(
        reply["rpc"]["data"], 300,
        "the in-flight call finished: {reply}"
    );
    client.expect_close(3001).await;
    serving.await.unwrap().unwrap();
    assert!(
        tokio_tungstenite::connect_async(&url).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn mounts_into_an_existing_axum_app() {
    let server = test_server().build().unwrap();
    let app = axum::Router::new()
        .route(
            "/app/hello",
            axum::routing::get(|| async { "hello from the app" }),
        )
        .route("/realtime", server.websocket_route())
        .merge(axum::Router::new().route("/health", axum::routing::get(|| async { "ok" })));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut client = RawClient::open(&format!("ws://{addr}/realtime")).await;
    client.connect(&token("u1", 600)).await;
    let reply = client.call("test.echo", json!("mounted")).await;
    assert_eq!(reply["rpc"]["data"], "mounted");

    // The application's own shutdown drains wirecall's sessions: clients
    // are told to reconnect (3001) and shutdown() returns once they ended.
    let shutdown = {
        let server = server.clone();
        tokio::spawn(async move { server.shutdown().await })
    };
    client.expect_close(3001).await;
    tokio::time::timeout(support::GUARD, shutdown)
        .await
        .expect("shutdown returns")
        .unwrap();
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn health_answers() {
    let server = TestServer::start(test_server()).await;
    let addr = server
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/connection/websocket");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
}

#[tokio::test]
async fn browser_origins_must_match_or_be_allowed() {
    let server = TestServer::start(test_server().allowed_origins(["https://app.example"])).await;
    let request = |origin: &str| {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                server.url.as_str(),
            )
            .unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        request
    };
    assert!(
        tokio_tungstenite::connect_async(request("https://evil.example"))
            .await
            .is_err()
    );
    assert!(
        tokio_tungstenite::connect_async(request("https://app.example"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn sockets_that_never_finish_their_request_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timings = Timings::default().http_header_timeout(Duration::from_millis(300));
    let server = TestServer::start(test_server().timings(timings)).await;
    let address = server
        .url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // A request line and one header, then nothing (slowloris); and a socket
    // that sends nothing at all.
    let mut trickle = tokio::net::TcpStream::connect(&address).await.unwrap();
    trickle
        .write_all(b"GET /connection/websocket HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    for socket in [&mut trickle, &mut silent] {
        let mut rest = Vec::new();
        // The server answers 408 or just closes; either way the socket ends.
        tokio::time::timeout(support::GUARD, socket.read_to_end(&mut rest))
            .await
            .expect("the server closed the socket")
            .ok();
    }
    // Whoever completes a request in time is served.
    let mut client = server.client("u1").await;
    let reply = client.call("test.echo", json!("ok")).await;
    assert_eq!(reply["rpc"]["data"], "ok");
}

#[tokio::test]
async fn upgrades_past_the_connection_limit_are_refused_with_503() {
    let server =
        TestServer::start(test_server().limits(Limits::default().max_connections(Some(1)))).await;
    let _first = server.client("u1").await;
    let refused = tokio_tungstenite::connect_async(&server.url)
        .await
        .unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_panicking_hook_fails_its_connect_or_subscribe_and_nothing_else() {
    let server = TestServer::start(
        test_server()
            .on_connect(|cx| async move {
                assert!(cx.user_id != "boom", "connect hook bug");
                Ok(ConnectDecision::default())
            })
            .on_subscribe(|cx| async move {
                assert!(!cx.channel.ends_with(":boom"), "subscribe hook bug");
                SubscribeDecision::Default
            }),
    )
    .await;
    let mut doomed = RawClient::open(&server.url).await;
    let reply = doomed.connect(&token("boom", 600)).await;
    assert_eq!(reply["error"]["code"], 100, "{reply}");
    assert_eq!(server.server.connection_count(), 0, "nothing left behind");

    let mut client = server.client("u1").await;
    let reply = client.subscribe(json!({"channel": "news:boom"})).await;
    assert_eq!(reply["error"]["code"], 100, "{reply}");
    let reply = client.subscribe(json!({"channel": "news:fine"})).await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let reply = client.call("test.echo", json!("alive")).await;
    assert_eq!(reply["rpc"]["data"], "alive");
}

#[test]
fn service_routes_that_overlap_the_servers_fail_the_build() {
    let routes = axum::Router::new().route("/health", axum::routing::get(|| async { "mine" }));
    let error = test_server().routes(routes).build().unwrap_err();
    assert!(
        matches!(&error, wirecall_server::BuildError::RouteOverlap(why) if why.contains("/health")),
        "{error}"
    );
    // Routes of its own are fine.
    let routes = axum::Router::new().route("/page", axum::routing::get(|| async { "mine" }));
    assert!(test_server().routes(routes).build().is_ok());
}

#[tokio::test]
async fn the_connect_hook_can_authenticate_from_a_session_cookie() {
    // The web app's session store: cookie value → user. A real service
    // would look the session up in its database.
    let server = TestServer::start(test_server().on_connect(|cx| async move {
        assert!(
            cx.handshake
                .peer_addr()
                .is_some_and(|a| a.ip().is_loopback())
        );
        assert_eq!(cx.handshake.uri(), "/connection/websocket");
        Ok(match cx.handshake.cookie("session") {
            Some("s3ss10n-of-alice") => ConnectDecision::allow().user("alice"),
            _ => ConnectDecision::allow(),
        })
    }))
    .await;

    // No token, a session cookie: connected as the hook's user, who gets
    // their personal channel, and handlers see the same request.
    let mut alice = RawClient::open_with_headers(
        &server.url,
        &[("cookie", "theme=dark; session=s3ss10n-of-alice")],
    )
    .await;
    let id = alice.command(json!({"connect": {}})).await;
    let reply = alice.reply_to(id).await;
    assert!(
        reply["connect"]["subs"]["personal:#alice"].is_object(),
        "{reply}"
    );
    let reply = alice.call("test.whoami", json!({})).await;
    assert_eq!(reply["rpc"]["data"]["user"], "alice");

    // No token and no known session: refused (anonymous is off).
    let mut stranger =
        RawClient::open_with_headers(&server.url, &[("cookie", "session=forged")]).await;
    stranger.command(json!({"connect": {}})).await;
    stranger.expect_close(3501).await;

    // A token still works, and its user stands.
    let mut bob = server.client("bob").await;
    let reply = bob.call("test.whoami", json!({})).await;
    assert_eq!(reply["rpc"]["data"]["user"], "bob");
}

#[test]
fn limits_and_timings_that_cannot_work_fail_the_build() {
    use wirecall_server::{BuildError, Limits, Timings};
    let cases = [
        (
            test_server().timings(Timings::default().ping_interval(Duration::ZERO)),
            "ping_interval",
        ),
        (
            test_server().limits(Limits::default().max_message_size(0)),
            "max_message_size",
        ),
        (
            test_server().timings(
                Timings::default()
                    .presence_ttl(Duration::from_secs(5))
                    .presence_refresh_interval(Duration::from_secs(10)),
            ),
            "presence_ttl",
        ),
    ];
    for (builder, named) in cases {
        match builder.build() {
            Err(BuildError::InvalidConfig(why)) => assert!(why.contains(named), "{why}"),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("built with a broken {named}"),
        }
    }
}
