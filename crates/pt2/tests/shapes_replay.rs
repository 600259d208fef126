//! Every program PyTorch exported, replayed shapes only (`pt2 verify --shapes`): each node run
//! through pt2's meta function and dtype rule on meta tensors, and each value compared with
//! the sizes and dtype PyTorch recorded for it. This checks the rules shapes-only export
//! relies on against PyTorch's, node by node, on real programs (torchvision, transformers, the
//! composites, the tutorial and ExportDB programs).

use std::path::{Path, PathBuf};

/// Programs that cannot be replayed shapes only here, and why.
const NEEDS_DATA: &[(&str, &str)] = &[
    ("exportdb_assume_constant_result", "reads a tensor's value (`item`) to size its output"),
    ("exportdb_constrain_as_size_example", "reads a tensor's value (`item`) to size its output"),
    ("exportdb_constrain_as_value_example", "reads a tensor's value (`item`) into a condition"),
    ("zoo_while_loop", "the number of `while_loop` iterations depends on values"),
    ("tutorial_custom_op", "a custom operator, which this test does not register"),
    ("composite_nonzero_as_tuple", "`nonzero`'s length depends on values"),
];

fn programs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for case in std::fs::read_dir(dir).expect("fixture folder") {
        let case = case.expect("entry").path();
        for name in ["program.pt2", "program.core.pt2"] {
            if case.join(name).exists() {
                out.push(case.join(name));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_program_replays_shapes_only_with_pytorchs_sizes_and_dtypes() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let (mut checked, mut replayed) = (0, 0);
    let mut failures = Vec::new();
    for folder in ["pytorch", "zoo", "hf", "composites"] {
        for path in programs(&fixtures.join(folder)) {
            let case = path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let ep = pt2::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            match pt2::ir::shapes::replay_shapes(&ep, pt2::Registry::global()) {
                Ok(replay) => {
                    failures.extend(replay.mismatches.iter().map(|m| format!("{}: {m}", path.display())));
                    checked += replay.checked;
                    replayed += 1;
                    assert!(!NEEDS_DATA.iter().any(|(c, _)| *c == case), "{case} replays now: take it off NEEDS_DATA");
                }
                Err(e) if NEEDS_DATA.iter().any(|(c, _)| *c == case) => {
                    let e = e.to_string();
                    assert!(e.contains("shapes-only") || e.contains("depends on tensor values") || e.contains("not registered"), "{}: {e}", path.display());
                }
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(failures.is_empty(), "shapes-only replay disagrees with PyTorch:\n{}", failures.join("\n"));
    assert!(replayed >= 219, "{replayed} programs replayed");
    assert!(checked >= 2465, "{checked} values compared");
}
