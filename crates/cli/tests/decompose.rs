//! `run_decompositions` on PyTorch's fixture programs and on an exported Rust model: lowered
//! programs are core ATen, compute what the originals computed (recorded outputs, refused
//! rejects), and hold the operators PyTorch's own `program.core.pt2` holds; tables can be
//! empty (functionalization only), trimmed (`--keep`) or extended by the user.

use std::path::PathBuf;

use export::nn::{Conv2d, Layer};
use export::{Inputs, Module, Program, Result, Tensor, Tree};
use ops::{Registry, Value};

/// Every case lowered to core ATen and reproduced PyTorch's outputs.
fn assert_all_lowered(report: &pt2_cli::conformance::decompose::Report) {
    let failures: Vec<String> = report.cases.iter().filter_map(|c| c.outcome.as_ref().err().map(|e| format!("{}: {e}", c.case))).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch")
}

#[test]
fn fixture_programs_lower_to_pytorchs_core_programs() {
    // fixed floors, not read from conformance/decompose.md: all 54 fixture programs lower, stay
    // correct, and hold exactly the operators of PyTorch's own program.core.pt2
    let report = pt2_cli::conformance::decompose::run(&fixtures(), None).unwrap();
    assert_all_lowered(&report);
    assert_eq!(report.cases.len(), 54, "every fixture program is lowered");
    let compared: Vec<_> = report.cases.iter().filter(|c| c.multiset.is_some()).collect();
    let differ: Vec<String> = compared.iter().filter_map(|c| match &c.multiset {
        Some(Some(diff)) => Some(format!("{}: {diff}", c.case)),
        _ => None,
    }).collect();
    assert!(differ.is_empty(), "operator multisets differ from PyTorch's: {differ:#?}");
    assert_eq!(compared.len(), 54, "every case has PyTorch's core program to compare with");
    let table = std::fs::read_to_string(fixtures().join("../../conformance/decompose.md")).expect("conformance/decompose.md");
    assert_eq!(table, report.table(), "conformance/decompose.md is stale: run `cargo run --release -- conformance decompose fixtures/pytorch --table conformance/decompose.md`");
}

fn load(case: &str) -> pt2::ExportedProgram {
    pt2::load(fixtures().join(case).join("program.pt2")).unwrap()
}

fn targets(ep: &pt2::ExportedProgram) -> Vec<String> {
    ep.graph().nodes.iter().map(|n| n.target.trim_start_matches("torch.ops.").to_string()).collect()
}

