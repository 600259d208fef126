//! Programs of the torch.export tutorial.

use export::nn::{Layer, Linear};
use export::{Dim, DynamicShapes, Inputs, Module, Program, Result, SymInt, Tree};

use crate::{no_dynamic_shapes, none, randn, Case, Support};

const FILE: &str = include_str!("tutorial.rs");

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "tutorial_linear_relu",
            description: "Linear + in-place relu; static shapes, so batch 10 is rejected",
            tags: &["tutorial"],
            model: || Box::new(LinearRelu { lin: Linear::new(100, 10, true, 1) }),
            sets: || vec![xy(8, 1), xy(8, 2)],
            rejects: || vec![xy(10, 3)],
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_dynamic_slice",
            description: "Dim with min/max bounds; out-of-range and specialized dims are rejected",
            tags: &["tutorial", "dynamic"],
            model: || Box::new(DynSlice),
            sets: || vec![x3(10, 10, 2, 1), x3(5, 5, 2, 2), x3(3, 18, 2, 3)],
            rejects: || vec![x3(8, 1, 2, 4), x3(8, 20, 2, 5), x3(8, 8, 3, 6)],
            dynamic_shapes: || DynamicShapes::new().dim("x", 0, Dim::new("inp1_dim0")).dim("x", 1, Dim::new("inp1_dim1").min(4).max(18)),
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_dynamic_slice_bad_range",
            description: "the example input is outside its own Dim's range: export fails",
            tags: &["tutorial", "dynamic", "error"],
            model: || Box::new(DynSlice),
            sets: || vec![x3(10, 10, 2, 1)],
            rejects: none,
            dynamic_shapes: || DynamicShapes::new().dim("x", 0, Dim::new("inp1_dim0")).dim("x", 1, Dim::new("inp1_dim1_bad").min(11).max(18)),
            support: Support::NotSupportedYet("10 not in range [11, 18]"),
            file: FILE,
        },
        Case {
            name: "tutorial_matmul_shared_dim",
            description: "one Dim shared by two inputs enforces equality",
            tags: &["tutorial", "dynamic"],
            model: || Box::new(MatMul),
            sets: || vec![mats(4, 8, 8, 2, 1), mats(2, 16, 16, 4, 2)],
            rejects: || vec![mats(4, 8, 4, 2, 3)],
            dynamic_shapes: || {
                let inner = Dim::new("inner_dim");
                DynamicShapes::new().dim("x", 0, Dim::new("inp2_dim0")).dim("x", 1, inner.clone()).dim("y", 0, inner).dim("y", 1, Dim::new("inp3_dim1"))
            },
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_shape_if_violation",
            description: "a raw if on x.shape[0] with every dim dynamic: export fails with the constraint violations and suggested fixes",
            tags: &["tutorial", "dynamic", "error"],
            model: || Box::new(ShapeIf),
            sets: || vec![mats(8, 16, 16, 32, 1)],
            rejects: none,
            dynamic_shapes: || {
                DynamicShapes::new()
                    .dim("x", 0, Dim::new("inp4_dim0"))
                    .dim("x", 1, Dim::new("inp4_dim1"))
                    .dim("y", 0, Dim::new("inp5_dim0"))
                    .dim("y", 1, Dim::new("inp5_dim1"))
            },
            support: Support::NotSupportedYet(
                "Suggested fixes:\n  let inp4_dim0 = Dim::new(\"inp4_dim0\").max(16);\n  let inp5_dim1 = Dim::new(\"inp5_dim1\").min(17);\n  let inp5_dim0 = inp4_dim1.clone();",
            ),
            file: FILE,
        },
        Case {
            name: "tutorial_shape_if_fixed",
            description: "suggested fixes applied: the raw if on x.shape[0] is sound under max=16",
            tags: &["tutorial", "dynamic"],
            model: || Box::new(ShapeIf),
            sets: || vec![mats(8, 16, 16, 32, 1), mats(4, 32, 32, 64, 2)],
            rejects: || vec![mats(20, 16, 16, 32, 3), mats(4, 16, 16, 16, 4)],
            dynamic_shapes: || {
                let shared = Dim::new("shared_dim");
                DynamicShapes::new()
                    .dim("x", 0, Dim::new("inp4_dim0").max(16))
                    .dim("x", 1, shared.clone())
                    .dim("y", 0, shared)
                    .dim("y", 1, Dim::new("inp5_dim1").min(17))
            },
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "tutorial_decompose_linear",
            description: "linear, to be lowered to core ATen (permute/addmm)",
            tags: &["tutorial", "decomposition"],
            model: || Box::new(LinearM { linear: Linear::new(3, 4, true, 7) }),
            sets: || vec![Inputs::new().arg("x", randn(&[2, 3], 1))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
    ]
}

fn xy(batch: usize, seed: u64) -> Inputs {
    Inputs::new().arg("x", randn(&[batch, 100], seed)).arg("y", randn(&[batch, 100], seed + 100))
}

fn x3(a: usize, b: usize, c: usize, seed: u64) -> Inputs {
    Inputs::new().arg("x", randn(&[a, b, c], seed))
}

fn mats(a: usize, b: usize, c: usize, d: usize, seed: u64) -> Inputs {
    Inputs::new().arg("x", randn(&[a, b], seed)).arg("y", randn(&[c, d], seed + 100))
}

// case: tutorial_linear_relu
#[derive(Module)]
struct LinearRelu {
    lin: Linear,
}

impl Program for LinearRelu {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        // F.relu(self.lin(x + y), inplace=True)
        Ok(self.lin.forward(&x.add(y)?)?.relu_()?.into())
    }
}
// end case

// case: tutorial_dynamic_slice, tutorial_dynamic_slice_bad_range
#[derive(Module)]
struct DynSlice;

impl Program for DynSlice {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // torch.relu(x[:, 2:])
        Ok(x.slice(0, None, None)?.slice(1, Some(2.into()), None)?.relu()?.into())
    }
}
// end case

// case: tutorial_matmul_shared_dim
#[derive(Module)]
struct MatMul;

impl Program for MatMul {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        Ok(inputs.tensor("x")?.matmul(inputs.tensor("y")?)?.into())
    }
}
// end case

// case: tutorial_shape_if_fixed, tutorial_shape_if_violation
#[derive(Module)]
struct ShapeIf;

impl Program for ShapeIf {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        // a branch on a size is a guard of the program
        if x.size(0)?.le(16)? {
            // x @ y[:, :16]
            let cols = y.slice(0, None, None)?.slice(1, None, Some(SymInt::from(16)))?;
            return Ok(x.matmul(&cols)?.into());
        }
        Ok(y.clone().into())
    }
}
// end case

// case: tutorial_decompose_linear
#[derive(Module)]
struct LinearM {
    linear: Linear,
}

impl Program for LinearM {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        Ok(self.linear.forward(inputs.tensor("x")?)?.into())
    }
}
// end case
