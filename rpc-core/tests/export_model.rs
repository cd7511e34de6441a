//! The exporter's model of a router: every method, every reachable named
//! type, each type feature mapped, and a clear error for what no client can
//! express.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall_core::export::{ExportError, TypeKind, TypeRef, api_model};
use wirecall_core::{Conn, Router, websocket_rpc};

/// A task.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// The id.
    pub id: u64,
    pub small: u8,
    pub ratio: f32,
    pub title: String,
    pub note: Option<String>,
    #[serde(default)]
    pub limit: u32,
    pub tags: Vec<String>,
    pub counts: HashMap<String, i64>,
    pub status: Status,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub extra: serde_json::Value,
    pub pair: (u8, String),
    pub event: Event,
}

/// Where a task is.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Done,
}

/// Something that happened.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Progress.
    Progress { percent: u8 },
    /// Finished with a report.
    Finished(Report),
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub rows: u32,
}

#[derive(Deserialize, JsonSchema)]
pub struct GetTask {
    pub id: u64,
}

/// Get a task.
#[websocket_rpc("tasks.get")]
pub async fn get(_conn: &Conn, _p: GetTask) -> Task {
    unimplemented!()
}

/// Who am I.
#[websocket_rpc("users.whoami")]
pub async fn whoami(_conn: &Conn) -> String {
    String::new()
}

#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Loose {
    A(u8),
    B(String),
}

#[websocket_rpc("bad.untagged")]
pub async fn untagged(_conn: &Conn) -> Loose {
    Loose::A(1)
}

#[derive(Serialize, JsonSchema)]
pub struct Huge {
    pub big: i128,
}

#[websocket_rpc("bad.huge")]
pub async fn huge(_conn: &Conn) -> Huge {
    Huge { big: 1 }
}

fn good_router() -> Router {
    Router::builder()
        .method::<users_whoami>()
        .method::<tasks_get>()
        .build()
        .unwrap()
}

#[test]
fn methods_are_sorted_with_docs_and_types() {
    let model = api_model(&good_router()).unwrap();
    let names: Vec<_> = model.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["tasks.get", "users.whoami"]);
    let get = &model.methods[0];
    assert_eq!(get.doc, "Get a task.");
    assert_eq!(get.params, Some(TypeRef::Named("GetTask".into())));
    assert_eq!(get.result, TypeRef::Named("Task".into()));
    assert_eq!(model.methods[1].params, None);
    assert_eq!(model.methods[1].result, TypeRef::String);
    let types: Vec<_> = model.types.keys().map(String::as_str).collect();
    // The handlers' types, and the messaging payloads every client gets.
    assert_eq!(
        types,
        [
            "Event",
            "GetTask",
            "NotificationKind",
            "PersonalMessage",
            "Report",
            "Status",
            "Task",
            "TaskComplete",
            "TaskCompleteStatus",
            "TaskError",
            "TaskEvent",
            "TaskUpdate",
            "TaskUpdateStatus",
            "UserFile",
            "UserMessage",
            "UserNotification"
        ]
    );
}

#[test]
fn every_field_type_is_mapped() {
    let model = api_model(&good_router()).unwrap();
    let task = &model.types["Task"];
    assert_eq!(task.doc, "A task.");
    let TypeKind::Struct(fields) = &task.kind else {
        panic!("{task:?}")
    };
    let field = |name: &str| fields.iter().find(|f| f.name == name).unwrap();
    let int = |bits, signed| TypeRef::Integer { bits, signed };
    assert_eq!(field("id").ty, int(64, false));
    assert_eq!(field("id").doc, "The id.");
    assert_eq!(field("small").ty, int(8, false));
    assert_eq!(field("ratio").ty, TypeRef::Float { bits: 32 });
    assert_eq!(
        field("note").ty,
        TypeRef::Optional(Box::new(TypeRef::String))
    );
    assert!(!field("note").required);
    assert!(
        !field("limit").required,
        "serde defaults are optional on input"
    );
    assert!(field("title").required);
    assert_eq!(field("tags").ty, TypeRef::Array(Box::new(TypeRef::String)));
    assert_eq!(field("counts").ty, TypeRef::Map(Box::new(int(64, true))));
    assert_eq!(field("status").ty, TypeRef::Named("Status".into()));
    assert_eq!(field("created_at").ty, TypeRef::DateTime);
    assert_eq!(field("extra").ty, TypeRef::Any);
    assert_eq!(
        field("pair").ty,
        TypeRef::Tuple(vec![int(8, false), TypeRef::String])
    );

    assert_eq!(
        model.types["Status"].kind,
        TypeKind::StringEnum(vec!["pending".into(), "done".into()])
    );
    let TypeKind::TaggedUnion { tag, variants } = &model.types["Event"].kind else {
        panic!()
    };
    assert_eq!(tag, "type");
    assert_eq!(variants[0].tag_value, "progress");
    assert_eq!(variants[0].fields[0].name, "percent");
    assert_eq!(variants[1].tag_value, "finished");
    assert_eq!(variants[1].base.as_deref(), Some("Report"));
}

#[test]
fn inexpressible_types_are_errors_naming_the_place() {
    let untagged = Router::builder().method::<bad_untagged>().build().unwrap();
    let error = api_model(&untagged).unwrap_err();
    let ExportError::Unsupported { at, reason } = &error else {
        panic!("expected Unsupported, got {error}");
    };
    assert_eq!(at, "Loose");
    assert!(reason.contains("tagged"), "{error}");

    let huge = Router::builder().method::<bad_huge>().build().unwrap();
    let error = api_model(&huge).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot export Huge.big: an integer of format \"int128\""
    );
}

