//! The exporter's first half: a router's methods and the JSON Schemas of
//! their types, read into one language-neutral model ([`ApiModel`]) that
//! each client emitter walks. Everything is sorted by name, so the same
//! handlers always give the same model (and byte-identical clients).
//!
//! A schema the model cannot express is an [`ExportError`] naming the type
//! and field, never a silent "any".

mod model;
mod openrpc;
mod python;
mod typescript;

pub use openrpc::openrpc;
pub use python::python_models;
pub use typescript::typescript_types;

pub use model::{
    ApiModel, ExportError, Field, MethodModel, TypeDef, TypeKind, TypeRef, Variant, api_model,
};
