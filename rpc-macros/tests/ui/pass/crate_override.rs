// Accepts `crate = path` for a runtime crate the lookup cannot find, and a
// digit-leading segment (`users.v2.get` → marker `users_v2_get`).
use wirecall_core::websocket_rpc;

mod renamed {
    pub use wirecall_core as runtime;
}

#[websocket_rpc("users.v2.get", crate = crate::renamed::runtime)]
pub async fn get_v2() -> u8 {
    2
}

fn main() {
    use wirecall_core::Method;
    assert_eq!(users_v2_get::NAME, "users.v2.get");
}
