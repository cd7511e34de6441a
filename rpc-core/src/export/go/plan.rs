//! Every Go name of the package, decided once from the model (so that
//! types.go, client.go and the README agree), and the Go spelling of each
//! type reference.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::super::{
    ApiModel, ChannelAddress, ChannelModel, Field, MethodModel, TypeDef, TypeKind, TypeRef, names,
};
/// Exported package-level names of the runtime and client.go: model types
/// never take them.
pub(super) const RESERVED: &[&str] = &[
    "APIClient",
    "CentrifugoRPCClient",
    "ConnectError",
    "ErrInvalidArgument",
    "ErrUnauthorized",
    "ErrUnexpectedResponse",
    "ErrUnreachable",
    "FileOptions",
    "NewAPIClient",
    "NewCentrifugoRPCClient",
    "NewProtobufAPIClient",
    "NewProtobufCentrifugoRPCClient",
    "NewPublisher",
    "NotificationOptions",
    "NotificationTypes",
    "PersonalNamespace",
    "Publisher",
    "PublisherOptions",
    "RPCError",
    "RefusedError",
    "Subscription",
    "TaskNotifier",
];

/// `APIClient`'s own members: RPC methods never take them.
pub(super) const CLIENT_MEMBERS: &[&str] = &["Close", "Connect", "Disconnect", "RPC"];

/// Identifiers handed out once each: `claim` gives the wanted name, or the
/// first free of `wanted2`, `wanted3`, ...
#[derive(Debug, Default)]
pub(super) struct Scope(BTreeSet<String>);

impl Scope {
    pub(super) fn with(reserved: &[&str]) -> Self {
        Self(reserved.iter().map(|name| (*name).to_owned()).collect())
    }

    pub(super) fn claim(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        let mut n = 2;
        while self.0.contains(&name) {
            name = format!("{wanted}{n}");
            n += 1;
        }
        self.0.insert(name.clone());
        name
    }
}

/// An exported Go identifier from the words of a wire name (`task_id` →
/// `TaskId`, `class` → `Class`, `2fa` → `X2fa`, `_` → `Field`).
pub(super) fn exported(wire: &str) -> String {
    let pascal = names::pascal(wire);
    match pascal.chars().next() {
        None => "Field".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("X{pascal}"),
        Some(_) => pascal,
    }
}

/// The Go name of a model type: its Rust name when that is an exported Go
/// identifier, otherwise the closest one (`my_type` → `My_type`).
pub(super) fn type_name(name: &str) -> String {
    let mut out = names::underscored(name);
    match out.chars().next() {
        Some(c) if c.is_ascii_lowercase() => out[..1].make_ascii_uppercase(),
        Some(c) if c.is_ascii_uppercase() => {}
        _ => out.insert(0, 'T'),
    }
    out
}

/// `eventTag`: the unexported method that seals a union's interface.
pub(super) fn tag_method(union: &str) -> String {
    let mut chars = union.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase()).unwrap_or('u');
    format!("{first}{}Tag", chars.as_str())
}

/// A Go interpreted string literal (JSON's escapes are all Go escapes).
pub(super) fn go_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}

/// The names of a tagged union's parts.
#[derive(Debug)]
pub(super) struct Union {
    /// `EventVariant`.
    pub(super) interface: String,
    /// `eventTag`.
    pub(super) tag_method: String,
    /// `EventMoved`, one per variant in order.
    pub(super) variants: Vec<String>,
}

impl Union {
    /// The names of union `go` whose variants have these tags.
    fn claim<'t>(scope: &mut Scope, go: &str, tags: impl Iterator<Item = &'t str>) -> Self {
        Self {
            interface: scope.claim(&format!("{go}Variant")),
            tag_method: tag_method(go),
            variants: tags
                .map(|tag| scope.claim(&format!("{go}{}", names::pascal(tag))))
                .collect(),
        }
    }
}

/// Every name of the package, decided once from the model so that
/// types.go, client.go and the README agree.
#[derive(Debug)]
pub(super) struct Go<'a> {
    pub(super) model: &'a ApiModel,
    /// Model type name → Go type name.
    pub(super) types: BTreeMap<&'a str, String>,
    /// Tagged union (model name) → the names of its parts.
    pub(super) unions: BTreeMap<&'a str, Union>,
    /// Unit enum (model name) → one constant per value.
    pub(super) constants: BTreeMap<&'a str, Vec<String>>,
    /// Arity → generic tuple type, for the arities in use.
    pub(super) tuples: BTreeMap<usize, String>,
    /// The byte-list type, when a `Vec<u8>` is in use.
    pub(super) bytes: Option<String>,
    /// The Go method of each RPC method, in model order.
    pub(super) methods: Vec<String>,
    /// The `Subscribe…` method of each channel family, in model order.
    pub(super) families: Vec<String>,
}

