//! Loads and runs every program PyTorch exported (`fixtures/pytorch`, both IRs, and the model
//! zoo) and holds them to a fixed bar written here: every archive loads, runs every recorded
//! input set with PyTorch's outputs and refuses every reject. The generated table
//! `conformance/programs.md` is documentation kept current, not the bar.

use std::path::PathBuf;

use pt2_cli::conformance::programs::{run, Report};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every archive passes, each checked on at least one input set and one reject.
fn assert_all_pass(report: &Report, archives: usize, sets: usize, rejects: usize) {
    let failures: Vec<String> =
        report.archives.iter().filter_map(|a| a.outcome.as_ref().err().map(|e| format!("{}/{}: {e}", a.case, a.archive))).collect();
    assert!(failures.is_empty(), "archives fail:\n{}", failures.join("\n"));
    assert_eq!(report.archives.len(), archives, "every fixture archive runs");
    let checked: Vec<_> = report.archives.iter().filter_map(|a| a.outcome.as_ref().ok()).collect();
    assert!(checked.iter().all(|c| c.sets >= 1 && c.rejects >= 1), "an archive passed without a set or a reject checked");
    let (s, r) = checked.iter().fold((0, 0), |(s, r), c| (s + c.sets, r + c.rejects));
    assert!(s >= sets && r >= rejects, "{s} sets and {r} rejects checked; the floors are {sets} and {rejects}");
}

#[test]
fn every_pytorch_program_loads_runs_and_refuses_as_pytorch_does() {
    let report = run(&repo().join("fixtures/pytorch"), None).expect("fixtures/pytorch");
    println!("{}", report.summary());
    assert_all_pass(&report, 108, 214, 118);
    let table = std::fs::read_to_string(repo().join("conformance/programs.md")).expect("conformance/programs.md");
    assert_eq!(table, report.table("fixtures/pytorch", "conformance/programs.md"), "conformance/programs.md is stale: run `cargo run --release -- conformance programs fixtures/pytorch --table conformance/programs.md`");
}

#[test]
fn model_zoo_programs_load_run_and_refuse_as_pytorch_does() {
    // small ResNet/MobileNet/ViT/encoder/GPT/LSTM programs exported by tools/gen_zoo.py
    let report = run(&repo().join("fixtures/zoo"), None).expect("fixtures/zoo");
    assert_all_pass(&report, 28, 58, 30);
}

#[test]
fn composite_programs_load_run_and_refuse_as_pytorch_does() {
    // one-operator programs of the composites, exported by tools/gen_composites.py
    let report = run(&repo().join("fixtures/composites"), None).expect("fixtures/composites");
    assert_all_pass(&report, 142, 284, 142);
}

#[test]
fn transformers_programs_load_run_and_refuse_as_pytorch_does() {
    // BERT, GPT-2 (no core program: PyTorch's own lowering fails on it) and Llama from Hugging
    // Face transformers, exported by tools/export_transformers.py
    let report = run(&repo().join("fixtures/hf"), None).expect("fixtures/hf");
    assert_all_pass(&report, 5, 10, 5);
}

#[test]
fn an_unreadable_case_fails_alone() {
    // two cases: one intact, one whose io file is not safetensors
    let dir = std::env::temp_dir().join(format!("pt2-unreadable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for case in ["tutorial_linear_relu", "exportdb_static_if"] {
        let (from, to) = (repo().join("fixtures/pytorch").join(case), dir.join(case));
        std::fs::create_dir_all(&to).unwrap();
        for f in ["case.json", "io.safetensors", "program.pt2"] {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
    std::fs::write(dir.join("exportdb_static_if/io.safetensors"), b"not a safetensors file").unwrap();
    let report = run(&dir, None).expect("the run goes on past an unreadable case");
    let outcome = |case: &str| report.archives.iter().find(|a| a.case == case).map(|a| a.outcome.clone()).unwrap();
    assert!(outcome("tutorial_linear_relu").is_ok());
    assert!(outcome("exportdb_static_if").unwrap_err().contains("io.safetensors"), "{:?}", outcome("exportdb_static_if"));
    let _ = std::fs::remove_dir_all(&dir);
}
