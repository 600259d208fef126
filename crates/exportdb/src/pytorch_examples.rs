//! PyTorch's ExportDB examples (`torch/_export/db/examples/`), in the Rust meaning of what each
//! tests; names and tags are ExportDB's. Each is compared with PyTorch's own export of the
//! example (`fixtures/pytorch/exportdb_*`): PyTorch's inputs, its outputs, its operators in its
//! order.

use std::cell::RefCell;

use export::nn::{Layer, Linear};
use export::{check, cond, map, ones, zeros, Constant, Dim, DynamicShapes, Inputs, Module, Program, Result, SymInt, Tensor, Tree};
use tensor::DType;

use crate::{no_dynamic_shapes, none, randn, Case, Support};

const FILE: &str = include_str!("pytorch_examples.rs");

/// An ExportDB example as a case: exported from its first input set, with no rejects of its
/// own (PyTorch's recorded rejects are checked against the fixture) and no expected error;
/// the few that differ override fields (`Case { dynamic_shapes: .., ..example(..) }`).
fn example(name: &'static str, description: &'static str, tags: &'static [&'static str], model: fn() -> Box<dyn Program>, sets: fn() -> Vec<Inputs>) -> Case {
    Case { name, description, tags, model, sets, rejects: none, dynamic_shapes: no_dynamic_shapes, support: Support::Supported, file: FILE }
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
        example(
            "exportdb_cond_branch_class_method",
            "`cond`'s branches are methods (a submodule's and the model's own); a predicate fixed by static sizes takes its branch",
            &["torch.cond", "torch.dynamic-shape"],
            || Box::new(CondBranchClassMethod { subm: MySubModule }),
            || vec![Inputs::new().arg("x", randn(&[3], 1))],
        ),
        example(
            "exportdb_cond_branch_nonlocal_variables",
            "values the branches need (a tensor, a float made a tensor) are passed as `cond`'s operands rather than captured",
            &["torch.cond", "torch.dynamic-shape"],
            || Box::new(CondBranchNonlocalVariables),
            || vec![Inputs::new().arg("x", randn(&[6], 1))],
        ),
        example(
            "exportdb_constrain_as_size_example",
            "a value read from data (`item_int`) bounded by `check`s is used as a size; the checks stay in the program",
            &["torch.dynamic-value", "torch.escape-hatch"],
            || Box::new(ConstrainAsSize),
            || [4, 0, 5].into_iter().map(|v| Inputs::new().arg("x", Tensor::from_i64(vec![v], &[]).expect("a scalar"))).collect(),
        ),
        example(
            "exportdb_constrain_as_value_example",
            "a value read from data bounded by `check`s: a comparison the bounds decide needs no guard",
            &["torch.dynamic-value", "torch.escape-hatch"],
            || Box::new(ConstrainAsValue),
            || [(4, 1), (0, 2)].into_iter().map(|(v, seed)| Inputs::new().arg("x", Tensor::from_i64(vec![v], &[]).expect("a scalar")).arg("y", randn(&[5, 5], seed))).collect(),
        ),
        example(
            "exportdb_dynamic_shape_assert",
            "assertions on sizes (with and without a message) are checked while tracing and leave nothing in the graph",
            &["python.assert"],
            || Box::new(DynamicShapeAssert),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_dynamic_shape_if_guard",
            "an `if` on a static size takes its branch (with a dynamic dim it would become a guard, and export would refuse it)",
            &["torch.dynamic-shape", "python.control-flow"],
            || Box::new(DynamicShapeIfGuard),
            || vec![Inputs::new().arg("x", randn(&[3, 2, 2], 1))],
        ),
        example(
            "exportdb_dynamic_shape_map",
            "`map` applies a closure to each row of `xs`, with `y` as an extra operand",
            &["torch.dynamic-shape", "torch.map"],
            || Box::new(DynamicShapeMap),
            || vec![Inputs::new().arg("xs", randn(&[3, 2], 1)).arg("y", randn(&[2], 2))],
        ),
        Case {
            dynamic_shapes: || DynamicShapes::new().dim("x", 0, Dim::new("dim0_x")),
            support: Support::NotSupportedYet("dim0_x"),
            ..example(
                "exportdb_dynamic_shape_round",
                "rounding a dynamic size as a float (Python's `round(x.shape[0] / 2)`) has no symbolic form: reading the size on the host specializes it, and export refuses that for a dynamic dim",
                &["torch.dynamic-shape", "python.builtin"],
                || Box::new(DynamicShapeRound),
                || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
            )
        },
        example(
            "exportdb_dynamic_shape_slicing",
            "slices whose bounds are computed from sizes, one with a step",
            &["torch.dynamic-shape"],
            || Box::new(DynamicShapeSlicing),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_fn_with_kwargs",
            "positional inputs, a tuple, variadic inputs (a tuple) and keyword inputs, the rest of them read as a map",
            &["python.data-structure"],
            || Box::new(FnWithKwargs),
            || {
                let r = |seed: u64| Tree::from(randn(&[4], seed));
                vec![Inputs::new()
                    .arg("pos0", r(1))
                    .arg("tuple0", Tree::Tuple(vec![r(2), r(3)]))
                    .arg("myargs", Tree::Tuple(vec![r(4), r(5)]))
                    .kwarg("mykw0", r(6))
                    .kwarg("input0", r(7))
                    .kwarg("input1", r(8))]
            },
        ),
        example(
            "exportdb_list_contains",
            "membership of sizes and constants in a list is decided while tracing",
            &["torch.dynamic-shape", "python.data-structure", "python.assert"],
            || Box::new(ListContains),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_model_attr_mutation",
            "forward replaces a plain (non-state) attribute of the model; the new values are built in the graph",
            &["python.object-model"],
            || Box::new(ModelAttrMutation { attr_list: RefCell::new(vec![randn(&[3, 2], 11), randn(&[3, 2], 12)]) }),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_optional_input",
            "an optional input (`Option<Tensor>`) not given takes its default, a tensor the model holds",
            &["python.object-model"],
            || Box::new(OptionalInput { y_default: Constant::new(randn(&[2, 3], 21).data()) }),
            || vec![Inputs::new().arg("x", randn(&[2, 3], 1))],
        ),
        example(
            "exportdb_pytree_flatten",
            "a nested input (a tuple holding a map) flattened to its tensors inside forward",
            &[],
            || Box::new(PytreeFlatten),
            || vec![Inputs::new().arg("x", Tree::Tuple(vec![Tree::Dict(vec![("1".into(), randn(&[3, 2], 1).into()), ("2".into(), randn(&[3, 2], 2).into())])]))],
        ),
        Case {
            dynamic_shapes: || DynamicShapes::new().dim("x", 1, Dim::new("dim1_x")),
            ..example(
                "exportdb_scalar_output",
                "a size computed from a dynamic dim returned as an int output",
                &["torch.dynamic-shape"],
                || Box::new(ScalarOutput),
                || vec![Inputs::new().arg("x", randn(&[3, 2], 1)), Inputs::new().arg("x", randn(&[3, 7], 2))],
            )
        },
        Case {
            support: Support::NotApplicable(
                "Rust values have no attributes added at run time (Python's `setattr(x, attr, ...)`): the Rust program keeps the extra tensor in a struct beside `x`, under a name the model holds, since a string is not a program input",
            ),
            ..example(
                "exportdb_tensor_setattr",
                "an attribute set on a tensor input; Rust keeps it beside the tensor instead",
                &["python.builtin"],
                || Box::new(TensorSetattr { attr: "attr".into() }),
                || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
            )
        },
        example(
            "exportdb_unsupported_operator",
            "`SymInt::min` (`torch.sym_min`) of a size and a constant, added to a reduction",
            &["torch.operator"],
            || Box::new(TorchSymMin),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
        ),
        example(
            "exportdb_assume_constant_result",
            "a slice bound read from data: PyTorch's non-strict export ignores `assume_constant_result` and reads it as an unbacked value, as this program does",
            &["torch.escape-hatch"],
            || Box::new(AssumeConstantResult),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1)).arg("y", Tensor::from_i64(vec![2], &[]).expect("a scalar"))],
        ),
        example(
            "exportdb_autograd_function",
            "a function with a forward and a custom gradient (Python's `autograd.Function`): export records forward",
            &[],
            || Box::new(AutogradFunction),
            || vec![Inputs::new().arg("x", randn(&[3, 2], 1))],
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

// case: exportdb_cond_branch_class_method
#[derive(Module)]
struct MySubModule;

impl MySubModule {
    fn foo(&self, x: &Tensor) -> Result<Tensor> {
        x.cos()
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.foo(x)
    }
}

#[derive(Module)]
struct CondBranchClassMethod {
    subm: MySubModule,
}

impl CondBranchClassMethod {
    fn bar(&self, x: &Tensor) -> Result<Tensor> {
        x.sin()
    }
}

impl Program for CondBranchClassMethod {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let true_fn = |ops: &[Tensor]| Ok(vec![self.subm.forward(&ops[0])?]);
        let false_fn = |ops: &[Tensor]| Ok(vec![self.bar(&ops[0])?]);
        let out = cond(x.size(0)?.le(2)?, &true_fn, &false_fn, &[x.clone()])?;
        Ok(out[0].clone().into())
    }
}
// end case

