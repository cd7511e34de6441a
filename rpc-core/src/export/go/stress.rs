//! A model with every awkward case at once. Set `WIRECALL_GO_DUMP` to a
//! directory to write its Go files there, for `gofmt -l` and `go vet`.

use super::super::{
    ApiModel, ChannelAddress, ChannelModel, ChannelSegment, ClientOptions, ExternalVariant, Field,
    MethodModel, TypeDef, TypeKind, TypeRef, Variant,
};
use std::collections::BTreeMap;

use super::files;
use super::plan::Go;

fn field(name: &str, ty: TypeRef, required: bool) -> Field {
    Field {
        name: name.into(),
        doc: String::new(),
        ty,
        required,
    }
}

fn named(name: &str) -> TypeRef {
    TypeRef::Named(name.into())
}

fn def(name: &str, doc: &str, kind: TypeKind) -> (String, TypeDef) {
    let def = TypeDef {
        name: name.into(),
        doc: doc.into(),
        kind,
    };
    (name.into(), def)
}

fn method(name: &str, params: Option<TypeRef>, result: TypeRef) -> MethodModel {
    MethodModel {
        name: name.into(),
        doc: String::new(),
        params,
        result,
    }
}

/// Doc comments go/doc/comment rewrites, each on a type of its own.
const DOCS: &[&str] = &[
    "Intro:\n    let x = 1;\n\n    x\nAfter.",
    "Items:\n- first\n  wrapped\n- second\n\nEnd.",
    "Steps:\n  1. one\n  2. two",
    "- a\n- b",
    "See [spec].\n\n[spec]: https://example.com/spec\n\nMore.",
    "```rust\nlet x = 1;\n```",
    "Text\n\n    indented code {\n}\nafter",
    "func main() {\n\tfmt.Println()\n}",
    "A\n\n  * star\n  + plus\n  \u{2022} bullet\n\n  3) three\n  4) four",
    "Heading Like This\n\nparagraph",
    "Para.\n\nHeading Like This\n\nparagraph",
    "Para.\n\nIt's Fine\n\nparagraph",
    "Para.\n\nv1.2 Release\n\nx",
    "Para.\n\nRelease v1.2\n\nx",
    "#\n\n# \n\n#x\n\n# Real",
    "Trailing \\\n  continued",
    "  all indented\n  lines",
    "\tTabbed\n\tlines",
    "Mixed\n\t tab space\n  spaces",
    "[a]: http://a\n[b]: https://b\n\nUses [b] only.",
    "List then code:\n  - item\n\n        code",
    "1. numbered unindented\n2. second\n   continuation",
    "Text with */ and // inside",
    "x\n\n\n\ny",
    "Para.\n\n\u{dc}n\u{ef}c\u{f6}d\u{e9} Heading\n\nx",
    "Loose:\n  - one\n\n    more of one\n  - two\n\nEnd",
    "Mixed markers:\n  - a\n  1. b\n  - c",
    "  - starts with a list\n  - second",
    "Para ending {\n  indented\nnext",
    "[x]: ftp://x\n\n[notalink]: foo://bar",
    "Code then list:\n\n    code\n  - item",
    "Tabs\tinside\ttext\n\n\tcode\twith\ttabs",
];

/// Lines of every kind the doc converter tells apart.
const FRAGMENTS: &[&str] = &[
    "",
    "",
    "Plain text.",
    "Title Like This",
    "# Heading",
    "## Sub heading",
    "- dash item",
    "* star item",
    "1. first",
    "2) second",
    "  indented two",
    "    code four",
    "\tcode tab",
    "  - indented item",
    "```",
    "[x]: https://x.example",
    "[y]: http://y.example",
    "See [x] here.",
    "func f() {",
    "}",
    "Don't stop",
    "A.B",
    "- ",
    "\u{2022} bullet",
    "   lazy continuation",
];

