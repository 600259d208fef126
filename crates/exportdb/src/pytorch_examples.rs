//! PyTorch's ExportDB examples (`torch/_export/db/examples/`), in the Rust meaning of what each
//! tests; names and tags are ExportDB's. Each is compared with PyTorch's own export of the
//! example (`fixtures/pytorch/exportdb_*`): PyTorch's inputs, its outputs, its operators in its
//! order.

use export::nn::{Layer, Linear};
use export::{cond, ones, zeros, Dim, DynamicShapes, Inputs, Module, Program, Result, SymInt, Tensor, Tree};
use tensor::DType;

use crate::{no_dynamic_shapes, none, randn, Case};

const FILE: &str = include_str!("pytorch_examples.rs");

/// An ExportDB example as a case: exported from its first input set, with no rejects of its
/// own (PyTorch's recorded rejects are checked against the fixture) and no expected error;
/// the few that differ override fields (`Case { dynamic_shapes: .., ..example(..) }`).
fn example(name: &'static str, description: &'static str, tags: &'static [&'static str], model: fn() -> Box<dyn Program>, sets: fn() -> Vec<Inputs>) -> Case {
    Case { name, description, tags, model, sets, rejects: none, dynamic_shapes: no_dynamic_shapes, export_error: None, file: FILE }
}

pub fn cases() -> Vec<Case> {
    vec![
        example(
            "exportdb_static_if",
            "an `if` on a static fact (the input's rank) is traced through with the branch taken",
            &["python.control-flow"],
            || Box::new(StaticIf),
            || vec![Inputs::new().arg("x", randn(&[3, 2, 2], 1))],
        ),
        example(
            "exportdb_static_for_loop",
            "a loop with a constant number of iterations is unrolled",
            &["python.control-flow"],
            || Box::new(StaticForLoop),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_nested_function",
            "a closure that captures and mutates a local (Python's nonlocal) is traced through",
            &["python.closure"],
            || Box::new(NestedFunction),
            || vec![Inputs::new().arg("a", randn(&[3, 2], 1)).arg("b", randn(&[2], 2))],
        ),
        example(
            "exportdb_dictionary",
            "a map built inside forward is inlined; a map returned is a dict output",
            &["python.data-structure"],
            || Box::new(Dictionary),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1)).arg("y", Tensor::from_i64(vec![4], &[]).expect("a scalar"))],
        ),
        example(
            "exportdb_list_unpack",
            "a list input unpacked (`let [x, rest @ ..]`): the unpacking leaves no trace in the graph",
            &["python.control-flow", "python.data-structure"],
            || Box::new(ListUnpack),
            || {
                let ints = |v: i64| Tree::from(Tensor::from_i64(vec![v], &[]).expect("a scalar"));
                vec![Inputs::new().arg("args", Tree::List(vec![randn(&[3, 2], 1).into(), ints(4), ints(5)]))]
            },
        ),
        example(
            "exportdb_null_context_manager",
            "a scope guard that does nothing (Python's `contextlib.nullcontext()`) is traced out",
            &["python.context-manager"],
            || Box::new(NullContextManager),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_specialized_attribute",
            "model attributes (a string, an int) are specialized into the graph",
            &["python.object-model"],
            || Box::new(SpecializedAttribute { a: Animal::Cow.value(), b: 4 }),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_decorator",
            "a decorator (a wrapper function around forward's body) is inlined",
            &["python.builtin"],
            || Box::new(Decorator),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1)).arg("y", randn(&[3, 2], 2))],
        ),
        example(
            "exportdb_class_method",
            "an associated function (Python's classmethod), called three ways, is inlined",
            &["python.builtin"],
            || Box::new(ClassMethod { linear: Linear::new(4, 2, true, 1) }),
            || vec![Inputs::new().arg("x", randn(&[3, 4], 2))],
        ),
        example(
            "exportdb_type_reflection_method",
            "an associated function of another type, reached through a value of it, is inlined",
            &["python.builtin"],
            || Box::new(TypeReflectionMethod),
            || vec![Inputs::new().arg("x", randn(&[3, 4], 1))],
        ),
        example(
            "exportdb_dynamic_shape_view",
            "a view whose sizes are built from the input's sizes",
            &["torch.dynamic-shape"],
            || Box::new(DynamicShapeView),
            || vec![Inputs::new().arg("x", randn(&[10, 10], 1))],
        ),
        example(
            "exportdb_dynamic_shape_constructor",
            "a tensor constructor sized from the input's sizes",
            &["torch.dynamic-shape"],
            || Box::new(DynamicShapeConstructor),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_cond_predicate",
            "`cond` on a predicate known while tracing (static sizes) takes its branch; nothing else is recorded",
            &["torch.cond", "torch.dynamic-shape"],
            || Box::new(CondPredicate),
            || vec![Inputs::new().arg("x", randn(&[6, 4, 3], 1))],
        ),
        example(
            "exportdb_user_input_mutation",
            "an in-place operator on an input: the program mutates the caller's tensor, as PyTorch's does",
            &["torch.mutation"],
            || Box::new(UserInputMutation),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        Case {
            dynamic_shapes: || DynamicShapes::new().dim("x", 0, Dim::new("dim0_x")),
            ..example(
                "exportdb_cond_operands",
                "`cond`'s operands are a list of tensors matching both branches' parameters; the predicate is on a dynamic size",
                &["torch.cond", "torch.dynamic-shape"],
                || Box::new(CondOperands),
                || {
                    let xy = |n: usize, seed: u64| Inputs::new().arg("x", randn(&[n, 2], seed)).arg("y", randn(&[2], seed + 1));
                    vec![xy(3, 1), xy(2, 3)]
                },
            )
        },
        example(
            "exportdb_cond_closed_over_variable",
            "`cond`'s branches are closures over a tensor of forward (lifted into the branches as an operand)",
            &["torch.cond", "python.closure"],
            || Box::new(CondClosedOverVariable),
            || {
                let pred = |b: bool| Tensor::from_data(tensor::Tensor::from_vec_as(vec![b as u8], &[], DType::Bool).expect("a bool"));
                vec![Inputs::new().arg("pred", pred(true)).arg("x", randn(&[3, 2], 1)), Inputs::new().arg("pred", pred(false)).arg("x", randn(&[3, 2], 2))]
            },
        ),
        example(
            "exportdb_cond_branch_nested_function",
            "`cond`'s branches call nested functions; a predicate fixed by static sizes takes its branch",
            &["torch.cond", "torch.dynamic-shape"],
            || Box::new(CondBranchNestedFunction),
            || vec![Inputs::new().arg("x", randn(&[3], 1))],
        ),
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

// case: exportdb_list_unpack
#[derive(Module)]
struct ListUnpack;

impl Program for ListUnpack {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let Tree::List(args) = inputs.get("args")? else { return Err(export::Error::msg("`args` must be a list")) };
        let [Tree::Tensor(x), rest @ ..] = args.as_slice() else { return Err(export::Error::msg("`args` must start with a tensor")) };
        let Some(Tree::Tensor(y0)) = rest.first() else { return Err(export::Error::msg("`args` must hold a second tensor")) };
        Ok(x.add(y0)?.into())
    }
}
// end case

