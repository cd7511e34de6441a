//! The Rust client (`rust/api.rs`): the API's types with serde
//! attributes that read and write the same JSON as the service's own, one
//! marker per method implementing [`crate::Method`], so
//! `wirecall_client::Client::call::<tasks_get_stats>(params)` checks both
//! types without linking the service's handlers, and one marker per
//! channel family implementing [`crate::ChannelFamily`]. A module file, not a
//! crate: the user's crate owns the dependencies (serde, serde_json,
//! wirecall-core, and chrono or uuid when the API uses them).

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{
    ApiModel, ChannelAddress, ChannelModel, ChannelSegment, ClientOptions, Field, HEADER, TypeDef,
    TypeKind, TypeRef, Variant, names,
};
use crate::export::files::GeneratedFile;

/// `rust/api.rs` and `rust/README.md`.
pub(crate) fn files(model: &ApiModel, options: &ClientOptions) -> Vec<GeneratedFile> {
    vec![
        GeneratedFile::new("rust/api.rs", module(model)),
        GeneratedFile::new("rust/README.md", super::readme::rust(model, options)),
    ]
}

/// The module: every type, then every marker.
pub(crate) fn module(model: &ApiModel) -> String {
    let mut out = format!(
        "// {HEADER}\n\n//! The API's types, method markers for `wirecall_client::Client::call`, and channel family markers for `subscribe_family`.\n\n\
         #![allow(non_camel_case_types, dead_code, clippy::all)]\n\nuse serde::{{Deserialize, Serialize}};\n"
    );
    for def in model.types.values() {
        out.push('\n');
        write_def(&mut out, def);
    }
    for method in &model.methods {
        out.push('\n');
        write_doc(&mut out, &method.doc, "");
        let marker = marker(&method.name);
        let params = method.params.as_ref().map_or("()".to_owned(), rust_type);
        let _ = write!(
            out,
            "pub enum {marker} {{}}\n\nimpl wirecall_core::Method for {marker} {{\n    const NAME: &'static str = {:?};\n    type Params = {params};\n    type Output = {};\n}}\n",
            method.name,
            rust_type(&method.result),
        );
    }
    for family in &model.channels {
        if family.address == ChannelAddress::Pattern {
            out.push('\n');
            write_family(&mut out, model, family);
        }
    }
    out
}

/// A declared family: its parameters' struct and its marker implementing
/// `wirecall_core::ChannelFamily`, so `Client::subscribe_family::<chat_room>`
/// and `publisher.channel::<chat_room>` work without the service's code.
fn write_family(out: &mut String, model: &ApiModel, family: &ChannelModel) {
    let pascal = names::pascal(&family.name);
    // The service's struct has this name; a model type may have it too.
    let params = if model.types.contains_key(&pascal) {
        format!("{pascal}Channel")
    } else {
        pascal
    };
    let marker = identifier(&family.name);
    write_doc(out, &family.doc, "");
    out.push_str("#[derive(Debug, Clone, PartialEq)]\n");
    let fields: Vec<(String, String)> = family
        .params()
        .map(|(name, ty)| (identifier(name), rust_type(ty)))
        .collect();
    if fields.is_empty() {
        let _ = writeln!(out, "pub struct {params};");
    } else {
        let _ = writeln!(out, "pub struct {params} {{");
        for (name, ty) in &fields {
            let _ = writeln!(out, "    pub {name}: {ty},");
        }
        out.push_str("}\n");
    }
    let segments: Vec<String> = family
        .segments
        .iter()
        .map(|segment| match segment {
            ChannelSegment::Literal(text) => format!("wirecall_core::Segment::Literal({text:?})"),
            ChannelSegment::Param { name, ty, .. } => format!(
                "wirecall_core::Segment::Param {{ name: {name:?}, kind: {} }}",
                param_kind(ty)
            ),
        })
        .collect();
    let values: Vec<String> = fields
        .iter()
        .map(|(name, _)| format!("&params.{name}"))
        .collect();
    let pattern = &family.pattern;
    let binding = if values.is_empty() {
        "_params"
    } else {
        "params"
    };
    let _ = writeln!(out, "\n/// Typed marker of the channel family `{pattern}`.");
    let _ = writeln!(out, "pub enum {marker} {{}}\n");
    let _ = writeln!(out, "impl wirecall_core::ChannelFamily for {marker} {{");
    let _ = writeln!(out, "    const NAME: &'static str = {:?};", family.name);
    let _ = writeln!(out, "    const PATTERN: &'static str = {pattern:?};");
    let _ = writeln!(
        out,
        "    const SEGMENTS: &'static [wirecall_core::Segment] = &[{}];",
        segments.join(", ")
    );
    let _ = writeln!(out, "    type Params = {params};");
    let _ = writeln!(out, "    type Payload = {};\n", rust_type(&family.payload));
    let _ = writeln!(
        out,
        "    fn channel({binding}: &{params}) -> Result<String, wirecall_core::RpcError> {{"
    );
    let _ = writeln!(
        out,
        "        wirecall_core::channel_name(Self::SEGMENTS, &[{}])",
        values.join(", ")
    );
    out.push_str("    }\n}\n");
}