/// 400 docs of 1 to 8 fragments, from a fixed linear congruential sequence:
/// the same every run, and gofmt must leave each as it is.
fn shuffled_docs() -> Vec<String> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % bound
    };
    (0..400)
        .map(|_| {
            let lines = 1 + next(8);
            (0..lines)
                .map(|_| FRAGMENTS[next(FRAGMENTS.len())])
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// The types of a model without methods or families: the messaging
/// layer's payloads.
fn messaging_types() -> BTreeMap<String, TypeDef> {
    let router = crate::Router::builder().build().expect("an empty router");
    let families = crate::ChannelFamilies::from_registrations([]).expect("no families");
    super::super::api_model_with(&router, &families)
        .expect("the messaging payloads export")
        .types
}

fn model() -> ApiModel {
    let byte = TypeRef::Integer {
        bits: 8,
        signed: false,
    };
    let boxed = |ty: TypeRef| Box::new(ty);
    let mut documented = field("type", TypeRef::String, true);
    documented.doc = "A Go keyword.\n\n  - a list\n  - of two\n\n    code()\n".into();
    let weird = vec![
        documented,
        field("2fa", TypeRef::Bool, true),
        field("_", TypeRef::Bool, true),
        field("a_b", TypeRef::Bool, true),
        field("aB", TypeRef::Bool, true),
        field("bytes", TypeRef::Array(boxed(byte.clone())), true),
        field("byte_list", TypeRef::Array(boxed(named("Byte"))), true),
        field(
            "maybe_bytes",
            TypeRef::Optional(boxed(TypeRef::Array(boxed(byte.clone())))),
            false,
        ),
        field(
            "list_opt",
            TypeRef::Optional(boxed(TypeRef::Array(boxed(TypeRef::String)))),
            false,
        ),
        field(
            "triple",
            TypeRef::Tuple(vec![
                TypeRef::Bool,
                TypeRef::Float { bits: 32 },
                named("Item"),
            ]),
            true,
        ),
        field("single", TypeRef::Tuple(vec![TypeRef::String]), true),
        field("empty", TypeRef::Tuple(vec![]), true),
        field("unit", TypeRef::Unit, true),
        field(
            "when_opt",
            TypeRef::Optional(boxed(TypeRef::DateTime)),
            false,
        ),
        field("defaulted_item", named("Item"), false),
        field(
            "defaulted_list",
            TypeRef::Array(boxed(TypeRef::String)),
            false,
        ),
        field(
            "nested",
            TypeRef::Map(boxed(TypeRef::Array(boxed(TypeRef::Optional(boxed(
                named("Shape"),
            )))))),
            true,
        ),
        field("self_ref", TypeRef::Optional(boxed(named("Weird"))), false),
        field("raw", TypeRef::Any, false),
        field("quote\"d", TypeRef::String, true),
        field("back`tick", TypeRef::String, true),
    ];
    let types = [
        def(
            "Weird",
            "Odd names.\n\n# Errors\n\nNone at all\n\n[spec]: https://example.com\n",
            TypeKind::Struct(weird),
        ),
        def("Byte", "", TypeKind::Alias(byte.clone())),
        def("Stamp", "", TypeKind::Alias(TypeRef::DateTime)),
        def("Blob", "", TypeKind::Alias(TypeRef::Any)),
        def(
            "PairAlias",
            "",
            TypeKind::Alias(TypeRef::Tuple(vec![byte.clone(), byte])),
        ),
        def("UnionAlias", "", TypeKind::Alias(named("Shape"))),
        def(
            "Ext",
            "Externally tagged.",
            TypeKind::ExternalUnion(vec![
                ExternalVariant {
                    name: "a-b".into(),
                    doc: String::new(),
                    payload: None,
                },
                ExternalVariant {
                    name: "item".into(),
                    doc: "Holds an item.".into(),
                    payload: Some(named("Item")),
                },
                ExternalVariant {
                    name: "pair".into(),
                    doc: String::new(),
                    payload: Some(TypeRef::Tuple(vec![TypeRef::Bool, named("Shape")])),
                },
                ExternalVariant {
                    name: "when".into(),
                    doc: String::new(),
                    payload: Some(TypeRef::Optional(Box::new(TypeRef::DateTime))),
                },
            ]),
        ),
        def(
            "ListAlias",
            "",
            TypeKind::Alias(TypeRef::Array(boxed(named("Shape")))),
        ),
        def(
            "Shape",
            "",
            TypeKind::TaggedUnion {
                tag: "type".into(),
                variants: vec![
                    Variant {
                        tag_value: "circle".into(),
                        doc: String::new(),
                        base: None,
                        fields: vec![field("radius", TypeRef::Float { bits: 64 }, true)],
                    },
                    Variant {
                        tag_value: "square-2".into(),
                        doc: "Based.".into(),
                        base: Some("Item".into()),
                        fields: vec![
                            field("Item", TypeRef::String, true),
                            field("extra", TypeRef::Bool, false),
                        ],
                    },
                    Variant {
                        tag_value: "none".into(),
                        doc: String::new(),
                        base: None,
                        fields: vec![],
                    },
                ],
            },
        ),
        def(
            "Item",
            "",
            TypeKind::Struct(vec![field("name", TypeRef::String, true)]),
        ),
        def("Empty", "", TypeKind::Struct(vec![])),
        def(
            "Mode",
            "",
            TypeKind::StringEnum(vec![
                "fast".into(),
                "Fast".into(),
                "".into(),
                "9lives".into(),
                "with space".into(),
            ]),
        ),
        def(
            "APIClient",
            "",
            TypeKind::Struct(vec![field("x", TypeRef::Bool, true)]),
        ),
        def("ShapeCircle", "", TypeKind::Struct(vec![])),
        def("Tuple2", "", TypeKind::Struct(vec![])),
        def("lower_case", "", TypeKind::Struct(vec![])),
    ]
    .into_iter()
    .chain(
        DOCS.iter()
            .enumerate()
            .map(|(i, doc)| def(&format!("Doc{i:02}"), doc, TypeKind::Struct(vec![]))),
    )
    .chain(
        shuffled_docs()
            .into_iter()
            .enumerate()
            .map(|(i, doc)| def(&format!("Mix{i:03}"), &doc, TypeKind::Struct(vec![]))),
    )
    // The messaging layer's payloads, which every real model has (the
    // publisher builds them).
    .chain(messaging_types())
    .collect();
    let methods = vec![
        method("a.connect", None, TypeRef::Unit),
        method("shapes.get", Some(named("Shape")), named("Shape")),
        method(
            "shapes.alias",
            Some(named("UnionAlias")),
            named("UnionAlias"),
        ),
        method("shapes.stamp", None, named("Stamp")),
        method(
            "bytes.get",
            None,
            TypeRef::Array(Box::new(TypeRef::Integer {
                bits: 8,
                signed: false,
            })),
        ),
        method("x.y_z", None, TypeRef::Bool),
        method("x_y.z", None, TypeRef::Bool),
        method("r.p_c", None, TypeRef::Bool),
        method(
            "times.now",
            Some(TypeRef::Tuple(vec![TypeRef::String, TypeRef::Any])),
            TypeRef::DateTime,
        ),
        method("opt.get", None, TypeRef::Optional(Box::new(named("Item")))),
    ];
    // Parameters named like Go keywords and the method's own arguments,
    // a `%` in the pattern, a tuple payload, a family whose method name
    // an RPC method's takes first.
    let param = |name: &str, ty: TypeRef| ChannelSegment::Param {
        name: name.into(),
        refused: if ty == TypeRef::String {
            ":#,".into()
        } else {
            String::new()
        },
        ty,
    };
    let literal = |text: &str| ChannelSegment::Literal(text.into());
    let channels = vec![
        ChannelModel {
            name: "type".into(),
            address: ChannelAddress::Pattern,
            pattern: "odd:{type}%{ctx}-{handle}#{c}".into(),
            doc: String::new(),
            segments: vec![
                literal("odd:"),
                param("type", TypeRef::String),
                literal("%"),
                param(
                    "ctx",
                    TypeRef::Integer {
                        bits: 16,
                        signed: true,
                    },
                ),
                literal("-"),
                param("handle", TypeRef::Uuid),
                literal("#"),
                param("c", TypeRef::String),
            ],
            payload: TypeRef::Tuple(vec![TypeRef::String, TypeRef::Any]),
            namespace: Some("odd".into()),
            user_limited: true,
        },
        ChannelModel {
            name: "a_connect".into(),
            address: ChannelAddress::Pattern,
            pattern: "news".into(),
            doc: "A family without parameters.".into(),
            segments: vec![literal("news")],
            payload: named("Shape"),
            namespace: None,
            user_limited: false,
        },
    ];
    ApiModel {
        methods,
        channels,
        types,
    }
}

#[test]
fn awkward_names_stay_distinct_and_valid() {
    let model = model();
    let go = Go::new(&model);
    assert_eq!(go.types["APIClient"], "APIClient2");
    assert_eq!(go.types["lower_case"], "Lower_case");
    assert_eq!(
        go.unions["Shape"].variants,
        ["ShapeCircle2", "ShapeSquare2", "ShapeNone"]
    );
    assert_eq!(go.tuples[&2], "Tuple22");
    assert_eq!(go.bytes.as_deref(), Some("Uint8List"));
    assert_eq!(go.methods[5..8], ["XYZ", "XYZ2", "RPC2"]);
    let files = files(&model, &ClientOptions::named("stress"));
    if let Some(dir) = std::env::var_os("WIRECALL_GO_DUMP") {
        super::super::write_files(std::path::Path::new(&dir), &files).unwrap();
    }
    let types = &files
        .iter()
        .find(|f| f.path.ends_with("types.go"))
        .unwrap()
        .contents;
    for expected in [
        "\tAB            bool ",
        "\tAB2           bool ",
        "\tX2fa          bool ",
        "\tField         bool ",
        "Bytes         Uint8List[uint8] ",
        "ByteList      Uint8List[Byte] ",
        "type Stamp = time.Time",
        "type UnionAlias = Shape",
        "type ListAlias []Shape",
        "type Byte uint8",
        "DefaultedItem *Item ",
        "\tItem\n\tItem2 string ",
        "Empty         [0]any ",
    ] {
        assert!(types.contains(expected), "{expected:?} not in\n{types}");
    }
}