// case: exportdb_cond_branch_nonlocal_variables
#[derive(Module)]
struct CondBranchNonlocalVariables;

impl Program for CondBranchNonlocalVariables {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let my_tensor_var = x.add(100i64)?;
        let my_primitive_var = 3.14f32;
        // the branches take what they need as operands, not by capture
        let true_fn = |ops: &[Tensor]| Ok(vec![ops[0].add(&ops[1])?.add(&ops[2])?]);
        let false_fn = |ops: &[Tensor]| Ok(vec![ops[0].sub(&ops[1])?.sub(&ops[2])?]);
        let operands = [x.clone(), my_tensor_var, Tensor::constant(vec![my_primitive_var], &[])?];
        let out = cond(x.size(0)?.gt(5)?, &true_fn, &false_fn, &operands)?;
        Ok(out[0].clone().into())
    }
}
// end case

// case: exportdb_constrain_as_size_example
#[derive(Module)]
struct ConstrainAsSize;

impl Program for ConstrainAsSize {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let a = inputs.tensor("x")?.item_int()?;
        check(&a.sym_ge(0))?;
        check(&a.sym_le(5))?;
        Ok(zeros(&[a, SymInt::from(5)], DType::F32)?.into())
    }
}
// end case

// case: exportdb_constrain_as_value_example
#[derive(Module)]
struct ConstrainAsValue;

