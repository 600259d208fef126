//! A graph compiled for running: every node's operator looked up once, its arguments bound to
//! the operator's schema once (as slots, constants and lists of them), every value given a slot
//! number instead of a name, and the step after which each value is dropped worked out once.
//! Running a plan does no string work and no lookups; `cond`, `map_impl`, `scan`, `while_loop`
//! and `wrap_with_set_grad_enabled` hold their subgraphs as plans of their own.
//!
//! [`GraphPlan::walk`] is the one graph walker: slots, argument operands, output binding and
//! freeing are its; what a node *means* is a [`Meaning`]'s — its kernel ([`GraphPlan::run`]),
//! its meta function ([`GraphPlan::run_shapes_only`]), or a call recorded into a new graph
//! (`run_decompositions`' re-tracer in `export::retrace`).

use ops::names::aten;
use std::collections::HashMap;
use std::sync::Arc;

use ops::{OpDef, Registry, Value};
use tensor::kernels::vmath::Activation;
use tensor::Tensor;

use crate::schema::{self, Argument, Graph, Node};
use crate::{dtype, Error, Result};

/// Where an argument's value comes from when its step runs.
#[derive(Clone, Debug)]
pub enum Operand {
    Slot(usize),
    Const(Value),
    List(ListKind, Vec<Operand>),
}

/// What kind of list an argument is, as the graph recorded it (a meaning that records calls
/// writes it back the same way; running ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Tensors,
    OptionalTensors,
    Ints,
    SymInts,
    Floats,
    SymFloats,
    Bools,
    SymBools,
    Strings,
    IntLists,
    FloatLists,
}

/// Where one of a node's outputs goes.
#[derive(Debug)]
enum Bind {
    One(usize),
    /// A `Tensor[]` output: exactly this many values.
    Many(Vec<usize>),
    /// A `Tensor?[]` output: the named ones.
    Optional(Vec<Option<usize>>),
    Ignore,
}

impl Bind {
    fn is_list(&self) -> bool {
        matches!(self, Bind::Many(_) | Bind::Optional(_))
    }
}

#[derive(Debug)]
enum Action {
    Kernel { def: Arc<OpDef>, args: Vec<Operand> },
    Python { op: String, args: Vec<Operand> },
    Cond { pred: Operand, branches: Box<[GraphPlan; 2]>, operands: Option<Operand> },
    Map { body: GraphPlan, xs: Option<Operand>, extra: Option<Operand>, cat: Arc<OpDef> },
    Scan { combine: GraphPlan, init: Option<Operand>, xs: Option<Operand>, extra: Option<Operand>, cat: Arc<OpDef> },
    While { cond: GraphPlan, body: GraphPlan, carried: Option<Operand>, extra: Option<Operand> },
    WithGradMode { body: GraphPlan, operands: Vec<Operand> },
    /// An operator with a side effect, ordered by a token (`with_effects`): its outputs after
    /// a fresh token.
    WithEffects { def: Arc<OpDef>, args: Vec<Operand> },
    /// Element-wise operators run as one ([`fuse`]).
    Fused(fuse::Chain),
    /// An operator whose output an activation finishes in the same kernel ([`epilogue`]).
    Activated { def: Arc<OpDef>, args: Vec<Operand>, activation: Activation },
}

#[path = "epilogue.rs"]
mod epilogue;
#[path = "fuse.rs"]
mod fuse;

/// One node of the graph, resolved.
#[derive(Debug)]
pub struct Step {
    /// The node's position in the graph's nodes.
    node: usize,
    /// The node's name, for errors and the profile.
    label: String,
    target: String,
    action: Action,
    outputs: Vec<Bind>,
    /// Slots whose last use is this step, dropped after it (values never used are dropped right
    /// after the step that makes them).
    frees: Vec<usize>,
}

/// A graph resolved against a registry, ready to run many times.
#[derive(Debug)]
pub struct GraphPlan {
    slots: usize,
    /// Each slot's value name (for shapes-only observers and errors).
    names: Vec<String>,
    /// The slot of each value name.
    by_name: HashMap<String, usize>,
    inputs: Vec<Bind>,
    steps: Vec<Step>,
    outputs: Vec<Operand>,
    profile: bool,
}

/// Names to slot numbers while a graph compiles.
#[derive(Default)]
struct Slots {
    by_name: HashMap<String, usize>,
}

impl Slots {
    fn define(&mut self, name: &str) -> usize {
        let n = self.by_name.len();
        *self.by_name.entry(name.to_string()).or_insert(n)
    }

    fn get(&self, name: &str, node: &str) -> Result<usize> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| Error::msg(format!("node `{node}`: value `{name}` is not defined before its use")))
    }
}

/// Layout and memory format codes of the schema, and their PyTorch spellings (as `Value` keeps them).
const LAYOUTS: [(i64, &str); 2] = [(7, "torch.strided"), (1, "torch.sparse_coo")];
const MEMORY_FORMATS: [(i64, &str); 4] =
    [(1, "torch.contiguous_format"), (2, "torch.channels_last"), (3, "torch.channels_last_3d"), (4, "torch.preserve_format")];

fn spelling(table: &[(i64, &'static str)], code: i64, unknown: &'static str) -> &'static str {
    table.iter().find(|(c, _)| *c == code).map_or(unknown, |(_, n)| n)
}

fn layout_name(l: schema::Layout) -> &'static str {
    spelling(&LAYOUTS, l.0, "torch.unknown_layout")
}