#[test]
fn the_model_is_deterministic() {
    assert_eq!(
        api_model(&good_router()).unwrap(),
        api_model(&good_router()).unwrap()
    );
}

#[test]
fn openrpc_document_describes_every_method_and_type() {
    let text = wirecall_core::export::openrpc(&good_router(), "tasks", "1.0.0").unwrap();
    assert_eq!(
        text,
        wirecall_core::export::openrpc(&good_router(), "tasks", "1.0.0").unwrap()
    );
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["openrpc"], "1.3.2");
    let get = &document["methods"][0];
    assert_eq!(get["name"], "tasks.get");
    assert_eq!(get["description"], "Get a task.");
    assert_eq!(
        get["params"][0]["schema"]["$ref"],
        "#/components/schemas/GetTask"
    );
    assert_eq!(get["result"]["schema"]["$ref"], "#/components/schemas/Task");
    assert_eq!(document["methods"][1]["params"], serde_json::json!([]));
    let task = &document["components"]["schemas"]["Task"];
    assert_eq!(
        task["properties"]["status"]["$ref"],
        "#/components/schemas/Status"
    );
    assert!(
        !text.contains("$defs"),
        "every reference points into components"
    );
}

/// Generated output is compared with the committed golden file; set
/// `UPDATE_GOLDEN=1` to rewrite it, then read the diff.
fn golden(name: &str, generated: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        generated, expected,
        "{name} changed; rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

#[test]
fn typescript_types_match_the_golden_file() {
    let model = api_model(&good_router()).unwrap();
    let ts = wirecall_core::export::typescript_types(&model);
    assert!(ts.starts_with("// Code generated by wirecall v"));
    golden("types.ts", &ts);
}

#[test]
fn python_models_match_the_golden_file() {
    let model = api_model(&good_router()).unwrap();
    let py = wirecall_core::export::python_models(&model);
    assert!(py.starts_with("# Code generated by wirecall v"));
    golden("models.py", &py);
}

/// Externally tagged (serde's default).
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A circle.
    Circle {
        radius: f64,
    },
    Square(u32),
    Empty,
}

/// Adjacently tagged.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", content = "args")]
pub enum Move {
    Jump { height: u8 },
    Stop,
}

#[websocket_rpc("shapes.get")]
pub async fn shapes(_conn: &Conn) -> (Shape, Move) {
    unimplemented!()
}

/// A struct whose name a variant's fields would take.
#[derive(Serialize, JsonSchema)]
pub struct ClashCircleFields {
    pub x: u8,
}

#[derive(Serialize, JsonSchema)]
pub enum Clash {
    Circle { r: u8 },
}

#[websocket_rpc("bad.clash")]
pub async fn clash(_conn: &Conn) -> (Clash, ClashCircleFields) {
    unimplemented!()
}

#[test]
fn externally_and_adjacently_tagged_enums_are_modelled() {
    let router = Router::builder().method::<shapes_get>().build().unwrap();
    let model = api_model(&router).unwrap();
    let TypeKind::ExternalUnion(variants) = &model.types["Shape"].kind else {
        panic!("{:?}", model.types["Shape"]);
    };
    let shape: Vec<_> = variants
        .iter()
        .map(|v| (v.name.as_str(), v.payload.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            ("empty", None),
            ("circle", Some(TypeRef::Named("ShapeCircleFields".into()))),
            (
                "square",
                Some(TypeRef::Integer {
                    bits: 32,
                    signed: false
                })
            ),
        ]
    );
    assert_eq!(variants[1].doc, "A circle.");
    // A struct variant's fields become a struct of their own.
    let TypeKind::Struct(fields) = &model.types["ShapeCircleFields"].kind else {
        panic!("{:?}", model.types["ShapeCircleFields"]);
    };
    assert_eq!(fields[0].name, "radius");
    // Adjacent tagging: the content is one more field beside the tag.
    let TypeKind::TaggedUnion { tag, variants } = &model.types["Move"].kind else {
        panic!("{:?}", model.types["Move"]);
    };
    assert_eq!(tag, "op");
    assert_eq!(variants[0].fields[0].name, "args");
    assert_eq!(
        variants[0].fields[0].ty,
        TypeRef::Named("MoveJumpArgs".into())
    );
    assert!(variants[1].fields.is_empty());
}

#[test]
fn a_name_taken_by_a_variants_fields_is_an_error() {
    let router = Router::builder().method::<bad_clash>().build().unwrap();
    let error = api_model(&router).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot export Clash::Circle: its fields would become the struct ClashCircleFields, \
         but another type has that name; rename one"
    );
}

#[test]
fn a_declared_family_cannot_take_a_messaging_family_s_name() {
    use wirecall_core::export::api_model_with;
    use wirecall_core::{ChannelFamilies, ChannelRegistration, Location, Segment};
    let task = ChannelRegistration {
        name: "task",
        pattern: "jobs:x",
        segments: &[Segment::Literal("jobs:x")],
        doc: "",
        payload_schema: |generator| generator.subschema_for::<u32>(),
        check: None,
        location: Location {
            file: "jobs.rs",
            line: 3,
            module: "jobs",
        },
    };
    let families = ChannelFamilies::from_registrations([task]).unwrap();
    match api_model_with(&good_router(), &families) {
        Err(ExportError::Unsupported { at, reason }) => {
            assert!(at.starts_with("task (jobs.rs:3)"), "{at}");
            assert!(reason.contains("messaging layer"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Under another name it is exported beside them.
    let jobs = ChannelRegistration {
        name: "jobs",
        ..task
    };
    let model = api_model_with(
        &good_router(),
        &ChannelFamilies::from_registrations([jobs]).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = model.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["jobs", "task", "personal_message"]);
}
