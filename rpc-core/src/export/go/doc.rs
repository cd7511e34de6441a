//! Rust doc text (Markdown) as Go doc comments, in a form gofmt keeps
//! unchanged: gofmt rewrites doc comments since Go 1.19, following the
//! syntax of <https://go.dev/doc/comment>. Every block stands between blank
//! lines, so none of gofmt's guesses about unindented lines apply:
//!
//! - paragraphs keep their line breaks, without leading spaces;
//! - Markdown lists become Go lists (`  - item`, ` 1. item`, continuation
//!   lines at four spaces), loose when Markdown's are;
//! - fenced and indented code becomes a code block (one tab of indent);
//! - `#`…`######` headings become Go's one level, `# Title`;
//! - a one-line paragraph that reads like a title (a capital first, a
//!   letter or digit last, no punctuation but `(),-.` inside words and
//!   `'s`) before another paragraph is a heading to gofmt, which writes it
//!   as `# Title`; so it is written that way here (found by running gofmt);
//! - paragraphs of `[text]: URL` link definitions go to the end, as gofmt
//!   moves them.

use std::fmt::Write as _;

/// A doc comment line as Go writes it (`//` alone, `//\tcode`, `// text`).
pub(super) fn comment(line: &str) -> String {
    if line.is_empty() {
        "//".to_owned()
    } else if line.starts_with('\t') {
        format!("//{line}")
    } else {
        format!("// {line}")
    }
}

/// `doc` as `//` lines, each prefixed by `indent`.
pub(super) fn write_doc(out: &mut String, doc: &str, indent: &str) {
    for line in doc_lines(doc) {
        let _ = writeln!(out, "{indent}{}", comment(&line));
    }
}

/// One block of a doc comment.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Paragraph(Vec<String>),
    Heading(String),
    /// Lines without their common indent.
    Code(Vec<String>),
    /// Items, each its lines (marker first, `""` for a blank line);
    /// whether blank lines separate the items.
    List {
        items: Vec<Vec<String>>,
        loose: bool,
    },
    /// `[text]: URL` lines.
    Links(Vec<String>),
}

/// The text of the comment, line by line (without `//`).
///
/// The output is read again until it no longer changes: merging code into
/// a list (or a list into code) can make lines that read differently the
/// second time, as gofmt would read them.
pub(super) fn doc_lines(doc: &str) -> Vec<String> {
    let mut lines = dedent(&unfence(doc));
    for _ in 0..4 {
        let blocks = list_links(merge_indented(blocks(&lines)));
        let next = print(&flatten(headings(blocks)));
        if next == lines {
            break;
        }
        lines = next;
    }
    lines
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Markdown's indented code: four spaces or a tab.
fn is_code_line(line: &str) -> bool {
    line.starts_with('\t') || indent_of(line) >= 4
}

/// Fenced code (```` ``` ````) as indented lines between blank lines, the
/// fences dropped.
fn unfence(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in doc.lines() {
        let line = line.trim_end();
        if line.trim_start().starts_with("```") {
            // Blank lines around it: fenced code interrupts a paragraph.
            fenced = !fenced;
            out.push(String::new());
            continue;
        }
        out.push(if fenced && !line.is_empty() {
            format!("    {line}")
        } else {
            line.to_owned()
        });
    }
    out
}

/// The lines without the indent they all share.
fn dedent(lines: &[String]) -> Vec<String> {
    let common = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| &line[..indent_of(line)])
        .reduce(|a, b| {
            let shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            &a[..shared]
        })
        .unwrap_or("")
        .len();
    lines
        .iter()
        .map(|line| line.get(common..).unwrap_or("").to_owned())
        .collect()
}

/// A list item's first line in Go's form (`- text`, `3. text`), when
/// `line` starts a Markdown list item (`-`, `*`, `+`, `•`, or digits and
/// `.` or `)`, then a space).
fn list_item(line: &str) -> Option<String> {
    if is_code_line(line) {
        return None;
    }
    marker_line(line)
}