fn memory_format_name(m: schema::MemoryFormat) -> &'static str {
    spelling(&MEMORY_FORMATS, m.0, "torch.unknown_memory_format")
}

/// How a graph records a layout, memory format or complex number that [`literal`] gave as a
/// value (its inverse for them); `None` for other values, which record as themselves.
pub fn literal_argument(v: &Value) -> Option<Argument> {
    let code = |table: &[(i64, &str)], name: &str| table.iter().find(|(_, n)| *n == name).map(|(c, _)| *c);
    match v {
        Value::Layout(name) => code(&LAYOUTS, name).map(|c| Argument::AsLayout(schema::Layout(c))),
        Value::MemoryFormat(name) => code(&MEMORY_FORMATS, name).map(|c| Argument::AsMemoryFormat(schema::MemoryFormat(c))),
        Value::Complex(re, im) => Some(Argument::AsComplex(schema::ComplexValue { real: schema::F64(*re), imag: schema::F64(*im) })),
        _ => None,
    }
}

/// The value of an argument that names no graph value (a literal: ints, floats, dtypes, ...);
/// `None` for arguments that refer to values.
pub fn literal(a: &Argument) -> Option<Value> {
    fn constant(o: Operand) -> Option<Value> {
        match o {
            Operand::Const(v) => Some(v),
            Operand::List(_, items) => items.into_iter().map(constant).collect::<Option<Vec<_>>>().map(Value::List),
            Operand::Slot(_) => None,
        }
    }
    constant(operand(&Slots::default(), a, "").ok()?)
}

/// An argument as an operand: graph values by slot, literals as constants.
fn operand(slots: &Slots, a: &Argument, node: &str) -> Result<Operand> {
    use Argument::*;
    let slot = |name: &str| slots.get(name, node).map(Operand::Slot);
    let consts = |kind: ListKind, vs: Vec<Value>| Operand::List(kind, vs.into_iter().map(Operand::Const).collect());
    let sym_int = |s: &schema::SymIntArgument| match s {
        schema::SymIntArgument::AsName(n) => slot(n),
        schema::SymIntArgument::AsInt(i) => Ok(Operand::Const(Value::Int(*i))),
    };
    let sym_bool = |s: &schema::SymBoolArgument| match s {
        schema::SymBoolArgument::AsName(n) => slot(n),
        schema::SymBoolArgument::AsBool(b) => Ok(Operand::Const(Value::Bool(*b))),
    };
    let sym_float = |s: &schema::SymFloatArgument| match s {
        schema::SymFloatArgument::AsName(n) => slot(n),
        schema::SymFloatArgument::AsFloat(f) => Ok(Operand::Const(Value::Float(f.0))),
    };
    let optional = |t: &schema::OptionalTensorArgument| match t {
        schema::OptionalTensorArgument::AsTensor(t) => slot(&t.name),
        schema::OptionalTensorArgument::AsNone(_) => Ok(Operand::Const(Value::None)),
    };
    let list = |kind: ListKind, ops: Result<Vec<Operand>>| ops.map(|items| Operand::List(kind, items));
    Ok(match a {
        AsNone(_) => Operand::Const(Value::None),
        AsTensor(t) => slot(&t.name)?,
        AsTensors(ts) => list(ListKind::Tensors, ts.iter().map(|t| slot(&t.name)).collect())?,
        AsInt(i) => Operand::Const(Value::Int(*i)),
        AsInts(is) => consts(ListKind::Ints, is.iter().map(|&i| Value::Int(i)).collect()),
        AsFloat(f) => Operand::Const(Value::Float(f.0)),
        AsFloats(fs) => consts(ListKind::Floats, fs.iter().map(|f| Value::Float(f.0)).collect()),
        AsString(s) => Operand::Const(Value::Str(s.clone())),
        AsStrings(ss) => consts(ListKind::Strings, ss.iter().map(|s| Value::Str(s.clone())).collect()),
        AsSymInt(s) => sym_int(s)?,
        AsSymInts(ss) => list(ListKind::SymInts, ss.iter().map(sym_int).collect())?,
        AsScalarType(s) => Operand::Const(Value::Dtype(dtype::to_dtype(*s).map_err(|e| Error::msg(format!("node `{node}`: {e}")))?)),
        AsMemoryFormat(m) => Operand::Const(Value::MemoryFormat(memory_format_name(*m).into())),
        AsLayout(l) => Operand::Const(Value::Layout(layout_name(*l).into())),
        AsDevice(d) => Operand::Const(Value::Device(d.type_.clone())),
        AsBool(b) => Operand::Const(Value::Bool(*b)),
        AsBools(bs) => consts(ListKind::Bools, bs.iter().map(|&b| Value::Bool(b)).collect()),
        AsSymBool(s) => sym_bool(s)?,
        AsSymBools(ss) => list(ListKind::SymBools, ss.iter().map(sym_bool).collect())?,
        AsOptionalTensors(ts) => list(ListKind::OptionalTensors, ts.iter().map(optional).collect())?,
        AsOptionalTensor(t) => optional(t)?,
        AsSymFloat(s) => sym_float(s)?,
        AsSymFloats(ss) => list(ListKind::SymFloats, ss.iter().map(sym_float).collect())?,
        AsOperator(s) => Operand::Const(Value::Str(s.clone())),
        AsIntLists(ls) => Operand::List(ListKind::IntLists, ls.iter().map(|l| consts(ListKind::Ints, l.iter().map(|&i| Value::Int(i)).collect())).collect()),
        AsFloatLists(ls) => Operand::List(ListKind::FloatLists, ls.iter().map(|l| consts(ListKind::Floats, l.iter().map(|f| Value::Float(f.0)).collect())).collect()),
        AsComplex(c) => Operand::Const(Value::Complex(c.real.0, c.imag.0)),
        AsGraph(_) | AsCustomObj(_) | AsNestedTensors(_) | AsStringToArgument(_) => {
            return Err(Error::msg(format!("node `{node}`: argument kind {a:?} is not supported by pt2's interpreter")))
        }
    })
}

