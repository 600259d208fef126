//! Programs of the torch.export docs (`export.md`) and the strict/non-strict notes.

use export::nn::{BatchNorm, Conv2d, Layer, Linear, Sequential, Stateless};
use export::{Constant, Dim, DynamicShapes, Inputs, Module, Program, Result, SymInt, Tensor, Tree};
use tensor::DType;

use crate::{no_dynamic_shapes, none, randint, randn, Case, Support};

const FILE: &str = include_str!("docs.rs");

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "docs_conv_pool_kwarg",
            description: "conv2d, in-place add of a keyword input, relu, max_pool2d",
            tags: &["docs"],
            model: || Box::new(ConvPool::new()),
            sets: || {
                let ones = Tensor::from_data(tensor::Tensor::full(&[1, 16, 48, 48], 1.0, DType::F32));
                vec![
                    Inputs::new().arg("x", randn(&[1, 3, 48, 48], 1)).kwarg("constant", ones),
                    Inputs::new().arg("x", randn(&[1, 3, 48, 48], 2)).kwarg("constant", randn(&[1, 16, 48, 48], 3)),
                ]
            },
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "docs_two_branch_dynamic_batch",
            description: "dynamic batch shared by two inputs; a constant tensor attribute",
            tags: &["docs", "dynamic"],
            model: || Box::new(TwoBranch::new()),
            sets: || vec![two(32, 64, 32, 1), two(64, 64, 64, 2), two(5, 64, 5, 3)],
            rejects: || vec![two(8, 64, 9, 4), two(8, 65, 8, 5)],
            dynamic_shapes: || {
                let batch = Dim::new("batch");
                DynamicShapes::new().dim("x1", 0, batch.clone()).dim("x2", 0, batch)
            },
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "docs_two_branch_static",
            description: "same program, static: batch 64 is rejected",
            tags: &["docs"],
            model: || Box::new(TwoBranch::new()),
            sets: || vec![two(32, 64, 32, 1)],
            rejects: || vec![two(64, 64, 64, 2)],
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "docs_derived_dim",
            description: "y.shape[0] == 2 * x.shape[0], derived dims",
            tags: &["docs", "dynamic"],
            model: || Box::new(DerivedDim),
            sets: || vec![pair(8, 16, 1), pair(4, 8, 2)],
            rejects: || vec![pair(8, 15, 3), pair(2, 4, 4)],
            dynamic_shapes: || {
                let dx = Dim::new("dx").min(4).max(256);
                DynamicShapes::new().dim("x", 0, dx.clone()).dim("y", 0, 2 * dx)
            },
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "docs_conv_bn_train",
            description: "conv + batch norm in training mode: running stats are buffers that are mutated",
            tags: &["docs", "mutation"],
            model: || Box::new(ConvBn::new(true)),
            sets: || vec![Inputs::new().arg("x", randn(&[1, 1, 3, 3], 1))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "docs_conv_bn_eval",
            description: "conv + batch norm in eval mode",
            tags: &["docs"],
            model: || Box::new(ConvBn::new(false)),
            sets: || vec![Inputs::new().arg("x", randn(&[2, 1, 3, 3], 1))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "docs_shapes_collection",
            description: "nested dict/list input; derived dims assigned per tensor",
            tags: &["docs", "dynamic", "pytree"],
            model: || Box::new(Nested),
            sets: || vec![nested(3, 4, 6, 1), nested(5, 6, 10, 2)],
            rejects: || vec![nested(5, 5, 10, 3)],
            dynamic_shapes: || {
                let dim = Dim::new("dim");
                DynamicShapes::new().dim("inp['x']", 0, dim.clone()).dim("inp['x']", 1, dim.clone() + 1).dim("inp['others'][0]", 0, 2 * dim)
            },
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "seed_index_put",
            description: "in-place x[..., i] = y on a clone (index_put)",
            tags: &["seed", "mutation"],
            model: || Box::new(UpdateModel),
            sets: || {
                let ones = Tensor::from_data(tensor::Tensor::full(&[4, 4, 10], 1.0, DType::F32));
                let update = Tensor::from_vec(vec![10.0, 11.0], &[1, 1, 2]).expect("two values");
                vec![
                    Inputs::new().arg("x", ones).arg("update", update).arg("kv_index", Tensor::from_i64(vec![1, 2], &[2]).expect("two")),
                    Inputs::new().arg("x", randn(&[4, 4, 10], 1)).arg("update", randn(&[1, 1, 2], 2)).arg("kv_index", randint(10, &[2], 3)),
                ]
            },
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            support: Support::Supported,
            file: FILE,
        },
    ]
}

