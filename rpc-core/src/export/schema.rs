//! JSON Schema (as schemars 1 writes it, draft 2020-12) → the model's
//! types. An anonymous object (a struct variant of an externally or
//! adjacently tagged enum) gets a name of its own and becomes a struct;
//! everything else no client can express is an [`ExportError`] naming the
//! type and field.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::model::{ExportError, ExternalVariant, Field, TypeDef, TypeKind, TypeRef, Variant};
use super::names;

pub(super) fn unsupported(at: &str, reason: impl Into<String>) -> ExportError {
    ExportError::Unsupported {
        at: at.to_owned(),
        reason: reason.into(),
    }
}

fn doc_of(schema: &Map<String, Value>) -> String {
    schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Reads schemas into types, collecting them and the structs it names.
pub(super) struct Reader {
    types: BTreeMap<String, TypeDef>,
    /// The names schemars gave its definitions: a named anonymous object
    /// must not take one.
    taken: BTreeSet<String>,
}

impl Reader {
    pub(super) fn new(definitions: impl IntoIterator<Item = String>) -> Self {
        Self {
            types: BTreeMap::new(),
            taken: definitions.into_iter().collect(),
        }
    }

    /// Every type read, by name.
    pub(super) fn finish(self) -> BTreeMap<String, TypeDef> {
        self.types
    }

    /// Reads the definition `name`.
    pub(super) fn type_def(&mut self, name: &str, schema: &Value) -> Result<(), ExportError> {
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
            Some(o) if o.get("oneOf").is_some() => self.one_of(name, &o["oneOf"])?,
            Some(o) if o.get("properties").is_some() => {
                TypeKind::Struct(self.fields(name, name, o, None)?)
            }
            _ => TypeKind::Alias(self.type_ref(schema, name, name)?),
        };
        self.types.insert(
            name.to_owned(),
            TypeDef {
                name: name.to_owned(),
                doc,
                kind,
            },
        );
        Ok(())
    }

    /// An enum: unit variants only, internally (or adjacently) tagged, or
    /// externally tagged.
    fn one_of(&mut self, name: &str, variants: &Value) -> Result<TypeKind, ExportError> {
        let list = variants
            .as_array()
            .ok_or_else(|| unsupported(name, "oneOf is not a list"))?;
        if let Some(values) = unit_variants(list) {
            return Ok(TypeKind::StringEnum(values));
        }
        let unit =
            |v: &Value| v.get("enum").is_some() || v.get("const").is_some_and(Value::is_string);
        if list.iter().all(|v| unit(v) || is_keyed(v)) {
            return self.external_union(name, list);
        }
        self.tagged_union(name, list)
    }

    /// The fields of an object schema; `hint` names anonymous objects
    /// among them (`<hint><Field>`).
    fn fields(
        &mut self,
        owner: &str,
        hint: &str,
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
            let field_hint = format!("{hint}{}", names::pascal(name));
            fields.push(Field {
                name: name.clone(),
                doc: field.as_object().map(doc_of).unwrap_or_default(),
                ty: self.type_ref(field, &at, &field_hint)?,
                required: required.contains(&name.as_str()),
            });
        }
        // Declaration order is not in the schema; sorting keeps output stable.
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(fields)
    }

    /// `oneOf` of objects that each pin one common property with `const`:
    /// internally tagged, or adjacently (the content is one more field).
    fn tagged_union(&mut self, name: &str, variants: &[Value]) -> Result<TypeKind, ExportError> {
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
                .find_map(|(key, p)| {
                    p.get("const")
                        .and_then(Value::as_str)
                        .map(|c| (key.clone(), c.to_owned()))
                })
                .ok_or_else(|| {
                    unsupported(
                        name,
                        "an untagged enum; use #[serde(tag = \"type\")], adjacent or external tagging",
                    )
                })?;
            if tag.as_deref().is_some_and(|t| t != tag_name) {
                return Err(unsupported(name, "variants tagged by different fields"));
            }
            let base = object
                .get("$ref")
                .and_then(Value::as_str)
                .map(|r| r.rsplit('/').next().unwrap_or(r).to_owned());
            let owner = format!("{name}::{tag_value}");
            let hint = format!("{name}{}", names::pascal(&tag_value));
            out.push(Variant {
                fields: self.fields(&owner, &hint, object, Some(&tag_name))?,
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

    /// Strings (unit variants) and objects with one required key each.
    fn external_union(&mut self, name: &str, variants: &[Value]) -> Result<TypeKind, ExportError> {
        let mut out = Vec::new();
        for variant in variants {
            let doc = variant.as_object().map(doc_of).unwrap_or_default();
            if let Some(unit) = variant.get("const").and_then(Value::as_str) {
                out.push(ExternalVariant {
                    name: unit.to_owned(),
                    doc,
                    payload: None,
                });
                continue;
            }
            if let Some(values) = variant.get("enum").and_then(Value::as_array) {
                for value in values {
                    let unit = value
                        .as_str()
                        .ok_or_else(|| unsupported(name, "an enum with non-string values"))?;
                    out.push(ExternalVariant {
                        name: unit.to_owned(),
                        doc: doc.clone(),
                        payload: None,
                    });
                }
                continue;
            }
            let (key, payload) = variant
                .get("properties")
                .and_then(Value::as_object)
                .and_then(|p| p.iter().next())
                .ok_or_else(|| unsupported(name, "an externally tagged variant without a key"))?;
            let hint = format!("{name}{}Fields", names::pascal(key));
            out.push(ExternalVariant {
                name: key.clone(),
                doc,
                payload: Some(self.type_ref(payload, &format!("{name}::{key}"), &hint)?),
            });
        }
        Ok(TypeKind::ExternalUnion(out))
    }

    /// The type a schema describes, where it is used: `at` names the place
    /// for errors, `hint` the struct an anonymous object becomes.
    pub(super) fn type_ref(
        &mut self,
        schema: &Value,
        at: &str,
        hint: &str,
    ) -> Result<TypeRef, ExportError> {
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
                return Ok(TypeRef::Optional(Box::new(
                    self.type_ref(others[0], at, hint)?,
                )));
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
                    return Ok(TypeRef::Optional(Box::new(self.type_ref(
                        &Value::Object(inner),
                        at,
                        hint,
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
                        .map(|item| self.type_ref(item, at, hint))
                        .collect::<Result<_, _>>()?,
                ),
                (_, Some(items)) => TypeRef::Array(Box::new(self.type_ref(items, at, hint)?)),
                _ => TypeRef::Array(Box::new(TypeRef::Any)),
            },
            "object" => match (object.get("properties"), object.get("additionalProperties")) {
                (None, Some(values)) => TypeRef::Map(Box::new(self.type_ref(values, at, hint)?)),
                (None, None) => TypeRef::Map(Box::new(TypeRef::Any)),
                (Some(_), _) => self.anonymous_struct(object, at, hint)?,
            },
            other => return Err(unsupported(at, format!("the type {other:?}"))),
        })
    }

    /// An object schema without a name (a struct variant of an externally
    /// or adjacently tagged enum) as a struct named `hint`.
    fn anonymous_struct(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        hint: &str,
    ) -> Result<TypeRef, ExportError> {
        if self.taken.contains(hint) || self.types.contains_key(hint) {
            return Err(unsupported(
                at,
                format!(
                    "its fields would become the struct {hint}, but another type has that name; rename one"
                ),
            ));
        }
        self.taken.insert(hint.to_owned());
        let fields = self.fields(at, hint, object, None)?;
        self.types.insert(
            hint.to_owned(),
            TypeDef {
                name: hint.to_owned(),
                doc: doc_of(object),
                kind: TypeKind::Struct(fields),
            },
        );
        Ok(TypeRef::Named(hint.to_owned()))
    }
}

/// An object with exactly one property, required, and nothing else
/// allowed: a data variant of an externally tagged enum.
fn is_keyed(variant: &Value) -> bool {
    let properties = variant.get("properties").and_then(Value::as_object);
    let required = variant.get("required").and_then(Value::as_array);
    let closed = variant.get("additionalProperties") == Some(&Value::Bool(false));
    matches!((properties, required), (Some(p), Some(r)) if p.len() == 1 && r.len() == 1)
        && closed
        && variant.get("properties").is_some_and(|p| {
            p.as_object()
                .into_iter()
                .flatten()
                .all(|(_, v)| v.get("const").is_none())
        })
}

/// `oneOf` of string constants: a unit enum whose variants carry doc
/// comments (schemars writes one `const` per variant then).
fn unit_variants(variants: &[Value]) -> Option<Vec<String>> {
    let mut values = Vec::new();
    for variant in variants {
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