/// Where an output argument's values go, defining their slots.
fn bind(slots: &mut Slots, a: &Argument) -> Bind {
    match a {
        Argument::AsTensor(t) => Bind::One(slots.define(&t.name)),
        Argument::AsSymInt(schema::SymIntArgument::AsName(n))
        | Argument::AsSymBool(schema::SymBoolArgument::AsName(n))
        | Argument::AsSymFloat(schema::SymFloatArgument::AsName(n)) => Bind::One(slots.define(n)),
        Argument::AsTensors(ts) => Bind::Many(ts.iter().map(|t| slots.define(&t.name)).collect()),
        Argument::AsOptionalTensors(ts) => Bind::Optional(
            ts.iter()
                .map(|t| match t {
                    schema::OptionalTensorArgument::AsTensor(t) => Some(slots.define(&t.name)),
                    schema::OptionalTensorArgument::AsNone(_) => None,
                })
                .collect(),
        ),
        _ => Bind::Ignore,
    }
}

fn node_label(node: &Node) -> &str {
    node.name.as_deref().unwrap_or(&node.target)
}

fn subgraph<'a>(node: &'a Node, index: usize) -> Result<&'a Graph> {
    match node.inputs.get(index).map(|a| &a.arg) {
        Some(Argument::AsGraph(g)) => Ok(&g.graph),
        _ => Err(Error::msg(format!("node `{}`: argument {index} of {} must be a subgraph", node_label(node), node.target))),
    }
}

impl GraphPlan {
    /// Resolves `graph` against `registry`: unknown operators, undefined values and arguments
    /// that do not fit an operator's schema are refused here, naming the node.
    pub fn compile(graph: &Graph, registry: &Registry) -> Result<GraphPlan> {
        let mut slots = Slots::default();
        let inputs: Vec<Bind> = graph.inputs.iter().map(|a| bind(&mut slots, a)).collect();
        let mut steps = Vec::with_capacity(graph.nodes.len());
        for (index, node) in graph.nodes.iter().enumerate() {
            let action = compile_node(&slots, node, registry)?;
            let outputs = node.outputs.iter().map(|a| bind(&mut slots, a)).collect();
            steps.push(Step { node: index, label: node_label(node).to_string(), target: node.target.clone(), action, outputs, frees: Vec::new() });
        }
        let outputs = graph.outputs.iter().map(|a| operand(&slots, a, "output")).collect::<Result<Vec<_>>>()?;
        let mut names = vec![String::new(); slots.by_name.len()];
        for (name, &slot) in &slots.by_name {
            names[slot] = name.clone();
        }
        let mut plan = GraphPlan { slots: slots.by_name.len(), names, by_name: slots.by_name, inputs, steps, outputs, profile: std::env::var_os("PT2_PROFILE").is_some() };
        plan.place_frees();
        Ok(plan)
    }

    /// How many times each slot is read by the steps; a graph output counts twice, so that a
    /// value the caller receives is never taken as read once (the plan-time fusions' test).
    fn slot_reads(&self) -> Vec<usize> {
        let mut uses = vec![0usize; self.slots];
        for step in &self.steps {
            step.action.for_each_slot(&mut |s| uses[s] += 1);
        }
        for o in &self.outputs {
            o.for_each_slot(&mut |s| uses[s] += 2);
        }
        uses
    }

    /// Each slot is freed after its last use; a slot a step defines and nothing reads is freed
    /// after that step. Graph outputs are never freed.
    fn place_frees(&mut self) {
        const KEEP: usize = usize::MAX;
        let mut last: Vec<Option<usize>> = vec![None; self.slots];
        for (i, step) in self.steps.iter().enumerate() {
            step.action.for_each_slot(&mut |s| last[s] = Some(i));
            for b in &step.outputs {
                b.for_each_slot(&mut |s| {
                    last[s].get_or_insert(i);
                });
            }
        }
        for o in &self.outputs {
            o.for_each_slot(&mut |s| last[s] = Some(KEEP));
        }
        for (slot, at) in last.into_iter().enumerate() {
            if let Some(i) = at.filter(|&i| i != KEEP) {
                self.steps[i].frees.push(slot);
            }
        }
    }

    /// Runs the plan on values for the graph's placeholders; returns the graph's outputs.
    pub fn run(&self, inputs: Vec<Value>) -> Result<Vec<Value>> {
        self.walk(inputs, &mut Run { mode: Mode::Kernels, observe: None, profile: self.profile })
    }

