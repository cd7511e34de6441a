//! Python `models.py` (pydantic v2) from the model: a `BaseModel` per
//! struct, `Literal` unions for unit enums, discriminated unions for tagged
//! enums. `Option<T>` and fields with serde defaults are `T | None = None`.

use std::fmt::Write as _;

use super::{ApiModel, ExternalVariant, Field, HEADER, TypeDef, TypeKind, TypeRef, names};

/// `models.py` for every named type of the model.
///
/// Order matters at import time: structs first (their annotations are
/// lazy), then enums, then tagged unions (whose variant classes may
/// subclass a struct), then externally tagged ones, then aliases; every model is rebuilt at the end so
/// forward references resolve.
pub fn python_models(model: &ApiModel) -> String {
    let mut out = String::new();
    let defs: Vec<&TypeDef> = model.types.values().collect();
    let mut classes = Vec::new();
    for def in defs
        .iter()
        .filter(|d| matches!(d.kind, TypeKind::Struct(_)))
    {
        if let TypeKind::Struct(fields) = &def.kind {
            write_class(
                &mut out,
                &def.name,
                "BaseModel",
                &def.doc,
                None,
                fields,
                false,
            );
            classes.push(def.name.clone());
        }
    }
    for def in &defs {
        if let TypeKind::StringEnum(values) = &def.kind {
            let literals: Vec<String> = values.iter().map(|v| py_string(v)).collect();
            out.push_str("\n\n");
            write_doc_comment(&mut out, &def.doc);
            let _ = writeln!(out, "{} = Literal[{}]", def.name, literals.join(", "));
        }
    }
    for def in &defs {
        if let TypeKind::TaggedUnion { tag, variants } = &def.kind {
            let mut names = Vec::new();
            for variant in variants {
                let class = variant_class(&def.name, &variant.tag_value);
                let base = variant.base.as_deref().unwrap_or("BaseModel");
                let tag_field = (tag.as_str(), variant.tag_value.as_str());
                write_class(
                    &mut out,
                    &class,
                    base,
                    &variant.doc,
                    Some(tag_field),
                    &variant.fields,
                    false,
                );
                classes.push(class.clone());
                names.push(class);
            }
            out.push_str("\n\n");
            write_doc_comment(&mut out, &def.doc);
            let _ = writeln!(
                out,
                "{} = Annotated[{}, Field(discriminator={})]",
                def.name,
                names.join(" | "),
                py_string(tag)
            );
        }
    }
    for def in &defs {
        if let TypeKind::ExternalUnion(variants) = &def.kind {
            write_external_union(&mut out, def, variants, &mut classes);
        }
    }
    for def in &defs {
        if let TypeKind::Alias(ty) = &def.kind {
            out.push_str("\n\n");
            write_doc_comment(&mut out, &def.doc);
            let _ = writeln!(out, "{} = {}", def.name, py_type(ty));
        }
    }
    if !classes.is_empty() {
        out.push_str("\n\n");
        for class in &classes {
            let _ = writeln!(out, "{class}.model_rebuild()");
        }
    }
    format!(
        "# {HEADER}\n\nfrom __future__ import annotations\n{}{out}",
        imports(&out)
    )
}

/// An externally tagged enum: its unit variants as a `Literal`, each data
/// variant as a closed model with the variant's name as its one field.
fn write_external_union(
    out: &mut String,
    def: &TypeDef,
    variants: &[ExternalVariant],
    classes: &mut Vec<String>,
) {
    let mut members = Vec::new();
    let units: Vec<String> = variants
        .iter()
        .filter(|v| v.payload.is_none())
        .map(|v| py_string(&v.name))
        .collect();
    if !units.is_empty() {
        members.push(format!("Literal[{}]", units.join(", ")));
    }
    for variant in variants {
        let Some(payload) = &variant.payload else {
            continue;
        };
        let class = variant_class(&def.name, &variant.name);
        let field = Field {
            name: variant.name.clone(),
            doc: String::new(),
            ty: payload.clone(),
            required: true,
        };
        write_class(out, &class, "BaseModel", &variant.doc, None, &[field], true);
        classes.push(class.clone());
        members.push(class);
    }
    out.push_str("\n\n");
    write_doc_comment(out, &def.doc);
    let _ = writeln!(out, "{} = {}", def.name, members.join(" | "));
}

/// The class of one variant of a tagged union: `Event` + `moved` →
/// `EventMoved`.
fn variant_class(union: &str, tag_value: &str) -> String {
    format!("{union}{}", names::pascal(tag_value))
}

/// Every name `models.py` defines: the types and the variant classes.
pub(crate) fn model_names(model: &ApiModel) -> Vec<String> {
    let mut out = Vec::new();
    for def in model.types.values() {
        out.push(def.name.clone());
        if let TypeKind::TaggedUnion { variants, .. } = &def.kind {
            out.extend(
                variants
                    .iter()
                    .map(|v| variant_class(&def.name, &v.tag_value)),
            );
        }
        if let TypeKind::ExternalUnion(variants) = &def.kind {
            out.extend(
                variants
                    .iter()
                    .filter(|v| v.payload.is_some())
                    .map(|v| variant_class(&def.name, &v.name)),
            );
        }
    }
    out.sort();
    out
}

