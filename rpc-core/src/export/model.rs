//! JSON Schema (as schemars 1 writes it, draft 2020-12) → [`ApiModel`].

use std::collections::BTreeMap;

use schemars::SchemaGenerator;
use serde_json::{Map, Value};

use crate::Router;

/// Every method and every named type of an API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiModel {
    /// Methods, sorted by name.
    pub methods: Vec<MethodModel>,
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
    /// Another type under this name (newtypes).
    Alias(TypeRef),
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
    /// The router has no methods.
    #[error(
        "found no RPC methods. Usually: the crate holding the #[websocket_rpc] handlers is not \
         linked into this binary (reference one of its items, e.g. `use my_service as _;`), or \
         the handlers are on a custom router that was not passed to the exporter"
    )]
    NoMethods,
}

fn unsupported(at: &str, reason: impl Into<String>) -> ExportError {
    ExportError::Unsupported {
        at: at.to_owned(),
        reason: reason.into(),
    }
}

/// Builds the model of every method of `router`.
///
/// # Errors
/// [`ExportError::Unsupported`] for a type the model cannot express, naming
/// it and the field.
pub fn api_model(router: &Router) -> Result<ApiModel, ExportError> {
    let mut generator = SchemaGenerator::default();
    // The messaging layer's payloads, so the code that consumes personal
    // and task channels is typed too. First, so they keep their names: a
    // service type with the same name gets a suffix (`TaskUpdate2`).
    generator.subschema_for::<crate::messages::PersonalMessage>();
    generator.subschema_for::<crate::messages::TaskEvent>();
    let mut methods = Vec::with_capacity(router.len());
    for registration in router.methods() {
        let at = registration.method;
        let params = match registration.params_schema {
            Some(schema) => Some(type_ref(schema(&mut generator).as_value(), at)?),
            None => None,
        };
        let result = type_ref((registration.result_schema)(&mut generator).as_value(), at)?;
        methods.push(MethodModel {
            name: registration.method.to_owned(),
            doc: registration.doc.to_owned(),
            params,
            result,
        });
    }
    let mut types = BTreeMap::new();
    for (name, schema) in generator.definitions() {
        types.insert(name.clone(), type_def(name, schema)?);
    }
    Ok(ApiModel { methods, types })
}

fn doc_of(schema: &Map<String, Value>) -> String {
    schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn type_def(name: &str, schema: &Value) -> Result<TypeDef, ExportError> {
    let object = schema.as_object();
    let doc = object.map(doc_of).unwrap_or_default();
    let kind = match object {
        Some(o) if o.get("enum").is_some() => {
            let values = o["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| unsupported(name, "an enum with non-string values"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            TypeKind::StringEnum(values)
        }
        Some(o) if o.get("oneOf").is_some() => match unit_variants(&o["oneOf"]) {
            Some(values) => TypeKind::StringEnum(values),
            None => tagged_union(name, &o["oneOf"])?,
        },
        Some(o) if o.get("properties").is_some() => TypeKind::Struct(fields(name, o, None)?),
        _ => TypeKind::Alias(type_ref(schema, name)?),
    };
    Ok(TypeDef {
        name: name.to_owned(),
        doc,
        kind,
    })
}

fn fields(
    owner: &str,
    schema: &Map<String, Value>,
    skip: Option<&str>,
) -> Result<Vec<Field>, ExportError> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut fields = Vec::new();
    for (name, field) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if Some(name.as_str()) == skip {
            continue;
        }
        let at = format!("{owner}.{name}");
        fields.push(Field {
            name: name.clone(),
            doc: field.as_object().map(doc_of).unwrap_or_default(),
            ty: type_ref(field, &at)?,
            required: required.contains(&name.as_str()),
        });
    }
    // Declaration order is not in the schema; sorting keeps output stable.
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(fields)
}

/// `oneOf` of string constants: a unit enum whose variants carry doc
/// comments (schemars writes one `const` per variant then).
fn unit_variants(variants: &Value) -> Option<Vec<String>> {
    let mut values = Vec::new();
    for variant in variants.as_array()? {
        if let Some(constant) = variant.get("const") {
            values.push(constant.as_str()?.to_owned());
        } else {
            for value in variant.get("enum")?.as_array()? {
                values.push(value.as_str()?.to_owned());
            }
        }
    }
    Some(values)
}