#[test]
fn an_empty_table_only_functionalizes() {
    let ep = load("docs_conv_bn_train");
    let lowered = decomp::run_decompositions(&ep, &decomp::DecompTable::empty()).unwrap();
    let t = targets(&lowered);
    // conv2d is kept; the in-place add_ on the counter is functional now, and the buffers it
    // and the batch norm update are outputs of the program
    assert!(t.contains(&"aten.conv2d.default".to_string()), "{t:?}");
    assert!(t.contains(&"aten.add.Tensor".to_string()) && !t.contains(&"aten.add_.Tensor".to_string()), "{t:?}");
    let mutations: Vec<String> = lowered
        .signature()
        .output_specs
        .iter()
        .filter_map(|s| match s {
            ir::schema::OutputSpec::BufferMutation(b) => Some(b.buffer_name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(mutations, ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]);
    assert!(lowered.verify(Registry::global()).is_empty());
}

#[test]
fn kept_operators_stay() {
    let ep = load("tutorial_linear_relu");
    let mut table = decomp::default_decompositions();
    table.remove("aten.linear");
    let lowered = decomp::run_decompositions(&ep, &table).unwrap();
    assert_eq!(targets(&lowered), ["aten.add.Tensor", "aten.linear.default", "aten.relu.default"]);
    assert_eq!(lowered.verify_core_aten(Registry::global()).len(), 1, "linear is not core ATen");
}

#[derive(export::Module)]
struct ConvOnly {
    conv: Conv2d,
}

impl Program for ConvOnly {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        Ok(self.conv.forward(inputs.tensor("x")?)?.into())
    }
}

/// The docs' `my_awesome_custom_conv2d_function`: twice the convolution.
fn doubled_conv2d(c: &mut decomp::DecompCall) -> Result<Vec<export::trace::Arg>> {
    use export::trace::{call, Arg};
    let a = &c.args;
    let args = vec![
        Arg::Tensor(a.tensor("input")?),
        Arg::Tensor(a.tensor("weight")?),
        Arg::OptTensor(a.opt_tensor("bias")?),
        Arg::Ints(a.ints("stride")?),
        Arg::Ints(a.ints("padding")?),
        Arg::Ints(a.ints("dilation")?),
        false.into(),
        Arg::Ints(vec![0.into(), 0.into()]),
        Arg::Int(a.int("groups")?),
    ];
    let conv = call("aten::convolution.default", args, vec![])?.remove(0);
    Ok(vec![Arg::Tensor(conv.mul(2)?)])
}

#[test]
fn a_users_decomposition_replaces_the_default() {
    let m = ConvOnly { conv: Conv2d::new(2, 3, 3, 4) };
    let _ = m.type_name();
    let x = Tensor::rand_uniform(&[1, 2, 6, 6], 5);
    let ep = export::export(&m, Inputs::new().arg("x", x.clone()), &Default::default()).unwrap();
    let mut table = decomp::default_decompositions();
    table.insert("aten.conv2d", doubled_conv2d);
    let lowered = decomp::run_decompositions(&ep, &table).unwrap();
    assert_eq!(targets(&lowered), ["aten.convolution.default", "aten.mul.Tensor"]);
    let run = |ep: &pt2::ExportedProgram| match ep.module().unwrap().call_flat(vec![Value::Tensor(x.data())]).unwrap().remove(0) {
        Value::Tensor(t) => t.to_f64_vec(),
        other => panic!("{other:?}"),
    };
    let (once, twice) = (run(&ep), run(&lowered));
    assert_eq!((once.len(), twice.len()), (3 * 4 * 4, 3 * 4 * 4), "a [1, 3, 4, 4] output from both");
    for (a, b) in once.iter().zip(&twice) {
        assert!((2.0 * a - b).abs() < 1e-5, "{a} {b}");
    }
}

#[test]
fn zoo_programs_lower_and_stay_correct() {
    let report = pt2_cli::conformance::decompose::run(&fixtures().join("../zoo"), None).unwrap();
    assert_all_lowered(&report);
    assert_eq!(report.cases.len(), 14);
}

#[test]
fn transformers_programs_lower_and_stay_correct() {
    // BERT, GPT-2 and Llama from Hugging Face transformers at tiny widths
    // (tools/export_transformers.py): conversions (`to.device`, `to.dtype_layout`), `new_ones`
    // and `_assert_tensor_metadata` lower, and the lowered programs compute PyTorch's outputs
    let report = pt2_cli::conformance::decompose::run(&fixtures().join("../hf"), None).unwrap();
    assert_all_lowered(&report);
    assert_eq!(report.cases.len(), 3);
}

/// One definition per operator: an operator with both an eager kernel and a decomposition is a
/// fused kernel standing in for its decomposition, so both must be checked against PyTorch on
/// the same program — the programs conformance runs the kernel, the decomposition conformance
/// above runs the lowering, both on the fixture programs that contain it. Every entry of the
/// table is contained in one, or listed here with why not.
#[test]
fn every_decomposition_is_checked_against_its_kernel() {
    const NOT_IN_A_FIXTURE: &[(&str, &str)] = &[];
    let table = decomp::default_decompositions();
    let mut seen = std::collections::BTreeSet::new();
    // both directories' programs are checked by the programs conformance and lowered and
    // compared by the two decomposition tests above
    // fixtures/export_ops is lowered and checked against PyTorch by tests/export_ops.rs
    let dirs = [fixtures(), fixtures().join("../zoo"), fixtures().join("../export_ops"), fixtures().join("../composites")];
    for entry in dirs.iter().flat_map(|d| std::fs::read_dir(d).unwrap()) {
        let path = entry.unwrap().path().join("program.pt2");
        if let Ok(ep) = pt2::load(&path) {
            for n in &ep.graph().nodes {
                seen.insert(ops::canonical_name(&n.target));
            }
        }
    }
    // a composite's kernel is its decomposition: one definition, nothing to check against
    let composites: Vec<String> = decomp::composites::all().map(decomp::composites::Composite::name).collect();
    let mut unchecked = Vec::new();
    for name in table.names().filter(|n| !composites.iter().any(|c| c == n)) {
        let kernel = Registry::global().get(name);
        let listed = NOT_IN_A_FIXTURE.iter().any(|(n, _)| *n == name);
        if kernel.is_some() && !seen.contains(name) && !listed {
            unchecked.push(name.to_string());
        }
        assert!(!(listed && seen.contains(name)), "{name} is listed as in no fixture but is in one: remove it from the list");
    }
    assert!(unchecked.is_empty(), "kernels with a decomposition that no fixture program checks against PyTorch both ways: {unchecked:?}");
}

#[test]
fn composite_programs_lower_to_pytorchs_core_programs() {
    // one-operator programs of the composites (crates/decomp/src/composites.rs), exported by
    // tools/gen_composites.py: each lowers through the decomposition its kernel runs, stays
    // correct, and holds exactly PyTorch's core operators
    let report = pt2_cli::conformance::decompose::run(&fixtures().join("../composites"), None).unwrap();
    assert_all_lowered(&report);
    // ATen's einsum first aligns every operand to all subscripts (unsqueeze, permute) before
    // each product; pt2's permutes only what it contracts: the same values with fewer nodes
    // each with the same values; PyTorch's core IR lowers `reflection_pad1d` itself (index
    // arithmetic) where pt2 keeps the core-tagged operator, and builds circular padding with
    // `empty` + `slice_scatter` copies where pt2 concatenates slices
    const OTHER_OPERATORS: &[&str] = &[
        "composite_einsum_attention",
        "composite_einsum_ellipsis",
        "composite_einsum_matmul",
        "composite_einsum_sum",
        "composite_einsum_three",
        "composite_pad_reflect",
        "composite_pad_circular",
        // PyTorch's lowering keeps `inverse`'s check of the factorization as an effect
        // (`with_effects(token, _linalg_check_errors, info)`); pt2's lowering does not thread
        // effect tokens yet, so its lowered program returns inf/NaN for a singular matrix where
        // PyTorch's refuses it (the training-IR program and the eager kernel refuse it)
        "composite_det_inverse_slogdet",
        // matrix norms: pt2 takes ±1 norms with kept dims squeezed after, and the Frobenius norm
        // as one `pow`/`sum`/`pow`; PyTorch squares twice and reduces without kept dims
        "composite_norms",
        // quantile's ranks and interpolation as PyTorch's CPU kernel computes them (permute,
        // gather, a lerp from the nearer end), not as its Python reference writes them
        "composite_quantile",
        "composite_nanquantile",
        // `(n - shift) % n` for shift -3 is `n + 3` once simplified; PyTorch records `n - (-3)`
        "composite_roll_dynamic",
        // nonzero's data-dependent length: pt2 also asserts it is at most the symbolic element
        // count (`u0 <= 4 * s33`); PyTorch bounds it by a constant only
        "composite_nonzero_as_tuple",
    ];
    let differ: Vec<String> = report.cases.iter().filter(|c| !OTHER_OPERATORS.contains(&c.case.as_str())).filter_map(|c| match &c.multiset {
        Some(Some(diff)) => Some(format!("{}: {diff}", c.case)),
        Some(None) => None,
        None => Some(format!("{}: no core program to compare with", c.case)),
    }).collect();
    assert!(differ.is_empty(), "{differ:#?}");
    let table = std::fs::read_to_string(fixtures().join("../../conformance/composites.md")).expect("conformance/composites.md");
    assert_eq!(table, report.table(), "conformance/composites.md is stale: run `cargo run --release -- conformance decompose fixtures/composites --table conformance/composites.md`");
}

/// Every composite is called by a program PyTorch exported — its own (`fixtures/composites`,
/// which also checks the lowering's operators), an OpInfo sample's (`fixtures/export_ops`,
/// `fixtures/export_ops_complex`) or a model's —
/// whose recorded outputs the programs conformance checks its eager path against.
#[test]
fn every_composite_is_in_a_pytorch_program() {
    let mut seen = std::collections::HashSet::new();
    for dir in ["../composites", "../export_ops", "../export_ops_complex", ".", "../zoo", "../hf"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let case = entry.unwrap().path();
            // PyTorch's core programs too: some keep a composite its lowering emits (`resize`)
            for archive in ["program.pt2", "program.core.pt2"] {
                if let Ok(ep) = pt2::load(case.join(archive)) {
                    seen.extend(ep.graph().nodes.iter().map(|n| ops::canonical_name(&n.target)));
                }
            }
        }
    }
    let missing: Vec<String> = decomp::composites::all().map(decomp::composites::Composite::name).filter(|n| !seen.contains(n)).collect();
    assert!(missing.is_empty(), "composites no PyTorch program calls: {missing:?}");
}