    /// Runs the plan shapes only, on meta tensors ([`tensor::meta`]): each node's outputs come
    /// from its operator's meta function and dtype rule, no kernel runs. `observe` sees every
    /// value a node of this graph defines, by name (to check them against recorded metadata).
    pub fn run_shapes_only(&self, inputs: Vec<Value>, observe: &mut dyn FnMut(&str, &Value) -> Result<()>) -> Result<Vec<Value>> {
        self.walk(inputs, &mut Run { mode: Mode::ShapesOnly, observe: Some(observe), profile: false })
    }

    fn run_in(&self, inputs: Vec<Value>, mode: Mode) -> Result<Vec<Value>> {
        self.walk(inputs, &mut Run { mode, observe: None, profile: self.profile && mode == Mode::Kernels })
    }

    /// Walks the graph: binds `inputs` to its placeholders, gives each step's operands to
    /// `meaning` and binds what it returns to the step's outputs, frees each value after its
    /// last use, and returns the graph's outputs.
    pub fn walk<M: Meaning>(&self, inputs: Vec<M::Value>, meaning: &mut M) -> Result<Vec<M::Value>> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::msg(format!("graph takes {} inputs but {} were given", self.inputs.len(), inputs.len())));
        }
        let mut env: Vec<M::Value> = vec![meaning.unset(); self.slots];
        for (b, v) in self.inputs.iter().zip(inputs) {
            bind_one(meaning, &mut env, b, v, "placeholder")?;
        }
        for step in &self.steps {
            let result = meaning.step(step, &mut env)?;
            bind_outputs(meaning, &mut env, step, result)?;
            let observes = meaning.observes();
            for b in step.outputs.iter().filter(|_| observes) {
                let mut defined = Vec::new();
                b.for_each_slot(&mut |s| defined.push(s));
                for s in defined {
                    meaning.defined(&self.names[s], &env[s])?;
                }
            }
            for &s in &step.frees {
                env[s] = meaning.unset();
            }
        }
        self.outputs.iter().map(|o| Ok(o.resolve(&env, meaning))).collect()
    }

    /// The operand an argument of this graph names (a value's slot, or a literal), resolved
    /// in `env` by `meaning`: how a meaning reads a node's arguments that are not an operator's
    /// (a control-flow node's operands).
    pub fn argument<M: Meaning>(&self, a: &Argument, env: &[M::Value], meaning: &mut M) -> Result<M::Value> {
        let slots = Slots { by_name: self.by_name.clone() };
        Ok(operand(&slots, a, "argument")?.resolve(env, meaning))
    }
}

/// What a node means while [`GraphPlan::walk`] walks a graph: running its kernel, its meta
/// function, or recording it into a new graph. `Value` is what a slot holds.
pub trait Meaning {
    type Value: Clone;
    /// What a slot holds before it is defined and after it is freed.
    fn unset(&self) -> Self::Value;
    /// A literal argument (a number, a dtype, ...; one item of a literal list).
    fn constant(&mut self, v: &Value) -> Self::Value;
    /// A list argument of `kind`.
    fn list(&mut self, kind: ListKind, items: Vec<Self::Value>) -> Self::Value;
    /// The items of a list value (a `Tensor[]` output, a tuple of results); `Err` gives back a
    /// value that is not a list.
    fn items(&self, v: Self::Value) -> std::result::Result<Vec<Self::Value>, Self::Value>;
    /// What the step gives for its node's outputs: one value (a tuple of results as a list), or
    /// one value per output. `env` holds the values of the slots.
    fn step(&mut self, step: &Step, env: &mut [Self::Value]) -> Result<Outputs<Self::Value>>;
    /// Whether [`Meaning::defined`] wants to see each value a step defines.
    fn observes(&self) -> bool {
        false
    }
    /// A value a step of this graph defined, once bound.
    fn defined(&mut self, _name: &str, _value: &Self::Value) -> Result<()> {
        Ok(())
    }
}

/// A step's results ([`Meaning::step`]).
pub enum Outputs<V> {
    One(V),
    PerOutput(Vec<V>),
}

/// A step as a [`Meaning`] sees it.
pub enum StepKind<'a> {
    /// An operator call: its definition and its arguments in schema order (defaults filled in).
    Operator { def: &'a Arc<OpDef>, args: &'a [Operand] },
    /// `_operator.NAME` on symbolic numbers.
    Python { op: &'a str, args: &'a [Operand] },
    /// A region that only sets the grad mode: its body and operands.
    WithGradMode { body: &'a GraphPlan, operands: &'a [Operand] },
    /// Control flow (`cond`, `map_impl`, `scan`, `while_loop`, `with_effects`), or steps the
    /// plan-time optimizations made; a meaning other than running reads the node itself.
    Other,
}

impl Step {
    /// The node's position in the graph it was compiled from.
    pub fn node(&self) -> usize {
        self.node
    }

    /// The node's name.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn kind(&self) -> StepKind<'_> {
        match &self.action {
            Action::Kernel { def, args } => StepKind::Operator { def, args },
            Action::Python { op, args } => StepKind::Python { op, args },
            Action::WithGradMode { body, operands } => StepKind::WithGradMode { body, operands },
            _ => StepKind::Other,
        }
    }
}

/// Running on kernels or shapes only.
struct Run<'o> {
    mode: Mode,
    observe: Option<&'o mut dyn FnMut(&str, &Value) -> Result<()>>,
    profile: bool,
}

