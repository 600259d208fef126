//! PyTorch's own operator samples (`op_db`), each exported by torch.export 2.15 as a one-call
//! program in both IRs (`tools/gen_export_op_goldens.py` → `fixtures/export_ops`): pt2 loads and
//! runs each archive on the sample and must give PyTorch's outputs. Fixed floors here, which
//! only rise; the generated table `conformance/export_ops.md` lists every case and why one fails.

use std::path::PathBuf;

use pt2_cli::conformance::programs::run;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn opinfo_programs_run_as_pytorch_runs_them() {
    let report = run(&repo().join("fixtures/export_ops"), None).expect("fixtures/export_ops");
    let passed = |archive: &str| report.archives.iter().filter(|a| a.archive == archive && a.outcome.is_ok()).count();
    let cases = report.archives.iter().filter(|a| a.archive == "program.pt2").count();
    println!("{}", report.summary());
    assert_eq!(cases, CASES, "every OpInfo program is run");
    assert!(passed("program.pt2") >= TRAINING_IR_FLOOR, "training IR: {} of {cases} pass; the floor is {TRAINING_IR_FLOOR}", passed("program.pt2"));
    assert!(passed("program.core.pt2") >= CORE_IR_FLOOR, "core IR: {} of {cases} pass; the floor is {CORE_IR_FLOOR}", passed("program.core.pt2"));
    let table = std::fs::read_to_string(repo().join("conformance/export_ops.md")).expect("conformance/export_ops.md");
    assert_eq!(
        table,
        report.table("fixtures/export_ops", "conformance/export_ops.md"),
        "conformance/export_ops.md is stale: run `cargo run --release -- conformance programs fixtures/export_ops --table conformance/export_ops.md`"
    );
}

const CASES: usize = 1200;
const TRAINING_IR_FLOOR: usize = 1108;
const CORE_IR_FLOOR: usize = 1167;
