//! The front end's behaviours that the catalogue does not cover: data-dependent values,
//! runtime assertions, the dynamic-dim hints, strict mode, and the ways to say which dims are
//! dynamic.

use export::nn::{Layer, Linear};
use export::{check, check_is_size, export, zeros, Dim, DimSpec, DynamicShapes, ExportOptions, Inputs, Module, Program, Result, Tensor, Tree, Visitor};
use tensor::DType;

mod common;

fn x(shape: &[usize]) -> Inputs {
    Inputs::new().arg("x", Tensor::rand_uniform(shape, 1))
}

program!(BranchOnData, |inputs| {
    let x = inputs.tensor("x")?;
    if x.sum()?.item_f64()?.gt(0.0)? {
        return Ok(x.sin()?.into());
    }
    Ok(x.cos()?.into())
});

#[test]
fn branching_on_tensor_data_is_a_data_dependent_error_at_the_users_line() {
    // eagerly it just runs
    assert!(BranchOnData.forward(&x(&[3, 3])).is_ok());
    let err = export(&BranchOnData, x(&[3, 3]), &ExportOptions::default()).unwrap_err().to_string();
    assert!(err.starts_with("Could not guard on data-dependent expression zuf0 > 0.0"), "{err}");
    let at = common::line_of(include_str!("frontend.rs"), "frontend.rs", "if x.sum()?.item_f64()?.gt(0.0)? {");
    assert!(err.contains(&at), "names the line of the `if`: {err}");
    assert!(err.contains("cond"), "points to cond: {err}");
}

program!(ConstrainAsSize, |inputs| {
    // torch.export's constrain_as_size example: a = x.item(); check_is_size(a); check(a <= 5)
    let a = inputs.tensor("x")?.item_int()?;
    check_is_size(&a)?;
    check(&a.sym_le(5))?;
    Ok(zeros(&[a, 5.into()], DType::F32)?.into())
});

