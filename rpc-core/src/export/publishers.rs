//! The Python and Node backend publishers: the fixed templates, with one
//! typed `publish_<family>` / `publish<Family>` per declared channel family
//! spliced in at their `wirecall:` marker lines. (Go's is in
//! go/publisher.rs, beside the rest of the Go package.)

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::python::{py_string, py_type};
use super::python_client::{adapter_name, py_channel_name, py_param, write_docstring};
use super::typescript::{ts_type, write_doc};
use super::typescript_client::{ts_channel_name, ts_params};
use super::{
    ApiModel, ChannelAddress, ChannelModel, ChannelSegment, ClientOptions, HEADER, TypeRef, names,
};
use crate::family::integer_range;

const PYTHON: &str = include_str!("templates/publisher.py");
const TYPESCRIPT: &str = include_str!("templates/publisher.ts");

/// The templates' default personal namespace, replaced by the server's.
const PY_NAMESPACE: &str = "PERSONAL_NAMESPACE = \"personal\"\n";
const TS_NAMESPACE: &str = "export const PERSONAL_NAMESPACE = \"personal\";\n";
/// Where the models module and the payload types' adapters go.
const PY_IMPORTS: &str = "# wirecall: the declared families' payload types and adapters.\n";
const PY_SYNC: &str = "    # wirecall: one publish_<family> per declared channel family.\n";
const PY_ASYNC: &str =
    "    # wirecall: one publish_<family> per declared channel family, as coroutines.\n";
/// Where the types module goes.
const TS_IMPORTS: &str = "// wirecall: the declared families' payload types.\n";
const TS_METHODS: &str = "  // wirecall: one publish<Family> per declared channel family.\n";

/// The payload types are named through these modules, so that they never
/// meet the templates' own names (a model called `Client` or `Refused`).
const PY_MODELS: &str = "_models";
const TS_TYPES: &str = "Types";

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

/// What a publisher checks of a channel parameter before it sends
/// anything: a value the Rust typed publisher would refuse, or one that
/// names another channel, fails with `InvalidArgument`.
pub(super) enum ParamCheck<'a> {
    /// Non-empty, without whitespace, control characters or `refused`.
    String { refused: &'a str },
    /// Within the Rust type's range (a whole number in languages whose
    /// numbers are not typed so).
    Integer { min: i128, max: i128 },
    /// A UUID, which the name holds in lower case.
    Uuid,
}

/// Each parameter with its check, in pattern order.
pub(super) fn param_checks(family: &ChannelModel) -> impl Iterator<Item = (&str, ParamCheck<'_>)> {
    family.segments.iter().filter_map(|segment| match segment {
        ChannelSegment::Param { name, ty, refused } => {
            let check = match *ty {
                TypeRef::Uuid => ParamCheck::Uuid,
                TypeRef::Integer { bits, signed } => {
                    let (min, max) = integer_range(bits, signed);
                    ParamCheck::Integer { min, max }
                }
                _ => ParamCheck::String { refused },
            };
            Some((name.as_str(), check))
        }
        ChannelSegment::Literal(_) => None,
    })
}

