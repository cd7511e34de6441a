//! Dispatch through the global router: success, every error path, panics,
//! state and custom routers.

use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use wirecall_core::{AppState, Conn, Method, Router, RpcError, State, code, websocket_rpc};

fn ten() -> u32 {
    10
}

#[derive(Deserialize, JsonSchema)]
pub struct TaskStatsParams {
    /// User ID
    pub user_id: String,
    /// Max results
    #[serde(default = "ten")]
    pub limit: u32,
    #[serde(default)]
    pub filter: Option<Filter>,
}

#[derive(Deserialize, JsonSchema)]
pub struct Filter {
    pub status: Status,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Open,
}

#[derive(Serialize, JsonSchema)]
pub struct TaskStats {
    pub total: u64,
    pub completed: u64,
}

/// Get task statistics for user.
#[websocket_rpc("tasks.get_stats")]
pub async fn get_task_stats(conn: &Conn, params: TaskStatsParams) -> Result<TaskStats, RpcError> {
    if params.user_id != conn.user_id() {
        return Err(RpcError::permission_denied(
            "you may only read your own stats",
        ));
    }
    Ok(TaskStats {
        total: u64::from(params.limit),
        completed: u64::from(params.filter.is_some()),
    })
}

#[derive(Debug)]
pub enum TaskError {
    NotFound(String),
}

impl From<TaskError> for RpcError {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::NotFound(id) => RpcError::application(404, format!("task {id} not found")),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct TaskId {
    pub task_id: String,
}

fn lookup(id: &str) -> Result<u32, TaskError> {
    Err(TaskError::NotFound(id.to_owned()))
}

/// A user error enum converts with `?`.
#[websocket_rpc("tasks.get")]
pub async fn get_task(params: TaskId) -> Result<u32, TaskError> {
    let found = lookup(&params.task_id)?;
    Ok(found)
}

#[websocket_rpc("tasks.explode")]
pub async fn explode(_conn: &Conn) -> Result<(), RpcError> {
    panic!("handler bug")
}

/// Params whose hand-written Deserialize panics.
#[derive(JsonSchema)]
pub struct Fragile;

impl<'de> Deserialize<'de> for Fragile {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("deserializer bug")
    }
}

#[websocket_rpc("bugs.decode")]
pub async fn decode_bug(_conn: &Conn, _params: Fragile) -> u32 {
    1
}

/// An extractor that panics.
pub struct Brittle;

impl wirecall_core::FromConn for Brittle {
    fn from_conn(_: &Conn) -> Result<Self, RpcError> {
        panic!("extractor bug")
    }
}

#[websocket_rpc("bugs.extract")]
pub async fn extract_bug(_brittle: Brittle, _params: Value) -> u32 {
    1
}

#[websocket_rpc("users.whoami")]
pub async fn whoami(conn: &Conn) -> String {
    format!("{}/{}", conn.user_id(), conn.client_id())
}

pub struct Counter(AtomicU64);

#[derive(Deserialize, JsonSchema)]
pub struct Step {
    pub by: u64,
}

#[websocket_rpc("counter.add")]
pub async fn counter_add(State(counter): State<Counter>, step: Step) -> u64 {
    counter.0.fetch_add(step.by, Ordering::SeqCst) + step.by
}

#[websocket_rpc("counter.get")]
pub async fn counter_get(conn: &Conn) -> Result<u64, RpcError> {
    Ok(conn.state::<Counter>()?.0.load(Ordering::SeqCst))
}

fn conn(user: &str) -> Conn {
    Conn::builder()
        .user(user)
        .client("client-1")
        .state(AppState::new().with(Counter(AtomicU64::new(0))))
        .build()
}

fn raw(value: Value) -> Option<Box<RawValue>> {
    Some(serde_json::value::to_raw_value(&value).unwrap())
}

async fn call(conn: &Conn, method: &str, params: Option<Box<RawValue>>) -> Result<Value, RpcError> {
    let router = Router::global().unwrap();
    let reply = router.call(conn.clone(), method, params.as_deref()).await?;
    Ok(serde_json::from_str(reply.get()).unwrap())
}

