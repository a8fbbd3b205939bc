//! Only parameterized SQL: every `format!` whose text is SQL may splice in only constants
//! (`{PRODUCT_COLUMNS}`, compile-time text); anything else must travel as `$1`. The few
//! statements Postgres cannot parameterize are allow-listed below, each with its reason.

use crate::common::workspace_root;
use std::path::{Path, PathBuf};

/// (file, the statement's text as written): statements that cannot take parameters.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "src/db.rs",
        "CREATE DATABASE {quoted}",
        "CREATE DATABASE takes no parameters; the name is a constant or a generated test name, quoted as an identifier",
    ),
    (
        "src/bench/setup.rs",
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)",
        "the benchmark's own generated database name (pid, uuid, label); DROP DATABASE takes no parameters",
    ),
    (
        "src/bench/setup.rs",
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        "the same generated name, dropped when the benchmark ends",
    ),
];

const SQL_STARTS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "WITH", "TRUNCATE", "GRANT",
    "COPY", "SET", "LOCK",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first string literal after `format!(` (plain or raw), if the macro starts with one.
fn format_literal(after: &str) -> Option<&str> {
    let rest = after.trim_start();
    if let Some(raw) = rest.strip_prefix("r#\"") {
        return raw.find("\"#").map(|end| &raw[..end]);
    }
    let body = rest.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(&body[..i]),
            _ => escaped = false,
        }
    }
    None
}

/// The `{...}` holes of a format string (`{{` is a literal brace).
fn holes(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if rest[open..].starts_with("{{") {
            rest = &rest[open + 2..];
            continue;
        }
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        found.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    found
}

/// A hole that names a constant (`SCREAMING_CASE`), whose text is fixed at compile time.
fn is_constant(hole: &str) -> bool {
    let name = hole.split(':').next().unwrap_or("");
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn violations(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["actors/src", "http/src", "src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&file).expect("source file");
        for (at, _) in text.match_indices("format!(") {
            let Some(literal) = format_literal(&text[at + "format!(".len()..]) else {
                continue;
            };
            let sql = literal.trim_start().to_ascii_uppercase();
            let keyword = |k: &&str| {
                sql.strip_prefix(*k)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\n', '(']))
            };
            if !SQL_STARTS.iter().any(keyword) {
                continue;
            }
            if holes(literal).iter().all(|h| is_constant(h)) {
                continue;
            }
            let allowed = ALLOWED
                .iter()
                .any(|(f, statement, _)| *f == relative && literal == *statement);
            if !allowed {
                let line = text[..at].lines().count();
                found.push(format!("{relative}:{line}: {literal}"));
            }
        }
    }
    found
}

#[test]
fn sql_is_never_formatted_from_values() {
    let found = violations(&workspace_root());
    assert!(
        found.is_empty(),
        "SQL built with format! from a value; pass it as $n instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_allow_listed_statement_still_exists() {
    for (file, statement, why) in ALLOWED {
        let text = std::fs::read_to_string(workspace_root().join(file)).expect("file");
        assert!(
            text.contains(statement),
            "{file} no longer has `{statement}` ({why}); drop it from ALLOWED"
        );
    }
}

#[test]
fn the_lint_catches_a_value_spliced_into_sql() {
    let dir = std::env::temp_dir().join(format!("souk-sql-lint-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("dir");
    std::fs::write(
        src.join("bad.rs"),
        concat!(
            "fn f(name: &str) { let _ = format!(\"SELECT * FROM users WHERE name = '{name}'\"); }\n",
            "fn g(id: i64) { let _ = format!(\n    \"DELETE FROM carts WHERE id = {}\", id); }\n",
            "fn h() { let _ = format!(\"SELECT {COLUMNS} FROM t WHERE id = $1\"); }\n",
            "fn i(n: u8) { let _ = format!(\"selected {n} items\"); }\n",
        ),
    )
    .expect("write");
    let found = violations(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("bad.rs:1"), "{found:?}");
    assert!(found[1].contains("DELETE FROM carts"), "{found:?}");
}