impl Meaning for Run<'_> {
    type Value = Value;

    fn unset(&self) -> Value {
        Value::None
    }

    fn constant(&mut self, v: &Value) -> Value {
        v.clone()
    }

    fn list(&mut self, _: ListKind, items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn items(&self, v: Value) -> std::result::Result<Vec<Value>, Value> {
        match v {
            Value::List(vs) => Ok(vs),
            other => Err(other),
        }
    }

    fn step(&mut self, step: &Step, env: &mut [Value]) -> Result<Outputs<Value>> {
        let t0 = self.profile.then(std::time::Instant::now);
        let result = step.action.run(env, &step.label, &step.target, self.mode)?;
        if let Some(t0) = t0 {
            let shape = match &result {
                Value::Tensor(t) => format!("{:?}", t.shape()),
                _ => String::new(),
            };
            eprintln!("PROFILE {} {:.3} {}", step.target, t0.elapsed().as_secs_f64() * 1e3, shape.replace(' ', ""));
        }
        Ok(Outputs::One(result))
    }

    fn observes(&self) -> bool {
        self.observe.is_some()
    }

    fn defined(&mut self, name: &str, value: &Value) -> Result<()> {
        match &mut self.observe {
            Some(observe) => observe(name, value),
            None => Ok(()),
        }
    }
}

/// What running a node means.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Its kernel, on real data.
    Kernels,
    /// Its meta function and dtype rule, on meta tensors.
    ShapesOnly,
}

/// A node's outputs without its kernel: meta tensors of the sizes and dtypes the operator's
/// meta function and dtype rule give. Operators that only read metadata (`sym_size`, ...)
/// run their kernels, which accept meta tensors.
fn shapes_only(def: &OpDef, values: Vec<Value>) -> std::result::Result<Value, String> {
    if def.meta.is_none() {
        return def.call_bound(values).map_err(|e| format!("{e} (it has no meta function for running shapes only)"));
    }
    let args = ops::Args::bound(&def.schema, values);
    let tensors: Vec<Value> = def.meta_tensors(&args, None).map_err(|e| e.to_string())?.into_iter().map(Value::Tensor).collect();
    let single = def.schema.returns.len() == 1 && !matches!(def.schema.returns[0].ty, ops::schema::Type::List(..));
    Ok(match (single, tensors.len()) {
        (true, 1) => tensors.into_iter().next().expect("one"),
        _ => Value::List(tensors),
    })
}

fn compile_node(slots: &Slots, node: &Node, registry: &Registry) -> Result<Action> {
    let label = node_label(node);
    let target = node.target.as_str();
    let arg = |i: usize| node.inputs.get(i).map(|a| operand(slots, &a.arg, label)).transpose();
    if let Some(op) = target.strip_prefix("torch.ops.higher_order.") {
        let plan = |i: usize| GraphPlan::compile(subgraph(node, i)?, registry);
        let cat = || registry.lookup(aten::cat);
        return Ok(match op {
            "cond" => Action::Cond {
                pred: arg(0)?.ok_or_else(|| Error::msg(format!("node `{label}`: cond needs a predicate")))?,
                branches: Box::new([plan(1)?, plan(2)?]),
                operands: arg(3)?,
            },
            "map_impl" => Action::Map { body: plan(0)?, xs: arg(1)?, extra: arg(2)?, cat: cat()? },
            "scan" => Action::Scan { combine: plan(0)?, init: arg(1)?, xs: arg(2)?, extra: arg(3)?, cat: cat()? },
            "while_loop" => Action::While { cond: plan(0)?, body: plan(1)?, carried: arg(2)?, extra: arg(3)? },
            "wrap_with_set_grad_enabled" => Action::WithGradMode {
                body: plan(1)?,
                operands: node.inputs.iter().skip(2).map(|a| operand(slots, &a.arg, label)).collect::<Result<_>>()?,
            },
            "with_effects" => {
                let Some(Argument::AsOperator(inner)) = node.inputs.get(1).map(|a| &a.arg) else {
                    return Err(Error::msg(format!("node `{label}`: with_effects needs an operator as its second argument")));
                };
                let name = inner.strip_prefix("torch.ops.").unwrap_or(inner);
                let def = registry.get(name).ok_or_else(|| Error::UnknownOperator { name: name.to_string() }.in_node(label))?;
                let args = bound_args(slots, &def, &node.inputs[2..], label)?;
                Action::WithEffects { def, args }
            }
            other => return Err(Error::msg(format!("node `{label}`: higher-order operator {other} is not supported"))),
        });
    }
    if let Some(op) = target.strip_prefix("_operator.") {
        let args = node.inputs.iter().map(|a| operand(slots, &a.arg, label)).collect::<Result<_>>()?;
        return Ok(Action::Python { op: op.to_string(), args });
    }
    let name = target.strip_prefix("torch.ops.").unwrap_or(target);
    let def = registry.get(name).ok_or_else(|| Error::UnknownOperator { name: name.to_string() }.in_node(label))?;
    let args = bound_args(slots, &def, &node.inputs, label)?;
    Ok(Action::Kernel { def, args })
}

/// A node's arguments bound to the operator's schema, positional and keyword.
fn bound_args(slots: &Slots, def: &OpDef, inputs: &[schema::NamedArgument], label: &str) -> Result<Vec<Operand>> {
    let mut positional = Vec::new();
    let mut kwargs = Vec::new();
    for a in inputs {
        let o = operand(slots, &a.arg, label)?;
        if a.kind == Some(schema::ArgumentKind::KEYWORD) {
            kwargs.push((a.name.clone(), o));
        } else {
            positional.push(o);
        }
    }
    ops::args::bind(&def.schema, positional, kwargs, Operand::Const).map_err(|e| e.in_node(label))
}

