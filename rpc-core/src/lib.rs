//! wirecall's runtime core: what a handler sees and what the server dispatches.
//!
//! A service author writes one attribute per handler:
//!
//! ```
//! use wirecall_core::{Conn, RpcError, Router, websocket_rpc};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, JsonSchema)]
//! pub struct TaskStatsParams {
//!     /// User ID
//!     pub user_id: String,
//!     /// Max results
//!     #[serde(default = "ten")]
//!     pub limit: u32,
//! }
//! fn ten() -> u32 { 10 }
//!
//! #[derive(Serialize, JsonSchema)]
//! pub struct TaskStats { pub total: u64, pub completed: u64 }
//!
//! /// Get task statistics for user.
//! #[websocket_rpc("tasks.get_stats")]
//! pub async fn get_task_stats(conn: &Conn, params: TaskStatsParams) -> Result<TaskStats, RpcError> {
//!     if params.user_id != conn.user_id() {
//!         return Err(RpcError::permission_denied("only your own stats"));
//!     }
//!     Ok(TaskStats { total: u64::from(params.limit), completed: 0 })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let router = Router::global().expect("no duplicate method names");
//! let conn = Conn::builder().user("u1").build();
//! let params = serde_json::value::to_raw_value(&serde_json::json!({"user_id": "u1"})).unwrap();
//! let reply = router.call(conn, "tasks.get_stats", Some(&params)).await.unwrap();
//! assert_eq!(reply.get(), r#"{"total":10,"completed":0}"#);
//! # }
//! ```
//!
//! # Handler shapes
//!
//! `async fn(ctx…, params) -> R`, `async fn(params) -> R`, `async fn(conn: &Conn) -> R`
//! and `async fn() -> R`, where `R` is `T` or `Result<T, E>` with
//! `E: Into<RpcError>`. The context comes first: the connection borrowed
//! (`conn: &Conn`; a lone borrowed argument is always the context) and up
//! to four extractors implementing [`FromConn`], such as [`State<T>`]:
//! `async fn(conn: &Conn, State(db): State<Db>, params: P)`. The last
//! argument is the params, taken by value, `Deserialize + JsonSchema`;
//! results must be `Serialize + JsonSchema`. A server refuses to build
//! when its state lacks a `State<T>` some handler takes.
//!
//! # The typed marker
//!
//! Beside each handler the attribute declares an empty enum named after the
//! method with dots turned into underscores (`tasks.get_stats` →
//! `tasks_get_stats`, `users.v2.get` → `users_v2_get`) that implements
//! [`Method`]: its name, params and result types. A Rust client calls
//! `client.call::<tasks_get_stats>(params)` and the compiler checks both types;
//! a custom [`Router`] picks methods with `.method::<tasks_get_stats>()`.
//!
//! # Features
//! - `export`: the client exporter (`export`: the API model and the
//!   Python, TypeScript, Go and OpenRPC emitters), for build scripts and
//!   the command line's `generate-clients`. Off by default: a service that
//!   only serves does not compile it.

#![warn(missing_docs, unreachable_pub)]

// The package README is what crates.io shows; its examples are compiled
// as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

extern crate self as wirecall_core;

pub mod channel;
mod conn;
mod error;
#[cfg(feature = "export")]
pub mod export;
mod family;
mod handshake;
pub mod messages;
mod method;
pub mod protocol;
pub mod publish;
mod router;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use conn::{AppState, Conn, ConnBuilder, FromConn, State};
pub use error::{Result, RpcError, code};
pub use family::{
    ChannelFamilies, ChannelFamily, ChannelParam, ChannelRegistration, DuplicateFamily, ParamKind,
    PublicationCheck, Segment, channel_name, registered_channels,
};
pub use handshake::Handshake;
pub use method::{Handler, Location, Method, Registration, registered};
pub use publish::{Publisher, PublisherExt, TypedChannel};
pub use router::{Call, DuplicateMethod, Json, Router, RouterBuilder, RouterError};
/// `#[derive(AppState)]`: a service's state as one struct, each field
/// shared with handlers by its type.
pub use wirecall_macros::AppState;
pub use wirecall_macros::{websocket_channel, websocket_rpc};