/// [`list_item`] at any indent: inside a list, Go has no nesting, and every
/// marker starts an item.
fn marker_line(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let (marker, rest) = if let Some(rest) = trimmed
        .strip_prefix(['-', '*', '+'])
        .or_else(|| trimmed.strip_prefix('\u{2022}'))
    {
        ("-".to_owned(), rest)
    } else {
        let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
        let rest = trimmed[digits..].strip_prefix(['.', ')'])?;
        if digits == 0 || digits > 8 {
            return None;
        }
        (format!("{}.", &trimmed[..digits]), rest)
    };
    // A marker needs a blank and then text after it.
    if !rest.starts_with([' ', '\t']) || rest.trim().is_empty() {
        return None;
    }
    Some(format!("{marker} {}", rest.trim()).trim_end().to_owned())
}

/// A Markdown heading's title (`## Errors` → `Errors`).
fn heading(line: &str) -> Option<&str> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    let title = line[hashes..]
        .strip_prefix(' ')?
        .trim()
        .trim_end_matches('#')
        .trim();
    ((1..=6).contains(&hashes) && !title.is_empty()).then_some(title)
}

/// `[text]: URL` with a URL gofmt takes for one.
fn is_link_definition(line: &str) -> bool {
    let Some((text, target)) = line.strip_prefix('[').and_then(|r| r.split_once("]:")) else {
        return false;
    };
    let url = target.trim();
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    !text.is_empty()
        && !text.contains(['[', ']'])
        && target.starts_with([' ', '\t'])
        && matches!(scheme, Some("http" | "https" | "ftp" | "file" | "gopher"))
        && !url.contains(char::is_whitespace)
}

/// Whether the line ends the paragraph before it (Markdown's rules).
fn interrupts_paragraph(line: &str) -> bool {
    line.is_empty() || list_item(line).is_some() || heading(line).is_some()
}

/// Code and a list with only blank lines between them are one indented
/// span to gofmt: code after a list joins its last item, a list after code
/// joins the code.
fn merge_indented(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    for block in blocks {
        match (out.last_mut(), block) {
            (Some(Block::List { items, loose }), Block::Code(lines)) => {
                *loose = true;
                if let Some(item) = items.last_mut() {
                    item.push(String::new());
                    item.extend(lines.iter().map(|line| line.trim().to_owned()));
                }
            }
            (Some(Block::Code(code)), Block::List { items, .. }) => {
                for item in items {
                    code.push(String::new());
                    code.extend(item.iter().map(|line| {
                        if line.is_empty() {
                            String::new()
                        } else {
                            format!("  {line}")
                        }
                    }));
                }
            }
            (_, block) => out.push(block),
        }
    }
    out
}

fn blocks(lines: &[String]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_empty() {
            i += 1;
        } else if list_item(line).is_some() {
            blocks.push(list(lines, &mut i));
        } else if is_code_line(line) {
            let start = i;
            while i < lines.len() && (lines[i].is_empty() || is_code_line(&lines[i])) {
                i += 1;
            }
            let mut end = i;
            while lines[end - 1].is_empty() {
                end -= 1;
            }
            let code = dedent(&lines[start..end]);
            // An indented span that starts with a marker is a list to Go.
            if marker_line(&code[0]).is_some() {
                blocks.push(span_list(&code));
            } else {
                blocks.push(Block::Code(code));
            }
        } else if let Some(title) = heading(line) {
            blocks.push(Block::Heading(title.to_owned()));
            i += 1;
        } else {
            let mut text = vec![line.trim().to_owned()];
            i += 1;
            while i < lines.len() && !interrupts_paragraph(&lines[i]) {
                text.push(lines[i].trim().to_owned());
                i += 1;
            }
            if text.iter().all(|line| is_link_definition(line)) {
                blocks.push(Block::Links(text));
            } else {
                blocks.push(Block::Paragraph(text));
            }
        }
    }
    blocks
}

