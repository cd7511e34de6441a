//! The machine-readable emitter: an OpenRPC 1.3 document with the JSON
//! Schema of every type, for teams in languages wsrpc does not generate.
//! Params are passed by name as one object (`paramStructure: by-name`),
//! which is how wsrpc's `rpc` command carries them.

use schemars::SchemaGenerator;
use serde_json::{Map, Value, json};

use super::ExportError;
use crate::Router;

/// The OpenRPC document of `router`, pretty-printed and deterministic.
///
/// # Errors
/// Only if a schema cannot be serialised (never for schemars output).
pub fn openrpc(router: &Router, title: &str, version: &str) -> Result<String, ExportError> {
    let mut generator = SchemaGenerator::default();
    let mut methods = Vec::with_capacity(router.len());
    for registration in router.methods() {
        let params = match registration.params_schema {
            Some(schema) => {
                let schema = components_refs(schema(&mut generator).to_value());
                vec![json!({"name": "params", "required": true, "schema": schema})]
            }
            None => Vec::new(),
        };
        let result = components_refs((registration.result_schema)(&mut generator).to_value());
        let mut method = json!({
            "name": registration.method,
            "paramStructure": "by-name",
            "params": params,
            "result": {"name": "result", "schema": result},
        });
        if !registration.doc.is_empty() {
            method["description"] = json!(registration.doc);
        }
        methods.push(method);
    }
    let schemas: Map<String, Value> = generator
        .definitions()
        .iter()
        .map(|(name, schema)| (name.clone(), components_refs(schema.clone())))
        .collect();
    let document = json!({
        "openrpc": "1.3.2",
        "info": {"title": title, "version": version},
        "methods": methods,
        "components": {"schemas": schemas},
    });
    serde_json::to_string_pretty(&document)
        .map(|mut text| {
            text.push('\n');
            text
        })
        .map_err(|e| ExportError::Unsupported {
            at: "document".into(),
            reason: e.to_string(),
        })
}

/// Points `$ref`s at OpenRPC's `#/components/schemas/` instead of `$defs`.
fn components_refs(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        let name = r.rsplit('/').next().unwrap_or(&r).to_owned();
                        (key, Value::String(format!("#/components/schemas/{name}")))
                    }
                    (_, value) => (key, components_refs(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(components_refs).collect()),
        other => other,
    }
}