impl Program for ConstrainAsValue {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        let a = x.item_int()?;
        check(&a.sym_ge(0))?;
        check(&a.sym_le(5))?;
        // decided by the checks above: no guard, no branch in the program
        if a.lt(6)? {
            return Ok(y.sin()?.into());
        }
        Ok(y.cos()?.into())
    }
}
// end case

// case: exportdb_dynamic_shape_assert
#[derive(Module)]
struct DynamicShapeAssert;

impl Program for DynamicShapeAssert {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // an assertion with a message
        let n = x.size(0)?;
        if !n.gt(2)? {
            return Err(export::Error::msg(format!("{n} is not greater than 2")));
        }
        // and without: `check` fails with the condition itself
        check(&n.sym_gt(1))?;
        Ok(x.clone().into())
    }
}
// end case

// case: exportdb_dynamic_shape_if_guard
#[derive(Module)]
struct DynamicShapeIfGuard;

impl Program for DynamicShapeIfGuard {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        if x.size(0)?.eq(3)? {
            return Ok(x.cos()?.into());
        }
        Ok(x.sin()?.into())
    }
}
// end case

// case: exportdb_dynamic_shape_map
#[derive(Module)]
struct DynamicShapeMap;

impl Program for DynamicShapeMap {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (xs, y) = (inputs.tensor("xs")?, inputs.tensor("y")?);
        let body = |ops: &[Tensor]| Ok(vec![ops[0].add(&ops[1])?]);
        Ok(map(&body, &[xs.clone()], &[y.clone()])?.remove(0).into())
    }
}
// end case

// case: exportdb_dynamic_shape_round
#[derive(Module)]
struct DynamicShapeRound;

impl Program for DynamicShapeRound {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // a float of a size has no symbolic form: this reads the size on the host
        let half = (x.size(0)?.guard_int()? as f64 / 2.0).round_ties_even() as i64;
        Ok(x.slice(0, None, Some(SymInt::from(half)))?.into())
    }
}
// end case

// case: exportdb_dynamic_shape_slicing
#[derive(Module)]
struct DynamicShapeSlicing;

impl Program for DynamicShapeSlicing {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        // `x[: x.shape[0] - 2, x.shape[1] - 1 :: 2]`
        let rows = x.slice(0, None, Some(x.size(0)? - 2))?;
        Ok(rows.slice_step(1, Some(x.size(1)? - 1), None, 2)?.into())
    }
}
// end case

// case: exportdb_fn_with_kwargs
#[derive(Module)]
struct FnWithKwargs;

impl Program for FnWithKwargs {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let mut out = inputs.tensor("pos0")?.clone();
        for arg in inputs.get("tuple0")?.tensors() {
            out = out.mul(&arg)?;
        }
        // Python's `*myargs`: the variadic inputs, a tuple
        for arg in inputs.get("myargs")?.tensors() {
            out = out.mul(&arg)?;
        }
        out = out.mul(inputs.tensor("mykw0")?)?;
        // Python's `**mykwargs`: the keyword inputs not named above
        let keywords = &inputs.args[inputs.args.len() - inputs.keywords..];
        for (_, arg) in keywords.iter().filter(|(name, _)| name != "mykw0") {
            for t in arg.tensors() {
                out = out.mul(&t)?;
            }
        }
        Ok(out.into())
    }
}
// end case

