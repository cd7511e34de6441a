//! The language-neutral model of an API that every emitter walks, and the
//! function that builds it from a router (the schemas are read by
//! [`super::schema`]).

use std::collections::BTreeMap;

use schemars::SchemaGenerator;

use super::names;
use super::schema::Reader;
use crate::family::Rules;
use crate::{ChannelFamilies, ParamKind, Router, Segment};

/// Every method, channel family and named type of an API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiModel {
    /// Methods, sorted by name.
    pub methods: Vec<MethodModel>,
    /// Declared channel families, sorted by name, then the messaging
    /// layer's own: `task` and `personal_message`.
    pub channels: Vec<ChannelModel>,
    /// Named types reachable from the methods, by name (sorted).
    pub types: BTreeMap<String, TypeDef>,
}

/// One RPC method.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodModel {
    /// The wire name, `tasks.get_stats`.
    pub name: String,
    /// The handler's doc comment.
    pub doc: String,
    /// The params type; `None` for methods without params.
    pub params: Option<TypeRef>,
    /// The result type.
    pub result: TypeRef,
}

/// One channel family: declared (`#[websocket_channel]`), or one of the
/// messaging layer's own. Every client emitter writes them all by one path.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelModel {
    /// The family's name, `chat_room`.
    pub name: String,
    /// How a client names its channels.
    pub address: ChannelAddress,
    /// The pattern as declared, `chat:room:{room_id}`.
    pub pattern: String,
    /// The parameters struct's doc comment.
    pub doc: String,
    /// The pattern's parts, parameters typed.
    pub segments: Vec<ChannelSegment>,
    /// What its publications carry.
    pub payload: TypeRef,
    /// The literal namespace, if the pattern has one.
    pub namespace: Option<String>,
    /// Whether its channels are user-limited (`…#{user}`).
    pub user_limited: bool,
}

/// How a client names a family's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelAddress {
    /// From typed parameters, by the pattern (declared families).
    Pattern,
    /// A name the server hands out (a task's `channel`): the client
    /// passes it as it is.
    Named,
    /// The connection's personal channel, to which the server subscribes
    /// it: clients listen, they do not subscribe.
    Personal,
}

/// One part of a family's pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelSegment {
    /// Text the name holds as it is.
    Literal(String),
    /// A parameter: its (field) name and type.
    Param {
        /// The field's name, `room_id`.
        name: String,
        /// A string, an integer or a UUID.
        ty: TypeRef,
        /// For a string: the characters besides whitespace and control
        /// characters its values may not hold (they would change the
        /// name's anatomy); empty otherwise.
        refused: String,
    },
}

impl ChannelModel {
    /// The parameters, in pattern order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &TypeRef)> {
        self.segments.iter().filter_map(|segment| match segment {
            ChannelSegment::Param { name, ty, .. } => Some((name.as_str(), ty)),
            ChannelSegment::Literal(_) => None,
        })
    }
}

/// A named type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// Its name (the Rust type's, as schemars gives it).
    pub name: String,
    /// Its doc comment.
    pub doc: String,
    /// What it is.
    pub kind: TypeKind,
}

/// The shapes a named type can have.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// An object with fixed fields.
    Struct(Vec<Field>),
    /// A unit enum: one of these strings.
    StringEnum(Vec<String>),
    /// An internally tagged enum (`#[serde(tag = "…")]`): the tag field's
    /// value picks the variant.
    TaggedUnion {
        /// The tag field's wire name.
        tag: String,
        /// The variants, in declaration order.
        variants: Vec<Variant>,
    },
    /// An externally tagged enum (serde's default): a unit variant is its
    /// name as a string, any other an object whose one key is the name.
    ExternalUnion(Vec<ExternalVariant>),
    /// Another type under this name (newtypes).
    Alias(TypeRef),
}

/// One variant of an externally tagged enum.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalVariant {
    /// The variant's wire name (the string, or the object's key).
    pub name: String,
    /// The variant's doc comment.
    pub doc: String,
    /// What the key holds; `None` for a unit variant. A struct variant's
    /// fields are a named struct `<Enum><Variant>Fields`.
    pub payload: Option<TypeRef>,
}

/// A field of a struct or variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The wire name (after serde's renames).
    pub name: String,
    /// Its doc comment.
    pub doc: String,
    /// Its type.
    pub ty: TypeRef,
    /// Whether it must be present (false for `Option` and serde defaults).
    pub required: bool,
}

/// One variant of a tagged union.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The tag's value for this variant.
    pub tag_value: String,
    /// The variant's doc comment.
    pub doc: String,
    /// A named struct whose fields the variant carries (newtype variants).
    pub base: Option<String>,
    /// The variant's own fields (struct variants), without the tag.
    pub fields: Vec<Field>,
}

/// A reference to a type, as fields and methods use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// A string.
    String,
    /// A boolean.
    Bool,
    /// An integer of this width.
    Integer {
        /// 8, 16, 32 or 64.
        bits: u8,
        /// Whether negative values exist.
        signed: bool,
    },
    /// A float of this width (32 or 64).
    Float {
        /// 32 or 64.
        bits: u8,
    },
    /// An RFC 3339 date-time.
    DateTime,
    /// A UUID.
    Uuid,
    /// Any JSON value (`serde_json::Value`).
    Any,
    /// `null` only (`()`).
    Unit,
    /// The value or `null`.
    Optional(Box<TypeRef>),
    /// A list.
    Array(Box<TypeRef>),
    /// A map with string keys.
    Map(Box<TypeRef>),
    /// A fixed-length list of these types.
    Tuple(Vec<TypeRef>),
    /// A named type of [`ApiModel::types`].
    Named(String),
}

