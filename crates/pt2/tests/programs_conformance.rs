//! Loads and runs every program PyTorch exported (`fixtures/pytorch`, both IRs) and checks that
//! every archive the committed table `conformance/programs.md` marks as passing still passes,
//! and that the table is current.

use std::path::PathBuf;

use pt2::conformance::programs::run;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn programs_match_pytorch_at_least_as_well_as_the_table_records() {
    let report = run(&repo().join("fixtures/pytorch"), None).expect("fixtures/pytorch");
    println!("{}", report.summary());
    let table = std::fs::read_to_string(repo().join("conformance/programs.md")).expect("conformance/programs.md");
    let mut regressions = Vec::new();
    for a in &report.archives {
        let row = format!("| {} | {} | pass |", a.case, a.archive);
        if table.contains(&row) {
            if let Err(e) = &a.outcome {
                regressions.push(format!("{}/{}: {e}", a.case, a.archive));
            }
        }
    }
    assert!(regressions.is_empty(), "archives that passed now fail:\n{}", regressions.join("\n"));
    assert!(report.archives.len() >= 100, "every fixture archive runs");
    assert_eq!(table, report.table(), "conformance/programs.md is stale: run `cargo run --release -- conformance programs fixtures/pytorch --table conformance/programs.md`");
}

#[test]
fn model_zoo_programs_load_run_and_refuse_as_pytorch_does() {
    // small ResNet/MobileNet/ViT/encoder/GPT/LSTM programs exported by tools/gen_zoo.py
    let report = run(&repo().join("fixtures/zoo"), None).expect("fixtures/zoo");
    let failures: Vec<String> = report.archives.iter().filter_map(|a| a.outcome.as_ref().err().map(|e| format!("{}/{}: {e}", a.case, a.archive))).collect();
    assert!(report.archives.len() >= 12, "every zoo archive runs");
    assert!(failures.is_empty(), "zoo programs fail:\n{}", failures.join("\n"));
}