/// A list from `lines[*i]` on: items, their continuation lines (indented,
/// or lazily unindented), and blank lines inside when more of the list
/// follows.
fn list(lines: &[String], i: &mut usize) -> Block {
    let mut items: Vec<Vec<String>> = Vec::new();
    let mut loose = false;
    while *i < lines.len() {
        let line = &lines[*i];
        if let Some(item) = marker_line(line) {
            items.push(vec![item]);
        } else if line.is_empty() {
            let next = lines[*i..].iter().find(|l| !l.is_empty());
            match next {
                Some(next) if list_item(next).is_some() => loose = true,
                Some(next) if indent_of(next) >= 2 => {
                    if let Some(item) = items.last_mut() {
                        item.push(String::new());
                    }
                }
                _ => break,
            }
        } else if heading(line).is_some() {
            break;
        } else if let Some(item) = items.last_mut() {
            item.push(line.trim().to_owned());
        }
        *i += 1;
    }
    // Go has no list of mixed markers: such a list is a bullet list, the
    // numbers kept as text.
    let bullets = items.iter().filter(|item| item[0].starts_with('-')).count();
    let mixed = bullets > 0 && bullets < items.len();
    for item in &mut items {
        while item.last().is_some_and(String::is_empty) {
            item.pop();
        }
        item.dedup_by(|a, b| a.is_empty() && b.is_empty());
        if mixed && !item[0].starts_with('-') {
            item[0] = format!("- {}", item[0]);
        }
        // An item of several paragraphs makes the whole list loose.
        loose |= item.iter().any(String::is_empty);
    }
    Block::List { items, loose }
}

/// Link definitions standing alone in a list item (a paragraph of their
/// own) are definitions to gofmt, which takes them out of the list.
fn list_links(blocks: Vec<Block>) -> Vec<Block> {
    let mut found = Vec::new();
    let mut out: Vec<Block> = blocks
        .into_iter()
        .map(|block| match block {
            Block::List { items, loose } => {
                let items = items
                    .into_iter()
                    .map(|item| {
                        let mut kept: Vec<String> = Vec::new();
                        for (n, part) in item.split(String::is_empty).enumerate() {
                            if n > 0 && part.iter().all(|line| is_link_definition(line)) {
                                found.extend(part.iter().cloned());
                            } else {
                                if n > 0 {
                                    kept.push(String::new());
                                }
                                kept.extend(part.iter().cloned());
                            }
                        }
                        kept
                    })
                    .collect();
                Block::List { items, loose }
            }
            other => other,
        })
        .collect();
    if !found.is_empty() {
        out.push(Block::Links(found));
    }
    out
}

/// An indented span that starts with a marker, as Go reads it: all of it
/// is the list, every line that is not a marker continues an item.
fn span_list(lines: &[String]) -> Block {
    let mut items: Vec<Vec<String>> = Vec::new();
    let mut loose = false;
    for (at, line) in lines.iter().enumerate() {
        if let Some(item) = marker_line(line) {
            loose |= at > 0 && lines[at - 1].is_empty();
            items.push(vec![item]);
        } else if let Some(item) = items.last_mut() {
            item.push(line.trim().to_owned());
        }
    }
    for item in &mut items {
        item.dedup_by(|a, b| a.is_empty() && b.is_empty());
        loose |= item.iter().any(String::is_empty);
    }
    Block::List { items, loose }
}

/// Title-like one-line paragraphs followed by a paragraph, as headings.
fn headings(mut blocks: Vec<Block>) -> Vec<Block> {
    for i in 1..blocks.len() {
        // Link definitions and headings count as paragraphs here.
        let next_is_paragraph = matches!(
            blocks.get(i + 1),
            Some(Block::Paragraph(_) | Block::Links(_) | Block::Heading(_))
        );
        if let Block::Paragraph(lines) = &blocks[i]
            && let [line] = lines.as_slice()
            && next_is_paragraph
            && reads_like_a_title(line)
        {
            blocks[i] = Block::Heading(line.clone());
        }
    }
    blocks
}