/// `oneOf` of objects that each pin one common property with `const`.
fn tagged_union(name: &str, variants: &Value) -> Result<TypeKind, ExportError> {
    let variants = variants
        .as_array()
        .ok_or_else(|| unsupported(name, "oneOf is not a list"))?;
    let mut tag: Option<String> = None;
    let mut out = Vec::with_capacity(variants.len());
    for variant in variants {
        let object = variant
            .as_object()
            .ok_or_else(|| unsupported(name, "a oneOf variant that is not an object"))?;
        let properties = object.get("properties").and_then(Value::as_object);
        let (tag_name, tag_value) = properties
            .into_iter()
            .flatten()
            .find_map(|(key, p)| p.get("const").and_then(Value::as_str).map(|c| (key.clone(), c.to_owned())))
            .ok_or_else(|| {
                unsupported(
                    name,
                    "an enum that is not internally tagged; use #[serde(tag = \"type\")] (or unit variants)",
                )
            })?;
        if tag.as_deref().is_some_and(|t| t != tag_name) {
            return Err(unsupported(name, "variants tagged by different fields"));
        }
        let base = object
            .get("$ref")
            .and_then(Value::as_str)
            .map(|r| r.rsplit('/').next().unwrap_or(r).to_owned());
        out.push(Variant {
            fields: fields(&format!("{name}::{tag_value}"), object, Some(&tag_name))?,
            tag_value,
            doc: doc_of(object),
            base,
        });
        tag = Some(tag_name);
    }
    Ok(TypeKind::TaggedUnion {
        tag: tag.unwrap_or_default(),
        variants: out,
    })
}

/// The type a schema describes, where it is used (`at` names the place for
/// errors).
fn type_ref(schema: &Value, at: &str) -> Result<TypeRef, ExportError> {
    let object = match schema {
        Value::Bool(true) => return Ok(TypeRef::Any),
        Value::Object(object) => object,
        other => return Err(unsupported(at, format!("the schema {other}"))),
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return Ok(TypeRef::Named(name.to_owned()));
    }
    if let Some(any_of) = object.get("anyOf").and_then(Value::as_array) {
        let (nulls, others): (Vec<&Value>, Vec<&Value>) = any_of
            .iter()
            .partition(|s| s.get("type").and_then(Value::as_str) == Some("null"));
        if nulls.len() == 1 && others.len() == 1 {
            return Ok(TypeRef::Optional(Box::new(type_ref(others[0], at)?)));
        }
        return Err(unsupported(
            at,
            "an untagged union (anyOf); use a tagged enum",
        ));
    }
    let ty = match object.get("type") {
        None if object.is_empty() || only_annotations(object) => return Ok(TypeRef::Any),
        None => {
            return Err(unsupported(
                at,
                format!("a schema without a type: {}", Value::Object(object.clone())),
            ));
        }
        Some(Value::Array(types)) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            if let [one, "null"] | ["null", one] = names.as_slice() {
                let mut inner = object.clone();
                inner.insert("type".into(), Value::String((*one).to_owned()));
                return Ok(TypeRef::Optional(Box::new(type_ref(
                    &Value::Object(inner),
                    at,
                )?)));
            }
            return Err(unsupported(
                at,
                format!("a value of several types {names:?}"),
            ));
        }
        Some(ty) => ty.as_str().unwrap_or_default(),
    };
    let format = object
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(match ty {
        "string" => match format {
            "date-time" => TypeRef::DateTime,
            "uuid" => TypeRef::Uuid,
            _ => TypeRef::String,
        },
        "boolean" => TypeRef::Bool,
        "null" => TypeRef::Unit,
        "integer" => integer(format, at)?,
        "number" => TypeRef::Float {
            bits: if format == "float" { 32 } else { 64 },
        },
        "array" => match (object.get("prefixItems"), object.get("items")) {
            (Some(Value::Array(items)), _) => TypeRef::Tuple(
                items
                    .iter()
                    .map(|item| type_ref(item, at))
                    .collect::<Result<_, _>>()?,
            ),
            (_, Some(items)) => TypeRef::Array(Box::new(type_ref(items, at)?)),
            _ => TypeRef::Array(Box::new(TypeRef::Any)),
        },
        "object" => match (object.get("properties"), object.get("additionalProperties")) {
            (None, Some(values)) => TypeRef::Map(Box::new(type_ref(values, at)?)),
            (None, None) => TypeRef::Map(Box::new(TypeRef::Any)),
            (Some(_), _) => {
                return Err(unsupported(
                    at,
                    "an anonymous object (from #[serde(flatten)] or an inline struct); give it a named type",
                ));
            }
        },
        other => return Err(unsupported(at, format!("the type {other:?}"))),
    })
}

/// A schema with only documentation keywords accepts any value.
fn only_annotations(object: &Map<String, Value>) -> bool {
    object
        .keys()
        .all(|k| matches!(k.as_str(), "description" | "title" | "default" | "examples"))
}

fn integer(format: &str, at: &str) -> Result<TypeRef, ExportError> {
    let (signed, bits) = match format {
        "int8" => (true, 8),
        "int16" => (true, 16),
        "int32" => (true, 32),
        "int64" | "int" => (true, 64),
        "uint8" => (false, 8),
        "uint16" => (false, 16),
        "uint32" => (false, 32),
        "uint64" | "uint" => (false, 64),
        // 128-bit integers do not fit any client language's numbers.
        other => return Err(unsupported(at, format!("an integer of format {other:?}"))),
    };
    Ok(TypeRef::Integer { bits, signed })
}