/// The `ParamKind` of a parameter's type.
fn param_kind(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Integer { bits, signed } => {
            format!("wirecall_core::ParamKind::Integer {{ bits: {bits}, signed: {signed} }}")
        }
        TypeRef::Uuid => "wirecall_core::ParamKind::Uuid".to_owned(),
        _ => "wirecall_core::ParamKind::String".to_owned(),
    }
}

/// The marker's name, as the attribute spells it: dots become
/// underscores, a leading digit gets `_`, keywords are raw identifiers.
pub(crate) fn marker(method: &str) -> String {
    let mut name = method.replace('.', "_");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    identifier(&name)
}

fn write_doc(out: &mut String, doc: &str, indent: &str) {
    for line in doc.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

fn write_def(out: &mut String, def: &TypeDef) {
    write_doc(out, &def.doc, "");
    let name = &def.name;
    match &def.kind {
        TypeKind::Struct(fields) => {
            out.push_str("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\n");
            let _ = writeln!(out, "pub struct {name} {{");
            write_fields(out, name, fields, "    ", "pub ");
            out.push_str("}\n");
        }
        TypeKind::StringEnum(values) => {
            out.push_str(
                "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]\n",
            );
            let _ = writeln!(out, "pub enum {name} {{");
            for (variant, value) in variant_names(values.iter().map(String::as_str)) {
                let _ = writeln!(out, "    #[serde(rename = {value:?})]\n    {variant},");
            }
            out.push_str("}\n");
        }
        TypeKind::TaggedUnion { tag, variants } => {
            out.push_str("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\n");
            let _ = writeln!(out, "#[serde(tag = {tag:?})]\npub enum {name} {{");
            let tags = variants.iter().map(|v| v.tag_value.as_str());
            for ((ident, _), variant) in variant_names(tags).into_iter().zip(variants) {
                write_doc(out, &variant.doc, "    ");
                let _ = writeln!(out, "    #[serde(rename = {:?})]", variant.tag_value);
                write_tagged_variant(out, name, &ident, variant);
            }
            out.push_str("}\n");
        }
        TypeKind::ExternalUnion(variants) => {
            out.push_str("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\n");
            let _ = writeln!(out, "pub enum {name} {{");
            let names = variants.iter().map(|v| v.name.as_str());
            for ((ident, wire), variant) in variant_names(names).into_iter().zip(variants) {
                write_doc(out, &variant.doc, "    ");
                let _ = writeln!(out, "    #[serde(rename = {wire:?})]");
                match &variant.payload {
                    None => {
                        let _ = writeln!(out, "    {ident},");
                    }
                    Some(ty) => {
                        let _ = writeln!(out, "    {ident}({}),", boxed(name, ty));
                    }
                }
            }
            out.push_str("}\n");
        }
        TypeKind::Alias(ty) => {
            let _ = writeln!(out, "pub type {name} = {};", rust_type(ty));
        }
    }
}

/// A variant of an internally tagged enum: a newtype of its base struct,
/// a struct variant of its fields (with the base flattened in), or unit.
fn write_tagged_variant(out: &mut String, owner: &str, ident: &str, variant: &Variant) {
    match (&variant.base, variant.fields.is_empty()) {
        (None, true) => {
            let _ = writeln!(out, "    {ident},");
        }
        (Some(base), true) => {
            let _ = writeln!(out, "    {ident}({base}),");
        }
        (base, false) => {
            let _ = writeln!(out, "    {ident} {{");
            if let Some(base) = base {
                let _ = writeln!(out, "        #[serde(flatten)]\n        base: {base},");
            }
            write_fields(out, owner, &variant.fields, "        ", "");
            out.push_str("    },\n");
        }
    }
}

/// Fields with their wire names: a field that may be absent is an
/// `Option` left out when `None`, so the service applies its default.
fn write_fields(out: &mut String, owner: &str, fields: &[Field], indent: &str, vis: &str) {
    let mut taken = HashSet::new();
    for field in fields {
        write_doc(out, &field.doc, indent);
        let mut ident = identifier(&snake_field(&field.name));
        while !taken.insert(ident.clone()) {
            ident.push('_');
        }
        let mut attributes = Vec::new();
        if ident.trim_start_matches("r#") != field.name {
            attributes.push(format!("rename = {:?}", field.name));
        }
        let ty = if field.required {
            boxed(owner, &field.ty)
        } else {
            attributes.push("default, skip_serializing_if = \"Option::is_none\"".to_owned());
            match &field.ty {
                TypeRef::Optional(_) => boxed(owner, &field.ty),
                other => format!("Option<{}>", boxed(owner, other)),
            }
        };
        if !attributes.is_empty() {
            let _ = writeln!(out, "{indent}#[serde({})]", attributes.join(", "));
        }
        let _ = writeln!(out, "{indent}{vis}{ident}: {ty},");
    }
}

/// A field's Rust name: snake case (`userId` → `user_id`), letters,
/// digits and `_` only, never starting with a digit.
fn snake_field(wire: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in names::underscored(wire).chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `ty`, boxed where it holds `owner` itself without a list or map in
/// between (a type cannot contain itself by value).
fn boxed(owner: &str, ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(name) if name == owner => format!("Box<{name}>"),
        TypeRef::Optional(inner) => format!("Option<{}>", boxed(owner, inner)),
        other => rust_type(other),
    }
}

/// Variant identifiers (PascalCase, unique) beside their wire names.
fn variant_names<'a>(wire: impl Iterator<Item = &'a str>) -> Vec<(String, &'a str)> {
    let mut taken = HashSet::new();
    wire.map(|value| {
        let mut ident = names::pascal(value);
        if !ident.starts_with(|c: char| c.is_ascii_alphabetic()) {
            ident.insert(0, 'V');
        }
        while !taken.insert(ident.clone()) {
            ident.push('_');
        }
        (identifier(&ident), value)
    })
    .collect()
}

