//! `ep.module()` called as PyTorch's module is (positional inputs by position, keyword inputs by
//! name), and a call that does not fit says which inputs the program takes.

use std::path::PathBuf;

use ops::Value;
use pt2_cli::conformance::programs::first_set;
use pt2::PyTree;

fn encoder() -> (pt2::ExportedProgram, Vec<Value>) {
    // forward(self, x, mask) of tools/gen_zoo.py's TinyEncoder
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zoo/zoo_encoder");
    let (inputs, _) = first_set(&dir).unwrap();
    (pt2::load(dir.join("program.pt2")).unwrap(), inputs)
}

fn leaf(v: &Value) -> PyTree {
    PyTree::Leaf(v.clone())
}

fn flat(out: PyTree) -> Vec<f64> {
    match out {
        PyTree::Leaf(Value::Tensor(t)) => t.to_f64_vec(),
        PyTree::Tuple(v) | PyTree::List(v) => v.into_iter().flat_map(flat).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn calls_bind_as_pytorchs_module_does_and_misfits_name_the_inputs() {
    let (ep, inputs) = encoder();
    let m = ep.module().unwrap();
    assert!(!flat(m.call(vec![leaf(&inputs[0]), leaf(&inputs[1])], vec![]).unwrap()).is_empty());
    // PyTorch 2.15's module refuses a positional input given by name ("kwarg keyword mismatch")
    let err = m.call(vec![leaf(&inputs[0])], vec![("mask".into(), leaf(&inputs[1]))]).unwrap_err().to_string();
    assert!(err.contains("`mask` is a positional input, given by position") && err.contains("the program takes `x`, `mask` by position and no keyword inputs"), "{err}");
    let error = m.call(vec![leaf(&inputs[0]), leaf(&inputs[1])], vec![("masks".into(), leaf(&inputs[1]))]).unwrap_err();
    assert!(matches!(&error, pt2::Error::Input { input: Some(name), .. } if name == "masks"), "the error names the input: {error:?}");
    let err = error.to_string();
    assert!(err.contains("the program has no input named `masks`; the program takes `x`, `mask` by position"), "{err}");
    let err = m.call(vec![leaf(&inputs[0])], vec![]).unwrap_err().to_string();
    assert!(err.contains("1 positional inputs were given (input `mask` is missing)"), "{err}");
    let err = m.call(vec![leaf(&inputs[0]), leaf(&inputs[1]), leaf(&inputs[1])], vec![]).unwrap_err().to_string();
    assert!(err.contains("3 positional inputs were given; the program takes `x`, `mask` by position"), "{err}");
}

#[test]
fn a_loaded_program_says_how_to_call_it() {
    // PyTorch's export of the encoder: two inputs sharing a dynamic sequence length
    let (ep, _) = encoder();
    assert_eq!(ep.signature_summary(), "x: f32[2, s27, 32]\nmask: b8[2, s27]\n-> f32[2, s27, 32]\ns27: VR[2, 32]");
}

#[test]
fn errors_keep_what_they_know() {
    let (ep, inputs) = encoder();
    let m = ep.module().unwrap();
    // a size outside the program's range names the input
    let Value::Tensor(x) = &inputs[0] else { panic!() };
    let mut shape = x.shape().to_vec();
    shape[1] = 10_000;
    let too_long = Value::Tensor(pt2::Tensor::zeros(&shape, x.dtype()));
    let error = m.call(vec![leaf(&too_long), leaf(&inputs[1])], vec![]).unwrap_err();
    assert!(matches!(&error, pt2::Error::Input { input: Some(name), .. } if name == "x"), "{error:?}");

    // a program using an operator pt2 does not have fails to load into a module, naming the
    // node and the operator
    let mut unknown = ep.clone();
    let node = unknown.model.graph_module.graph.nodes.iter_mut().find(|n| n.target.starts_with("torch.ops.aten.")).expect("an ATen node");
    node.target = "torch.ops.my_lib.frobnicate.default".into();
    let error = unknown.module().err().expect("an unknown operator");
    match error.root() {
        pt2::Error::UnknownOperator { name } => assert_eq!(name, "my_lib.frobnicate.default"),
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("register a kernel for this custom operator"), "{error}");
}