// case: exportdb_null_context_manager
#[derive(Module)]
struct NullContextManager;

/// A scope guard that does nothing when entered or left.
struct NullContext;

impl Drop for NullContext {
    fn drop(&mut self) {}
}

impl Program for NullContextManager {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let _ctx = NullContext;
        Ok(x.sin()?.add(&x.cos()?)?.into())
    }
}
// end case

// case: exportdb_specialized_attribute
enum Animal {
    Cow,
}

impl Animal {
    fn value(&self) -> String {
        match self {
            Animal::Cow => "moo".into(),
        }
    }
}

#[derive(Module)]
struct SpecializedAttribute {
    #[module(skip)]
    a: String,
    #[module(skip)]
    b: i64,
}

impl Program for SpecializedAttribute {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        if self.a == Animal::Cow.value() {
            return Ok(x.mul(x)?.add(self.b)?.into());
        }
        Err(export::Error::msg("bad"))
    }
}
// end case

// case: exportdb_decorator
/// Python's `@test_decorator`: the wrapped function's result plus one.
fn plus_one<F: Fn(&Tensor, &Tensor) -> Result<Tensor>>(f: F) -> impl Fn(&Tensor, &Tensor) -> Result<Tensor> {
    move |x, y| f(x, y)?.add(1i64)
}

#[derive(Module)]
struct Decorator;

impl Program for Decorator {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let forward = plus_one(|x: &Tensor, y: &Tensor| x.add(y));
        Ok(forward(inputs.tensor("x")?, inputs.tensor("y")?)?.into())
    }
}
// end case

