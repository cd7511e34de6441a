//! Connection and subscription token verification on any string: an
//! answer, never a panic; and nothing unsigned is ever accepted.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wirecall_server::auth::TokenVerifier;

static VERIFIER: LazyLock<TokenVerifier> = LazyLock::new(|| TokenVerifier::hmac("fuzz-secret"));

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    // Without the secret no input can be signed: acceptance is a bug.
    assert!(VERIFIER.verify(token).is_err(), "accepted {token:?}");
    assert!(VERIFIER.verify_subscription(token, "news:x", "u1").is_err());
});