#[tokio::test]
async fn success_uses_params_defaults_and_context() {
    let result = call(
        &conn("u1"),
        "tasks.get_stats",
        raw(json!({"user_id": "u1"})),
    )
    .await;
    assert_eq!(result.unwrap(), json!({"total": 10, "completed": 0}));
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let error = call(&conn("u1"), "tasks.nope", None).await.unwrap_err();
    assert_eq!(error.code, code::METHOD_NOT_FOUND);
    assert!(error.message.contains("tasks.nope"), "{error}");
}

#[tokio::test]
async fn bad_params_name_the_field() {
    let error = call(
        &conn("u1"),
        "tasks.get_stats",
        raw(json!({"user_id": "u1", "limit": "ten"})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code, code::BAD_REQUEST);
    assert!(
        error
            .message
            .starts_with("invalid params: limit: invalid type: string \"ten\""),
        "{error}"
    );

    let error = call(
        &conn("u1"),
        "tasks.get_stats",
        raw(json!({"user_id": "u1", "filter": {"status": "lost"}})),
    )
    .await
    .unwrap_err();
    assert!(
        error
            .message
            .starts_with("invalid params: filter.status: unknown variant `lost`"),
        "{error}"
    );

    let error = call(&conn("u1"), "tasks.get_stats", raw(json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "invalid params: missing field `user_id` at line 1 column 2"
    );
}

#[tokio::test]
async fn missing_params_are_a_bad_request() {
    for params in [None, raw(Value::Null)] {
        let error = call(&conn("u1"), "tasks.get_stats", params)
            .await
            .unwrap_err();
        assert_eq!(error.code, code::BAD_REQUEST, "{error}");
    }
}

#[tokio::test]
async fn handler_errors_keep_their_code_and_message() {
    let error = call(
        &conn("u1"),
        "tasks.get_stats",
        raw(json!({"user_id": "u2"})),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        RpcError::permission_denied("you may only read your own stats")
    );

    let error = call(&conn("u1"), "tasks.get", raw(json!({"task_id": "t9"})))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (404, "task t9 not found")
    );
}

#[tokio::test]
async fn a_panicking_handler_fails_only_its_call() {
    let conn = conn("u1");
    let error = call(&conn, "tasks.explode", None).await.unwrap_err();
    assert_eq!(error, RpcError::internal());
    assert!(error.temporary);
    // The same router and connection keep working.
    let result = call(&conn, "users.whoami", None).await.unwrap();
    assert_eq!(result, json!("u1/client-1"));
}

#[tokio::test]
async fn a_panic_while_decoding_params_or_extracting_fails_only_that_call() {
    let conn = conn("u1");
    for method in ["bugs.decode", "bugs.extract"] {
        let error = call(&conn, method, raw(json!({}))).await.unwrap_err();
        assert_eq!(error, RpcError::internal(), "{method}");
    }
    let result = call(&conn, "users.whoami", None).await.unwrap();
    assert_eq!(result, json!("u1/client-1"));
}

#[tokio::test]
async fn a_call_knows_its_method_index_and_whether_it_panicked() {
    let router = Router::global().unwrap();
    let methods = router.methods();
    for method in ["tasks.explode", "bugs.decode", "users.whoami"] {
        let mut call = router.call_text(conn("u1"), method, Some("{}"));
        let index = call.method_index().expect("a known method");
        assert_eq!(methods[index].method, method);
        assert_eq!(router.method_index(method), Some(index));
        let failed = (&mut call).await.is_err();
        assert_eq!(call.panicked(), method != "users.whoami", "{method}");
        assert_eq!(failed, call.panicked(), "{method}");
    }
    let unknown = router.call_text(conn("u1"), "no.such", None);
    assert_eq!(unknown.method_index(), None);
    assert!(!unknown.panicked());
}

#[tokio::test]
async fn handlers_reach_shared_state_both_ways() {
    let conn = conn("u1");
    assert_eq!(
        call(&conn, "counter.add", raw(json!({"by": 2})))
            .await
            .unwrap(),
        json!(2)
    );
    assert_eq!(
        call(&conn, "counter.add", raw(json!({"by": 3})))
            .await
            .unwrap(),
        json!(5)
    );
    assert_eq!(call(&conn, "counter.get", None).await.unwrap(), json!(5));

    let stateless = Conn::builder().user("u1").build();
    let error = call(&stateless, "counter.get", None).await.unwrap_err();
    assert_eq!(error.code, code::INTERNAL);
}

#[tokio::test]
async fn no_params_methods_reject_stray_params() {
    let error = call(&conn("u1"), "users.whoami", raw(json!([1])))
        .await
        .unwrap_err();
    assert_eq!(error.code, code::BAD_REQUEST);
}

#[tokio::test]
async fn custom_router_serves_only_its_methods() {
    let router = Router::builder()
        .method::<users_whoami>()
        .method::<tasks_get_stats>()
        .build()
        .unwrap();
    let names: Vec<_> = router.methods().iter().map(|r| r.method).collect();
    assert_eq!(names, ["tasks.get_stats", "users.whoami"]);
    let error = router
        .call(conn("u1"), "tasks.get", None)
        .await
        .unwrap_err();
    assert_eq!(error.code, code::METHOD_NOT_FOUND);
    let reply = router.call(conn("u1"), "users.whoami", None).await.unwrap();
    assert_eq!(reply.get(), r#""u1/client-1""#);
}

#[test]
fn registrations_record_docs_location_and_schemas() {
    let router = Router::global().unwrap();
    let stats = router.get("tasks.get_stats").unwrap();
    assert_eq!(stats.doc, "Get task statistics for user.");
    assert_eq!(stats.handler, "get_task_stats");
    assert_eq!(stats.location.file, "rpc-core/tests/dispatch.rs");
    assert_eq!(stats.location.module, "dispatch");

    let mut generator = schemars::SchemaGenerator::default();
    let params = (stats.params_schema.unwrap())(&mut generator);
    assert_eq!(params.get("$ref").unwrap(), "#/$defs/TaskStatsParams");
    let defs = generator.definitions();
    assert_eq!(
        defs["TaskStatsParams"]["properties"]["user_id"]["description"],
        "User ID"
    );
    assert!(router.get("users.whoami").unwrap().params_schema.is_none());
}

#[test]
fn markers_name_the_method_and_its_types() {
    /// Compiles only when `M`'s types are the ones named.
    fn name_of<M: Method<Params = P, Output = O>, P, O>() -> &'static str {
        M::NAME
    }
    assert_eq!(
        name_of::<tasks_get_stats, TaskStatsParams, TaskStats>(),
        "tasks.get_stats"
    );
    assert_eq!(name_of::<users_whoami, (), String>(), "users.whoami");
    assert_eq!(name_of::<counter_add, Step, u64>(), "counter.add");
}

#[tokio::test]
async fn handlers_stay_plain_functions() {
    let conn = conn("u7");
    let stats = get_task_stats(
        &conn,
        TaskStatsParams {
            user_id: "u7".into(),
            limit: 3,
            filter: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(stats.total, 3);
    assert_eq!(whoami(&conn).await, "u7/client-1");
}

/// Handlers declared by a `macro_rules!` macro, with the method name passed
/// as a `$name:literal` and the types as `$ty:ident`.
macro_rules! doubling_handler {
    ($name:literal, $handler:ident, $output:ident) => {
        #[derive(Serialize, JsonSchema)]
        pub struct $output {
            doubled: u64,
        }

        /// Doubles its param.
        #[websocket_rpc($name)]
        pub async fn $handler(_conn: &Conn, value: u64) -> $output {
            $output { doubled: value * 2 }
        }
    };
}

doubling_handler!("macro.double", double, Doubled);

#[tokio::test]
async fn handlers_declared_by_macro_rules_dispatch() {
    let result = call(&conn("u1"), "macro.double", raw(json!(21))).await;
    assert_eq!(result.unwrap(), json!({"doubled": 42}));
}
