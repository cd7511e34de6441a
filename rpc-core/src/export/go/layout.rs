//! gofmt's layout of struct fields and constants: tabwriter columns.

/// Rows of cells as gofmt's tabwriter aligns them: every cell but a row's
/// last is padded to the widest cell of its column, over consecutive rows
/// that have that column (a comment row has none, so it ends the run).
pub(super) fn align(rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<Vec<usize>> = rows
        .iter()
        .map(|row| vec![0; row.len().saturating_sub(1)])
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    for column in 0..columns {
        let has = |row: &Vec<String>| row.len() > column + 1;
        let mut i = 0;
        while i < rows.len() {
            let start = i;
            while i < rows.len() && has(&rows[i]) {
                i += 1;
            }
            let width = rows[start..i]
                .iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0);
            for row_widths in &mut widths[start..i] {
                row_widths[column] = width;
            }
            i = i.max(start + 1);
        }
    }
    rows.iter()
        .zip(widths)
        .map(|(row, widths)| {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(widths.iter().map(Some).chain([None])) {
                line.push_str(cell);
                if let Some(width) = width {
                    line.extend(std::iter::repeat_n(' ', width + 1 - cell.chars().count()));
                }
            }
            line
        })
        .collect()
}

/// Generated prose wrapped to fit 80 columns as a comment (Rust docs keep
/// their own line breaks).
pub(super) fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut column = 0;
    for word in text.split_whitespace() {
        if column > 0 && column + 1 + word.chars().count() > 77 {
            out.push('\n');
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.chars().count();
    }
    out
}