// case: exportdb_class_method
#[derive(Module)]
struct ClassMethod {
    linear: Linear,
}

impl ClassMethod {
    /// Python's `@classmethod def method(cls, x)`.
    fn method(x: &Tensor) -> Result<Tensor> {
        x.add(1i64)
    }
}

impl Program for ClassMethod {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = self.linear.forward(inputs.tensor("x")?)?;
        // `self.method(x) * self.__class__.method(x) * type(self).method(x)`
        Ok(ClassMethod::method(&x)?.mul(&Self::method(&x)?)?.mul(&<ClassMethod>::method(&x)?)?.into())
    }
}
// end case

// case: exportdb_type_reflection_method
struct A;

impl A {
    fn func(x: &Tensor) -> Result<Tensor> {
        x.add(1i64)
    }
}

#[derive(Module)]
struct TypeReflectionMethod;

/// The type of a value, to reach its associated functions (Python's `type(a).func`).
trait TypeOf {
    type Of;
}

impl TypeOf for A {
    type Of = A;
}

impl Program for TypeReflectionMethod {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let _a = A;
        Ok(<A as TypeOf>::Of::func(inputs.tensor("x")?)?.into())
    }
}
// end case

// case: exportdb_dynamic_shape_view
#[derive(Module)]
struct DynamicShapeView;

impl Program for DynamicShapeView {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // `x.size()[:-1] + (2, 5)`
        let mut shape = x.sizes();
        shape.pop();
        shape.extend([SymInt::from(2), SymInt::from(5)]);
        Ok(x.view(&shape)?.permute(&[0, 2, 1])?.into())
    }
}
// end case

// case: exportdb_dynamic_shape_constructor
#[derive(Module)]
struct DynamicShapeConstructor;

impl Program for DynamicShapeConstructor {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        Ok(zeros(&[x.size(0)? * 2], DType::F32)?.into())
    }
}
// end case

// case: exportdb_cond_predicate
#[derive(Module)]
struct CondPredicate;

impl Program for CondPredicate {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let pred = x.dim() > 2 && x.size(2)?.gt(10)?;
        let out = cond(pred, &|ops| Ok(vec![ops[0].cos()?]), &|ops| Ok(vec![ops[0].sin()?]), &[x.clone()])?;
        Ok(out[0].clone().into())
    }
}
// end case

// case: exportdb_user_input_mutation
#[derive(Module)]
struct UserInputMutation;

impl Program for UserInputMutation {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        Ok(x.mul_(2i64)?.cos()?.into())
    }
}
// end case

// case: exportdb_cond_operands
#[derive(Module)]
struct CondOperands;

impl Program for CondOperands {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        let true_fn = |ops: &[Tensor]| Ok(vec![ops[0].add(&ops[1])?]);
        let false_fn = |ops: &[Tensor]| Ok(vec![ops[0].sub(&ops[1])?]);
        let out = cond(x.size(0)?.sym_gt(2), &true_fn, &false_fn, &[x.clone(), y.clone()])?;
        Ok(out[0].clone().into())
    }
}
// end case

// case: exportdb_cond_closed_over_variable
#[derive(Module)]
struct CondClosedOverVariable;

impl Program for CondClosedOverVariable {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (pred, x) = (inputs.tensor("pred")?, inputs.tensor("x")?);
        // the branches ignore their operand and read `x` from forward
        let true_fn = |_: &[Tensor]| Ok(vec![x.mul(2i64)?]);
        let false_fn = |_: &[Tensor]| Ok(vec![x.sub(2i64)?]);
        let out = cond(pred, &true_fn, &false_fn, &[x.add(1i64)?])?;
        Ok(out[0].clone().into())
    }
}
// end case

// case: exportdb_cond_branch_nested_function
#[derive(Module)]
struct CondBranchNestedFunction;

impl Program for CondBranchNestedFunction {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let true_fn = |ops: &[Tensor]| {
            let x = &ops[0];
            let inner_true_fn = |y: &Tensor| x.add(y);
            Ok(vec![inner_true_fn(x)?])
        };
        let false_fn = |ops: &[Tensor]| {
            let x = &ops[0];
            let inner_false_fn = |y: &Tensor| x.sub(y);
            Ok(vec![inner_false_fn(x)?])
        };
        let out = cond(x.size(0)?.sym_lt(10), &true_fn, &false_fn, &[x.clone()])?;
        Ok(out[0].clone().into())
    }
}
// end case
