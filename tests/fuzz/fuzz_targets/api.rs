//! The HTTP API after the key check: any method among the API's (the first
//! byte picks one) with any body. The answer is 200, 400 or 404 with a JSON
//! body, never a panic or a 500.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use wirecall_server::{NamespaceOptions, Server};

const METHODS: &[&str] = &[
    "publish",
    "broadcast",
    "subscribe",
    "unsubscribe",
    "disconnect",
    "refresh",
    "presence",
    "presence_stats",
    "history",
    "history_remove",
    "channels",
    "info",
    "batch",
    "user_connections",
    "no_such_method",
];

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

static SERVER: LazyLock<Server> = LazyLock::new(|| {
    let _guard = RUNTIME.enter();
    Server::builder()
        .hmac_secret("fuzz-secret")
        .api_key("fuzz-key")
        .namespace(
            "news",
            NamespaceOptions::public(10, Duration::from_secs(60)),
        )
        .namespace(
            "personal",
            NamespaceOptions::public(10, Duration::from_secs(60)),
        )
        .personal_channels("personal")
        .build()
        .expect("a server")
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(pick) % METHODS.len()];
    let (status, answer) = RUNTIME.block_on(wirecall_server::fuzzing::api(&SERVER, method, body));
    assert!(
        matches!(status, 200 | 400 | 404),
        "{method}: status {status}"
    );
    assert!(answer.is_object(), "{method}: {answer}");
});