impl<'a> Go<'a> {
    pub(super) fn new(model: &'a ApiModel) -> Self {
        let mut scope = Scope::with(RESERVED);
        // Model types first: their names are the ones users know.
        let types: BTreeMap<&str, String> = model
            .types
            .keys()
            .map(|name| (name.as_str(), scope.claim(&type_name(name))))
            .collect();
        let mut unions = BTreeMap::new();
        let mut constants = BTreeMap::new();
        for def in model.types.values() {
            let go = &types[def.name.as_str()];
            match &def.kind {
                TypeKind::TaggedUnion { variants, .. } => {
                    let tags = variants.iter().map(|v| v.tag_value.as_str());
                    unions.insert(def.name.as_str(), Union::claim(&mut scope, go, tags));
                }
                TypeKind::ExternalUnion(variants) => {
                    let tags = variants.iter().map(|v| v.name.as_str());
                    unions.insert(def.name.as_str(), Union::claim(&mut scope, go, tags));
                }
                TypeKind::StringEnum(values) => {
                    let names = values
                        .iter()
                        .map(|value| scope.claim(&format!("{go}{}", names::pascal(value))))
                        .collect();
                    constants.insert(def.name.as_str(), names);
                }
                TypeKind::Struct(_) | TypeKind::Alias(_) => {}
            }
        }
        let mut arities = BTreeSet::new();
        let mut bytes = false;
        for_each_ref(model, |ty| match ty {
            TypeRef::Tuple(items) if !items.is_empty() => {
                arities.insert(items.len());
            }
            TypeRef::Array(item) if is_byte(model, item) => bytes = true,
            _ => {}
        });
        let tuples = arities
            .into_iter()
            .map(|n| (n, scope.claim(&format!("Tuple{n}"))))
            .collect();
        let bytes = bytes.then(|| scope.claim("Uint8List"));
        let mut members = Scope::with(CLIENT_MEMBERS);
        // The messaging layer's families keep their names whatever the
        // methods are; declared ones come after the methods.
        let family_name = |family: &ChannelModel| match family.address {
            ChannelAddress::Personal => format!("On{}", exported(&family.name)),
            ChannelAddress::Pattern | ChannelAddress::Named => {
                format!("Subscribe{}", exported(&family.name))
            }
        };
        let mut families = vec![String::new(); model.channels.len()];
        let messaging = |family: &&ChannelModel| family.address != ChannelAddress::Pattern;
        for (slot, family) in model
            .channels
            .iter()
            .enumerate()
            .filter(|(_, f)| messaging(f))
        {
            families[slot] = members.claim(&family_name(family));
        }
        let methods = model
            .methods
            .iter()
            .map(|method| members.claim(&exported(&method.name)))
            .collect();
        for (slot, family) in model
            .channels
            .iter()
            .enumerate()
            .filter(|(_, f)| !messaging(f))
        {
            families[slot] = members.claim(&family_name(family));
        }
        Self {
            model,
            types,
            unions,
            constants,
            tuples,
            bytes,
            methods,
            families,
        }
    }

    pub(super) fn kind(&self, name: &str) -> Option<&'a TypeKind> {
        self.model.types.get(name).map(|def| &def.kind)
    }

    /// The Go spelling of a type reference.
    pub(super) fn ty(&self, ty: &TypeRef) -> String {
        match ty {
            TypeRef::String | TypeRef::Uuid => "string".into(),
            TypeRef::Bool => "bool".into(),
            TypeRef::Integer { bits, signed } => {
                format!("{}int{bits}", if *signed { "" } else { "u" })
            }
            TypeRef::Float { bits } => format!("float{bits}"),
            TypeRef::DateTime => "time.Time".into(),
            TypeRef::Any => "json.RawMessage".into(),
            // nil is `null`, the only value of `()`.
            TypeRef::Unit => "*struct{}".into(),
            TypeRef::Optional(inner) => match **inner {
                // Already nil for `null`.
                TypeRef::Any | TypeRef::Unit => self.ty(inner),
                _ => format!("*{}", self.ty(inner)),
            },
            TypeRef::Array(item) => match &self.bytes {
                Some(list) if is_byte(self.model, item) => format!("{list}[{}]", self.ty(item)),
                _ => format!("[]{}", self.ty(item)),
            },
            TypeRef::Map(value) => format!("map[string]{}", self.ty(value)),
            TypeRef::Tuple(items) => match self.tuples.get(&items.len()) {
                Some(tuple) => {
                    let items: Vec<String> = items.iter().map(|item| self.ty(item)).collect();
                    format!("{tuple}[{}]", items.join(", "))
                }
                None => "[0]any".into(),
            },
            TypeRef::Named(name) => self
                .types
                .get(name.as_str())
                .cloned()
                .unwrap_or_else(|| type_name(name)),
        }
    }

    /// A field's Go type: a pointer when the field may be absent and its
    /// zero value is not nil.
    pub(super) fn field_ty(&self, field: &Field) -> String {
        let ty = self.ty(&field.ty);
        let nilable = matches!(
            resolve(self.model, &field.ty),
            TypeRef::Any
                | TypeRef::Unit
                | TypeRef::Optional(_)
                | TypeRef::Array(_)
                | TypeRef::Map(_)
        );
        if field.required || nilable {
            ty
        } else {
            format!("*{ty}")
        }
    }

    /// Whether an alias of `ty` must be a Go alias (`type A = B`) rather
    /// than a defined type (`type A B`): a defined type drops the methods
    /// that give time.Time, json.RawMessage, tuples, byte lists and unions
    /// their JSON.
    pub(super) fn needs_go_alias(&self, ty: &TypeRef, depth: u8) -> bool {
        match ty {
            TypeRef::DateTime
            | TypeRef::Any
            | TypeRef::Unit
            | TypeRef::Optional(_)
            | TypeRef::Tuple(_) => true,
            TypeRef::Array(item) => is_byte(self.model, item),
            TypeRef::Named(name) => match self.kind(name) {
                Some(TypeKind::TaggedUnion { .. } | TypeKind::ExternalUnion(_)) => true,
                Some(TypeKind::Alias(inner)) => depth < 16 && self.needs_go_alias(inner, depth + 1),
                _ => false,
            },
            _ => false,
        }
    }

    /// A method's result type; `None` for `()`. Structs and unions come
    /// back as pointers, everything else by value.
    pub(super) fn result_ty(&self, ty: &TypeRef) -> Option<String> {
        match (ty, resolve(self.model, ty)) {
            (TypeRef::Unit, _) => None,
            (_, TypeRef::Named(name))
                if matches!(
                    self.kind(name),
                    Some(
                        TypeKind::Struct(_)
                            | TypeKind::TaggedUnion { .. }
                            | TypeKind::ExternalUnion(_)
                    )
                ) =>
            {
                Some(format!("*{}", self.ty(ty)))
            }
            _ => Some(self.ty(ty)),
        }
    }

    pub(super) fn signature(&self, name: &str, method: &MethodModel) -> String {
        let params = method
            .params
            .as_ref()
            .map(|ty| format!(", params {}", self.ty(ty)))
            .unwrap_or_default();
        let result = match self.result_ty(&method.result) {
            Some(result) => format!("({result}, error)"),
            None => "error".into(),
        };
        format!("{name}(ctx context.Context{params}) {result}")
    }
}

