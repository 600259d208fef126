//! The case catalogue, checked two ways: every case exports (or fails exactly as expected) and
//! its exported program passes the conformance runner on the folder `pt2 exportdb write`
//! produces; and where PyTorch exported the same program (`fixtures/pytorch/<case>`), the Rust
//! model run with PyTorch's weights on PyTorch's inputs gives PyTorch's outputs, the exported
//! graph calls the same operators in the same order, and PyTorch's reject sets are refused.

use std::path::PathBuf;

use export::{Inputs, Tree};
use exportdb::Support;
use ops::Value;
use pt2_cli::conformance::fixture::{compare, Tolerance};
use pt2_cli::conformance::programs::{leaves, read_case};
use pt2_cli::exportdb::{flat_values, write_all, Written};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_case_exports_and_passes_conformance() {
    let dir = std::env::temp_dir().join(format!("pt2-exportdb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report = write_all(&dir, None).unwrap();
    let failures: Vec<String> = report
        .rows
        .iter()
        .filter_map(|r| match (&r.written, &r.conformance) {
            (Err(e), _) => Some(e.clone()),
            (Ok(Written::Program { .. }), Some(Err(e))) => Some(format!("{}: {e}", r.name)),
            (Ok(Written::Program { .. }), None) => Some(format!("{}: not checked", r.name)),
            _ => None,
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    // fixed floors, not read from conformance/exportdb.md
    let errors = report.rows.iter().filter(|r| matches!(r.written, Ok(Written::ExpectedError))).count();
    assert_eq!((report.rows.len(), errors), (61, 4), "cases, and cases whose export must fail");
    assert_eq!(report.passed(), 61);
    let table = std::fs::read_to_string(repo().join("conformance/exportdb.md")).expect("conformance/exportdb.md");
    assert_eq!(table, report.table(), "conformance/exportdb.md is stale: run `cargo run --release -- exportdb write DIR --table conformance/exportdb.md`");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tree_of(v: Value) -> Tree {
    match v {
        Value::Tensor(t) => Tree::Tensor(export::Tensor::from_data(t)),
        Value::Int(i) => Tree::Int(i),
        Value::Float(f) => Tree::Float(f),
        Value::Bool(b) => Tree::Bool(b),
        _ => Tree::None,
    }
}

fn flat_outputs(t: &Tree) -> Vec<Value> {
    let mut inputs = Inputs::new();
    inputs.args.push(("out".into(), t.clone()));
    flat_values(&inputs)
}

#[test]
fn cases_match_pytorch_on_its_fixtures() {
    let tol = Tolerance { rtol: 1e-4, atol: 1e-5 };
    let mut compared = 0;
    for case in exportdb::catalogue() {
        let fixture = repo().join("fixtures/pytorch").join(case.name);
        // a case not applicable to Rust does something else than PyTorch's example
        if !fixture.join("case.json").exists() || matches!(case.support, Support::NotApplicable(_)) {
            continue;
        }
        let (json, store) = read_case(&fixture).unwrap();
        let theirs = pt2::load(fixture.join("program.pt2")).unwrap();
        let model = (case.model)();
        // a tensor PyTorch lifted from forward's body has no name of its own (`lifted_tensor_0`,
        // `lifted_tensor_1`, ... in the order it met them): the model's constants that PyTorch
        // did not name take them in the same order
        let mut lifted = (0..).map(|i| theirs.constants.get(&format!("lifted_tensor_{i}")).cloned()).map_while(|t| t).collect::<Vec<_>>().into_iter();
        let lifted = std::cell::RefCell::new(&mut lifted);
        let by_name = |name: &str| theirs.state_dict.get(name).or_else(|| theirs.constants.get(name)).cloned().or_else(|| lifted.borrow_mut().next());
        export::load_state_dict(model.as_ref(), &by_name).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let structure = (case.sets)().remove(0);
        let sets = json["sets"].as_array().unwrap();
        for (i, set) in sets.iter().enumerate() {
            let inputs = structure.with_leaves(leaves(&set["inputs"], &store).unwrap().into_iter().map(tree_of).collect());
            let want = leaves(&set["outputs"], &store).unwrap();
            let got = model.forward(&inputs).unwrap_or_else(|e| panic!("{} set {i}: {e}", case.name));
            compare(&Value::List(flat_outputs(&got)), &Value::List(want), tol, &format!("{} set {i}", case.name)).unwrap();
        }
        // exported with PyTorch's example: the same operators, in the same order, with the
        // names torch.fx gives them (`slice_1`, `sum_1`: never a Python builtin's name)
        let example = structure.with_leaves(leaves(&sets[0]["inputs"], &store).unwrap().into_iter().map(tree_of).collect());
        let ours = export::export(model.as_ref(), example, &export::ExportOptions { dynamic_shapes: (case.dynamic_shapes)(), ..Default::default() }).unwrap();
        let nodes = |ep: &pt2::ExportedProgram| -> Vec<(String, String)> {
            ep.graph().nodes.iter().filter(|n| !n.target.contains("sym_size")).map(|n| (n.target.clone(), n.name.clone().unwrap_or_default())).collect()
        };
        assert_eq!(nodes(&ours), nodes(&theirs), "{}: operators and node names", case.name);
        // and PyTorch's rejects are refused
        for (i, r) in json["rejects"].as_array().into_iter().flatten().enumerate() {
            let inputs = structure.with_leaves(leaves(&r["inputs"], &store).unwrap().into_iter().map(tree_of).collect());
            assert!(ours.check_inputs(&flat_values(&inputs)).is_err(), "{}: PyTorch's reject {i} is accepted", case.name);
        }
        compared += 1;
    }
    assert_eq!(compared, 53, "cases compared with PyTorch's own export");
}

/// PyTorch 2.15's ExportDB examples (`torch/_export/db/examples/`), by name.
const EXPORTDB_EXAMPLES: [&str; 36] = [
    "assume_constant_result", "autograd_function", "class_method", "cond_branch_class_method", "cond_branch_nested_function",
    "cond_branch_nonlocal_variables", "cond_closed_over_variable", "cond_operands", "cond_predicate", "constrain_as_size_example",
    "constrain_as_value_example", "decorator", "dictionary", "dynamic_shape_assert", "dynamic_shape_constructor",
    "dynamic_shape_if_guard", "dynamic_shape_map", "dynamic_shape_round", "dynamic_shape_slicing", "dynamic_shape_view",
    "fn_with_kwargs", "list_contains", "list_unpack", "model_attr_mutation", "nested_function", "null_context_manager",
    "optional_input", "pytree_flatten", "scalar_output", "specialized_attribute", "static_for_loop", "static_if",
    "tensor_setattr", "type_reflection_method", "unsupported_operator", "user_input_mutation",
];

#[test]
fn every_exportdb_example_has_a_case_with_its_support_level() {
    let catalogue = exportdb::catalogue();
    let mut supported = 0;
    for name in EXPORTDB_EXAMPLES {
        let case = catalogue.iter().find(|c| c.name == format!("exportdb_{name}")).unwrap_or_else(|| panic!("no case for ExportDB's `{name}`"));
        match case.support {
            Support::Supported => supported += 1,
            // a level other than supported says why
            Support::NotSupportedYet(why) | Support::NotApplicable(why) => assert!(!why.is_empty(), "{}", case.name),
        }
    }
    assert_eq!(catalogue.iter().filter(|c| c.name.starts_with("exportdb_")).count(), 36, "a case per example, no more");
    assert_eq!(supported, 34, "supported ExportDB examples (fixed floor)");
}
