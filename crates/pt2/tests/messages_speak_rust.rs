//! pt2's messages name pt2's API: no string literal in the library's sources (messages, advice,
//! suggested fixes) names an API that exists only in PyTorch's Python (`mark_dynamic`,
//! `Dim.DYNAMIC`, `Dim('dx', max=16)`, `torch._check`, `torch.cond`, ...). Comments may cite
//! PyTorch; what a user reads may not send them there.

use std::path::{Path, PathBuf};

const PYTHON_ONLY: &[&str] = &[
    "mark_dynamic",
    "Dim.DYNAMIC",
    "Dim.STATIC",
    "Dim.AUTO",
    "Dim('",
    "Dim(\\\"",
    "torch._check",
    "torch.cond",
    "torch.export.Dim",
    "dynamic_shapes=",
    "torch._dynamo",
    "torch.compile",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of a line of Rust that is not a comment (good enough for this code
/// base's style: no `"` inside raw strings in messages).
fn literals(line: &str) -> Vec<&str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    code.split('"').skip(1).step_by(2).collect()
}

#[test]
fn no_message_names_python_only_api() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    // (not `exportdb`: its cases carry ExportDB's tags, which are PyTorch's names on purpose)
    for krate in ["symbolic", "tensor", "ops", "ir", "serialize", "export", "decomp", "pt2", "capi", "cli"] {
        rust_files(&crates.join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 100, "only {} source files found", files.len());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // test modules hold PyTorch's texts to compare with
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in text.lines().enumerate() {
            for lit in literals(line) {
                if let Some(word) = PYTHON_ONLY.iter().find(|w| lit.contains(*w)) {
                    found.push(format!("{}:{}: `{word}` in \"{lit}\"", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "messages that send users to PyTorch's Python API:\n{}", found.join("\n"));
}