/// Why an API cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A schema shape no client emitter can express.
    #[error("cannot export {at}: {reason}")]
    Unsupported {
        /// Where: `Type.field`, or the method.
        at: String,
        /// What was found.
        reason: String,
    },
    /// Two channel families share a name or a pattern.
    #[error("{0}")]
    DuplicateFamily(String),
    /// The router has no methods.
    #[error(
        "found no RPC methods. Usually: the crate holding the #[websocket_rpc] handlers is not \
         linked into this binary (reference one of its items, e.g. `use my_service as _;`), or \
         the handlers are on a custom router that was not passed to the exporter"
    )]
    NoMethods,
}

/// Builds the model of every method of `router` and every channel family
/// declared in this binary.
///
/// # Errors
/// [`ExportError::Unsupported`] for a type the model cannot express, naming
/// it and the field; [`ExportError::DuplicateFamily`].
pub fn api_model(router: &Router) -> Result<ApiModel, ExportError> {
    let families = ChannelFamilies::global()
        .map_err(|duplicate| ExportError::DuplicateFamily(duplicate.to_string()))?;
    api_model_with(router, &families)
}

/// [`api_model`] with these channel families.
///
/// # Errors
/// As [`api_model`].
pub fn api_model_with(
    router: &Router,
    families: &ChannelFamilies,
) -> Result<ApiModel, ExportError> {
    let mut generator = SchemaGenerator::default();
    // The messaging layer's payloads, so the code that consumes personal
    // and task channels is typed too. First, so they keep their names: a
    // service type with the same name gets a suffix (`TaskUpdate2`).
    generator.subschema_for::<crate::messages::PersonalMessage>();
    generator.subschema_for::<crate::messages::TaskEvent>();
    let mut schemas = Vec::with_capacity(router.len());
    for registration in router.methods() {
        let params = registration
            .params_schema
            .map(|schema| schema(&mut generator).to_value());
        let result = (registration.result_schema)(&mut generator).to_value();
        schemas.push((registration, params, result));
    }
    let payloads: Vec<_> = families
        .iter()
        .map(|family| (family, (family.payload_schema)(&mut generator).to_value()))
        .collect();
    let mut reader = Reader::new(generator.definitions().keys().cloned());
    let mut methods = Vec::with_capacity(schemas.len());
    for (registration, params, result) in schemas {
        let at = registration.method;
        let hint = names::pascal(at);
        methods.push(MethodModel {
            name: at.to_owned(),
            doc: registration.doc.to_owned(),
            params: params
                .map(|schema| reader.type_ref(&schema, at, &format!("{hint}Params")))
                .transpose()?,
            result: reader.type_ref(&result, at, &format!("{hint}Result"))?,
        });
    }
    let mut channels = Vec::with_capacity(payloads.len());
    for (family, payload) in payloads {
        if MESSAGING_FAMILIES.contains(&family.name) {
            return Err(ExportError::Unsupported {
                at: format!("{} ({})", family.name, family.location),
                reason: "the messaging layer's own family has this name; rename the parameters' \
                         struct"
                    .into(),
            });
        }
        let hint = format!("{}Payload", names::pascal(family.name));
        channels.push(ChannelModel {
            name: family.name.to_owned(),
            address: ChannelAddress::Pattern,
            pattern: family.pattern.to_owned(),
            doc: family.doc.to_owned(),
            segments: (0..family.segments.len())
                .map(|index| channel_segment(family.segments, index))
                .collect(),
            payload: reader.type_ref(&payload, family.name, &hint)?,
            namespace: family.namespace().map(str::to_owned),
            user_limited: family.user_limited(),
        });
    }
    channels.extend(messaging_channels());
    for (name, schema) in generator.definitions() {
        reader.type_def(name, schema)?;
    }
    Ok(ApiModel {
        methods,
        channels,
        types: reader.finish(),
    })
}

/// The names of the messaging layer's own families, which declared ones
/// cannot take.
const MESSAGING_FAMILIES: [&str; 2] = ["task", "personal_message"];

/// The messaging layer's own families (their payloads were reached first):
/// task progress on a channel the server names, and the personal channel.
fn messaging_channels() -> [ChannelModel; 2] {
    let family = |name: &str, address, doc: &str, payload: &str| ChannelModel {
        name: name.to_owned(),
        address,
        pattern: String::new(),
        doc: doc.to_owned(),
        segments: Vec::new(),
        payload: TypeRef::Named(payload.to_owned()),
        namespace: None,
        user_limited: false,
    };
    [
        family(
            "task",
            ChannelAddress::Named,
            "Task progress on `channel`: `task_update`, then `task_complete` or `task_error`.",
            "TaskEvent",
        ),
        family(
            "personal_message",
            ChannelAddress::Personal,
            "What arrives on the user's personal channel (messages, notifications, files).",
            "PersonalMessage",
        ),
    ]
}

fn channel_segment(segments: &[Segment], index: usize) -> ChannelSegment {
    match segments[index] {
        Segment::Literal(text) => ChannelSegment::Literal(text.to_owned()),
        Segment::Param { name, kind } => ChannelSegment::Param {
            name: name.to_owned(),
            ty: match kind {
                ParamKind::String => TypeRef::String,
                ParamKind::Integer { bits, signed } => TypeRef::Integer { bits, signed },
                ParamKind::Uuid => TypeRef::Uuid,
            },
            refused: match kind {
                ParamKind::String => Rules::at(segments, index).refused(),
                ParamKind::Integer { .. } | ParamKind::Uuid => String::new(),
            },
        },
    }
}
