//! How one wire method name is spelled in each language:
//! `tasks.get_stats` → `tasks_get_stats` / `tasksGetStats` / `TasksGetStats`.

/// The name's words: split at every character that is not a letter or a
/// digit (dots, underscores, dashes).
fn words(method: &str) -> impl Iterator<Item = &str> {
    method
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `tasks_get_stats` (Python).
pub(crate) fn snake(method: &str) -> String {
    words(method)
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// `TasksGetStats` (Go, type names).
pub(crate) fn pascal(method: &str) -> String {
    words(method).map(capitalised).collect()
}

/// `tasksGetStats` (TypeScript).
pub(crate) fn camel(method: &str) -> String {
    let pascal = pascal(method);
    let mut chars = pascal.chars();
    chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `text` with every character that cannot be in an identifier (of Go,
/// Python or TypeScript) replaced by `_`.
pub(crate) fn underscored(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(snake("tasks.get_stats"), "tasks_get_stats");
        assert_eq!(camel("tasks.get_stats"), "tasksGetStats");
        assert_eq!(pascal("tasks.get_stats"), "TasksGetStats");
        assert_eq!(snake("users.v2.get"), "users_v2_get");
        assert_eq!(camel("users.v2.get"), "usersV2Get");
        assert_eq!(pascal("users.v2.get"), "UsersV2Get");
    }
}
