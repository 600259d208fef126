//! pt2 prints every fixture program as PyTorch's `print(ep)` did (recorded in
//! `fixtures/pytorch/<case>/program*.printed.txt` by `tools/gen_printed.py`).

use std::path::PathBuf;

/// Case folders of PyTorch's fixture programs and of the model-zoo programs.
fn fixture_cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut v = Vec::new();
    for dir in ["pytorch", "zoo"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            v.push(e.unwrap().path());
        }
    }
    v.sort();
    v
}

#[test]
fn printed_programs_match_pytorch() {
    let (mut same, mut total, mut diffs) = (0, 0, Vec::new());
    for case in fixture_cases() {
        for (archive, printed) in [("program.pt2", "program.printed.txt"), ("program.core.pt2", "program.core.printed.txt")] {
            let (a, p) = (case.join(archive), case.join(printed));
            if !a.exists() || !p.exists() {
                continue;
            }
            let want = std::fs::read_to_string(&p).unwrap();
            if want.contains("# Annotation: ") {
                // PyTorch's loader annotates nodes it re-traces (dynamo-disabled regions); the
                // archive holds no such metadata for pt2 to print
                continue;
            }
            total += 1;
            let ep = serialize::load(&a).unwrap();
            let got = ep.to_string();
            if got.trim_end() == want.trim_end() {
                same += 1;
            } else {
                let first = got.lines().zip(want.lines()).position(|(g, w)| g != w).unwrap_or(0);
                diffs.push(format!(
                    "{}:\n  got:  {}\n  want: {}",
                    a.display(),
                    got.lines().nth(first).unwrap_or(""),
                    want.lines().nth(first).unwrap_or("")
                ));
            }
        }
    }
    println!("{same} of {total} printed programs match");
    assert!(diffs.is_empty(), "printed programs differ from PyTorch:\n{}", diffs.join("\n"));
    assert!(total >= 100, "only {total} printed fixtures found");
}

#[test]
fn graph_listings_match_pytorch() {
    let (mut total, mut diffs) = (0, Vec::new());
    for case in fixture_cases() {
        for (archive, printed) in [("program.pt2", "program.graph.txt"), ("program.core.pt2", "program.core.graph.txt")] {
            let (a, p) = (case.join(archive), case.join(printed));
            if !a.exists() || !p.exists() {
                continue;
            }
            total += 1;
            let got = serialize::load(&a).unwrap().graph_text();
            let want = std::fs::read_to_string(&p).unwrap();
            if got.trim_end() != want.trim_end() {
                let first = got.lines().zip(want.lines()).position(|(g, w)| g != w).unwrap_or(0);
                diffs.push(format!("{}:\n  got:  {}\n  want: {}", a.display(), got.lines().nth(first).unwrap_or(""), want.lines().nth(first).unwrap_or("")));
            }
        }
    }
    assert!(total >= 100, "only {total} graph fixtures found");
    assert!(diffs.is_empty(), "{} of {total} graph listings differ from PyTorch:\n{}", diffs.len(), diffs.join("\n"));
}