// case: exportdb_list_contains
#[derive(Module)]
struct ListContains;

/// Whether `n` is one of `list` (Python's `n in list`), decided as a guard.
fn contains(list: &[i64], n: &SymInt) -> Result<bool> {
    for &v in list {
        if n.eq(v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Program for ListContains {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        if !contains(&[6, 2], &x.size(-1)?)? || contains(&[4, 5, 6], &x.size(0)?)? || ["cow", "pig"].contains(&"monkey") {
            return Err(export::Error::msg("x's sizes are not the expected ones"));
        }
        Ok(x.add(x)?.into())
    }
}
// end case

// case: exportdb_model_attr_mutation
#[derive(Module)]
struct ModelAttrMutation {
    /// Plain data, not state: a list of tensors forward replaces.
    #[module(skip)]
    attr_list: RefCell<Vec<Tensor>>,
}

impl ModelAttrMutation {
    fn recreate_list(&self) -> Result<Vec<Tensor>> {
        let size = [SymInt::from(3), SymInt::from(2)];
        Ok(vec![zeros(&size, DType::F32)?, zeros(&size, DType::F32)?])
    }
}

impl Program for ModelAttrMutation {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        *self.attr_list.borrow_mut() = self.recreate_list()?;
        Ok(x.sum()?.add(&self.attr_list.borrow()[0].sum()?)?.into())
    }
}
// end case

// case: exportdb_optional_input
#[derive(Module)]
struct OptionalInput {
    /// Python's `y=torch.randn(2, 3)`: a default made once, held by the model (a constant of
    /// the program).
    y_default: Constant,
}

impl Program for OptionalInput {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let y = match inputs.optional_tensor("y")? {
            Some(y) => y.clone(),
            None => self.y_default.tensor(),
        };
        Ok(x.add(&y)?.into())
    }
}
// end case

// case: exportdb_pytree_flatten
#[derive(Module)]
struct PytreeFlatten;

impl Program for PytreeFlatten {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        // `pytree.tree_flatten(x)`: the tensors of a nested input, in order
        let y = inputs.get("x")?.tensors();
        Ok(y[0].add(1i64)?.into())
    }
}
// end case

// case: exportdb_scalar_output
#[derive(Module)]
struct ScalarOutput;

impl Program for ScalarOutput {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        Ok(Tree::SymInt(inputs.tensor("x")?.size(1)? + 1))
    }
}
// end case

// case: exportdb_tensor_setattr
#[derive(Module)]
struct TensorSetattr {
    /// The attribute's name (Python passes it as an input).
    #[module(skip)]
    attr: String,
}

/// A tensor with named extra tensors beside it: what Python's attributes on a tensor hold.
struct Tagged {
    tensor: Tensor,
    attrs: std::collections::HashMap<String, Tensor>,
}

impl Program for TensorSetattr {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let mut x = Tagged { tensor: inputs.tensor("x")?.clone(), attrs: Default::default() };
        x.attrs.insert(self.attr.clone(), randn(&[3, 2], 7));
        Ok(x.tensor.add(4i64)?.into())
    }
}
// end case

// case: exportdb_unsupported_operator
#[derive(Module)]
struct TorchSymMin;

impl Program for TorchSymMin {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        Ok(x.sum()?.add(x.size(0)?.min(100))?.into())
    }
}
// end case

// case: exportdb_assume_constant_result
#[derive(Module)]
struct AssumeConstantResult;

impl AssumeConstantResult {
    fn get_item(&self, y: &Tensor) -> Result<SymInt> {
        y.to_dtype(DType::I32)?.item_int()
    }
}

impl Program for AssumeConstantResult {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        Ok(x.slice(0, None, Some(self.get_item(y)?))?.into())
    }
}
// end case

// case: exportdb_autograd_function
/// Python's `torch.autograd.Function`: a forward and its gradient, written apart.
#[allow(dead_code)] // export records forward only: nothing here calls `backward`
trait Function {
    fn forward(x: &Tensor) -> Result<Tensor>;
    fn backward(grad_output: &Tensor) -> Result<Tensor>;
}

struct MyAutogradFunction;

impl Function for MyAutogradFunction {
    fn forward(x: &Tensor) -> Result<Tensor> {
        x.clone_()
    }
    fn backward(grad_output: &Tensor) -> Result<Tensor> {
        grad_output.add(1i64)
    }
}

#[derive(Module)]
struct AutogradFunction;

impl Program for AutogradFunction {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        // export records forward; the gradient is not part of an inference program
        Ok(MyAutogradFunction::forward(inputs.tensor("x")?)?.into())
    }
}
// end case