/// `ty` with aliases followed to what they name (a few levels deep: a
/// recursive alias stops there).
pub(super) fn resolve<'t>(model: &'t ApiModel, mut ty: &'t TypeRef) -> &'t TypeRef {
    for _ in 0..16 {
        match ty {
            TypeRef::Named(name) => match model.types.get(name).map(|def| &def.kind) {
                Some(TypeKind::Alias(inner)) => ty = inner,
                _ => break,
            },
            _ => break,
        }
    }
    ty
}

/// Whether `ty` is a `u8` (or a newtype of one): encoding/json would write
/// a slice of it as base64.
pub(super) fn is_byte(model: &ApiModel, ty: &TypeRef) -> bool {
    matches!(
        resolve(model, ty),
        TypeRef::Integer {
            bits: 8,
            signed: false
        }
    )
}

/// Calls `f` with every type reference of the model's types and methods,
/// nested ones included.
pub(super) fn for_each_ref(model: &ApiModel, mut f: impl FnMut(&TypeRef)) {
    for def in model.types.values() {
        for ty in def_refs(def) {
            walk(ty, &mut f);
        }
    }
    for method in &model.methods {
        for ty in method.params.iter().chain([&method.result]) {
            walk(ty, &mut f);
        }
    }
    for family in &model.channels {
        walk(&family.payload, &mut f);
    }
}

/// The type references a named type is made of.
pub(super) fn def_refs(def: &TypeDef) -> Vec<&TypeRef> {
    match &def.kind {
        TypeKind::Struct(fields) => fields.iter().map(|f| &f.ty).collect(),
        TypeKind::TaggedUnion { variants, .. } => variants
            .iter()
            .flat_map(|v| &v.fields)
            .map(|f| &f.ty)
            .collect(),
        TypeKind::ExternalUnion(variants) => {
            variants.iter().filter_map(|v| v.payload.as_ref()).collect()
        }
        TypeKind::Alias(ty) => vec![ty],
        TypeKind::StringEnum(_) => Vec::new(),
    }
}

pub(super) fn walk(ty: &TypeRef, f: &mut impl FnMut(&TypeRef)) {
    f(ty);
    match ty {
        TypeRef::Optional(inner) | TypeRef::Array(inner) | TypeRef::Map(inner) => walk(inner, f),
        TypeRef::Tuple(items) => items.iter().for_each(|item| walk(item, f)),
        _ => {}
    }
}

/// Whether any of `types` mentions `leaf` (for the imports).
pub(super) fn mentions<'t>(types: impl IntoIterator<Item = &'t TypeRef>, leaf: &TypeRef) -> bool {
    let mut found = false;
    for ty in types {
        walk(ty, &mut |t| found |= t == leaf);
    }
    found
}

/// The import declaration of these packages (sorted, as gofmt keeps them).
pub(super) fn imports(packages: &[&str]) -> String {
    match packages {
        [] => String::new(),
        [one] => format!("\nimport \"{one}\"\n"),
        many => {
            let mut out = String::from("\nimport (\n");
            for package in many {
                let _ = writeln!(out, "\t\"{package}\"");
            }
            out.push_str(")\n");
            out
        }
    }
}