/// Imports of exactly the names the body uses (ruff flags unused ones).
fn imports(body: &str) -> String {
    let words: std::collections::BTreeSet<&str> = body
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let used = |name: &str| words.contains(name);
    let mut standard = Vec::new();
    if used("datetime") {
        standard.push("from datetime import datetime".to_owned());
    }
    let typing: Vec<&str> = ["Annotated", "Any", "Literal"]
        .into_iter()
        .filter(|name| used(name))
        .collect();
    if !typing.is_empty() {
        standard.push(format!("from typing import {}", typing.join(", ")));
    }
    if used("UUID") {
        standard.push("from uuid import UUID".to_owned());
    }
    let pydantic: Vec<&str> = ["BaseModel", "ConfigDict", "Field"]
        .into_iter()
        .filter(|name| used(name))
        .collect();
    let mut out = String::new();
    if !standard.is_empty() {
        out.push('\n');
        for line in standard {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !pydantic.is_empty() {
        let _ = write!(out, "\nfrom pydantic import {}\n", pydantic.join(", "));
    }
    out
}

/// Docs of a module-level alias: a comment line each, before it.
fn write_doc_comment(out: &mut String, doc: &str) {
    for line in doc.lines() {
        let _ = writeln!(out, "{}", format!("# {line}").trim_end());
    }
}

/// A pydantic class; `closed` forbids extra keys (what tells the one-key
/// wrappers of an externally tagged enum apart).
fn write_class(
    out: &mut String,
    name: &str,
    base: &str,
    doc: &str,
    tag: Option<(&str, &str)>,
    fields: &[Field],
    closed: bool,
) {
    let _ = write!(out, "\n\nclass {name}({base}):\n");
    if !doc.is_empty() {
        let doc = doc.replace("\"\"\"", "\\\"\\\"\\\"");
        if doc.contains('\n') {
            let _ = write!(
                out,
                "    \"\"\"{}\n    \"\"\"\n\n",
                doc.replace('\n', "\n    ")
            );
        } else {
            let _ = write!(out, "    \"\"\"{doc}\"\"\"\n\n");
        }
    }
    if closed {
        out.push_str("    model_config = ConfigDict(extra=\"forbid\", populate_by_name=True)\n");
    } else {
        out.push_str("    model_config = ConfigDict(populate_by_name=True)\n");
    }
    if let Some((tag, value)) = tag {
        let (attr, alias) = attribute(tag);
        let alias = alias
            .map(|a| format!(", alias={}", py_string(&a)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {attr}: Literal[{value}] = Field(default={value}{alias})",
            value = py_string(value)
        );
    }
    for field in fields {
        let (attr, alias) = attribute(&field.name);
        let ty = py_type(&field.ty);
        let nullable = matches!(field.ty, TypeRef::Optional(_));
        let alias_arg = alias.map(|a| format!("alias={}", py_string(&a)));
        let line = match (field.required, alias_arg) {
            (true, None) => format!("{attr}: {ty}"),
            (true, Some(alias)) => format!("{attr}: {ty} = Field({alias})"),
            (false, alias) => {
                let ty = if nullable { ty } else { format!("{ty} | None") };
                match alias {
                    None => format!("{attr}: {ty} = None"),
                    Some(alias) => format!("{attr}: {ty} = Field(default=None, {alias})"),
                }
            }
        };
        let _ = writeln!(out, "    {line}");
        if !field.doc.is_empty() {
            let doc = field
                .doc
                .replace("\"\"\"", "\\\"\\\"\\\"")
                .replace('\n', " ");
            let _ = writeln!(out, "    \"\"\"{doc}\"\"\"");
        }
    }
    if fields.is_empty() && tag.is_none() && doc.is_empty() {
        out.push_str("    pass\n");
    }
}

/// A Python attribute for a wire name, and the alias when they differ.
pub(crate) fn attribute(wire: &str) -> (String, Option<String>) {
    const KEYWORDS: &[&str] = &[
        "False",
        "None",
        "True",
        "and",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "class",
        "continue",
        "def",
        "del",
        "elif",
        "else",
        "except",
        "finally",
        "for",
        "from",
        "global",
        "if",
        "import",
        "in",
        "is",
        "lambda",
        "nonlocal",
        "not",
        "or",
        "pass",
        "raise",
        "return",
        "try",
        "while",
        "with",
        "yield",
        "model_config",
        // Names the annotations use: a field called `int` would shadow the
        // type in its class body.
        "int",
        "str",
        "float",
        "bool",
        "list",
        "dict",
        "tuple",
        "datetime",
        "UUID",
        "Any",
        "Literal",
        "Annotated",
        "Field",
        "BaseModel",
        "ConfigDict",
    ];
    let mut attr = names::underscored(wire);
    if attr.starts_with(|c: char| c.is_ascii_digit()) || attr.is_empty() {
        attr.insert(0, '_');
    }
    if KEYWORDS.contains(&attr.as_str()) {
        attr.push('_');
    }
    let alias = (attr != wire).then(|| wire.to_owned());
    (attr, alias)
}

/// The Python spelling of a type reference.
pub(crate) fn py_type(ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "str".into(),
        TypeRef::Bool => "bool".into(),
        TypeRef::Integer { .. } => "int".into(),
        TypeRef::Float { .. } => "float".into(),
        TypeRef::DateTime => "datetime".into(),
        TypeRef::Uuid => "UUID".into(),
        TypeRef::Any => "Any".into(),
        TypeRef::Unit => "None".into(),
        TypeRef::Optional(inner) => format!("{} | None", py_type(inner)),
        TypeRef::Array(inner) => format!("list[{}]", py_type(inner)),
        TypeRef::Map(inner) => format!("dict[str, {}]", py_type(inner)),
        TypeRef::Tuple(items) => {
            let items: Vec<String> = items.iter().map(py_type).collect();
            format!("tuple[{}]", items.join(", "))
        }
        TypeRef::Named(name) => name.clone(),
    }
}

pub(crate) fn py_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}
