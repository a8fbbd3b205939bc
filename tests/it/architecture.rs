//! The floor plan, checked on the source (ARCHITECTURE.md): the pure `domain/` floor of the
//! actors crate imports no actor, async runtime or database crate, and no HTTP type;
//! the HTTP crate holds no SQL (every statement lives in `actors/src/store/`). Each rule's
//! detector is tested on a sample too, so the check cannot pass by seeing nothing.

use std::path::{Path, PathBuf};

/// Crates the pure floor must not name: actors, async runtimes, Postgres, HTTP.
const IMPURE: &[&str] = &[
    "actix",
    "actix_web",
    "actix_rt",
    "tokio",
    "tokio_postgres",
    "deadpool_postgres",
    "postgres_types",
    "futures_util",
    "http",
];

/// What a line of SQL, or a call that runs one, looks like in this code base.
const SQL_MARKS: &[&str] = &[
    "INSERT INTO ",
    "DELETE FROM ",
    "SELECT ",
    "UPDATE ",
    "prepare_cached(",
    ".query(",
    ".query_one(",
    ".query_opt(",
    ".execute(",
    ".batch_execute(",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments (line comments and doc comments), line by line.
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split("//").next().unwrap_or("")))
        .filter(|(_, code)| !code.trim().is_empty())
}

/// Lines that name an impure crate: `use tokio::…`, `tokio::spawn(…)`, `actix::Message`.
fn impure_lines(source: &str) -> Vec<(usize, String)> {
    code_lines(source)
        .filter(|(_, code)| IMPURE.iter().any(|krate| names_crate(code, krate)))
        .map(|(n, code)| (n, code.trim().to_string()))
        .collect()
}

/// `krate::` at the start of a path (not the tail of another name, as in `souk_http::`).
fn names_crate(code: &str, krate: &str) -> bool {
    let path = format!("{krate}::");
    code.match_indices(&path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// Lines that hold SQL or run it.
fn sql_lines(source: &str) -> Vec<(usize, String)> {
    code_lines(source)
        .filter(|(_, code)| SQL_MARKS.iter().any(|mark| code.contains(mark)))
        .map(|(n, code)| (n, code.trim().to_string()))
        .collect()
}

fn offenders(dir: &str, find: fn(&str) -> Vec<(usize, String)>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&repo().join(dir), &mut files);
    assert!(!files.is_empty(), "no sources under {dir}");
    let mut found = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        // A file's own unit tests may use what they like.
        let source = source.split("#[cfg(test)]").next().unwrap_or("");
        for (line, code) in find(source) {
            let name = file
                .strip_prefix(repo())
                .unwrap_or(&file)
                .display()
                .to_string();
            found.push(format!("{name}:{line}: {code}"));
        }
    }
    found
}

#[test]
fn the_domain_floor_imports_no_actor_runtime_or_database_crate() {
    let found = offenders("actors/src/domain", impure_lines);
    assert!(
        found.is_empty(),
        "actors/src/domain must stay pure (ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_http_crate_holds_no_sql() {
    let found = offenders("http/src", sql_lines);
    assert!(
        found.is_empty(),
        "SQL belongs in actors/src/store (ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_detectors_see_what_they_look_for() {
    let impure = "use crate::domain::money::Money;\nuse tokio::sync::oneshot;\n\
                  /// tokio:: in a comment is fine\nlet x = actix::spawn(f);\n\
                  use souk_http::x;\nuse {deadpool_postgres::Pool};\n";
    let lines: Vec<usize> = impure_lines(impure).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![2, 4, 6]);
    let sql = "let n = 1; // SELECT in a comment\nlet s = \"SELECT id FROM users\";\n\
               client.query_opt(&stmt, &[]).await?;\nlet update = 2;\n";
    let lines: Vec<usize> = sql_lines(sql).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![2, 3]);
}
