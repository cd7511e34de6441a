//! The type fixture of the client generator: one value of every type
//! feature the exporter maps, and two methods that let a generated client
//! prove it keeps the wire shape. `types.sample` sends the value as Rust
//! serialises it; the client parses it into its generated types, serialises
//! it again and hands it to `types.check`, which parses it back and
//! compares it with the original.
//!
//! Some fields are undocumented on purpose: generated code must cope.
#![allow(missing_docs)]

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use wirecall_server::{RpcError, websocket_rpc};

/// Every type feature at once.
///
/// Field names are camelCase on the wire (`rename_all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Everything {
    /// An unsigned byte.
    pub small: u8,
    pub tiny: i8,
    pub short: i16,
    pub word: u16,
    pub int: i32,
    pub uint: u32,
    /// 64-bit integers; the sample stays within 2^53 so JavaScript numbers
    /// carry it exactly.
    pub long: i64,
    pub ulong: u64,
    pub single: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    /// Present.
    pub maybe: Option<String>,
    /// Absent (`null` on the wire).
    pub nothing: Option<i32>,
    /// Optional on input: the server fills in the default.
    #[serde(default)]
    pub defaulted: u32,
    pub items: Vec<Item>,
    pub counts: HashMap<String, i64>,
    pub sorted: BTreeMap<String, Item>,
    pub status: Status,
    pub events: Vec<Event>,
    pub shapes: Vec<Shape>,
    pub moves: Vec<Move>,
    pub any: Value,
    pub when: DateTime<Utc>,
    pub id: Uuid,
    pub pair: (u8, String),
    pub owner: UserId,
    /// A Python keyword as a wire name.
    #[serde(rename = "class")]
    pub class_name: String,
    /// Never on the wire.
    #[serde(skip)]
    pub skipped: u32,
    /// Flattened: its fields sit beside these.
    #[serde(flatten)]
    pub meta: Meta,
}

/// A nested struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub name: String,
    pub tags: Vec<String>,
}

/// A unit enum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not started.
    Pending,
    InProgress,
    Done,
}

/// An internally tagged enum with struct, newtype and unit variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A struct variant.
    Moved { x: i32, y: i32 },
    /// A newtype variant around a struct.
    Renamed(Item),
    /// A unit variant.
    Cleared,
}

/// An externally tagged enum (serde's default): unit variants are strings,
/// the others one-key objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A struct variant.
    Circle {
        radius: f64,
    },
    /// A newtype variant.
    Square(u32),
    /// A newtype variant around a struct.
    Labelled(Item),
    /// A tuple variant.
    Line(i32, i32),
    /// A unit variant.
    Empty,
    Unknown,
}

/// An adjacently tagged enum: the tag and the content side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", content = "args")]
pub enum Move {
    /// A struct variant.
    Jump { height: u8 },
    /// A newtype variant.
    Walk(u16),
    /// A unit variant.
    Stop,
}

/// A newtype.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserId(pub String);

/// Flattened into [`Everything`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Meta {
    pub revision: u32,
    pub author: Option<String>,
}

/// The sample value `types.sample` returns.
pub fn sample() -> Everything {
    let item = |name: &str| Item {
        name: name.into(),
        tags: vec!["a".into(), "b".into()],
    };
    Everything {
        small: 255,
        tiny: -128,
        short: -32768,
        word: 65535,
        int: -2_147_483_648,
        uint: 4_294_967_295,
        long: -9_007_199_254_740_991,
        ulong: 9_007_199_254_740_991,
        single: 0.5,
        double: 1.25e-10,
        flag: true,
        text: "héllo \"wörld\" \u{1F600}\n".into(),
        maybe: Some("here".into()),
        nothing: None,
        defaulted: 7,
        items: vec![item("one"), item("two")],
        counts: HashMap::from([("x".into(), -1), ("y".into(), 2)]),
        sorted: BTreeMap::from([("k".into(), item("three"))]),
        status: Status::InProgress,
        events: vec![
            Event::Moved { x: 1, y: -2 },
            Event::Renamed(item("four")),
            Event::Cleared,
        ],
        shapes: vec![
            Shape::Circle { radius: 1.5 },
            Shape::Square(4),
            Shape::Labelled(item("five")),
            Shape::Line(-1, 2),
            Shape::Empty,
            Shape::Unknown,
        ],
        moves: vec![Move::Jump { height: 3 }, Move::Walk(10), Move::Stop],
        any: json!({"nested": [1, "two", null, {"three": 3.5}]}),
        when: DateTime::parse_from_rfc3339("2026-11-22T10:30:00.123Z")
            .expect("a valid timestamp")
            .to_utc(),
        id: Uuid::from_u128(0x6f1c_2b9e_8a55_4d1c_9a3b_0c7d_5e2f_1a4b),
        pair: (3, "three".into()),
        owner: UserId("u1".into()),
        class_name: "first".into(),
        skipped: 0,
        meta: Meta {
            revision: 42,
            author: None,
        },
    }
}

/// The sample, as Rust serialises it.
#[websocket_rpc("types.sample")]
pub async fn types_sample() -> Everything {
    sample()
}

/// Succeeds when `value` equals the sample; otherwise names what differs.
#[websocket_rpc("types.check")]
pub async fn types_check(value: Everything) -> Result<bool, RpcError> {
    let expected = sample();
    if value == expected {
        return Ok(true);
    }
    Err(RpcError::bad_request(format!(
        "differs from the sample:\n got {value:?}\nwant {expected:?}"
    )))
}
