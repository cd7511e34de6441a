//! `types.go`: one Go type per model type, the generic tuple types and the
//! byte list, with the JSON methods that keep Rust's wire shape.

use std::fmt::Write as _;

use super::super::{ExternalVariant, Field, HEADER, TypeDef, TypeKind, TypeRef, Variant};
use super::doc::{comment, doc_lines, write_doc};
use super::layout::{align, wrap};
use super::plan::{Go, Scope, Union, def_refs, exported, go_string, imports, mentions};

impl Go<'_> {
    pub(super) fn types_file(&self, package: &str) -> String {
        let mut body = String::new();
        for def in self.model.types.values() {
            self.write_def(&mut body, def);
        }
        for (arity, name) in &self.tuples {
            write_tuple(&mut body, name, *arity);
        }
        if let Some(name) = &self.bytes {
            body.push_str(&BYTE_LIST.replace("Uint8List", name));
        }
        let refs: Vec<&TypeRef> = self.model.types.values().flat_map(def_refs).collect();
        let mut packages = Vec::new();
        if mentions(refs.iter().copied(), &TypeRef::Any)
            || !self.tuples.is_empty()
            || self.bytes.is_some()
        {
            packages.push("encoding/json");
        }
        if mentions(refs.iter().copied(), &TypeRef::DateTime) {
            packages.push("time");
        }
        format!(
            "// {HEADER}\n\npackage {package}\n{}{body}",
            imports(&packages)
        )
    }

    pub(super) fn write_def(&self, out: &mut String, def: &TypeDef) {
        let name = &self.types[def.name.as_str()];
        out.push('\n');
        match &def.kind {
            TypeKind::Struct(fields) => {
                write_doc(out, &def.doc, "");
                let mut rows = Vec::new();
                self.field_rows(&mut rows, fields, &mut Scope::default());
                write_struct(out, name, &rows);
            }
            TypeKind::StringEnum(values) => {
                write_doc(out, &def.doc, "");
                let _ = writeln!(out, "type {name} string");
                self.write_constants(out, def, name, values);
            }
            TypeKind::TaggedUnion { tag, variants } => self.write_union(out, def, tag, variants),
            TypeKind::ExternalUnion(variants) => self.write_external_union(out, def, variants),
            TypeKind::Alias(inner) => {
                write_doc(out, &def.doc, "");
                let alias = if self.needs_go_alias(inner, 0) {
                    "= "
                } else {
                    ""
                };
                let _ = writeln!(out, "type {name} {alias}{}", self.ty(inner));
            }
        }
    }

    /// One row per doc comment line and per field (name, type, tag).
    pub(super) fn field_rows(
        &self,
        rows: &mut Vec<Vec<String>>,
        fields: &[Field],
        scope: &mut Scope,
    ) {
        for field in fields {
            rows.extend(doc_lines(&field.doc).iter().map(|line| vec![comment(line)]));
            let omit = if field.required { "" } else { ",omitempty" };
            let tag = format!("json:{}", go_string(&format!("{}{omit}", field.name)));
            // A raw string when it can be one, as people write tags.
            let tag = if tag.contains(['`', '\\']) {
                go_string(&tag)
            } else {
                format!("`json:\"{}{omit}\"`", field.name)
            };
            rows.push(vec![
                scope.claim(&exported(&field.name)),
                self.field_ty(field),
                tag,
            ]);
        }
    }

    pub(super) fn write_constants(
        &self,
        out: &mut String,
        def: &TypeDef,
        name: &str,
        values: &[String],
    ) {
        if values.is_empty() {
            return;
        }
        let _ = write!(out, "\n// The values of {name}.\nconst (\n");
        let rows: Vec<Vec<String>> = self.constants[def.name.as_str()]
            .iter()
            .zip(values)
            .map(|(constant, value)| {
                vec![
                    constant.clone(),
                    name.to_owned(),
                    format!("= {}", go_string(value)),
                ]
            })
            .collect();
        for line in align(&rows) {
            let _ = writeln!(out, "\t{line}");
        }
        out.push_str(")\n");
    }

    /// The wrapper struct of a union and its sealed interface, documented
    /// with `wire`, how the union looks in JSON.
    fn write_union_head(&self, out: &mut String, def: &TypeDef, wire: &str) -> (&String, &Union) {
        let name = &self.types[def.name.as_str()];
        let union = &self.unions[def.name.as_str()];
        let list = match union.variants.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        let note = wrap(&format!("Value is one of {list}. {wire}"));
        let doc = if def.doc.is_empty() {
            note
        } else {
            format!("{}\n\n{note}", def.doc)
        };
        write_doc(out, &doc, "");
        write_struct(out, name, &[vec!["Value".into(), union.interface.clone()]]);
        out.push('\n');
        write_doc(
            out,
            &wrap(&format!(
                "{} is a variant of {name}: {list}.",
                union.interface
            )),
            "",
        );
        let _ = write!(
            out,
            "type {} interface {{\n\t{}() string\n}}\n",
            union.interface, union.tag_method
        );
        (name, union)
    }

    /// An externally tagged enum: the same wrapper and sealed interface as
    /// a tagged union; a data variant holds its payload in `Value`.
    pub(super) fn write_external_union(
        &self,
        out: &mut String,
        def: &TypeDef,
        variants: &[ExternalVariant],
    ) {
        let (name, union) = self.write_union_head(
            out,
            def,
            "In JSON a variant without data is its name as a string; any other is an object whose one key is the variant's name.",
        );
        for (variant, go) in variants.iter().zip(&union.variants) {
            out.push('\n');
            write_doc(out, &variant.doc, "");
            match &variant.payload {
                Some(payload) => write_struct(out, go, &[vec!["Value".into(), self.ty(payload)]]),
                None => write_struct(out, go, &[]),
            }
            let _ = write!(
                out,
                "\nfunc ({go}) {}() string {{\n\treturn {}\n}}\n",
                union.tag_method,
                go_string(&variant.name)
            );
        }
        let _ = write!(
            out,
            "
// MarshalJSON writes a variant without data as its name, any other as an
// object whose one key is its name.
func (u {name}) MarshalJSON() ([]byte, error) {{
\tswitch v := u.Value.(type) {{
\tcase nil:
\t\treturn nil, errNoVariant(\"{name}\")
"
        );
        for (variant, go) in variants.iter().zip(&union.variants) {
            if variant.payload.is_some() {
                let _ = write!(
                    out,
                    "\tcase {go}:\n\t\treturn marshalExternal({}, v.Value)\n",
                    go_string(&variant.name)
                );
            }
        }
        let _ = write!(
            out,
            "\tdefault:
\t\treturn marshalUnit(v.{}())
\t}}
}}

// UnmarshalJSON reads a variant's name (the string, or the object's one
// key), then its data.
func (u *{name}) UnmarshalJSON(data []byte) error {{
\tif string(data) == \"null\" {{
\t\treturn nil
\t}}
\ttag, payload, err := unmarshalExternal(data, \"{name}\")
\tif err != nil {{
\t\treturn err
\t}}
\tswitch tag {{
",
            union.tag_method
        );
        for (variant, go) in variants.iter().zip(&union.variants) {
            let wire = go_string(&variant.name);
            if variant.payload.is_some() {
                let _ = write!(
                    out,
                    "\tcase {wire}:\n\t\tvar value {go}\n\t\tif err := unmarshalPayload(payload, &value.Value, \"{name}\", tag); err != nil {{\n\t\t\treturn err\n\t\t}}\n\t\tu.Value = value\n"
                );
            } else {
                let _ = write!(out, "\tcase {wire}:\n\t\tu.Value = {go}{{}}\n");
            }
        }
        let _ = write!(
            out,
            "\tdefault:
\t\treturn unknownTag(\"{name}\", \"variant\", tag)
\t}}
\treturn nil
}}
"
        );
    }

    pub(super) fn write_union(
        &self,
        out: &mut String,
        def: &TypeDef,
        tag: &str,
        variants: &[Variant],
    ) {
        let wire = format!(
            "In JSON the variant's fields sit beside the {} field that names it.",
            go_string(tag)
        );
        let (name, union) = self.write_union_head(out, def, &wire);
        for (variant, go) in variants.iter().zip(&union.variants) {
            out.push('\n');
            self.write_variant(out, variant, go);
            let _ = write!(
                out,
                "\nfunc ({go}) {}() string {{\n\treturn {}\n}}\n",
                union.tag_method,
                go_string(&variant.tag_value)
            );
        }
        let tag = go_string(tag);
        let _ = write!(
            out,
            "
// MarshalJSON writes the variant's fields beside its {tag} tag.
func (u {name}) MarshalJSON() ([]byte, error) {{
	if u.Value == nil {{
		return nil, errNoVariant(\"{name}\")
	}}
	return marshalTagged({tag}, u.Value.{}(), u.Value)
}}

// UnmarshalJSON reads the {tag} tag, then the variant it names.
func (u *{name}) UnmarshalJSON(data []byte) error {{
	if string(data) == \"null\" {{
		return nil
	}}
	tag, err := unmarshalTag(data, {tag}, \"{name}\")
	if err != nil {{
		return err
	}}
	var value {}
	switch tag {{
",
            union.tag_method, union.interface
        );
        for (variant, go) in variants.iter().zip(&union.variants) {
            let _ = write!(
                out,
                "\tcase {}:\n\t\tvalue, err = unmarshalVariant[{go}](data)\n",
                go_string(&variant.tag_value)
            );
        }
        let _ = write!(
            out,
            "\tdefault:
		return unknownTag(\"{name}\", {tag}, tag)
	}}
	if err != nil {{
		return err
	}}
	u.Value = value
	return nil
}}
"
        );
    }

    /// A variant's struct: its base struct embedded, then its own fields.
    pub(super) fn write_variant(&self, out: &mut String, variant: &Variant, go: &str) {
        write_doc(out, &variant.doc, "");
        let mut rows = Vec::new();
        let mut scope = Scope::default();
        if let Some(base) = &variant.base {
            let base = self.ty(&TypeRef::Named(base.clone()));
            rows.push(vec![scope.claim(&base)]);
        }
        self.field_rows(&mut rows, &variant.fields, &mut scope);
        write_struct(out, go, &rows);
    }
}

pub(super) fn write_struct(out: &mut String, name: &str, rows: &[Vec<String>]) {
    if rows.is_empty() {
        let _ = writeln!(out, "type {name} struct{{}}");
        return;
    }
    let _ = writeln!(out, "type {name} struct {{");
    for line in align(rows) {
        let _ = writeln!(out, "\t{line}");
    }
    out.push_str("}\n");
}

/// A generic tuple type of `arity` items: fields `V0`..., a JSON array.
pub(super) fn write_tuple(out: &mut String, name: &str, arity: usize) {
    let params: Vec<String> = (0..arity).map(|i| format!("T{i}")).collect();
    let params = params.join(", ");
    let _ = write!(
        out,
        "\n// {name} is a fixed-length list of {arity} values (a Rust tuple), a JSON array\n// on the wire.\ntype {name}[{params} any] struct {{\n"
    );
    let rows: Vec<Vec<String>> = (0..arity)
        .map(|i| vec![format!("V{i}"), format!("T{i}")])
        .collect();
    for line in align(&rows) {
        let _ = writeln!(out, "\t{line}");
    }
    let values: Vec<String> = (0..arity).map(|i| format!("t.V{i}")).collect();
    let _ = write!(
        out,
        "}}

// MarshalJSON writes the values as a JSON array.
func (t {name}[{params}]) MarshalJSON() ([]byte, error) {{
	return json.Marshal([]any{{{}}})
}}

// UnmarshalJSON reads a JSON array of exactly {arity} values.
func (t *{name}[{params}]) UnmarshalJSON(data []byte) error {{
	if string(data) == \"null\" {{
		return nil
	}}
	items, err := unmarshalTuple(data, {arity})
	if err != nil {{
		return err
	}}
",
        values.join(", ")
    );
    for i in 0..arity - 1 {
        let _ = write!(
            out,
            "\tif err := json.Unmarshal(items[{i}], &t.V{i}); err != nil {{\n\t\treturn err\n\t}}\n"
        );
    }
    let last = arity - 1;
    let _ = write!(
        out,
        "\treturn json.Unmarshal(items[{last}], &t.V{last})\n}}\n"
    );
}

/// The byte-list type (its name replaced when taken).
pub(super) const BYTE_LIST: &str = "
// Uint8List is a list of bytes written as a JSON array of numbers, as Rust
// writes a Vec<u8> (encoding/json would write a []uint8 as a base64 string).
type Uint8List[T ~uint8] []T

// MarshalJSON writes the bytes as a JSON array of numbers.
func (l Uint8List[T]) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte(\"null\"), nil
	}
	numbers := make([]uint16, len(l))
	for i, b := range l {
		numbers[i] = uint16(b)
	}
	return json.Marshal(numbers)
}
";
