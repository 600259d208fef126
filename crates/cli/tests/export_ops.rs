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

/// Each training-IR program lowered by pt2's `run_decompositions` must stay correct on PyTorch's
/// sample; how many lower entirely to core ATen, and with PyTorch's exact core operators, are
/// floors.
#[test]
fn opinfo_programs_lower_and_stay_correct() {
    let report = pt2_cli::conformance::decompose::run(&repo().join("fixtures/export_ops"), None).expect("fixtures/export_ops");
    let lowered = report.cases.iter().filter(|c| c.outcome.is_ok()).count();
    let same_operators = report.cases.iter().filter(|c| c.outcome.is_ok() && matches!(c.multiset, Some(None))).count();
    // a lowering that runs but computes something else is never acceptable
    let wrong: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !SIGN_AMBIGUOUS.contains(&c.case.as_str()))
        .filter_map(|c| c.outcome.as_ref().err().filter(|e| e.contains("differ")).map(|e| format!("{}: {e}", c.case)))
        .collect();
    assert!(wrong.is_empty(), "lowered programs that compute something else: {wrong:#?}");
    assert!(lowered >= LOWERED_FLOOR, "{lowered} of {} lower to core ATen; the floor is {LOWERED_FLOOR}", report.cases.len());
    assert!(same_operators >= SAME_OPERATORS_FLOOR, "{same_operators} have PyTorch's core operators; the floor is {SAME_OPERATORS_FLOOR}");
}

/// Eigenvectors are defined up to sign: pt2's Jacobi solver and LAPACK's pick different signs
/// for some (the same in the training-IR program, listed in `conformance/export_ops.md`).
const SIGN_AMBIGUOUS: &[&str] = &["op_linalg_eigh_float32_0"];

const LOWERED_FLOOR: usize = 691;
const SAME_OPERATORS_FLOOR: usize = 632;
const CASES: usize = 1203;
const TRAINING_IR_FLOOR: usize = 1195;
const CORE_IR_FLOOR: usize = 1197;

/// Complex64 samples of the element-wise basics, reductions, views, copies, FFTs,
/// convolutions, scatters and programs holding complex Python numbers
/// (`gen_export_op_goldens.py --dtypes complex64`, a compact subset in
/// `fixtures/export_ops_complex`): every one runs in both IRs with PyTorch's values, both parts
/// held to float32's tolerance.
#[test]
fn complex_programs_run_as_pytorch_runs_them() {
    every_case_passes("fixtures/export_ops_complex", 125);
}

/// uint16/uint32/uint64 samples of every OpInfo that lists them and exports
/// (`gen_export_op_goldens.py --dtypes uint16,uint32,uint64`, a compact subset in
/// `fixtures/export_ops_uint`): every one runs in both IRs with PyTorch's values.
#[test]
fn wide_unsigned_programs_run_as_pytorch_runs_them() {
    every_case_passes("fixtures/export_ops_uint", 46);
}

/// Every one of the `cases` programs in `dir` runs in both IRs as PyTorch ran it.
fn every_case_passes(dir: &str, cases: usize) {
    let report = run(&repo().join(dir), None).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let failures: Vec<String> =
        report.archives.iter().filter_map(|a| a.outcome.as_ref().err().map(|e| format!("{}/{}: {e}", a.case, a.archive))).collect();
    assert!(failures.is_empty(), "{dir}: programs fail:\n{}", failures.join("\n"));
    assert_eq!(report.archives.len(), 2 * cases, "{dir}: every case runs in both IRs");
}
