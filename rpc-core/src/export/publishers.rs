//! The Python and Node backend publishers: the fixed templates, with one
//! typed `publish_<family>` / `publish<Family>` per declared channel family
//! spliced in at their `wirecall:` marker lines. (Go's is in
//! go/publisher.rs, beside the rest of the Go package.)

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::python::{py_string, py_type};
use super::python_client::{adapter_name, import_list, py_channel_name, py_param, write_docstring};
use super::typescript::{ts_type, write_doc};
use super::typescript_client::{ts_channel_name, ts_params};
use super::{
    ApiModel, ChannelAddress, ChannelModel, ChannelSegment, ClientOptions, HEADER, TypeRef, names,
};

const PYTHON: &str = include_str!("templates/publisher.py");
const TYPESCRIPT: &str = include_str!("templates/publisher.ts");

/// The templates' default personal namespace, replaced by the server's.
const PY_NAMESPACE: &str = "PERSONAL_NAMESPACE = \"personal\"\n";
const TS_NAMESPACE: &str = "export const PERSONAL_NAMESPACE = \"personal\";\n";
/// Where the payload types' adapters go.
const PY_IMPORTS: &str = "# wirecall: the declared families' payload types and adapters.\n";
/// The template's import of the models, which the payload types join.
const PY_MODELS: &str = "from .models import (\n";
/// The standard library import that a `UUID` import follows.
const PY_LAST_STDLIB: &str = "from typing import Any, Callable, Sequence, TypeVar, cast\n";
const PY_SYNC: &str = "    # wirecall: one publish_<family> per declared channel family.\n";
const PY_ASYNC: &str =
    "    # wirecall: one publish_<family> per declared channel family, as coroutines.\n";
/// Where the template says that its import of the types gains the
/// payload types.
const TS_IMPORTS: &str = "// wirecall: the declared families' payload types.\n";
const TS_METHODS: &str = "  // wirecall: one publish<Family> per declared channel family.\n";

/// The default of the publishers' personal namespace: the server's when
/// the exporter knew it, else the server's own default.
pub(super) fn personal_namespace(options: &ClientOptions) -> &str {
    options.personal_namespace.as_deref().unwrap_or("personal")
}

/// The families a backend publishes into by typed parameters.
fn declared(model: &ApiModel) -> impl Iterator<Item = &ChannelModel> {
    model
        .channels
        .iter()
        .filter(|family| family.address == ChannelAddress::Pattern)
}

/// What a string parameter may not hold, by parameter: `(name, refused)`.
fn string_checks(family: &ChannelModel) -> impl Iterator<Item = (&str, &str)> {
    family.segments.iter().filter_map(|segment| match segment {
        ChannelSegment::Param { name, refused, .. } if !refused.is_empty() => {
            Some((name.as_str(), refused.as_str()))
        }
        _ => None,
    })
}

/// A typed method's doc: what it does, in lines short enough for the
/// linters, then the family's own doc.
fn summary(family: &ChannelModel) -> String {
    let mut doc = format!(
        "Publishes `payload` into `{}` (family `{}`).\n\nReturns its offset (0 without history).",
        family.pattern, family.name
    );
    if string_checks(family).next().is_some() {
        doc.push_str(
            " A string parameter that would\nchange the channel name's anatomy fails with `InvalidArgument`\nbefore anything is sent.",
        );
    }
    if !family.doc.is_empty() {
        let _ = write!(doc, "\n\n{}", family.doc);
    }
    doc
}