struct Squares;

impl export::Module for Squares {
    fn visit<'a>(&'a self, _: &mut export::Visitor<'a>) {}
}

impl Program for Squares {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let y = export::trace::call("aten::square", vec![x.into()], vec![])?.remove(0);
        Ok(y.add(1)?.into())
    }
}

/// A composite's kernel runs its decomposition without recording it: the exported program
/// holds the composite, as PyTorch's training IR does, and lowering emits the decomposition.
#[test]
fn a_composite_is_recorded_as_itself_and_lowered_to_its_decomposition() {
    let x = Tensor::from_data(tensor::Tensor::from_vec(vec![1.0f32, -2.0, 3.0], &[3]).unwrap());
    let ep = export::export(&Squares, Inputs::new().arg("x", x.clone()), &Default::default()).unwrap();
    assert_eq!(targets(&ep), ["aten.square.default", "aten.add.Tensor"]);
    let lowered = decomp::run_decompositions(&ep, &decomp::default_decompositions()).unwrap();
    assert_eq!(targets(&lowered), ["aten.pow.Tensor_Scalar", "aten.add.Tensor"]);
    for program in [&ep, &lowered] {
        let out = match program.module().unwrap().call_flat(vec![Value::Tensor(x.data())]).unwrap().remove(0) {
            Value::Tensor(t) => t.to_f64_vec(),
            other => panic!("{other:?}"),
        };
        assert_eq!(out, [2.0, 5.0, 10.0]);
    }
}
