//! Unit tests of the Go emitter's names, alignment and doc comments.

use super::doc::doc_lines;
use super::layout::align;
use super::plan::{Scope, exported, tag_method, type_name};
use super::{RUNTIME, RUNTIME_PACKAGE};

fn rows(cells: &[&[&str]]) -> Vec<Vec<String>> {
    cells
        .iter()
        .map(|row| row.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

#[test]
fn alignment_runs_end_at_comments_and_embedded_types() {
    let lines = align(&rows(&[
        &["A", "int", "`json:\"a\"`"],
        &["// Bbbbbbbb doc."],
        &["Bbbbbbbb", "string", "`json:\"b\"`"],
        &["C", "[]int", "`json:\"c\"`"],
        &["Item"],
        &["Dddd", "map[string]int", "`json:\"d\"`"],
    ]));
    assert_eq!(
        lines,
        [
            "A int `json:\"a\"`",
            "// Bbbbbbbb doc.",
            "Bbbbbbbb string `json:\"b\"`",
            "C        []int  `json:\"c\"`",
            "Item",
            "Dddd map[string]int `json:\"d\"`",
        ]
    );
}

#[test]
fn identifiers() {
    assert_eq!(exported("task_id"), "TaskId");
    assert_eq!(exported("camelCase"), "CamelCase");
    assert_eq!(exported("2fa"), "X2fa");
    assert_eq!(exported("_"), "Field");
    assert_eq!(exported("type"), "Type");
    assert_eq!(type_name("Task2"), "Task2");
    assert_eq!(type_name("my_type"), "My_type");
    assert_eq!(type_name("_x"), "T_x");
    assert_eq!(tag_method("PersonalMessage"), "personalMessageTag");
    let mut scope = Scope::with(&["Connect"]);
    assert_eq!(scope.claim("Connect"), "Connect2");
    assert_eq!(scope.claim("A"), "A");
    assert_eq!(scope.claim("A"), "A2");
}

#[test]
fn runtime_templates_have_the_package_clause_to_replace() {
    assert!(RUNTIME.starts_with(RUNTIME_PACKAGE));
    assert!(super::publisher::PUBLISHER.starts_with(RUNTIME_PACKAGE));
    assert_eq!(
        super::publisher::PUBLISHER
            .matches(super::publisher::NAMESPACE)
            .count(),
        1
    );
}

fn doc(text: &str) -> String {
    doc_lines(text).join("\n")
}

// Rust docs are Markdown; each output is one gofmt leaves unchanged (the
// stress model, with these and 400 generated docs, is checked with gofmt -l
// by tests/sdk/run.sh).
#[test]
fn markdown_docs_become_canonical_go_doc_comments() {
    // Paragraphs: surrounding blanks and shared indent go, breaks stay.
    assert_eq!(doc("  One line.  \n\n\n  Two.\n"), "One line.\n\nTwo.");
    // Markdown headings, any level, are Go's `#` headings.
    assert_eq!(
        doc("Intro.\n# Errors\nWhen."),
        "Intro.\n\n# Errors\n\nWhen."
    );
    assert_eq!(
        doc("Intro.\n\n## Errors ##\n\nWhen."),
        "Intro.\n\n# Errors\n\nWhen."
    );
    // A title-like line before a paragraph is a heading to gofmt.
    assert_eq!(
        doc("Intro.\n\nOld Heading\n\nText."),
        "Intro.\n\n# Old Heading\n\nText."
    );
    assert_eq!(
        doc("Intro.\n\nNot one.\n\nText."),
        "Intro.\n\nNot one.\n\nText."
    );
    // Fenced and indented code: a tab, blank lines around.
    assert_eq!(
        doc("Intro:\n```rust\nlet x = 1;\n\nx\n```\nAfter."),
        "Intro:\n\n\tlet x = 1;\n\n\tx\n\nAfter."
    );
    assert_eq!(
        doc("Intro:\n\n    code\n\nAfter."),
        "Intro:\n\n\tcode\n\nAfter."
    );
    // Markdown lists are Go lists.
    assert_eq!(
        doc("Items:\n- first\n  wrapped\n* second\n\nEnd."),
        "Items:\n\n  - first\n    wrapped\n  - second\n\nEnd."
    );
    assert_eq!(doc("Steps:\n1. one\n2) two"), "Steps:\n\n 1. one\n 2. two");
    assert_eq!(doc("Loose:\n\n- a\n\n- b"), "Loose:\n\n  - a\n\n  - b");
    // A comment of a list alone would lose its indent to gofmt: plain lines.
    assert_eq!(doc("- a\n- b"), "- a\n- b");
    // Link definitions go last, used ones first.
    assert_eq!(
        doc(
            "See [spec].\n\n[old]: https://example.com/old\n[spec]: https://example.com/spec\n\nMore."
        ),
        "See [spec].\n\nMore.\n\n[spec]: https://example.com/spec\n\n[old]: https://example.com/old"
    );
}
