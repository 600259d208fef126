//! Control flow and custom operators: `cond`, `map`, a user-defined operator, and the
//! tutorial's branch on data without `cond` (which must fail).

use ops::names::aten;
use export::{cond, map, scan, while_loop, DynamicShapes, Inputs, Module, Program, Result, Tensor, Tree};

use crate::{no_dynamic_shapes, none, randn, Case, Support};

const FILE: &str = include_str!("control.rs");

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "tutorial_cond_sin_cos",
            description: "data-dependent branch captured with cond",
            tags: &["tutorial", "cond"],
            model: || Box::new(CondSinCos),
            sets: || vec![x(&[3, 3], 1), Inputs::new().arg("x", ones(&[3, 3], 1.0)), Inputs::new().arg("x", ones(&[3, 3], -1.0))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_cond_dynamic_batch",
            description: "cond over a dynamic batch: both branches keep the symbolic size",
            tags: &["cond", "dynamic"],
            model: || Box::new(CondSinCos),
            sets: || vec![x(&[4, 3], 2), Inputs::new().arg("x", ones(&[7, 3], -1.0)), Inputs::new().arg("x", ones(&[2, 3], 1.0))],
            rejects: || vec![x(&[4, 5], 3)],
            dynamic_shapes: || DynamicShapes::new().dim("x", 0, export::Dim::new("batch")),
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_branch_without_cond",
            description: "`if x.sum() > 0` on traced data: the data-dependent error that points to cond",
            tags: &["tutorial", "error"],
            model: || Box::new(BranchWithoutCond),
            sets: || vec![x(&[3, 3], 1)],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::NotSupportedYet("Could not guard on data-dependent expression"),
            file: FILE,
        },
        Case {
            name: "tutorial_map_cond",
            description: "map over the first dimension with cond inside",
            tags: &["tutorial", "map", "cond"],
            model: || Box::new(MapCond),
            sets: || {
                let mixed = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0], &[4, 3]).expect("12 values");
                vec![Inputs::new().arg("xs", randn(&[4, 3], 1)), Inputs::new().arg("xs", mixed)]
            },
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "map_dynamic_length",
            description: "map with cond inside over a dynamic number of rows",
            tags: &["map", "cond", "dynamic"],
            model: || Box::new(MapCond),
            sets: || vec![Inputs::new().arg("xs", randn(&[4, 3], 1)), Inputs::new().arg("xs", randn(&[2, 3], 2)), Inputs::new().arg("xs", randn(&[7, 3], 3))],
            rejects: || vec![Inputs::new().arg("xs", randn(&[4, 5], 4))],
            dynamic_shapes: || DynamicShapes::new().dim("xs", 0, export::Dim::new("rows")),
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "seed_scan_cumsum",
            description: "higher-order scan (cumulative sum): final carry and stacked outputs",
            tags: &["seed", "scan"],
            model: || Box::new(ScanCumsum),
            sets: || {
                let x = Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[3, 3]).expect("9 values");
                vec![Inputs::new().arg("x", x), Inputs::new().arg("x", randn(&[3, 3], 2))]
            },
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "while_loop_doubling",
            description: "while_loop: a data-dependent number of doublings, counting the steps",
            tags: &["while_loop"],
            model: || Box::new(CountedLoop),
            sets: || {
                let small = Tensor::from_vec(vec![0.6, 0.9, 1.2], &[3]).expect("3 values");
                let big = Tensor::from_vec(vec![5.0, 9.0, 20.0], &[3]).expect("3 values");
                vec![Inputs::new().arg("x", small), Inputs::new().arg("x", big)]
            },
            rejects: || vec![Inputs::new().arg("x", randn(&[4], 1))],
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_custom_op",
            description: "custom operator my_custom_library::custom_op (relu) between sin and cos, with its meta function",
            tags: &["tutorial", "custom-op"],
            model: || Box::new(CustomOp::new()),
            sets: || vec![x(&[3, 3], 1)],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
    ]
}

fn x(shape: &[usize], seed: u64) -> Inputs {
    Inputs::new().arg("x", randn(shape, seed))
}

