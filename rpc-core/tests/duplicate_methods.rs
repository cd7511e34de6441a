//! Two handlers with one name: the global router refuses to build and names
//! both places. (A binary of its own, since the duplicate poisons the
//! registry for everything else linked with it.)

use wirecall_core::{Handler, Router, RouterError};

mod first {
    #[wirecall_core::websocket_rpc("dup.same")]
    pub async fn one() -> u32 {
        1
    }
}

mod second {
    #[wirecall_core::websocket_rpc("dup.same")]
    pub async fn two() -> u32 {
        2
    }
}

#[test]
fn duplicate_names_fail_with_both_locations() {
    let error = Router::global().unwrap_err();
    let RouterError::Duplicate(duplicate) = &error;
    assert_eq!(duplicate.method, "dup.same");
    let message = error.to_string();
    let one = first::dup_same::REGISTRATION.location.to_string();
    let two = second::dup_same::REGISTRATION.location.to_string();
    assert_eq!(one, "rpc-core/tests/duplicate_methods.rs:9");
    assert_eq!(two, "rpc-core/tests/duplicate_methods.rs:16");
    assert_eq!(
        message,
        format!(
            "RPC method `dup.same` is registered twice: by `one` at {one} and by `two` at {two}; \
             rename one of them"
        )
    );
}

#[test]
fn a_custom_router_rejects_duplicates_too() {
    let error = Router::builder()
        .method::<second::dup_same>()
        .method::<first::dup_same>()
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("by `one` at"), "{error}");
}