#[test]
fn values_read_from_data_are_unbacked_and_checks_become_runtime_assertions() {
    let four = Tensor::from_i64(vec![4], &[]).unwrap();
    let ep = export(&ConstrainAsSize, Inputs::new().arg("x", four), &ExportOptions::default()).unwrap();
    let text = ep.to_string();
    assert!(text.contains(r#"item: "Sym(u0)" = torch.ops.aten.item.default(x)"#), "{text}");
    // named as PyTorch names them: the user's comparison took `ge` (fixtures/pytorch/exportdb_constrain_as_size_example)
    assert!(text.contains("torch.ops.aten._assert_scalar.default(ge_1, \"Runtime assertion failed for expression u0 >= 0 on node 'ge_1'\")"), "{text}");
    assert!(text.contains("Runtime assertion failed for expression u0 <= 5"), "{text}");
    assert!(text.contains(r#"zeros: "f32[u0, 5]""#), "{text}");
    assert!(text.contains("Range constraints: {u0: VR[0, 5]}"), "{text}");
    // the program checks the assertion when it runs
    let m = ep.module().unwrap();
    let run = |v: i64| m.call_flat(vec![ops::Value::Tensor(tensor::Tensor::from_vec(vec![v], &[]).unwrap())]);
    match &run(3).unwrap()[0] {
        ops::Value::Tensor(t) => assert_eq!(t.shape(), &[3, 5]),
        other => panic!("{other:?}"),
    }
    let err = run(7).unwrap_err().to_string();
    assert!(err.contains("u0 <= 5"), "{err}");
}

program!(BranchOnUnbacked, |inputs| {
    let n = inputs.tensor("x")?.item_int()?;
    if n.gt(0)? {
        return Ok(inputs.tensor("x")?.into());
    }
    Ok(inputs.tensor("x")?.neg()?.into())
});

#[test]
fn branching_on_an_unbacked_int_is_a_data_dependent_error() {
    let error = export(&BranchOnUnbacked, Inputs::new().arg("x", Tensor::from_i64(vec![4], &[]).unwrap()), &ExportOptions::default()).unwrap_err();
    assert!(matches!(error, export::Error::Symbolic(symbolic::SymbolicError::DataDependent { .. })), "the symbolic error keeps its kind: {error:?}");
    let err = error.to_string();
    assert!(err.starts_with("Could not guard on data-dependent expression u0 > 0"), "{err}");
    assert!(err.contains("frontend.rs:"), "{err}");
}

program!(SpecializesBatch, |inputs| {
    let x = inputs.tensor("x")?;
    if x.size(0)?.eq(8)? {
        return Ok(x.add(1)?.into());
    }
    Ok(x.clone().into())
});

#[test]
fn auto_dims_may_specialize_dynamic_and_named_ones_may_not() {
    let with = |spec: DimSpec| export(&SpecializesBatch, x(&[8, 3]), &ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, spec), strict: false });
    let ep = with(DimSpec::Auto).unwrap();
    assert!(ep.to_string().contains(r#"x: "f32[8, 3]""#), "AUTO specialized to the example");
    let err = with(DimSpec::Dynamic).unwrap_err().to_string();
    // the advice names pt2's API (PyTorch's names mark_dynamic and Dim.DYNAMIC)
    assert!(
        err.starts_with(
            "Constraints violated (L['x'].size()[0])!\n  - You marked L['x'].size()[0] as dynamic but your code specialized it to be a constant (8). \
             Declare it static (`DimSpec::Static`, or leave it out of the `DynamicShapes`), or let export decide (`DimSpec::Auto`)."
        ),
        "{err}"
    );
    let err = with(Dim::new("dx").into()).unwrap_err();
    assert!(err.to_string().contains("Suggested fixes:\n  let dx = DimSpec::Static; // the code needs dx == 8"), "{err}");
    // the violation keeps its fixes, to apply without reading the text
    let export::Error::Constraint(violation) = err else { panic!("a constraint violation: {err:?}") };
    assert_eq!(violation.fixes, vec!["let dx = DimSpec::Static; // the code needs dx == 8".to_string()]);
    let ep = with(DimSpec::Static).unwrap();
    assert!(ep.to_string().contains(r#"x: "f32[8, 3]""#));
}

program!(ReadsValues, |inputs| {
    let x = inputs.tensor("x")?;
    if x.sum()?.values()?[0] > 0.0 {
        return Ok(x.sin()?.into());
    }
    Ok(x.cos()?.into())
});

program!(SpecializesValues, |inputs| {
    let x = inputs.tensor("x")?;
    if x.sum()?.specialize_values()?[0] > 0.0 {
        return Ok(x.sin()?.into());
    }
    Ok(x.cos()?.into())
});

#[test]
fn host_reads_are_refused_in_both_modes_unless_specialized_with_a_runtime_check() {
    // a branch on values read into host code would keep the example's branch for every input
    for strict in [false, true] {
        let err = export(&ReadsValues, x(&[2, 2]), &ExportOptions { strict, ..Default::default() }).unwrap_err().to_string();
        let at = common::line_of(include_str!("frontend.rs"), "frontend.rs", "if x.sum()?.values()?[0] > 0.0");
        assert!(err.contains(&format!("{at}: values() reads a traced tensor's values into host code")), "strict={strict}: {err}");
        assert!(err.contains("`cond`") && err.contains("Tensor::specialize_values()"), "{err}");
    }
    // eagerly, values are just values
    assert!(ReadsValues.forward(&x(&[2, 2])).is_ok());

    // on purpose: the example's values are kept and checked when the program runs
    let example = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let ep = export(&SpecializesValues, Inputs::new().arg("x", example.clone()), &ExportOptions::default()).unwrap();
    let text = ep.to_string();
    assert!(text.contains("torch.ops.aten.all.default(eq)"), "{text}");
    assert!(text.contains("torch.ops.aten._assert_async.msg(") && text.contains(&format!("'s values were specialized to the example's at {}", common::line_of(include_str!("frontend.rs"), "frontend.rs", "if x.sum()?.specialize_values()?[0] > 0.0"))), "{text}");
    let path = std::env::temp_dir().join(format!("pt2-specialized-{}.pt2", std::process::id()));
    serialize::save(&ep, &path).unwrap();
    let loaded = serialize::load(&path).unwrap();
    let run = |values: Vec<f32>| loaded.module().unwrap().call_flat(vec![ops::Value::Tensor(tensor::Tensor::from_vec(values, &[2, 2]).unwrap())]);
    assert!(run(vec![1.0, 2.0, 3.0, 4.0]).is_ok(), "the example itself runs");
    let err = run(vec![-1.0, -2.0, -3.0, -4.0]).unwrap_err().to_string();
    assert!(err.contains("values were specialized to the example's") && err.contains("this input's differ"), "the other branch's input is refused: {err}");
    let _ = std::fs::remove_file(path);
}

struct Mlp {
    lin: Linear,
}

impl Module for Mlp {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        v.module("lin", &self.lin);
    }
}

impl Program for Mlp {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        Ok(self.lin.forward(inputs.tensor("x")?)?.into())
    }
}

#[test]
fn dynamic_dims_from_several_input_sets_or_by_tensor() {
    let m = Mlp { lin: Linear::new(4, 2, true, 3) };
    // AdditionalInputs: the batch differs between the sets, the features do not
    let shapes = DynamicShapes::from_input_sets(&x(&[8, 4]), &[x(&[3, 4]), x(&[5, 4])]).unwrap();
    let ep = export(&m, x(&[8, 4]), &ExportOptions { dynamic_shapes: shapes, strict: false }).unwrap();
    assert!(ep.to_string().contains(r#"x: "f32[s77, 4]""#), "{ep}");
    // ShapesCollection: the dim is given for the tensor itself
    let t = Tensor::rand_uniform(&[6, 4], 2);
    let shapes = DynamicShapes::new().tensor_dim(&t, 0, Dim::new("batch").max(64));
    let ep = export(&m, Inputs::new().arg("x", t), &ExportOptions { dynamic_shapes: shapes, strict: false }).unwrap();
    assert!(ep.to_string().contains("Range constraints: {s77: VR[0, 64]}"), "{ep}");
}

/// A spec that names nothing is refused, saying what exists (it used to export a static
/// program silently); so are empty ranges and examples outside a Dim's range.
#[test]
fn dynamic_shape_specs_must_name_real_inputs_dims_and_ranges() {
    let m = Mlp { lin: Linear::new(4, 2, true, 3) };
    let try_spec = |shapes: DynamicShapes| export(&m, x(&[8, 4]), &ExportOptions { dynamic_shapes: shapes, strict: false }).map(|_| ()).unwrap_err().to_string();
    let err = try_spec(DynamicShapes::new().dim("ids", 0, Dim::new("batch")));
    assert!(err.contains("input `ids`, which is not among the inputs; the tensor inputs are `x` [8, 4]"), "{err}");
    let err = try_spec(DynamicShapes::new().dim("x", 5, Dim::new("batch")));
    assert!(err.contains("dim 5 of input `x`, which has 2 dims (sizes [8, 4])"), "{err}");
    let err = try_spec(DynamicShapes::new().dim("x", 0, Dim::new("batch").min(64).max(2)));
    assert!(err.contains("Dim `batch` has an empty range: min 64 is greater than max 2"), "{err}");
    let err = try_spec(DynamicShapes::new().dim("x", 0, Dim::new("batch").min(16).max(64)));
    assert!(err.contains("input `x` dim 0: 8 not in range [16, 64]") && err.contains("Dim `batch`"), "{err}");
    let stranger = Tensor::rand_uniform(&[8, 4], 1);
    let err = try_spec(DynamicShapes::new().tensor_dim(&stranger, 0, Dim::new("batch")));
    assert!(err.contains("names a tensor of sizes [8, 4] that is not among the inputs"), "{err}");
    // a spec that names what exists still exports
    assert!(export(&m, x(&[8, 4]), &ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch")), strict: false }).is_ok());
}

#[derive(export::PyTree)]
struct Pair {
    left: Tensor,
    right: Tensor,
}

#[derive(Module)]
struct SwapsPair;

impl Program for SwapsPair {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        use export::IntoPyTree;
        let p = Pair::from_tree(inputs.get("p")?)?;
        Ok(Pair { left: p.right.mul(2)?, right: p.left.clone() }.into_tree())
    }
}

#[test]
fn user_structs_travel_as_pytree_nodes() {
    use export::IntoPyTree;
    let p = Pair { left: Tensor::rand_uniform(&[2], 1), right: Tensor::rand_uniform(&[3], 2) };
    let ep = export(&SwapsPair, Inputs::new().arg("p", p.into_tree()), &ExportOptions::default()).unwrap();
    let text = ep.to_string();
    assert!(text.contains(r#"p_left: "f32[2]", p_right: "f32[3]""#), "{text}");
    // the output keeps the struct's shape: a dict of its fields
    let spec = ep.model.graph_module.module_call_graph[0].signature.as_ref().unwrap().out_spec.clone();
    assert!(spec.contains(r#"builtins.dict"#) && spec.contains(r#"left"#) && spec.contains(r#"right"#), "{spec}");
}

program!(BadMatmul, |inputs| {
    let x = inputs.tensor("x")?;
    let w = inputs.tensor("w")?;
    Ok(x.matmul(&w)?.into())
});

#[test]
fn a_kernel_refusing_while_tracing_names_the_users_line() {
    let inputs = Inputs::new().arg("x", Tensor::rand_uniform(&[5, 3], 1)).arg("w", Tensor::rand_uniform(&[8, 2], 2));
    let err = export(&BadMatmul, inputs, &ExportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("(at crates/export/tests/frontend.rs:"), "{err}");
    let line: usize = err.rsplit("frontend.rs:").next().unwrap().trim_end_matches(')').parse().unwrap();
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/frontend.rs")).unwrap();
    assert!(source.lines().nth(line - 1).unwrap().contains("x.matmul(&w)"), "line {line} is not the matmul: {err}");
}