impl Operand {
    /// The operand's value in `env`, as `meaning` makes literals and lists.
    pub fn resolve<M: Meaning + ?Sized>(&self, env: &[M::Value], meaning: &mut M) -> M::Value {
        match self {
            Operand::Slot(s) => env[*s].clone(),
            Operand::Const(v) => meaning.constant(v),
            Operand::List(kind, items) => {
                let items = items.iter().map(|o| o.resolve(env, meaning)).collect();
                meaning.list(*kind, items)
            }
        }
    }

    fn value(&self, env: &[Value]) -> Value {
        match self {
            Operand::Slot(s) => env[*s].clone(),
            Operand::Const(v) => v.clone(),
            Operand::List(_, items) => Value::List(items.iter().map(|o| o.value(env)).collect()),
        }
    }

    /// A list operand's items (a single value is a list of one; no operand, an empty list).
    fn values(op: &Option<Operand>, env: &[Value]) -> Vec<Value> {
        match op.as_ref().map(|o| o.value(env)) {
            None => Vec::new(),
            Some(Value::List(vs)) => vs,
            Some(v) => vec![v],
        }
    }

    fn for_each_slot(&self, f: &mut dyn FnMut(usize)) {
        match self {
            Operand::Slot(s) => f(*s),
            Operand::Const(_) => {}
            Operand::List(_, items) => items.iter().for_each(|o| o.for_each_slot(f)),
        }
    }
}

impl Bind {
    fn for_each_slot(&self, f: &mut dyn FnMut(usize)) {
        match self {
            Bind::One(s) => f(*s),
            Bind::Many(ss) => ss.iter().for_each(|&s| f(s)),
            Bind::Optional(ss) => ss.iter().flatten().for_each(|&s| f(s)),
            Bind::Ignore => {}
        }
    }
}

impl Action {
    fn for_each_slot(&self, f: &mut dyn FnMut(usize)) {
        let mut each = |o: &Option<Operand>| {
            if let Some(o) = o {
                o.for_each_slot(f)
            }
        };
        match self {
            Action::Kernel { args, .. }
            | Action::Activated { args, .. }
            | Action::WithEffects { args, .. }
            | Action::Python { args, .. }
            | Action::WithGradMode { operands: args, .. } => {
                args.iter().for_each(|o| o.for_each_slot(f))
            }
            Action::Cond { pred, operands, .. } => {
                pred.for_each_slot(f);
                if let Some(o) = operands {
                    o.for_each_slot(f)
                }
            }
            Action::Map { xs, extra, .. } => {
                each(xs);
                each(extra);
            }
            Action::Scan { init, xs, extra, .. } => {
                each(init);
                each(xs);
                each(extra);
            }
            Action::While { carried, extra, .. } => {
                each(carried);
                each(extra);
            }
            Action::Fused(chain) => chain.inputs.iter().for_each(|&s| f(s)),
        }
    }