fn two(b1: usize, f1: usize, b2: usize, seed: u64) -> Inputs {
    Inputs::new().arg("x1", randn(&[b1, f1], seed)).arg("x2", randn(&[b2, 128], seed + 100))
}

fn pair(a: usize, b: usize, seed: u64) -> Inputs {
    Inputs::new().arg("x", randn(&[a, 3], seed)).arg("y", randn(&[b, 3], seed + 100))
}

fn nested(a: usize, b: usize, c: usize, seed: u64) -> Inputs {
    let inp = Tree::Dict(vec![
        ("x".into(), randn(&[a, b, 8], seed).into()),
        ("others".into(), Tree::List(vec![randn(&[c], seed + 1).into(), randn(&[6], seed + 2).into()])),
    ]);
    Inputs::new().arg("inp", inp)
}

// case: docs_conv_pool_kwarg
#[derive(Module)]
struct ConvPool {
    conv: Conv2d,
    relu: Stateless,
    maxpool: Stateless,
}

impl ConvPool {
    fn new() -> ConvPool {
        ConvPool { conv: Conv2d::new(3, 16, 3, 1).padding(1), relu: Stateless::ReLU, maxpool: Stateless::MaxPool2d { kernel: 3, stride: None, padding: 0 } }
    }
}

impl Program for ConvPool {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let a = self.conv.forward(inputs.tensor("x")?)?;
        a.add_(inputs.tensor("constant")?)?;
        Ok(self.maxpool.forward(&self.relu.forward(&a)?)?.into())
    }
}
// end case

// case: docs_two_branch_dynamic_batch, docs_two_branch_static
#[derive(Module)]
struct TwoBranch {
    branch1: Sequential,
    branch2: Sequential,
    buffer: Constant,
}

impl TwoBranch {
    fn new() -> TwoBranch {
        TwoBranch {
            branch1: Sequential::new().push(Linear::new(64, 32, true, 1)).push(Stateless::ReLU),
            branch2: Sequential::new().push(Linear::new(128, 64, true, 3)).push(Stateless::ReLU),
            // a plain tensor attribute: neither parameter nor buffer, so a constant
            buffer: Constant::new(tensor::Tensor::full(&[32], 1.0, DType::F32)),
        }
    }
}

impl Program for TwoBranch {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let a = self.branch1.forward(inputs.tensor("x1")?)?.add(&self.buffer.tensor())?;
        let b = self.branch2.forward(inputs.tensor("x2")?)?;
        Ok(Tree::Tuple(vec![a.into(), b.into()]))
    }
}
// end case

// case: docs_derived_dim
#[derive(Module)]
struct DerivedDim;

impl Program for DerivedDim {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        Ok(inputs.tensor("x")?.repeat(&[2, 1])?.add(inputs.tensor("y")?)?.into())
    }
}
// end case

// case: docs_conv_bn_train, docs_conv_bn_eval
#[derive(Module)]
struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBn {
    fn new(training: bool) -> ConvBn {
        let bn = BatchNorm::new_2d(3);
        ConvBn { conv: Conv2d::new(1, 3, 1, 5), bn: if training { bn } else { bn.eval() } }
    }
}

impl Program for ConvBn {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let y = self.bn.forward(&self.conv.forward(inputs.tensor("x")?)?)?;
        Ok(Tree::Tuple(vec![y.into()]))
    }
}
// end case

// case: docs_shapes_collection
#[derive(Module)]
struct Nested;

impl Program for Nested {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let Tree::Dict(inp) = inputs.get("inp")? else { return Err(export::Error::msg("inp must be a dict")) };
        let get = |k: &str| inp.iter().find(|(n, _)| n == k).map(|(_, t)| t.clone()).unwrap_or_default();
        let (Tree::Tensor(x), Tree::List(others)) = (get("x"), get("others")) else { return Err(export::Error::msg("inp must hold x and others")) };
        let others: Vec<Tensor> = others.iter().flat_map(Tree::tensors).collect();
        Ok(Tree::Tuple(vec![x.mul(1)?.into(), others[0].mul(2)?.into(), others[1].mul(3)?.into()]))
    }
}
// end case

// case: seed_index_put
#[derive(Module)]
struct UpdateModel;

impl Program for UpdateModel {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?.clone_()?;
        // x[..., kv_index] = update: the update is viewed to the indexed shape first
        let update = inputs.tensor("update")?.view(&[SymInt::from(2)])?;
        x.index_put_(&[None, None, Some(inputs.tensor("kv_index")?)], &update)?;
        Ok(x.into())
    }
}
// end case