/// `python/publisher.py`.
pub(crate) fn python(model: &ApiModel, options: &ClientOptions) -> String {
    let (mut sync, mut coroutines) = (String::new(), String::new());
    let mut adapters = BTreeSet::new();
    for family in declared(model) {
        let payload = py_type(&family.payload);
        let adapter = adapter_name(&payload);
        adapters.insert(payload.clone());
        let name = names::snake(&family.name);
        let params: String = family
            .params()
            .map(|(param, ty)| format!(", {}: {}", py_publisher_param(param), py_type(ty)))
            .collect();
        let checks: String = string_checks(family)
            .map(|(param, refused)| {
                format!(
                    "        _part({}, {}, {})\n",
                    py_string(param),
                    py_publisher_param(param),
                    py_string(refused)
                )
            })
            .collect();
        let channel = py_channel_name(family, py_publisher_param);
        for (out, prefix, call) in [
            (&mut sync, "def", "self.publish"),
            (&mut coroutines, "async def", "await self.publish"),
        ] {
            let _ = writeln!(
                out,
                "\n    {prefix} publish_{name}(self{params}, payload: {payload}) -> int:"
            );
            write_docstring(out, &summary(family));
            out.push_str(&checks);
            let _ = writeln!(
                out,
                "        return {call}({channel}, _dump({adapter}, payload))"
            );
        }
    }
    // The names the methods' signatures use (not their docs, which may
    // name types that nothing imports).
    let uuid_params = declared(model)
        .flat_map(ChannelModel::params)
        .any(|(_, ty)| *ty == TypeRef::Uuid);
    let words: BTreeSet<&str> = adapters
        .iter()
        .flat_map(|py| py.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .collect();
    let mut text = PYTHON.to_owned();
    if uuid_params || words.contains("UUID") {
        text = text.replacen(
            PY_LAST_STDLIB,
            &format!("{PY_LAST_STDLIB}from uuid import UUID\n"),
            1,
        );
    }
    // The payload types join the template's own import of the models.
    let (before, rest) = text.split_once(PY_MODELS).unwrap_or((&text, ""));
    let (listed, after) = rest.split_once(")\n").unwrap_or(("", rest));
    let mut models: BTreeSet<&str> = listed
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    models.extend(
        model
            .types
            .keys()
            .map(String::as_str)
            .filter(|name| words.contains(name)),
    );
    let models: Vec<&str> = models.into_iter().collect();
    let mut text = format!("{before}{}{after}", import_list(".models", &models));
    let mut head = String::new();
    if !adapters.is_empty() {
        head.push('\n');
    }
    for py in &adapters {
        let _ = writeln!(
            head,
            "{}: TypeAdapter[{py}] = TypeAdapter({py})",
            adapter_name(py)
        );
    }
    let namespace = format!(
        "PERSONAL_NAMESPACE = {}\n",
        py_string(personal_namespace(options))
    );
    text = text
        .replacen(PY_NAMESPACE, &namespace, 1)
        .replacen(PY_IMPORTS, &head, 1)
        .replacen(PY_SYNC, &sync, 1)
        .replacen(PY_ASYNC, &coroutines, 1);
    format!("# {HEADER}\n\n{text}")
}

/// A channel parameter as a parameter of a `publish_<family>` method:
/// `payload` is the method's own.
fn py_publisher_param(name: &str) -> String {
    let param = py_param(name);
    if param == "payload" {
        "payload_".to_owned()
    } else {
        param
    }
}

/// The types the TypeScript template imports itself.
fn ts_template_imports() -> impl Iterator<Item = &'static str> {
    TYPESCRIPT
        .lines()
        .filter_map(|line| line.strip_prefix("import type {"))
        .flat_map(|line| line.split('}').next().unwrap_or("").split(','))
        .map(str::trim)
}

