//! cond and map misuse gets a clear error; cond and map run eagerly as well as traced; custom
//! operators need a meta function to be exported.

use export::{cond, export, map, ExportOptions, Inputs, Module, Program, Result, Tensor, Tree};

macro_rules! program {
    ($name:ident, |$inputs:ident| $body:expr) => {
        #[derive(Module)]
        struct $name;
        impl Program for $name {
            fn forward(&self, $inputs: &Inputs) -> Result<Tree> {
                $body
            }
        }
    };
}

fn x(shape: &[usize]) -> Inputs {
    Inputs::new().arg("x", Tensor::rand_uniform(shape, 1))
}

fn err(p: &dyn Program, inputs: Inputs) -> String {
    export(p, inputs, &ExportOptions::default()).unwrap_err().to_string()
}

program!(DifferentShapes, |inputs| {
    let x = inputs.tensor("x")?;
    let out = cond(&x.sum()?.gt(0)?, &|o| Ok(vec![o[0].sin()?]), &|o| Ok(vec![o[0].sum()?]), &[x.clone()])?;
    Ok(out[0].clone().into())
});

program!(DifferentDtypes, |inputs| {
    let x = inputs.tensor("x")?;
    let out = cond(&x.sum()?.gt(0)?, &|o| Ok(vec![o[0].sin()?]), &|o| Ok(vec![o[0].gt(0)?]), &[x.clone()])?;
    Ok(out[0].clone().into())
});

program!(MutatingBranch, |inputs| {
    let x = inputs.tensor("x")?;
    let out = cond(&x.sum()?.gt(0)?, &|o| Ok(vec![o[0].add_(1)?]), &|o| Ok(vec![o[0].cos()?]), &[x.clone()])?;
    Ok(out[0].clone().into())
});

program!(MapOverScalar, |inputs| {
    let x = inputs.tensor("x")?;
    Ok(map(&|o| Ok(vec![o[0].sin()?]), &[x.sum()?], &[])?[0].clone().into())
});

#[test]
fn branches_must_agree_and_be_functional() {
    let e = err(&DifferentShapes, x(&[3, 3]));
    assert!(e.starts_with("When merging the two branches' outputs of `cond`, expected same dim but got 2 and 0"), "{e}");
    let e = err(&DifferentDtypes, x(&[3, 3]));
    assert!(e.starts_with("When merging the two branches' outputs of `cond`, expected same dtype but got torch.float32 and torch.bool"), "{e}");
    let e = err(&MutatingBranch, x(&[3, 3]));
    assert!(e.starts_with("Higher order ops do not support input mutation"), "{e}");
    let e = err(&MapOverScalar, x(&[3, 3]));
    assert!(e.contains("cannot map over a 0-d tensor"), "{e}");
}

program!(SinOrCos, |inputs| {
    let x = inputs.tensor("x")?;
    let out = cond(&x.sum()?.gt(0)?, &|o| Ok(vec![o[0].sin()?]), &|o| Ok(vec![o[0].cos()?]), &[x.clone()])?;
    Ok(out[0].clone().into())
});

#[test]
fn the_exported_cond_takes_the_branch_the_data_picks() {
    let ep = export(&SinOrCos, x(&[2, 2]), &ExportOptions::default()).unwrap();
    let m = ep.module().unwrap();
    for v in [1.0, -1.0] {
        let input = tensor::Tensor::full(&[2, 2], v, tensor::DType::F32);
        let got = match m.call_flat(vec![ops::Value::Tensor(input.clone())]).unwrap().remove(0) {
            ops::Value::Tensor(t) => t.to_f64_vec(),
            other => panic!("{other:?}"),
        };
        let eager = SinOrCos.forward(&Inputs::new().arg("x", Tensor::from_data(input))).unwrap().tensors()[0].data().to_f64_vec();
        let want = if v > 0.0 { (v as f32).sin() } else { (v as f32).cos() } as f64;
        assert!((got[0] - want).abs() < 1e-6 && (eager[0] - want).abs() < 1e-6, "{got:?} {eager:?} {want}");
    }
}

program!(UsesUnmetaOp, |inputs| {
    let y = export::trace::call("pt2_test::no_meta_op", vec![export::trace::Arg::Tensor(inputs.tensor("x")?.clone())], vec![])?.remove(0);
    Ok(y.into())
});

#[test]
fn a_custom_op_without_a_meta_function_cannot_be_exported() {
    let r = ops::Registry::global();
    if r.get("pt2_test::no_meta_op").is_none() {
        let _ = r.register("pt2_test::no_meta_op(Tensor x) -> Tensor", &[], |a| Ok(ops::Value::Tensor(a.tensor("x")?.clone())));
    }
    // it runs eagerly
    assert!(UsesUnmetaOp.forward(&x(&[2])).is_ok());
    let e = err(&UsesUnmetaOp, x(&[2]));
    assert!(e.contains("custom operator pt2_test::no_meta_op.default has no meta (fake) implementation") && e.contains("register_with_meta"), "{e}");
}