    fn run(&self, env: &[Value], label: &str, target: &str, mode: Mode) -> Result<Value> {
        match self {
            Action::Kernel { def, args } => {
                let values = args.iter().map(|o| o.value(env)).collect();
                match mode {
                    Mode::Kernels => def.call_bound(values).map_err(|e| e.in_node(label)),
                    Mode::ShapesOnly => shapes_only(def, values).map_err(|e| Error::msg(format!("({target}) {e}")).in_node(label)),
                }
            }
            Action::Activated { def, args, activation } => {
                let values = args.iter().map(|o| o.value(env)).collect();
                match mode {
                    Mode::Kernels => def.call_bound_then(values, *activation).map_err(|e| e.in_node(label)),
                    // an activation keeps sizes and dtype
                    Mode::ShapesOnly => shapes_only(def, values).map_err(|e| Error::msg(format!("({target}) {e}")).in_node(label)),
                }
            }
            Action::WithEffects { def, args } => {
                let values = args.iter().map(|o| o.value(env)).collect();
                let out = match mode {
                    Mode::Kernels => def.call_bound(values).map_err(|e| e.in_node(label))?,
                    Mode::ShapesOnly => shapes_only(def, values).map_err(|e| Error::msg(format!("({target}) {e}")).in_node(label))?,
                };
                // the token carries nothing: an empty tensor, as PyTorch's
                let token = Value::Tensor(Tensor::from_vec(Vec::<f32>::new(), &[0]).map_err(|e| e.in_node(label))?);
                Ok(Value::List(match out {
                    _ if def.schema.returns.is_empty() => vec![token, Value::None],
                    Value::List(mut v) => {
                        v.insert(0, token);
                        v
                    }
                    one => vec![token, one],
                }))
            }
            Action::Fused(chain) => chain.run(chain.inputs.iter().map(|&s| env[s].clone()).collect(), label),
            Action::Python { op, args } => {
                let args: Vec<Value> = args.iter().map(|o| o.value(env)).collect();
                python_operator(op, &args).map_err(|e| Error::msg(format!("node `{label}` ({target}): {e}")))
            }
            Action::Cond { pred, branches, operands } => {
                let take_true = match pred.value(env) {
                    Value::Bool(b) => b,
                    Value::Int(i) => i != 0,
                    // shapes only: either branch gives the outputs' sizes (they must agree)
                    Value::Tensor(t) if t.is_meta() => true,
                    Value::Tensor(t) => t.item_f64().map_err(|e| Error::msg(format!("node `{label}`: cond predicate: {e}")))? != 0.0,
                    other => {
                        return Err(Error::msg(format!("node `{label}`: cond predicate must be a bool or a one-element tensor, got {}", other.kind())))
                    }
                };
                let branch = &branches[if take_true { 0 } else { 1 }];
                Ok(Value::List(branch.run_in(Operand::values(operands, env), mode)?))
            }
            Action::Map { body, xs, extra, cat } => {
                let xs: Vec<Tensor> = Operand::values(xs, env).iter().map(|v| as_tensor(v, label)).collect::<Result<_>>()?;
                let extra = Operand::values(extra, env);
                let n = xs.first().map(|t| t.shape().first().copied().unwrap_or(0)).unwrap_or(0);
                let mut per_output: Vec<Vec<Tensor>> = Vec::new();
                for i in 0..n {
                    let mut args: Vec<Value> = xs.iter().map(|x| x.select(0, i as i64).map(Value::Tensor)).collect::<std::result::Result<_, _>>()?;
                    args.extend(extra.iter().cloned());
                    let outs = body.run_in(args, mode)?;
                    per_output.resize(outs.len(), Vec::new());
                    for (k, o) in outs.iter().enumerate() {
                        per_output[k].push(as_tensor(o, label)?);
                    }
                }
                let stacked = per_output.into_iter().map(|ts| stack(cat, ts, label, mode).map(Value::Tensor)).collect::<Result<Vec<_>>>()?;
                Ok(Value::List(stacked))
            }
            Action::Scan { combine, init, xs, extra, cat } => {
                let mut carry = Operand::values(init, env);
                let xs: Vec<Tensor> = Operand::values(xs, env).iter().map(|v| as_tensor(v, label)).collect::<Result<_>>()?;
                let extra = Operand::values(extra, env);
                let n = xs.first().map(|t| t.shape().first().copied().unwrap_or(0)).unwrap_or(0);
                let mut ys: Vec<Vec<Tensor>> = Vec::new();
                for i in 0..n {
                    let mut args = carry.clone();
                    for x in &xs {
                        args.push(Value::Tensor(x.select(0, i as i64)?));
                    }
                    args.extend(extra.iter().cloned());
                    let mut outs = combine.run_in(args, mode)?;
                    let rest = outs.split_off(carry.len().min(outs.len()));
                    carry = outs;
                    ys.resize(rest.len(), Vec::new());
                    for (k, y) in rest.iter().enumerate() {
                        ys[k].push(as_tensor(y, label)?);
                    }
                }
                let mut result = carry;
                for y in ys {
                    result.push(Value::Tensor(stack(cat, y, label, mode)?));
                }
                Ok(Value::List(result))
            }
            Action::While { cond, body, carried, extra } => {
                let mut carried = Operand::values(carried, env);
                let extra = Operand::values(extra, env);
                loop {
                    let mut args = carried.clone();
                    args.extend(extra.iter().cloned());
                    let pred = cond.run_in(args.clone(), mode)?;
                    let go = match pred.first() {
                        Some(Value::Tensor(t)) if t.is_meta() => {
                            return Err(Error::msg(format!("node `{label}`: while_loop's number of iterations depends on tensor values, which shapes-only tensors do not have")))
                        }
                        Some(Value::Tensor(t)) => t.item_f64()? != 0.0,
                        Some(Value::Bool(b)) => *b,
                        _ => return Err(Error::msg(format!("node `{label}`: while_loop cond_fn must return a bool"))),
                    };
                    if !go {
                        return Ok(Value::List(carried));
                    }
                    carried = body.run_in(args, mode)?;
                }
            }
            // pt2 computes no gradients, so the grad mode changes nothing
            Action::WithGradMode { body, operands } => Ok(Value::List(body.run_in(operands.iter().map(|o| o.value(env)).collect(), mode)?)),
        }
    }
}

fn as_tensor(v: &Value, what: &str) -> Result<Tensor> {
    match v {
        Value::Tensor(t) => Ok(t.clone()),
        other => Err(Error::msg(format!("{what}: expected a tensor, got {}", other.kind()))),
    }
}

fn stack(cat: &OpDef, values: Vec<Tensor>, what: &str, mode: Mode) -> Result<Tensor> {
    if mode == Mode::ShapesOnly {
        let first = values.first().ok_or_else(|| Error::msg(format!("{what}: nothing to stack")))?;
        let shape: Vec<usize> = std::iter::once(values.len()).chain(first.shape().iter().copied()).collect();
        return Ok(Tensor::meta(&shape, first.dtype()));
    }
    let unsqueezed = values.iter().map(|t| t.unsqueeze(0)).collect::<std::result::Result<Vec<_>, _>>()?;
    let r = cat
        .call(vec![Value::List(unsqueezed.into_iter().map(Value::Tensor).collect())], vec![])
        .map_err(|e| Error::msg(format!("{what}: stacking results: {e}")))?;
    as_tensor(&r, what)
}

