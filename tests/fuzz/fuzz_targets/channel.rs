//! Channel names: parsing any string gives an answer, never a panic, and
//! what is read back agrees with the name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall_server::channel::Channel;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(channel) = Channel::parse(name) else {
        return;
    };
    assert_eq!(channel.name(), name);
    if let Some(namespace) = channel.namespace() {
        let bare = name.strip_prefix('$').unwrap_or(name);
        assert!(bare.starts_with(namespace), "{name:?} / {namespace:?}");
    }
    if let Some(user) = channel.allowed_users().and_then(|mut users| users.next()) {
        assert!(channel.admits_user(user), "{name:?} must admit {user:?}");
    }
});