/// A capital first, a letter or digit last, and between them no
/// punctuation gofmt rules out (a `.` only inside a word, `'` only in `'s`).
fn reads_like_a_title(line: &str) -> bool {
    const NEVER: &str = ";:!?+*/=[]{}_^°&§~%#@<\">\\`|$";
    let chars: Vec<char> = line.chars().collect();
    let (Some(first), Some(last)) = (chars.first(), chars.last()) else {
        return false;
    };
    first.is_uppercase()
        && last.is_alphanumeric()
        && chars.iter().enumerate().all(|(i, &c)| match c {
            '\'' => chars.get(i + 1) == Some(&'s') && chars.get(i + 2).is_none_or(|c| *c == ' '),
            '.' => chars.get(i + 1).is_some_and(|c| !c.is_whitespace()),
            c => !NEVER.contains(c),
        })
}

/// Lists and code as plain lines, for a comment with no paragraph or
/// heading: gofmt removes the indent such a comment shares and would read
/// what is left differently.
fn flatten(blocks: Vec<Block>) -> Vec<Block> {
    if blocks
        .iter()
        .any(|b| matches!(b, Block::Paragraph(_) | Block::Heading(_)))
    {
        return blocks;
    }
    blocks
        .into_iter()
        .map(|block| match block {
            Block::Code(lines) => Block::Paragraph(
                lines
                    .iter()
                    .map(|line| line.trim().to_owned())
                    .filter(|line| !line.is_empty())
                    .collect(),
            ),
            Block::List { items, .. } => Block::Paragraph(
                items
                    .iter()
                    .map(|item| {
                        item.join(" ")
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect(),
            ),
            other => other,
        })
        .collect()
}

/// Whether `[text]` of a definition appears in the comment's text.
fn is_used(definition: &str, blocks: &[&Block]) -> bool {
    let Some(end) = definition.find("]:") else {
        return false;
    };
    let reference = &definition[..=end];
    blocks.iter().any(|block| match block {
        Block::Paragraph(lines) => lines.iter().any(|line| line.contains(reference)),
        Block::Heading(title) => title.contains(reference),
        Block::List { items, .. } => items.iter().flatten().any(|line| line.contains(reference)),
        Block::Code(_) | Block::Links(_) => false,
    })
}

fn print(blocks: &[Block]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let (links, blocks): (Vec<&Block>, Vec<&Block>) = blocks
        .iter()
        .partition(|block| matches!(block, Block::Links(_)));
    for block in &blocks {
        if !out.is_empty() {
            out.push(String::new());
        }
        match block {
            Block::Paragraph(lines) => out.extend(lines.iter().cloned()),
            Block::Heading(title) => out.push(format!("# {title}")),
            Block::Code(lines) => out.extend(lines.iter().map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!("\t{line}")
                }
            })),
            Block::List { items, loose } => {
                for (n, item) in items.iter().enumerate() {
                    if *loose && n > 0 {
                        out.push(String::new());
                    }
                    for (k, line) in item.iter().enumerate() {
                        out.push(match k {
                            0 if line.starts_with('-') => format!("  {line}"),
                            0 => format!(" {line}"),
                            _ if line.is_empty() => String::new(),
                            _ => format!("    {line}"),
                        });
                    }
                }
            }
            Block::Links(_) => {}
        }
    }
    // Link definitions last: those the text uses, then the others
    // (repeated labels too), as gofmt orders them.
    let definitions = links.iter().flat_map(|block| match block {
        Block::Links(lines) => lines.as_slice(),
        _ => &[],
    });
    let mut labels = std::collections::BTreeSet::new();
    let (mut used, mut others) = (Vec::new(), Vec::new());
    for line in definitions {
        let label = line.split_once("]:").map_or("", |(label, _)| label);
        if labels.insert(label.to_lowercase()) && is_used(line, &blocks) {
            used.push(line);
        } else {
            others.push(line);
        }
    }
    for group in [used, others] {
        if group.is_empty() {
            continue;
        }
        // gofmt starts even a comment of definitions only with a blank line.
        out.push(String::new());
        out.extend(group.into_iter().cloned());
    }
    out
}
