//! `draft_export`: one run lists every problem, each with its kind, the user's line and the fix,
//! and still gives a program; a clean run says so.

use export::{draft_export, Dim, DynamicShapes, ExportOptions, Inputs, Module, Program, ProblemKind, Result, Tensor, Tree, Visitor};

mod common;

fn line_of(needle: &str) -> String {
    common::line_of(include_str!("draft.rs"), "draft.rs", needle)
}

program!(Clean, |inputs| Ok(inputs.tensor("x")?.sin()?.into()));

#[test]
fn a_clean_program_gets_a_clean_report() {
    let x = Tensor::rand_uniform(&[2, 3], 1);
    let draft = draft_export(&Clean, Inputs::new().arg("x", x), &ExportOptions::default()).unwrap();
    assert!(draft.report.is_clean());
    let text = draft.report.to_string();
    assert!(text.contains("Congratulations: No issues are found during export") && text.contains("pt2::export()"), "{text}");
}

program!(ThreeProblems, |inputs| {
    let x = inputs.tensor("x")?;
    // 1: a branch on a value read from data
    let positive = x.sum()?.item_f64()?.gt(0.0)?;
    // 2: a dynamic batch the code needs to be 4
    let y = if x.size(0)?.eq(4)? { x.sin()? } else { x.cos()? };
    // 3: values read into host code
    let first = x.values()?[0];
    Ok(if positive && first > -10.0 { y.into() } else { x.into() })
});

#[test]
fn every_problem_of_one_run_is_listed_with_its_line_and_fix() {
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[4, 2]).unwrap();
    let options = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch")), strict: false };
    // export stops at the first
    assert!(export::export(&ThreeProblems, Inputs::new().arg("x", x.clone()), &options).is_err());
    let draft = draft_export(&ThreeProblems, Inputs::new().arg("x", x.clone()), &options).unwrap();
    let problems = &draft.report.problems;
    let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::DataDependent, ProblemKind::HostRead, ProblemKind::ConstraintViolation], "{}", draft.report);
    assert_eq!(problems[0].location.as_deref(), Some(line_of("let positive = ").as_str()));
    assert!(problems[0].fixes[0].contains("`cond`"), "{:?}", problems[0]);
    assert_eq!(problems[1].location.as_deref(), Some(line_of("let first = ").as_str()));
    assert!(problems[1].fixes[0].contains("Tensor::specialize_values()"));
    // the line whose guard specialized the batch
    assert_eq!(problems[2].location.as_deref(), Some(line_of("let y = if x.size(0)").as_str()));
    assert_eq!(problems[2].fixes, ["let batch = DimSpec::Static; // the code needs batch == 4"]);
    // one report, numbered, each with its line and its fix
    let text = draft.report.to_string();
    assert!(text.contains("WARNING: 3 issue(s) found during export"), "{text}");
    for (i, p) in problems.iter().enumerate() {
        assert!(text.contains(&format!("\n{}. ", i + 1)) && text.contains(p.location.as_deref().unwrap()) && text.contains(&p.fixes[0]), "{text}");
    }
    // and still a program: the example's branch, with the host read checked when it runs
    let module = draft.program.module().unwrap();
    let out = module.call_flat(vec![ops::Value::Tensor(x.data())]).unwrap();
    let ops::Value::Tensor(out) = &out[0] else { panic!() };
    let want: Vec<f32> = x.data().to_vec::<f32>().iter().map(|v| v.sin()).collect();
    assert!(out.to_vec::<f32>().iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6), "{out:?}");
    let other = Tensor::from_vec(vec![0.0f32; 8], &[4, 2]).unwrap();
    let refused = module.call_flat(vec![ops::Value::Tensor(other.data())]).unwrap_err().to_string();
    assert!(refused.contains("values were specialized to the example's"), "{refused}");
}

program!(OutsideItsRange, |inputs| Ok(inputs.tensor("x")?.sin()?.into()));

#[test]
fn an_example_outside_its_dim_widens_the_dim_and_says_how() {
    let x = Tensor::rand_uniform(&[10, 3], 1);
    let options = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("b").min(11).max(18)), strict: false };
    let draft = draft_export(&OutsideItsRange, Inputs::new().arg("x", x), &options).unwrap();
    let p = &draft.report.problems[0];
    assert_eq!(p.kind, ProblemKind::ExampleOutsideRange);
    assert!(p.message.contains("10 not in range [11, 18]"), "{}", p.message);
    assert_eq!(p.fixes, ["let b = Dim::new(\"b\").min(10).max(18);"]);
    assert!(draft.program.to_string().contains("s"), "a dynamic program");
}

#[test]
fn the_report_has_a_structured_form() {
    fn serializable<T: serde::Serialize>(_: &T) {}
    let x = Tensor::rand_uniform(&[2, 3], 1);
    let draft = draft_export(&Clean, Inputs::new().arg("x", x), &ExportOptions::default()).unwrap();
    serializable(&draft.report);
}

program!(UsesOpWithoutMeta, |inputs| {
    let y = export::trace::call("pt2_draft_test::twice", vec![export::trace::Arg::Tensor(inputs.tensor("x")?.clone())], vec![])?.remove(0);
    Ok(y.into())
});

#[test]
fn a_custom_operator_without_a_meta_function_runs_on_the_data_and_is_listed() {
    let r = ops::Registry::global();
    if r.get("pt2_draft_test::twice").is_none() {
        let _ = r.register("pt2_draft_test::twice(Tensor x) -> Tensor", &[], |a| {
            let x = a.tensor("x")?;
            Ok(ops::Value::Tensor(tensor::Tensor::from_vec(x.to_vec::<f32>().iter().map(|v| 2.0 * v).collect(), x.shape())?))
        });
    }
    let x = Tensor::rand_uniform(&[4, 2], 3);
    let options = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch")), strict: false };
    assert!(export::export(&UsesOpWithoutMeta, Inputs::new().arg("x", x.clone()), &options).is_err());
    let draft = draft_export(&UsesOpWithoutMeta, Inputs::new().arg("x", x), &options).unwrap();
    let p = &draft.report.problems[0];
    assert_eq!(p.kind, ProblemKind::MissingCustomMeta, "{}", draft.report);
    assert_eq!(p.location.as_deref(), Some(line_of("let y = export::trace::call(").as_str()));
    assert!(p.fixes[0].contains("register_with_meta"), "{p:?}");
    assert!(draft.program.to_string().contains("torch.ops.pt2_draft_test.twice.default"), "{}", draft.program);
}
