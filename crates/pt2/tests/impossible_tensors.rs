//! A program that asks for a tensor no machine can hold fails with an error naming the node,
//! the shape and the bytes — the process lives on and runs the next program — as PyTorch raises
//! "DefaultCPUAllocator: can't allocate memory". A memory budget set on the module refuses the
//! same way.

use std::path::PathBuf;

use ir::schema::Argument;
use pt2::{ExportedProgram, Tensor, Value};

fn static_if() -> ExportedProgram {
    // x + torch.ones(1, 1, 1), x: f32[3, 2, 2]
    pt2::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch/exportdb_static_if/program.pt2")).unwrap()
}

/// The program with its `ones` node asking for `sizes` (its declared output meta left as it was,
/// so that nothing refuses it before it runs).
fn asking_for(sizes: &[i64]) -> ExportedProgram {
    let mut ep = static_if();
    let node = ep.model.graph_module.graph.nodes.iter_mut().find(|n| n.target == "torch.ops.aten.ones.default").unwrap();
    node.inputs[0].arg = Argument::AsInts(sizes.to_vec());
    ep
}

fn x() -> Vec<Value> {
    vec![Value::Tensor(Tensor::from_vec((0..12).map(|i| i as f32).collect::<Vec<_>>(), &[3, 2, 2]).unwrap())]
}

fn run_err(ep: &ExportedProgram) -> String {
    match ep.module().unwrap().call_flat(x()) {
        Ok(_) => panic!("the program ran"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn impossible_tensors_are_errors_and_the_library_runs_on() {
    // 4 TB: the allocator refuses
    let e = run_err(&asking_for(&[100_000, 100_000, 100]));
    assert!(e.contains("node `ones`"), "{e}");
    assert!(e.contains("tried to allocate 4000000000000 bytes") && e.contains("float32 tensor of shape [100000, 100000, 100]"), "{e}");

    // 2^63 elements: the byte count overflows before anything is asked of the allocator
    let e = run_err(&asking_for(&[2_147_483_648, 2_147_483_648, 2]));
    assert!(e.contains("node `ones`") && e.contains("overflows") && e.contains("[2147483648, 2147483648, 2]"), "{e}");

    // and the same library, in the same process, runs a program as usual
    let out = static_if().module().unwrap().call_flat(x()).unwrap();
    let Value::Tensor(t) = &out[0] else { panic!("{out:?}") };
    assert_eq!(t.to_f64_vec(), (1..13).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn a_memory_budget_refuses_a_call_that_would_pass_it() {
    let ep = static_if();
    // the output alone is 3 * 2 * 2 float32 = 48 bytes
    let e = ep.module().unwrap().with_memory_budget(40).call_flat(x()).err().expect("over budget").to_string();
    assert!(e.contains("node `add`") && e.contains("memory budget is 40 bytes"), "{e}");
    let out = ep.module().unwrap().with_memory_budget(1024).call_flat(x()).unwrap();
    assert_eq!(out.len(), 1);
}
