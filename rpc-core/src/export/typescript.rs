//! TypeScript types (`types.ts`) from the model: interfaces for structs,
//! string-literal unions for unit enums, discriminated unions for tagged
//! enums, unions of strings and one-key objects for externally tagged ones. Integers and floats are `number`; date-times and UUIDs are ISO
//! strings; `Option<T>` fields are `field?: T | null`.

use std::fmt::Write as _;

use super::{ApiModel, Field, HEADER, TypeDef, TypeKind, TypeRef, Variant};

/// `types.ts` for every named type of the model, sorted by name.
pub fn typescript_types(model: &ApiModel) -> String {
    let mut out = format!("// {HEADER}\n");
    for def in model.types.values() {
        out.push('\n');
        write_def(&mut out, def);
    }
    out
}

pub(crate) fn write_doc(out: &mut String, doc: &str, indent: &str) {
    if doc.is_empty() {
        return;
    }
    let lines: Vec<&str> = doc.lines().collect();
    if let [line] = lines.as_slice() {
        let _ = writeln!(out, "{indent}/** {} */", line.replace("*/", "*\\/"));
        return;
    }
    let _ = writeln!(out, "{indent}/**");
    for line in lines {
        let line = line.replace("*/", "*\\/");
        if line.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {line}");
        }
    }
    let _ = writeln!(out, "{indent} */");
}

fn write_def(out: &mut String, def: &TypeDef) {
    write_doc(out, &def.doc, "");
    let name = &def.name;
    match &def.kind {
        TypeKind::Struct(fields) => {
            let _ = writeln!(out, "export interface {name} {{");
            write_fields(out, fields, "  ");
            out.push_str("}\n");
        }
        TypeKind::StringEnum(values) => {
            let union: Vec<String> = values.iter().map(|v| string_literal(v)).collect();
            let _ = writeln!(out, "export type {name} = {};", union.join(" | "));
        }
        TypeKind::TaggedUnion { tag, variants } => {
            let _ = writeln!(out, "export type {name} =");
            for (i, variant) in variants.iter().enumerate() {
                let end = if i + 1 == variants.len() { ";" } else { "" };
                write_doc(out, &variant.doc, "  ");
                let _ = writeln!(out, "  | {}{end}", variant_type(tag, variant));
            }
        }
        TypeKind::ExternalUnion(variants) => {
            let _ = writeln!(out, "export type {name} =");
            for (i, variant) in variants.iter().enumerate() {
                let end = if i + 1 == variants.len() { ";" } else { "" };
                write_doc(out, &variant.doc, "  ");
                let member = match &variant.payload {
                    None => string_literal(&variant.name),
                    Some(ty) => format!("{{ {}: {} }}", property_name(&variant.name), ts_type(ty)),
                };
                let _ = writeln!(out, "  | {member}{end}");
            }
        }
        TypeKind::Alias(ty) => {
            let _ = writeln!(out, "export type {name} = {};", ts_type(ty));
        }
    }
}

fn write_fields(out: &mut String, fields: &[Field], indent: &str) {
    for field in fields {
        write_doc(out, &field.doc, indent);
        let optional = if field.required { "" } else { "?" };
        let _ = writeln!(
            out,
            "{indent}{}{optional}: {};",
            property_name(&field.name),
            ts_type(&field.ty)
        );
    }
}

fn variant_type(tag: &str, variant: &Variant) -> String {
    let mut members = vec![format!(
        "{}: {}",
        property_name(tag),
        string_literal(&variant.tag_value)
    )];
    for field in &variant.fields {
        let optional = if field.required { "" } else { "?" };
        members.push(format!(
            "{}{optional}: {}",
            property_name(&field.name),
            ts_type(&field.ty)
        ));
    }
    let object = format!("{{ {} }}", members.join("; "));
    match &variant.base {
        Some(base) => format!("({object} & {base})"),
        None => object,
    }
}

/// The TypeScript spelling of a type reference.
pub(crate) fn ts_type(ty: &TypeRef) -> String {
    match ty {
        TypeRef::String | TypeRef::DateTime | TypeRef::Uuid => "string".into(),
        TypeRef::Bool => "boolean".into(),
        TypeRef::Integer { .. } | TypeRef::Float { .. } => "number".into(),
        TypeRef::Any => "unknown".into(),
        TypeRef::Unit => "null".into(),
        TypeRef::Optional(inner) => format!("{} | null", ts_type(inner)),
        TypeRef::Array(inner) => match **inner {
            TypeRef::Optional(_) => format!("({})[]", ts_type(inner)),
            _ => format!("{}[]", ts_type(inner)),
        },
        TypeRef::Map(inner) => format!("Record<string, {}>", ts_type(inner)),
        TypeRef::Tuple(items) => {
            let items: Vec<String> = items.iter().map(ts_type).collect();
            format!("[{}]", items.join(", "))
        }
        TypeRef::Named(name) => name.clone(),
    }
}

/// A property name as written in an object type: bare when it is an
/// identifier, quoted otherwise.
fn property_name(name: &str) -> String {
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

fn string_literal(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}