fn ones(shape: &[usize], v: f64) -> Tensor {
    Tensor::from_data(tensor::Tensor::full(shape, v, tensor::DType::F32))
}

// case: tutorial_cond_sin_cos, tutorial_cond_dynamic_batch
#[derive(Module)]
struct CondSinCos;

impl Program for CondSinCos {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let pred = x.sum()?.gt(0)?;
        let out = cond(&pred, &|ops| Ok(vec![ops[0].sin()?]), &|ops| Ok(vec![ops[0].cos()?]), &[x.clone()])?;
        Ok(out[0].clone().into())
    }
}
// end case

// case: tutorial_branch_without_cond
#[derive(Module)]
struct BranchWithoutCond;

impl Program for BranchWithoutCond {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // a Rust `if` on tensor data cannot be traced: use cond
        if x.sum()?.item_f64()?.gt(0.0)? {
            return Ok(x.sin()?.into());
        }
        Ok(x.cos()?.into())
    }
}
// end case

// case: tutorial_map_cond, map_dynamic_length
#[derive(Module)]
struct MapCond;

impl Program for MapCond {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let xs = inputs.tensor("xs")?;
        let konst = Tensor::constant(vec![2.0], &[1])?;
        let map_fn = |ops: &[Tensor]| -> Result<Vec<Tensor>> {
            let (x, c) = (ops[0].clone(), ops[1].clone());
            let pred = x.sum()?.gt(0)?;
            let (cp, cm) = (c.clone(), c.clone());
            cond(&pred, &move |o| Ok(vec![o[0].add(&cp)?]), &move |o| Ok(vec![o[0].sub(&cm)?]), &[x.clone()])
        };
        Ok(map(&map_fn, &[xs.clone()], &[konst])?[0].clone().into())
    }
}
// end case

// case: tutorial_custom_op
/// A user's operator: its schema, its kernel (relu) and its meta function, registered once.
fn register_custom_op() {
    use ops::{Registry, Value};
    let r = Registry::global();
    if r.get("my_custom_library::custom_op").is_none() {
        let kernel = |a: &ops::Args| Registry::global().call(aten::relu, vec![Value::Tensor(a.tensor("x")?.clone())], vec![]);
        // another thread may register it first; either registration serves
        let _ = r.register_with_meta("my_custom_library::custom_op(Tensor x) -> Tensor", &[], kernel, ops::meta::same_as_input);
    }
}

#[derive(Module)]
struct CustomOp;

impl CustomOp {
    fn new() -> CustomOp {
        register_custom_op();
        CustomOp
    }
}

impl Program for CustomOp {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let y = inputs.tensor("x")?.sin()?;
        let z = export::trace::call("my_custom_library::custom_op", vec![export::trace::Arg::Tensor(y)], vec![])?.remove(0);
        Ok(z.cos()?.into())
    }
}
// end case

// case: seed_scan_cumsum
#[derive(Module)]
struct ScanCumsum;

impl Program for ScanCumsum {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let init = export::trace::call(aten::zeros_like, vec![export::trace::Arg::Tensor(x.select(0, 0)?)], vec![("pin_memory", false.into())])?.remove(0);
        // carry + y: the running sum, and a copy of it for the stacked outputs
        let add = |o: &[Tensor]| -> Result<Vec<Tensor>> {
            let next = o[0].add(&o[1])?;
            Ok(vec![next.clone(), next.clone_()?])
        };
        let out = scan(&add, &[init], &[x.clone()], &[])?;
        Ok(Tree::Tuple(vec![out[0].clone().into(), out[1].clone().into()]))
    }
}
// end case

// case: while_loop_doubling
#[derive(Module)]
struct CountedLoop;

impl Program for CountedLoop {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let zero = export::zeros(&[], tensor::DType::I64)?;
        let cond_fn = |o: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![o[1].sum()?.lt(100.0)?]) };
        let body_fn = |o: &[Tensor]| -> Result<Vec<Tensor>> { Ok(vec![o[0].add(1)?, o[1].mul(2.0)?]) };
        let out = while_loop(&cond_fn, &body_fn, &[zero, x.clone()], &[])?;
        Ok(Tree::Tuple(vec![out[0].clone().into(), out[1].clone().into()]))
    }
}
// end case