/// `ty` with each model type's name qualified by `module`
/// (`list[ChatMessage]` → `list[_models.ChatMessage]`).
fn qualified(ty: &str, model: &ApiModel, module: &str) -> String {
    let mut out = String::with_capacity(ty.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if model.types.contains_key(word.as_str()) {
            let _ = write!(out, "{module}.");
        }
        out.push_str(word);
        word.clear();
    };
    for c in ty.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A typed method's doc: what it does, in lines short enough for the
/// linters, then the family's own doc.
fn summary(family: &ChannelModel) -> String {
    let mut doc = format!(
        "Publishes `payload` into `{}` (family `{}`).\n\nReturns its offset (0 without history). A parameter that would make\nanother channel's name (or none) fails with `InvalidArgument`\nbefore anything is sent.",
        family.pattern, family.name
    );
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
        let payload = qualified(&payload, model, PY_MODELS);
        let name = names::snake(&family.name);
        let params: String = family
            .params()
            .map(|(param, ty)| format!(", {}: {}", py_publisher_param(param), py_type(ty)))
            .collect();
        let mut checks = String::new();
        for (param, check) in param_checks(family) {
            let (name, value) = (py_string(param), py_publisher_param(param));
            let _ = match check {
                ParamCheck::String { refused } => writeln!(
                    checks,
                    "        _part({name}, {value}, {})",
                    py_string(refused)
                ),
                ParamCheck::Integer { min, max } => {
                    writeln!(checks, "        _integer({name}, {value}, {min}, {max})")
                }
                ParamCheck::Uuid => writeln!(checks, "        _uuid({name}, {value})"),
            };
        }
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
    let mut head = String::new();
    if !adapters.is_empty() {
        let _ = writeln!(head, "from . import models as {PY_MODELS}\n");
    }
    for py in &adapters {
        let qualified = qualified(py, model, PY_MODELS);
        let _ = writeln!(
            head,
            "{}: TypeAdapter[{qualified}] = TypeAdapter({qualified})",
            adapter_name(py)
        );
    }
    let namespace = format!(
        "PERSONAL_NAMESPACE = {}\n",
        py_string(personal_namespace(options))
    );
    let text = PYTHON
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

/// The largest integer a JavaScript number holds exactly.
const JS_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// `typescript/publisher.ts`.
pub(crate) fn typescript(model: &ApiModel, options: &ClientOptions) -> String {
    let mut methods = String::new();
    for family in declared(model) {
        let payload = qualified(&ts_type(&family.payload), model, TS_TYPES);
        methods.push('\n');
        write_doc(&mut methods, &summary(family), "  ");
        let params = ts_params(family);
        let separator = if params.is_empty() { "" } else { ", " };
        let _ = writeln!(
            methods,
            "  async publish{}({params}{separator}payload: {payload}): Promise<number> {{",
            names::pascal(&family.name)
        );
        for (param, check) in param_checks(family) {
            let name = serde_json::to_string(param).unwrap_or_default();
            let value = format!("params.{}", names::camel(param));
            let _ = match check {
                ParamCheck::String { refused } => writeln!(
                    methods,
                    "    channelPart({name}, {value}, {});",
                    serde_json::to_string(refused).unwrap_or_default()
                ),
                ParamCheck::Integer { min, max } => writeln!(
                    methods,
                    "    channelInteger({name}, {value}, {}, {});",
                    min.max(-JS_SAFE_INTEGER),
                    max.min(JS_SAFE_INTEGER)
                ),
                ParamCheck::Uuid => writeln!(methods, "    channelUuid({name}, {value});"),
            };
        }
        let _ = writeln!(
            methods,
            "    return this.publish({}, payload);\n  }}",
            ts_channel_name(family)
        );
    }
    let imports = if methods.is_empty() {
        String::new()
    } else {
        format!("import type * as {TS_TYPES} from \"./types.js\";\n")
    };
    let namespace = format!(
        "export const PERSONAL_NAMESPACE = {};\n",
        serde_json::to_string(personal_namespace(options)).unwrap_or_default()
    );
    let text = TYPESCRIPT
        .replacen(TS_NAMESPACE, &namespace, 1)
        .replacen(TS_IMPORTS, &imports, 1)
        .replacen(TS_METHODS, &methods, 1);
    format!("// {HEADER}\n\n{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_have_their_markers() {
        for marker in [PY_NAMESPACE, PY_IMPORTS, PY_SYNC, PY_ASYNC] {
            assert_eq!(PYTHON.matches(marker).count(), 1, "{marker}");
        }
        for marker in [TS_NAMESPACE, TS_IMPORTS, TS_METHODS] {
            assert_eq!(TYPESCRIPT.matches(marker).count(), 1, "{marker}");
        }
    }

    #[test]
    fn payload_types_are_named_through_their_module_and_parameters_are_checked() {
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
        let param = |name: &str, ty| ChannelSegment::Param {
            name: name.into(),
            ty,
            refused: String::new(),
        };
        let family = ChannelModel {
            name: "room".into(),
            address: ChannelAddress::Pattern,
            pattern: "chat:{id}.{n}".into(),
            doc: String::new(),
            segments: vec![
                ChannelSegment::Literal("chat:".into()),
                param("id", TypeRef::Uuid),
                ChannelSegment::Literal(".".into()),
                param(
                    "n",
                    TypeRef::Integer {
                        bits: 64,
                        signed: false,
                    },
                ),
            ],
            // Named like the HTTP client the Python template uses.
            payload: TypeRef::Array(Box::new(TypeRef::Named("Client".into()))),
            namespace: Some("chat".into()),
            user_limited: false,
        };
        let model = ApiModel {
            methods: Vec::new(),
            channels: vec![family],
            types: [def("Client")].into_iter().collect(),
        };
        let py = python(&model, &ClientOptions::default());
        assert!(py.contains("\nfrom . import models as _models\n"), "{py}");
        assert!(py.contains("\n_LIST_CLIENT: TypeAdapter[list[_models.Client]] = TypeAdapter(list[_models.Client])\n"));
        assert!(py.contains(
            "def publish_room(self, id: UUID, n: int, payload: list[_models.Client]) -> int:"
        ));
        assert!(py.contains(
            "\n        _uuid(\"id\", id)\n        _integer(\"n\", n, 0, 18446744073709551615)\n"
        ));
        assert!(
            py.contains("self._client = Client(url"),
            "the template's own Client"
        );
        let ts = typescript(&model, &ClientOptions::default());
        assert!(
            ts.contains("\nimport type * as Types from \"./types.js\";\n"),
            "{ts}"
        );
        assert!(
            ts.contains("payload: Types.Client[]): Promise<number> {"),
            "{ts}"
        );
        assert!(ts.contains("channelUuid(\"id\", params.id);\n    channelInteger(\"n\", params.n, 0, 9007199254740991);"));
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