/// `typescript/publisher.ts`.
pub(crate) fn typescript(model: &ApiModel, options: &ClientOptions) -> String {
    let mut methods = String::new();
    let mut payloads = BTreeSet::new();
    for family in declared(model) {
        let payload = ts_type(&family.payload);
        payloads.insert(payload.clone());
        methods.push('\n');
        write_doc(&mut methods, &summary(family), "  ");
        let params = ts_params(family);
        let separator = if params.is_empty() { "" } else { ", " };
        let _ = writeln!(
            methods,
            "  async publish{}({params}{separator}payload: {payload}): Promise<number> {{",
            names::pascal(&family.name)
        );
        for (param, refused) in string_checks(family) {
            let _ = writeln!(
                methods,
                "    channelPart({}, params.{}, {});",
                serde_json::to_string(param).unwrap_or_default(),
                names::camel(param),
                serde_json::to_string(refused).unwrap_or_default()
            );
        }
        let _ = writeln!(
            methods,
            "    return this.publish({}, payload);\n  }}",
            ts_channel_name(family)
        );
    }
    let words: BTreeSet<&str> = payloads
        .iter()
        .flat_map(|ts| ts.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .collect();
    // The payload types join the template's own import of the types.
    let mut types: BTreeSet<&str> = ts_template_imports().collect();
    let own = format!(
        "import type {{ {} }} from \"./types.js\";\n",
        types.iter().copied().collect::<Vec<_>>().join(", ")
    );
    types.extend(
        model
            .types
            .keys()
            .map(String::as_str)
            .filter(|name| words.contains(name)),
    );
    let merged = format!(
        "import type {{ {} }} from \"./types.js\";\n",
        types.into_iter().collect::<Vec<_>>().join(", ")
    );
    let namespace = format!(
        "export const PERSONAL_NAMESPACE = {};\n",
        serde_json::to_string(personal_namespace(options)).unwrap_or_default()
    );
    let text = TYPESCRIPT
        .replacen(TS_NAMESPACE, &namespace, 1)
        .replacen(&own, &merged, 1)
        .replacen(TS_IMPORTS, "", 1)
        .replacen(TS_METHODS, &methods, 1);
    format!("// {HEADER}\n\n{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_have_their_markers() {
        for marker in [
            PY_NAMESPACE,
            PY_IMPORTS,
            PY_SYNC,
            PY_ASYNC,
            PY_MODELS,
            PY_LAST_STDLIB,
        ] {
            assert_eq!(PYTHON.matches(marker).count(), 1, "{marker}");
        }
        for marker in [TS_NAMESPACE, TS_IMPORTS, TS_METHODS] {
            assert_eq!(TYPESCRIPT.matches(marker).count(), 1, "{marker}");
        }
        let imported: Vec<_> = ts_template_imports().collect();
        assert_eq!(
            imported,
            ["NotificationKind", "PersonalMessage", "TaskEvent"]
        );
    }

    #[test]
    fn python_imports_what_the_signatures_use_not_what_the_docs_name() {
        let def = |name: &str| {
            let kind = super::super::TypeKind::Struct(Vec::new());
            let doc = String::new();
            let def = super::super::TypeDef {
                name: name.into(),
                doc,
                kind,
            };
            (name.to_owned(), def)
        };
        let family = ChannelModel {
            name: "room".into(),
            address: ChannelAddress::Pattern,
            pattern: "chat:{id}".into(),
            doc: "Not to be confused with `Other`.".into(),
            segments: vec![
                ChannelSegment::Literal("chat:".into()),
                ChannelSegment::Param {
                    name: "id".into(),
                    ty: TypeRef::Uuid,
                    refused: String::new(),
                },
            ],
            payload: TypeRef::Named("Message".into()),
            namespace: Some("chat".into()),
            user_limited: false,
        };
        let model = ApiModel {
            methods: Vec::new(),
            channels: vec![family],
            types: [def("Message"), def("Other")].into_iter().collect(),
        };
        let out = python(&model, &ClientOptions::default());
        assert!(out.contains("\n    Message,\n"), "{out}");
        assert!(!out.contains("\n    Other,\n"), "{out}");
        assert!(out.contains("\nfrom uuid import UUID\n"), "{out}");
        assert!(out.contains("def publish_room(self, id: UUID, payload: Message) -> int:"));
    }

    #[test]
    fn the_personal_namespace_defaults_to_the_servers() {
        let model = ApiModel {
            methods: Vec::new(),
            channels: Vec::new(),
            types: Default::default(),
        };
        let mut options = ClientOptions::default();
        assert!(python(&model, &options).contains("\nPERSONAL_NAMESPACE = \"personal\"\n"));
        options.personal_namespace = Some("me".into());
        assert!(python(&model, &options).contains("\nPERSONAL_NAMESPACE = \"me\"\n"));
        assert!(
            typescript(&model, &options).contains("\nexport const PERSONAL_NAMESPACE = \"me\";\n")
        );
    }
}