fn bind_one<M: Meaning>(m: &M, env: &mut [M::Value], b: &Bind, v: M::Value, name: &str) -> Result<()> {
    match b {
        Bind::One(s) => env[*s] = v,
        Bind::Many(slots) => {
            let Ok(vs) = m.items(v) else {
                return Err(Error::msg(format!("node `{name}`: expected a list of tensors")));
            };
            if vs.len() != slots.len() {
                return Err(Error::msg(format!("node `{name}`: {} outputs named but {} returned", slots.len(), vs.len())));
            }
            for (s, v) in slots.iter().zip(vs) {
                env[*s] = v;
            }
        }
        Bind::Optional(slots) => {
            let Ok(vs) = m.items(v) else {
                return Err(Error::msg(format!("node `{name}`: expected a list")));
            };
            for (s, v) in slots.iter().zip(vs) {
                if let Some(s) = s {
                    env[*s] = v;
                }
            }
        }
        Bind::Ignore => {}
    }
    Ok(())
}

/// Binds a step's result to its outputs: one value per output, a one-element tuple return
/// unwrapped for a single non-list output.
fn bind_outputs<M: Meaning>(m: &M, env: &mut [M::Value], step: &Step, result: Outputs<M::Value>) -> Result<()> {
    let (outs, name) = (&step.outputs, step.label.as_str());
    let first = |vs: Vec<M::Value>| vs.into_iter().next().ok_or_else(|| Error::msg(format!("node `{name}`: no value returned")));
    match (outs.len(), result) {
        (0, _) => Ok(()),
        (1, Outputs::One(v)) if outs[0].is_list() => bind_one(m, env, &outs[0], v, name),
        (1, Outputs::PerOutput(vs)) => bind_one(m, env, &outs[0], first(vs)?, name),
        (1, Outputs::One(v)) => {
            let v = match m.items(v) {
                Ok(vs) => first(vs)?,
                Err(v) => v,
            };
            bind_one(m, env, &outs[0], v, name)
        }
        (n, result) => {
            let vs = match result {
                Outputs::PerOutput(vs) => vs,
                Outputs::One(v) => m.items(v).map_err(|_| Error::msg(format!("node `{name}`: {n} outputs named but one value returned")))?,
            };
            if vs.len() != n {
                return Err(Error::msg(format!("node `{name}`: {n} outputs named but {} returned", vs.len())));
            }
            outs.iter().zip(vs).try_for_each(|(b, v)| bind_one(m, env, b, v, name))
        }
    }
}

/// `_operator.add` and friends, on the ints, floats and bools of symbolic sizes, with Python's
/// `//` and `%` (rounding toward negative infinity, the divisor's sign) from `symbolic`.
fn python_operator(op: &str, args: &[Value]) -> std::result::Result<Value, String> {
    let num = |v: &Value| -> std::result::Result<f64, String> {
        v.as_scalar().map(|s| s.to_f64()).ok_or_else(|| format!("expected a number, got {}", v.kind()))
    };
    let ints = |v: &Value| matches!(v, Value::Int(_) | Value::Bool(_));
    let int = |v: &Value| v.as_scalar().map(|s| s.to_i64()).unwrap_or(0);
    let [a, b] = args else {
        return match (op, args) {
            ("neg", [a]) if ints(a) => Ok(Value::Int(-int(a))),
            ("neg", [a]) => Ok(Value::Float(-num(a)?)),
            ("not_", [a]) => Ok(Value::Bool(num(a)? == 0.0)),
            _ => Err(format!("_operator.{op} with {} arguments is not supported", args.len())),
        };
    };
    let both_int = ints(a) && ints(b);
    Ok(match op {
        "add" if both_int => Value::Int(int(a).wrapping_add(int(b))),
        "sub" if both_int => Value::Int(int(a).wrapping_sub(int(b))),
        "mul" if both_int => Value::Int(int(a).wrapping_mul(int(b))),
        "floordiv" if both_int => Value::Int(symbolic::floor_div(int(a), int(b)).ok_or("integer division by zero")?),
        "mod" if both_int => Value::Int(symbolic::python_mod(int(a), int(b)).ok_or("integer modulo by zero")?),
        "add" => Value::Float(num(a)? + num(b)?),
        "sub" => Value::Float(num(a)? - num(b)?),
        "mul" => Value::Float(num(a)? * num(b)?),
        "truediv" => Value::Float(num(a)? / num(b)?),
        "floordiv" => Value::Float((num(a)? / num(b)?).floor()),
        "pow" if both_int && int(b) >= 0 => Value::Int(int(a).wrapping_pow(int(b) as u32)),
        "pow" => Value::Float(num(a)?.powf(num(b)?)),
        "eq" => Value::Bool(num(a)? == num(b)?),
        "ne" => Value::Bool(num(a)? != num(b)?),
        "lt" => Value::Bool(num(a)? < num(b)?),
        "le" => Value::Bool(num(a)? <= num(b)?),
        "gt" => Value::Bool(num(a)? > num(b)?),
        "ge" => Value::Bool(num(a)? >= num(b)?),
        "and_" => Value::Bool(num(a)? != 0.0 && num(b)? != 0.0),
        "or_" => Value::Bool(num(a)? != 0.0 || num(b)? != 0.0),
        _ => return Err(format!("_operator.{op} is not supported")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_division_rounds_toward_negative_infinity() {
        let op = |name: &str, a: i64, b: i64| python_operator(name, &[Value::Int(a), Value::Int(b)]);
        assert_eq!(op("floordiv", -7, 2), Ok(Value::Int(-4)));
        assert_eq!(op("mod", -7, 2), Ok(Value::Int(1)));
        assert_eq!(op("mod", 7, -2), Ok(Value::Int(-1)));
        assert!(op("floordiv", 1, 0).is_err());
    }
}
