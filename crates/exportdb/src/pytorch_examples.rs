//! PyTorch's ExportDB examples (`torch/_export/db/examples/`), in the Rust meaning of what each
//! tests; names and tags are ExportDB's. Each is compared with PyTorch's own export of the
//! example (`fixtures/pytorch/exportdb_*`): PyTorch's inputs, its outputs, its operators in its
//! order.

use export::{ones, Inputs, Module, Program, Result, SymInt, Tensor, Tree};
use tensor::DType;

use crate::{no_dynamic_shapes, none, randn, Case};

const FILE: &str = include_str!("pytorch_examples.rs");

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "exportdb_static_if",
            description: "an `if` on a static fact (the input's rank) is traced through with the branch taken",
            tags: &["python.control-flow"],
            model: || Box::new(StaticIf),
            sets: || vec![Inputs::new().arg("x", randn(&[3, 2, 2], 1))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            export_error: None,
            file: FILE,
        },
        Case {
            name: "exportdb_static_for_loop",
            description: "a loop with a constant number of iterations is unrolled",
            tags: &["python.control-flow"],
            model: || Box::new(StaticForLoop),
            sets: || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            export_error: None,
            file: FILE,
        },
        Case {
            name: "exportdb_nested_function",
            description: "a closure that captures and mutates a local (Python's nonlocal) is traced through",
            tags: &["python.closure"],
            model: || Box::new(NestedFunction),
            sets: || vec![Inputs::new().arg("a", randn(&[3, 2], 1)).arg("b", randn(&[2], 2))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            export_error: None,
            file: FILE,
        },
        Case {
            name: "exportdb_dictionary",
            description: "a map built inside forward is inlined; a map returned is a dict output",
            tags: &["python.data-structure"],
            model: || Box::new(Dictionary),
            sets: || vec![Inputs::new().arg("x", randn(&[3, 2], 1)).arg("y", Tensor::from_i64(vec![4], &[]).expect("a scalar"))],
            rejects: none,
            dynamic_shapes: no_dynamic_shapes,
            export_error: None,
            file: FILE,
        },
    ]
}

// case: exportdb_static_if
#[derive(Module)]
struct StaticIf;

impl Program for StaticIf {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // the rank is static: the branch is decided while tracing, nothing is recorded for it
        if x.dim() == 3 {
            let one = SymInt::from(1);
            return Ok(x.add(&ones(&[one.clone(), one.clone(), one], DType::F32)?)?.into());
        }
        Ok(x.clone().into())
    }
}
// end case

// case: exportdb_static_for_loop
#[derive(Module)]
struct StaticForLoop;

impl Program for StaticForLoop {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // unrolled: ten `add` nodes
        let ret = (0..10).map(|i| x.add(i as i64).map(Tree::from)).collect::<Result<Vec<_>>>()?;
        Ok(Tree::List(ret))
    }
}
// end case

// case: exportdb_nested_function
#[derive(Module)]
struct NestedFunction;

impl Program for NestedFunction {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (a, b) = (inputs.tensor("a")?, inputs.tensor("b")?);
        let mut x = a.add(b)?;
        let z = a.sub(b)?;
        // `closure(x)` passes x itself: the in-place `x += 1` is seen through `y` too
        let y = x.clone();
        // Python's `nonlocal x; x += 1`: the closure borrows `x` mutably
        let mut closure = |y: &Tensor| -> Result<Tensor> {
            x = x.add_(1i64)?;
            x.mul(y)?.add(&z)
        };
        Ok(closure(&y)?.into())
    }
}
// end case

// case: exportdb_dictionary
#[derive(Module)]
struct Dictionary;

impl Program for Dictionary {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        let mut elements = std::collections::HashMap::new();
        elements.insert("x2", x.mul(x)?);
        let y = y.mul(&elements["x2"])?;
        Ok(Tree::Dict(vec![("y".into(), y.into())]))
    }
}
// end case