/// A raw identifier for a keyword; `self`, `super`, `crate` and `Self`
/// cannot be raw, so they get `_`.
fn identifier(name: &str) -> String {
    const STRICT: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern",
        "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "try", "type",
        "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
        "override", "priv", "typeof", "unsized", "virtual", "yield",
    ];
    match name {
        "self" | "super" | "crate" | "Self" => format!("{name}_"),
        _ if name.is_empty() => "_unnamed".to_owned(),
        _ if STRICT.contains(&name) => format!("r#{name}"),
        _ => name.to_owned(),
    }
}

/// The Rust spelling of a type reference.
pub(crate) fn rust_type(ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "String".into(),
        TypeRef::Bool => "bool".into(),
        TypeRef::Integer { bits, signed } => format!("{}{bits}", if *signed { 'i' } else { 'u' }),
        TypeRef::Float { bits } => format!("f{bits}"),
        TypeRef::DateTime => "chrono::DateTime<chrono::Utc>".into(),
        TypeRef::Uuid => "uuid::Uuid".into(),
        TypeRef::Any => "serde_json::Value".into(),
        TypeRef::Unit => "()".into(),
        TypeRef::Optional(inner) => format!("Option<{}>", rust_type(inner)),
        TypeRef::Array(inner) => format!("Vec<{}>", rust_type(inner)),
        TypeRef::Map(inner) => format!("std::collections::BTreeMap<String, {}>", rust_type(inner)),
        TypeRef::Tuple(items) => {
            let items: Vec<String> = items.iter().map(rust_type).collect();
            match items.as_slice() {
                [one] => format!("({one},)"),
                _ => format!("({})", items.join(", ")),
            }
        }
        TypeRef::Named(name) => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::{identifier, marker, snake_field};

    #[test]
    fn names_are_valid_rust() {
        assert_eq!(marker("tasks.get_stats"), "tasks_get_stats");
        assert_eq!(marker("2fa.check"), "_2fa_check");
        assert_eq!(marker("type"), "r#type");
        assert_eq!(identifier("self"), "self_");
        assert_eq!(snake_field("userId"), "user_id");
        assert_eq!(snake_field("task-id"), "task_id");
        assert_eq!(snake_field("1st"), "_1st");
        assert_eq!(identifier(&snake_field("type")), "r#type");
    }
}
