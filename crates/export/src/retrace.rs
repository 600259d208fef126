//! Re-tracing an exported program node by node, through the same tracer `export` uses: the
//! engine of `run_decompositions`. Each node either runs as recorded or is replaced by a
//! decomposition (Rust code against the tensor API, traced like user code); in-place
//! operators become their functional forms, and mutated buffers and inputs become mutation
//! outputs of the signature, as PyTorch's functionalization does. Sizes stay symbolic: the
//! program's symbols are recreated with their hints and ranges.

use ops::names::aten;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use indexmap::IndexMap;
use ir::plan::{GraphPlan, ListKind, Meaning, Outputs, Step, StepKind};
use ir::schema::{self, Argument, InputSpec, OutputSpec, SymIntArgument, TensorArgument};
use ops::{OpName, Registry, Value};
use symbolic::{Expr, ValueRange};

use crate::symint::SymInt;
use crate::tensor::Tensor;
use crate::trace::{tracing, Arg, Placeholder, PlaceholderKind, SymbolSource, Tracer};
use crate::{Error, Result};

/// An operator call's arguments bound to its schema by parameter name (defaults filled in).
pub struct Bound {
    pub op: String,
    params: Vec<(String, Arg)>,
}

impl Bound {
    pub fn get(&self, name: &str) -> Result<&Arg> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, a)| a).ok_or_else(|| Error::msg(format!("{}: no argument `{name}`", self.op)))
    }

    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        match self.get(name)? {
            Arg::Tensor(t) | Arg::OptTensor(Some(t)) => Ok(t.clone()),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not a tensor", self.op))),
        }
    }

    pub fn opt_tensor(&self, name: &str) -> Result<Option<Tensor>> {
        match self.get(name)? {
            Arg::Tensor(t) | Arg::OptTensor(Some(t)) => Ok(Some(t.clone())),
            Arg::OptTensor(None) | Arg::None => Ok(None),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not a tensor or None", self.op))),
        }
    }

    pub fn tensors(&self, name: &str) -> Result<Vec<Tensor>> {
        match self.get(name)? {
            Arg::Tensors(v) => Ok(v.clone()),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not a list of tensors", self.op))),
        }
    }

    pub fn int(&self, name: &str) -> Result<SymInt> {
        match self.get(name)? {
            Arg::Int(i) => Ok(i.clone()),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not an int", self.op))),
        }
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<SymInt>> {
        match self.get(name)? {
            Arg::Int(i) => Ok(Some(i.clone())),
            Arg::None | Arg::OptTensor(None) => Ok(None),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not an int or None", self.op))),
        }
    }

    pub fn ints(&self, name: &str) -> Result<Vec<SymInt>> {
        match self.get(name)? {
            Arg::Ints(v) => Ok(v.clone()),
            Arg::Int(i) => Ok(vec![i.clone()]),
            Arg::Tensors(v) if v.is_empty() => Ok(vec![]),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not a list of ints", self.op))),
        }
    }

    pub fn float(&self, name: &str) -> Result<f64> {
        match self.get(name)? {
            Arg::Float(f) => Ok(*f),
            Arg::Int(i) => Ok(i.hint() as f64),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not a number", self.op))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool> {
        match self.get(name)? {
            Arg::Bool(b) => Ok(*b),
            _ => Err(Error::msg(format!("{}: argument `{name}` is not a bool", self.op))),
        }
    }
}

/// A decomposition being run: its bound arguments, and the buffers or inputs it updates (the
/// running statistics of a training batch norm).
pub struct DecompCall {
    pub args: Bound,
    pub(crate) mutations: Vec<(Tensor, Tensor)>,
}

impl DecompCall {
    /// Runs decomposition `f` eagerly on concrete values bound to its operator's schema: the
    /// kernel of a composite operator, whose one definition is its decomposition. Nothing it
    /// calls is recorded while a program is traced ([`crate::trace::untraced`]); updates it
    /// makes to its arguments are written into them.
    pub fn run_eagerly(f: DecompFn, args: &ops::Args) -> Result<Value> {
        let schema = args.schema();
        let params = schema.params.iter().zip(args.values()).map(|(p, v)| (p.name.clone(), eager_arg(v))).collect();
        let mut call = DecompCall { args: Bound { op: schema.qualified_name(), params }, mutations: vec![] };
        let outputs = crate::trace::untraced(|| f(&mut call))?;
        for (original, new) in &call.mutations {
            original.data().copy_(&new.data())?;
        }
        let value = |a: Arg| match a {
            Arg::Tensor(t) => Ok(Value::Tensor(t.data())),
            Arg::Tensors(ts) => Ok(Value::List(ts.iter().map(|t| Value::Tensor(t.data())).collect())),
            _ => Err(Error::msg(format!("{}: a decomposition returned something other than tensors", call.args.op))),
        };
        let mut outputs = outputs.into_iter().map(value).collect::<Result<Vec<Value>>>()?;
        Ok(if outputs.len() == 1 { outputs.remove(0) } else { Value::List(outputs) })
    }

    /// `original` (an argument) is updated to `new`.
    pub fn mutate(&mut self, original: &Tensor, new: Tensor) {
        self.mutations.push((original.clone(), new));
    }
}

/// A decomposition: the operator's outputs, in return order, computed with other operators.
pub type DecompFn = fn(&mut DecompCall) -> Result<Vec<Arg>>;

thread_local! {
    /// While `run_decompositions` re-traces a program on this thread: its decompositions, and
    /// the operators whose decomposition is running now.
    static LOWERING: RefCell<Option<Lowering>> = const { RefCell::new(None) };
}

struct Lowering {
    lookup: Rc<dyn Fn(&str) -> Option<DecompFn>>,
    running: Vec<String>,
}

/// Runs `f` with `op`'s decomposition marked as running: a call of `op` inside it is recorded
/// as it is (a decomposition that normalizes its arguments and calls its own operator again).
/// The table's decomposition of `op`, during a re-trace.
fn decomposition_of(op: &str) -> Option<DecompFn> {
    LOWERING.with(|l| l.borrow().as_ref().and_then(|l| (l.lookup)(op)))
}

fn decomposing<R>(op: &str, f: impl FnOnce() -> R) -> R {
    LOWERING.with(|l| l.borrow_mut().as_mut().map(|l| l.running.push(op.to_string())));
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            LOWERING.with(|l| l.borrow_mut().as_mut().map(|l| l.running.pop()));
        }
    }
    let _pop = Pop;
    f()
}

/// The operators a decomposition calls are lowered too, as PyTorch's dispatcher lowers the
/// calls a Python decomposition makes: an operator recorded by [`crate::trace::call`] during a
/// re-trace whose decomposition is in the table (and not running already) is replaced by it.
/// `None`: record the call as it is.
pub(crate) fn lowered_call(def: &ops::OpDef, args: &[Arg], kwargs: &[(&str, Arg)]) -> Option<Result<Vec<Tensor>>> {
    let name = def.name();
    let f = LOWERING.with(|l| {
        let l = l.borrow();
        let l = l.as_ref()?;
        if l.running.iter().any(|r| *r == name.as_str()) {
            return None;
        }
        (l.lookup)(name.as_str())
    })?;
    Some(decomposing(name.as_str(), || {
        let mut call = DecompCall { args: Bound::of_call(&def.schema, args, kwargs), mutations: vec![] };
        let outputs = f(&mut call)?;
        if !call.mutations.is_empty() {
            return Err(Error::msg(format!("the decomposition of {name} updates its inputs; called from another decomposition, it cannot be lowered")));
        }
        Ok(outputs
            .into_iter()
            .flat_map(|a| match a {
                Arg::Tensor(t) => vec![t],
                Arg::Tensors(ts) => ts,
                _ => vec![],
            })
            .collect())
    }))
}

impl Bound {
    /// A call's arguments bound to `schema`'s parameters: positional ones in order, then
    /// keywords by name, then defaults.
    fn of_call(schema: &ops::schema::Schema, args: &[Arg], kwargs: &[(&str, Arg)]) -> Bound {
        let mut positional = args.iter();
        let params = schema
            .params
            .iter()
            .map(|p| {
                let given = if p.kwarg_only { None } else { positional.next().cloned() };
                let a = given
                    .or_else(|| kwargs.iter().find(|(k, _)| *k == p.name).map(|(_, a)| a.clone()))
                    .or_else(|| p.default.as_ref().map(arg_of_value))
                    .unwrap_or(Arg::None);
                (p.name.clone(), a)
            })
            .collect();
        Bound { op: schema.qualified_name(), params }
    }
}

/// A recorded `view` whose input, re-traced, has a layout it cannot view (a decomposition laid
/// a value out otherwise than the kernel export ran: CPU attention's flash layout) views a
/// contiguous copy instead: the same values, where PyTorch's own lowering stops (GPT-2).
fn viewable_input(mut positional: Vec<Arg>) -> Result<Vec<Arg>> {
    if let (Some(Arg::Tensor(x)), Some(Arg::Ints(sizes))) = (positional.first(), positional.get(1)) {
        if !x.can_view(sizes) {
            let copy = crate::trace::call(aten::clone, vec![Arg::Tensor(x.clone())], vec![("memory_format", Arg::contiguous_format())])?.remove(0);
            positional[0] = Arg::Tensor(copy);
        }
    }
    Ok(positional)
}

/// A concrete value as a decomposition reads it: tensors become eager tensors.
fn eager_arg(v: &Value) -> Arg {
    let eager = |t: &tensor::Tensor| Tensor::from_data(t.clone());
    match v {
        Value::Tensor(t) => Arg::Tensor(eager(t)),
        Value::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Value::Tensor(_))) => {
            Arg::Tensors(items.iter().filter_map(|i| i.as_tensor().map(eager)).collect())
        }
        Value::List(items) if items.iter().any(|i| matches!(i, Value::Tensor(_))) => {
            Arg::OptTensors(items.iter().map(|i| i.as_tensor().map(eager)).collect())
        }
        other => arg_of_value(other),
    }
}

fn arg_of_value(v: &Value) -> Arg {
    match v {
        Value::None => Arg::None,
        Value::Bool(b) => Arg::Bool(*b),
        Value::Int(i) => Arg::Int((*i).into()),
        Value::Float(f) => Arg::Float(*f),
        Value::Str(s) => Arg::Str(s.clone()),
        Value::Dtype(d) => Arg::Dtype(*d),
        Value::Device(d) => Arg::Device(d.clone()),
        Value::List(items) if items.iter().all(|i| matches!(i, Value::Int(_))) => {
            Arg::Ints(items.iter().map(|i| if let Value::Int(v) = i { SymInt::from(*v) } else { SymInt::from(0) }).collect())
        }
        other => Arg::Literal(other.clone(), Argument::AsNone(true)),
    }
}

/// Re-tracing is a meaning of the one graph walker ([`GraphPlan::walk`]): each node's operands
/// come from the walker's slots, and the node is recorded into the tracer's graph — as
/// recorded, through its decomposition, or in its functional form.
struct Retracer<'g> {
    /// The graph walked, for what a step leaves to its node (given arguments, control flow).
    graph: &'g schema::Graph,
    plan: &'g GraphPlan,
    /// The current value of each buffer / user-input placeholder, when a node updated it.
    latest: IndexMap<String, Tensor>,
    placeholders: HashMap<String, Tensor>,
    functionalize: bool,
    /// Whether each node is recorded with its own metadata (not inside an inlined region, whose
    /// nodes take the region's).
    own_metadata: bool,
    /// Tensors that are slices or selections of another: an in-place update of one is written
    /// back into its base (`slice_scatter`, `select_scatter`), as PyTorch's functionalization does.
    views: Vec<View>,
}

/// `tensor` is `base` sliced or selected by `op` with `args` (the view node's arguments after
/// `self`, by parameter name).
struct View {
    tensor: Tensor,
    base: Tensor,
    op: OpName,
    args: Vec<(String, Arg)>,
}

/// A tensor's recorded sizes as expressions, with the example value of each.
fn sizes_and_hints(meta: &schema::TensorMeta) -> Result<(Vec<Expr>, Vec<i64>)> {
    let mut sizes = Vec::new();
    let mut hints = Vec::new();
    for s in &meta.sizes {
        match s {
            schema::SymInt::AsInt(v) => {
                sizes.push(Expr::Int(*v));
                hints.push(*v);
            }
            schema::SymInt::AsExpr(e) => {
                sizes.push(Expr::parse_srepr(&e.expr_str).map_err(|err| Error::msg(err.to_string()))?);
                hints.push(e.int_hint().unwrap_or(2));
            }
        }
    }
    Ok((sizes, hints))
}

/// The value of a literal argument, as an operator call receives it.
fn literal_value(a: &Arg) -> Value {
    match a {
        Arg::Int(i) => Value::Int(i.hint()),
        Arg::Ints(v) => Value::List(v.iter().map(|i| Value::Int(i.hint())).collect()),
        Arg::Float(f) => Value::Float(*f),
        Arg::Bool(b) => Value::Bool(*b),
        Arg::SymBool(b) => Value::Bool(b.hint()),
        Arg::Str(s) => Value::Str(s.clone()),
        Arg::Literal(v, _) => v.clone(),
        _ => Value::None,
    }
}

/// A literal list as the graph records it.
fn recorded_list(kind: ListKind, items: &[Value]) -> Argument {
    let floats = || items.iter().map(|v| ir::float::F64(v.as_scalar().map(|s| s.to_f64()).unwrap_or(0.0))).collect();
    let int_list = |v: &Value| match v {
        Value::List(l) => l.iter().map(|i| i.as_scalar().map(|s| s.to_i64()).unwrap_or(0)).collect(),
        _ => Vec::new(),
    };
    let float_list = |v: &Value| match v {
        Value::List(l) => l.iter().map(|f| ir::float::F64(f.as_scalar().map(|s| s.to_f64()).unwrap_or(0.0))).collect(),
        _ => Vec::new(),
    };
    match kind {
        ListKind::Floats | ListKind::SymFloats => Argument::AsFloats(floats()),
        ListKind::Strings => Argument::AsStrings(items.iter().map(|v| if let Value::Str(s) = v { s.clone() } else { String::new() }).collect()),
        ListKind::IntLists => Argument::AsIntLists(items.iter().map(int_list).collect()),
        ListKind::FloatLists => Argument::AsFloatLists(items.iter().map(float_list).collect()),
        _ => Argument::AsBools(items.iter().map(|v| matches!(v, Value::Bool(true))).collect()),
    }
}

impl Meaning for Retracer<'_> {
    type Value = Arg;

    fn unset(&self) -> Arg {
        Arg::None
    }

    fn constant(&mut self, v: &Value) -> Arg {
        // layouts and memory formats are recorded as the graph wrote them
        match ir::plan::literal_argument(v) {
            Some(recorded) => Arg::Literal(v.clone(), recorded),
            None => arg_of_value(v),
        }
    }

    fn list(&mut self, kind: ListKind, items: Vec<Arg>) -> Arg {
        let tensor = |a: Arg| if let Arg::Tensor(t) = a { Some(t) } else { None };
        match kind {
            ListKind::Tensors => Arg::Tensors(items.into_iter().filter_map(tensor).collect()),
            ListKind::OptionalTensors => Arg::OptTensors(items.into_iter().map(tensor).collect()),
            ListKind::Ints | ListKind::SymInts => Arg::Ints(items.into_iter().map(|a| if let Arg::Int(i) = a { i } else { SymInt::from(0) }).collect()),
            _ => {
                let values: Vec<Value> = items.iter().map(literal_value).collect();
                let recorded = recorded_list(kind, &values);
                Arg::Literal(Value::List(values), recorded)
            }
        }
    }

    fn items(&self, v: Arg) -> std::result::Result<Vec<Arg>, Arg> {
        match v {
            Arg::Tensors(ts) => Ok(ts.into_iter().map(Arg::Tensor).collect()),
            Arg::OptTensors(ts) => Ok(ts.into_iter().map(|t| t.map(Arg::Tensor).unwrap_or(Arg::None)).collect()),
            other => Err(other),
        }
    }

    fn step(&mut self, step: &Step, env: &mut [Arg]) -> Result<Outputs<Arg>> {
        let graph = self.graph;
        let node = graph.nodes.get(step.node()).ok_or_else(|| Error::msg(format!("node `{}` is not in the graph re-traced", step.label())))?;
        if self.own_metadata {
            crate::trace::with_tracer(|t| {
                if let Some(t) = t {
                    t.metadata_override = Some(node.metadata.clone());
                }
            });
        }
        let label = step.label().to_string();
        match step.kind() {
            StepKind::Operator { def, args } => {
                let args: Vec<Arg> = args.iter().map(|o| o.resolve(env, self)).collect();
                let mut outputs = self.operator(node, def, args, env, &label)?;
                outputs.resize(node.outputs.len(), Arg::None);
                Ok(Outputs::PerOutput(outputs))
            }
            StepKind::Python { op, args } => {
                let args: Vec<Arg> = args.iter().map(|o| o.resolve(env, self)).collect();
                Ok(Outputs::One(python_operator(op, args, &label)?))
            }
            StepKind::WithGradMode { body, operands } => {
                let operands: Vec<Arg> = operands.iter().map(|o| o.resolve(env, self)).collect();
                self.inline(node, body, operands, &label)
            }
            StepKind::Other => self.higher_order(node, env, &label).map(Outputs::PerOutput),
        }
    }
}

impl Retracer<'_> {
    /// Rebinds every value holding `old` to `new`; records the update of a placeholder.
    /// `old` now holds `new`: every use of it reads `new`, and when `old` is a view, its base
    /// gets the update scattered in (and so on up a chain of views).
    fn write_back(&mut self, env: &mut [Arg], old: &Tensor, new: &Tensor) -> Result<()> {
        self.replace(env, old, new);
        let Some(i) = self.views.iter().rposition(|v| v.tensor.same_as(old)) else { return Ok(()) };
        let View { base, op, args, .. } = self.views.swap_remove(i);
        let scatter = if op == aten::slice_Tensor { aten::slice_scatter } else { aten::select_scatter };
        let mut call_args = vec![Arg::Tensor(base.clone()), Arg::Tensor(new.clone())];
        call_args.extend(args.iter().map(|(_, a)| a.clone()));
        let new_base = crate::trace::call(scatter, call_args, vec![])?.remove(0);
        // the updated value is still that view of the updated base
        self.views.push(View { tensor: new.clone(), base: new_base.clone(), op, args });
        self.write_back(env, &base, &new_base)
    }

    fn replace(&mut self, env: &mut [Arg], old: &Tensor, new: &Tensor) {
        for v in env.iter_mut() {
            if let Arg::Tensor(t) = v {
                if t.same_as(old) {
                    *t = new.clone();
                }
            }
        }
        // a placeholder updated for the first time, or again (its latest value replaced)
        let hit: Vec<String> = self.placeholders.iter().filter(|(_, t)| t.same_as(old)).map(|(n, _)| n.clone()).collect();
        for n in hit {
            self.latest.insert(n, new.clone());
        }
        for cur in self.latest.values_mut().filter(|cur| cur.same_as(old)) {
            *cur = new.clone();
        }
    }

    /// An operator node, its arguments in schema order: recorded as it is, through its
    /// decomposition, or (functionalizing) as its functional form with the update written back.
    fn operator(&mut self, node: &schema::Node, def: &ops::OpDef, args: Vec<Arg>, env: &mut [Arg], label: &str) -> Result<Vec<Arg>> {
        let name = def.name();
        let first_tensor = |what: &str| match args.first() {
            Some(Arg::Tensor(t)) => Ok(t.clone()),
            _ => Err(Error::msg(format!("node `{label}`: {what} of a non-tensor"))),
        };
        if name == aten::_assert_scalar {
            if let Some(Arg::SymBool(b)) = args.first() {
                crate::symint::check(b)?;
            }
            return Ok(vec![]);
        }
        if name == aten::item || name == aten::_local_scalar_dense {
            // core ATen reads the value with `_local_scalar_dense`
            return Ok(vec![Arg::Int(first_tensor("item")?.local_scalar_dense()?)]);
        }
        if name == aten::sym_size_int {
            let dim = match args.get(1) {
                Some(Arg::Int(d)) => d.hint(),
                _ => 0,
            };
            return Ok(vec![Arg::Int(first_tensor("sym_size")?.size(dim)?)]);
        }
        // the arguments by parameter name (defaults filled in), and as the node gave them
        let mut params = Vec::new();
        let mut positional = Vec::new();
        let mut kwargs: Vec<(String, Arg)> = Vec::new();
        for (p, a) in def.schema.params.iter().zip(args) {
            if let Some(given) = node.inputs.iter().find(|g| g.name == p.name) {
                if given.kind == Some(schema::ArgumentKind::KEYWORD) {
                    kwargs.push((p.name.clone(), a.clone()));
                } else {
                    positional.push(a.clone());
                }
            }
            params.push((p.name.clone(), a));
        }
        let (functional, mutated) = match (self.functionalize && def.schema.is_mutating(), functional_name(def)) {
            (true, Some(f)) => {
                let written = def.schema.params.iter().position(|p| p.alias.as_ref().is_some_and(|a| a.is_write));
                (f, written.and_then(|i| params.get(i)).and_then(|(_, a)| if let Arg::Tensor(t) = a { Some(t.clone()) } else { None }))
            }
            _ => (name.clone(), None),
        };
        // an in-place operator's own decomposition wins over its functional form's (`detach_` is
        // nothing in a functional program; `detach` is an alias)
        let own = decomposition_of(&name);
        let chosen = own.map(|f| (f, name.clone())).or_else(|| decomposition_of(&functional).map(|f| (f, functional.clone())));
        let outputs: Vec<Arg> = if let Some((f, decomposed)) = chosen {
            // the functional operator's decomposition reads its own parameter names (`input`
            // where `dropout_` says `self`): the arguments are renamed by position
            // (the arguments are kept only for recording views, which decompositions do not make)
            let params = std::mem::take(&mut params);
            let params = if decomposed == name { params } else { renamed_for(&decomposed, params) };
            let mut call = DecompCall { args: Bound { op: decomposed.clone(), params }, mutations: vec![] };
            let out = decomposing(&decomposed, || f(&mut call))?;
            for (old, new) in call.mutations {
                self.replace(env, &old, &new);
            }
            out
        } else {
            let kw: Vec<(&str, Arg)> = kwargs.iter().map(|(k, a)| (k.as_str(), a.clone())).collect();
            if functional == aten::view {
                positional = viewable_input(positional)?;
            }
            let outs = crate::trace::call(&functional, positional, kw).map_err(|e| Error::msg(format!("node `{label}`: {e}")))?;
            let list_return = def.schema.returns.len() == 1 && matches!(def.schema.returns[0].ty, ops::schema::Type::List(..));
            if list_return {
                vec![Arg::Tensors(outs)]
            } else {
                outs.into_iter().map(Arg::Tensor).collect()
            }
        };
        if let (Some(old), Some(Arg::Tensor(new))) = (&mutated, outputs.first()) {
            let new = new.clone();
            self.write_back(env, old, &new)?;
        } else if self.functionalize && (functional == aten::slice_Tensor || functional == aten::select_int) {
            if let (Some((_, Arg::Tensor(base))), Some(Arg::Tensor(view))) = (params.first(), outputs.first()) {
                let op = if functional == aten::slice_Tensor { aten::slice_Tensor } else { aten::select_int };
                self.views.push(View { tensor: view.clone(), base: base.clone(), op, args: params[1..].to_vec() });
            }
        }
        Ok(outputs)
    }

    /// A control-flow node (`cond`, `map_impl`, `scan`, `while_loop`, `with_effects`): each
    /// subgraph is re-traced on its own (with the same decompositions), the node is recorded
    /// with the new subgraphs, and its outputs are computed by running it.
    fn higher_order(&mut self, node: &schema::Node, env: &[Arg], label: &str) -> Result<Vec<Arg>> {
        let plan = self.plan;
        let mut inputs = Vec::new();
        let mut operand_names: Vec<(String, Value)> = Vec::new();
        for a in &node.inputs {
            let arg = match &a.arg {
                Argument::AsGraph(g) => Argument::AsGraph(schema::GraphArgument { name: g.name.clone(), graph: self.subgraph(&g.graph, label)? }),
                other => {
                    let value = plan.argument(other, env, self).map_err(|e| Error::msg(format!("node `{label}`: {e}")))?;
                    let mut tensors = Vec::new();
                    match &value {
                        Arg::Tensor(t) => tensors.push(t.clone()),
                        Arg::Tensors(v) => tensors.extend(v.iter().cloned()),
                        _ => {}
                    }
                    for t in tensors {
                        let name = crate::trace::with_tracer(|tr| tr.and_then(|tr| t.name_in(tr.id))).ok_or_else(|| Error::msg(format!("node `{label}`: an operand is not a value of the program")))?;
                        if !operand_names.iter().any(|(n, _)| *n == name) {
                            operand_names.push((name, Value::Tensor(t.data())));
                        }
                    }
                    let recorded = crate::trace::with_tracer(|tr| crate::trace::argument_of(tr.expect("tracing"), &value))?;
                    // symbolic scalars (a predicate on sizes) are operands too
                    match (&recorded, &value) {
                        (Argument::AsSymBool(schema::SymBoolArgument::AsName(n)), Arg::SymBool(b)) => operand_names.push((n.clone(), Value::Bool(b.hint()))),
                        (Argument::AsSymInt(SymIntArgument::AsName(n)), Arg::Int(i)) => operand_names.push((n.clone(), Value::Int(i.hint()))),
                        _ => {}
                    }
                    recorded
                }
            };
            inputs.push(schema::NamedArgument { name: a.name.clone(), arg, kind: a.kind });
        }
        // the node's outputs, named afresh; their sizes as recorded
        let mut out_args = Vec::new();
        let mut out_names = Vec::new();
        for o in &node.outputs {
            match o {
                Argument::AsTensor(t) => {
                    let n = crate::trace::with_tracer(|tr| tr.expect("tracing").fresh_name(&t.name));
                    out_names.push((t.name.clone(), n.clone()));
                    out_args.push(Argument::AsTensor(TensorArgument { name: n }));
                }
                Argument::AsTensors(ts) => {
                    let mut v = Vec::new();
                    for t in ts {
                        let n = crate::trace::with_tracer(|tr| tr.expect("tracing").fresh_name(&t.name));
                        out_names.push((t.name.clone(), n.clone()));
                        v.push(TensorArgument { name: n });
                    }
                    out_args.push(Argument::AsTensors(v));
                }
                other => out_args.push(other.clone()),
            }
        }
        let new_node = schema::Node {
            target: node.target.clone(),
            inputs,
            outputs: out_args.clone(),
            metadata: node.metadata.clone(),
            is_hop_single_tensor_return: node.is_hop_single_tensor_return,
            name: node.name.clone().map(|n| crate::trace::with_tracer(|tr| tr.expect("tracing").fresh_name(&n))),
        };
        // run the node alone to get its outputs' data
        let mini_inputs = operand_names
            .iter()
            .map(|(n, v)| match v {
                Value::Bool(_) => Argument::AsSymBool(schema::SymBoolArgument::AsName(n.clone())),
                Value::Int(_) => Argument::AsSymInt(SymIntArgument::AsName(n.clone())),
                _ => Argument::AsTensor(TensorArgument { name: n.clone() }),
            })
            .collect();
        let mini = crate::trace::graph_of(mini_inputs, out_args, vec![new_node.clone()], Default::default());
        let values: Vec<Value> = operand_names.iter().map(|(_, v)| v.clone()).collect();
        let results = GraphPlan::compile(&mini, Registry::global())
            .and_then(|plan| plan.run(values))
            .map_err(|e| Error::msg(format!("node `{label}`: {e}")))?;
        let mut results = results.into_iter();
        let recorded = &self.graph.tensor_values;
        let traced = crate::trace::with_tracer(|tr| -> Result<HashMap<String, Tensor>> {
            let tr = tr.expect("tracing");
            let mut traced = HashMap::new();
            for (old, new) in &out_names {
                let Some(Value::Tensor(data)) = results.next() else { return Err(Error::msg(format!("node `{label}` gave too few outputs"))) };
                let sizes: Vec<Expr> = match recorded.get(old) {
                    Some(m) => sizes_and_hints(m)?.0,
                    None => data.shape().iter().map(|&d| Expr::Int(d as i64)).collect(),
                };
                traced.insert(old.clone(), tr.new_value(new.clone(), data, sizes, false));
            }
            tr.nodes.push(new_node);
            Ok(traced)
        })?;
        // one value per output of the node, as it names them
        Ok(node
            .outputs
            .iter()
            .map(|o| match o {
                Argument::AsTensor(t) => traced.get(&t.name).cloned().map(Arg::Tensor).unwrap_or(Arg::None),
                Argument::AsTensors(ts) => Arg::Tensors(ts.iter().filter_map(|t| traced.get(&t.name).cloned()).collect()),
                _ => Arg::None,
            })
            .collect())
    }

    /// A region whose only effect is on autograd (`torch.no_grad()`): without autograd its
    /// subgraph's nodes belong to the program itself, as PyTorch's inference IR inlines them.
    fn inline(&mut self, node: &schema::Node, body: &GraphPlan, operands: Vec<Arg>, label: &str) -> Result<Outputs<Arg>> {
        let graph = node.inputs.iter().find_map(|a| if let Argument::AsGraph(g) = &a.arg { Some(&g.graph) } else { None });
        let Some(g) = graph else { return Err(Error::msg(format!("node `{label}` has no subgraph"))) };
        let mut flat = Vec::new();
        for o in operands {
            match o {
                Arg::Tensors(v) => flat.extend(v.into_iter().map(Arg::Tensor)),
                other => flat.push(other),
            }
        }
        flat.resize(g.inputs.len(), Arg::None);
        let mut inner = Retracer { graph: g, plan: body, latest: IndexMap::new(), placeholders: HashMap::new(), functionalize: self.functionalize, own_metadata: false, views: vec![] };
        let results = body.walk(flat, &mut inner)?;
        // the node's outputs are the subgraph's: a list output takes them all
        Ok(match node.outputs.as_slice() {
            [Argument::AsTensors(_)] => Outputs::One(Arg::Tensors(results.into_iter().filter_map(|a| if let Arg::Tensor(t) = a { Some(t) } else { None }).collect())),
            _ => Outputs::PerOutput(results),
        })
    }

    /// A subgraph re-traced into a new graph of its own.
    fn subgraph(&mut self, g: &schema::Graph, label: &str) -> Result<schema::Graph> {
        let plan = GraphPlan::compile(g, Registry::global()).map_err(|e| Error::msg(format!("node `{label}`: {e}")))?;
        crate::trace::with_tracer(|tr| tr.expect("tracing").enter_subgraph());
        let mut inner = Retracer { graph: g, plan: &plan, latest: IndexMap::new(), placeholders: HashMap::new(), functionalize: self.functionalize, own_metadata: true, views: vec![] };
        let mut new_inputs = Vec::new();
        let name_of = |t: &Tensor| crate::trace::with_tracer(|tr| t.name_in(tr.expect("tracing").id));
        let result = (|| -> Result<Vec<Argument>> {
            let mut values = Vec::new();
            for input in &g.inputs {
                let Argument::AsTensor(TensorArgument { name }) = input else {
                    new_inputs.push(input.clone());
                    values.push(Arg::None);
                    continue;
                };
                let meta = g.tensor_values.get(name).ok_or_else(|| Error::msg(format!("node `{label}`: subgraph input `{name}` has no metadata")))?;
                let (sizes, hints) = sizes_and_hints(meta)?;
                let dtype = ir::dtype::to_dtype(meta.dtype)?;
                let data = tensor::Tensor::full(&hints.iter().map(|&h| h.max(0) as usize).collect::<Vec<_>>(), 1.0, dtype);
                let t = crate::trace::with_tracer(|tr| {
                    let tr = tr.expect("tracing");
                    let n = tr.fresh_name(name);
                    // the subgraph reads symbolic sizes from its own inputs
                    for (d, s) in sizes.iter().enumerate() {
                        if let Some(sym) = s.as_symbol() {
                            tr.symbol_sources.entry(sym.to_string()).or_insert(SymbolSource { value: n.clone(), dim: d, input: true });
                        }
                    }
                    tr.new_value(n, data, sizes, false)
                });
                new_inputs.push(Argument::AsTensor(TensorArgument { name: name_of(&t).expect("traced") }));
                values.push(Arg::Tensor(t));
            }
            let results = plan.walk(values, &mut inner)?;
            g.outputs
                .iter()
                .zip(results)
                .map(|(o, v)| match (o, v) {
                    (Argument::AsTensor(_), Arg::Tensor(v)) => {
                        let n = name_of(&v).ok_or_else(|| Error::msg("a subgraph output is not one of its values"))?;
                        Ok(Argument::AsTensor(TensorArgument { name: n }))
                    }
                    (Argument::AsTensor(t), _) => Err(Error::msg(format!("subgraph output `{}` was not computed", t.name))),
                    (other, _) => Ok(other.clone()),
                })
                .collect()
        })();
        // the subgraph's own frame is left whatever happened inside it
        let outputs = result.as_ref().cloned().unwrap_or_default();
        let mut sub = crate::trace::with_tracer(|tr| tr.expect("tracing").exit_subgraph(new_inputs, outputs)).graph;
        result?;
        sub.nodes = dead_code_eliminated(std::mem::take(&mut sub.nodes), &sub.outputs);
        let mut live = Vec::new();
        for a in sub.inputs.iter().chain(sub.nodes.iter().flat_map(|n| n.outputs.iter())) {
            ir::print::arg_names(a, &mut live);
        }
        sub.tensor_values.retain(|n, _| live.contains(n));
        sub.is_single_tensor_return = g.is_single_tensor_return;
        Ok(sub)
    }
}

/// Python operators on symbolic ints (`_operator.mul`), re-done on `SymInt`s: the same
/// arithmetic as running them, kept symbolic (Python's `//` from `symbolic`).
fn python_operator(op: &str, args: Vec<Arg>, label: &str) -> Result<Arg> {
    let args: Vec<SymInt> = args
        .into_iter()
        .map(|a| match a {
            Arg::Int(s) => Ok(s),
            _ => Err(Error::msg(format!("node `{label}`: _operator.{op} of a non-int"))),
        })
        .collect::<Result<_>>()?;
    let (a, b) = match args.as_slice() {
        [a, b] => (a.clone(), b.clone()),
        _ => return Err(Error::msg(format!("node `{label}`: _operator.{op} takes two ints"))),
    };
    Ok(match op {
        "add" => Arg::Int(a + b),
        "sub" => Arg::Int(a - b),
        "mul" => Arg::Int(a * b),
        "floordiv" => Arg::Int(a.floordiv(b)),
        "mod" => Arg::Int(a.modulo(b)),
        "eq" => Arg::SymBool(a.sym_eq(b)),
        "ne" => Arg::SymBool(a.sym_ne(b)),
        "lt" => Arg::SymBool(a.sym_lt(b)),
        "le" => Arg::SymBool(a.sym_le(b)),
        "gt" => Arg::SymBool(a.sym_gt(b)),
        "ge" => Arg::SymBool(a.sym_ge(b)),
        other => return Err(Error::msg(format!("node `{label}`: _operator.{other} is not supported when re-tracing"))),
    })
}

/// The nodes without the ones whose results nothing uses (every node is functional after
/// re-tracing; runtime assertions are kept).
fn dead_code_eliminated(nodes: Vec<schema::Node>, outputs: &[Argument]) -> Vec<schema::Node> {
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    for o in outputs {
        let mut v = Vec::new();
        ir::print::arg_names(o, &mut v);
        used.extend(v);
    }
    let mut keep = vec![false; nodes.len()];
    for (i, n) in nodes.iter().enumerate().rev() {
        let mut outs = Vec::new();
        for o in &n.outputs {
            ir::print::arg_names(o, &mut outs);
        }
        // kept though nothing reads them: effects, and products of sizes, which PyTorch's
        // lowering keeps as the decompositions made them (`mul_92 = sym_size_int * 2` unread)
        let effect = n.target.contains("_assert_scalar") || n.target.contains("_assert_tensor_metadata") || n.target.contains("sym_constrain_range") || n.target == "_operator.mul";
        if effect || outs.iter().any(|o| used.contains(o)) {
            keep[i] = true;
            for a in &n.inputs {
                let mut v = Vec::new();
                ir::print::arg_names(&a.arg, &mut v);
                used.extend(v);
            }
        }
    }
    nodes.into_iter().zip(keep).filter(|(_, k)| *k).map(|(n, _)| n).collect()
}

/// Outputs of a multi-output node that nothing uses are named `{node}_unused_{i}`, as
/// PyTorch names them; returns the renames.
fn name_unused_outputs(mut nodes: Vec<schema::Node>, outputs: &[Argument]) -> (Vec<schema::Node>, Vec<(String, String)>) {
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    for a in nodes.iter().flat_map(|n| n.inputs.iter().map(|i| &i.arg)).chain(outputs) {
        let mut v = Vec::new();
        ir::print::arg_names(a, &mut v);
        used.extend(v);
    }
    let mut renamed = Vec::new();
    for n in nodes.iter_mut() {
        if n.outputs.len() < 2 {
            continue;
        }
        let Some(base) = n.name.clone() else { continue };
        for (i, o) in n.outputs.iter_mut().enumerate() {
            if let Argument::AsTensor(t) = o {
                if !used.contains(&t.name) {
                    let new = format!("{base}_unused_{i}");
                    renamed.push((t.name.clone(), new.clone()));
                    t.name = new;
                }
            }
        }
    }
    (nodes, renamed)
}

/// `params` bound to an in-place operator, named as its functional operator `functional` names
/// them (the same parameters in the same order).
fn renamed_for(functional: &str, params: Vec<(String, Arg)>) -> Vec<(String, Arg)> {
    match Registry::global().get(functional) {
        Some(def) if def.schema.params.len() == params.len() => def.schema.params.iter().zip(params).map(|(p, (_, a))| (p.name.clone(), a)).collect(),
        _ => params,
    }
}

/// The registered functional operator an in-place one stands for ([`ops::Schema::functional_name`]).
fn functional_name(def: &ops::OpDef) -> Option<String> {
    def.schema.functional_name().filter(|f| Registry::global().get(f).is_some())
}

/// Re-traces `ep`: nodes for which `decomp` gives a decomposition are replaced by it; with
/// `functionalize`, in-place operators become functional and mutations become outputs.
/// `decomp` serves the operators the decompositions call as well (see [`lowered_call`]).
pub fn retrace(ep: &ir::ExportedProgram, decomp: Rc<dyn Fn(&str) -> Option<DecompFn>>, functionalize: bool) -> Result<ir::ExportedProgram> {
    let graph = ep.graph();
    let mut tracer = Tracer::new();
    // the program's symbols, with their hints and ranges
    let range_of = |sym: &str| -> ValueRange {
        ep.model.range_constraints.get(sym).map(|r| ValueRange::between(r.min_val, r.max_val)).unwrap_or(ValueRange::DYNAMIC_SIZE).intersect(&ValueRange::DYNAMIC_SIZE)
    };
    let mut placeholders = HashMap::new();
    let mut inputs = Vec::new();
    let signature_kind: HashMap<String, PlaceholderKind> = ep
        .signature()
        .input_specs
        .iter()
        .filter_map(|s| match s {
            InputSpec::Parameter(p) => Some((p.arg.name.clone(), PlaceholderKind::Parameter { target: p.parameter_name.clone() })),
            InputSpec::Buffer(b) => Some((b.arg.name.clone(), PlaceholderKind::Buffer { target: b.buffer_name.clone(), persistent: b.persistent })),
            InputSpec::TensorConstant(c) => Some((c.arg.name.clone(), PlaceholderKind::Constant { target: c.tensor_constant_name.clone() })),
            _ => None,
        })
        .collect();
    for input in &graph.inputs {
        // constant inputs (a string, a number) stay as they are
        let Argument::AsTensor(TensorArgument { name }) = input else {
            inputs.push(Arg::None);
            continue;
        };
        let meta = graph.tensor_values.get(name).ok_or_else(|| Error::msg(format!("input `{name}` has no metadata")))?;
        let mut sizes = Vec::new();
        let mut hints = Vec::new();
        for (d, s) in meta.sizes.iter().enumerate() {
            match s {
                schema::SymInt::AsInt(v) => {
                    sizes.push(Expr::Int(*v));
                    hints.push(*v);
                }
                schema::SymInt::AsExpr(e) => {
                    let expr = Expr::parse_srepr(&e.expr_str).map_err(|err| Error::msg(err.to_string()))?;
                    let hint = e.int_hint().unwrap_or(2);
                    for sym in expr.free_symbols() {
                        if tracer.env.symbol(&sym).is_none() {
                            let h = if expr.as_symbol().is_some() { hint } else { 2 };
                            tracer.env.create_named_symbol(&sym, &format!("{name}.size()[{d}]"), h, range_of(&sym)).map_err(Error::from)?;
                        }
                        if expr.as_symbol().is_some() {
                            tracer.symbol_sources.entry(sym.clone()).or_insert(SymbolSource { value: name.clone(), dim: d, input: true });
                        }
                    }
                    sizes.push(expr);
                    hints.push(hint);
                }
            }
        }
        let dtype = ir::dtype::to_dtype(meta.dtype)?;
        let data = match signature_kind.get(name) {
            Some(PlaceholderKind::Parameter { target }) | Some(PlaceholderKind::Buffer { target, .. }) => {
                ep.state_dict.get(target).or_else(|| ep.constants.get(target)).cloned()
            }
            Some(PlaceholderKind::Constant { target }) => ep.constants.get(target).cloned(),
            None => None,
        };
        // user inputs get example data of the recorded sizes; their values do not matter for
        // re-tracing (data-dependent sizes are symbols either way)
        let data = match data {
            Some(d) => d.deep_clone(),
            None => tensor::Tensor::full(&hints.iter().map(|&h| h.max(0) as usize).collect::<Vec<_>>(), 1.0, dtype),
        };
        let pname = tracer.fresh_name(name);
        let t = tracer.new_value(pname.clone(), data, sizes, meta.requires_grad);
        if let Some(kind) = signature_kind.get(name) {
            tracer.placeholders.push(Placeholder { name: pname.clone(), kind: kind.clone() });
        }
        placeholders.insert(name.clone(), t.clone());
        inputs.push(Arg::Tensor(t));
    }
    let plan = GraphPlan::compile(graph, Registry::global())?;
    let mut r = Retracer { graph, plan: &plan, latest: IndexMap::new(), placeholders, functionalize, own_metadata: true, views: vec![] };
    struct Uninstall;
    impl Drop for Uninstall {
        fn drop(&mut self) {
            LOWERING.with(|l| l.borrow_mut().take());
        }
    }
    LOWERING.with(|l| *l.borrow_mut() = Some(Lowering { lookup: decomp, running: vec![] }));
    let _uninstall = Uninstall;
    let (tracer, result) = tracing(tracer, || plan.walk(inputs, &mut r));
    let values = result?;
    assemble_retraced(ep, tracer, &r, values)
}

/// The re-traced program: mutation outputs for the placeholders updated, then the user outputs
/// (`values`, the walk's values of the graph's outputs).
fn assemble_retraced(ep: &ir::ExportedProgram, mut tracer: Tracer, r: &Retracer, values: Vec<Arg>) -> Result<ir::ExportedProgram> {
    let graph = ep.graph();
    let trace_id = tracer.id;
    let name_of = |t: &Tensor| t.name_in(trace_id).ok_or_else(|| Error::msg("an output is not a value of the program"));
    // mutation outputs first, in placeholder order, then the user outputs
    let mut outputs = Vec::new();
    let mut output_specs = Vec::new();
    for spec in &ep.signature().input_specs {
        let (arg_name, mutation) = match spec {
            InputSpec::Buffer(b) => (&b.arg.name, Some(b.buffer_name.clone())),
            InputSpec::UserInput(u) => match &u.arg {
                Argument::AsTensor(t) => (&t.name, None),
                _ => continue,
            },
            _ => continue,
        };
        let Some(new) = r.latest.get(arg_name) else { continue };
        let name = name_of(new)?;
        outputs.push(Argument::AsTensor(TensorArgument { name: name.clone() }));
        output_specs.push(match mutation {
            Some(buffer_name) => OutputSpec::BufferMutation(schema::BufferMutationSpec { arg: TensorArgument { name }, buffer_name }),
            None => OutputSpec::UserInputMutation(schema::UserInputMutationSpec { arg: TensorArgument { name }, user_input_name: arg_name.clone() }),
        });
    }
    for ((o, spec), value) in graph.outputs.iter().zip(&ep.signature().output_specs).zip(values) {
        if !matches!(spec, OutputSpec::UserOutput(_)) {
            continue;
        }
        let arg = match o {
            Argument::AsTensor(t) => match value {
                Arg::Tensor(v) => Argument::AsTensor(TensorArgument { name: name_of(&v)? }),
                _ => return Err(Error::msg(format!("output `{}` was not computed", t.name))),
            },
            Argument::AsSymInt(SymIntArgument::AsName(n)) => match value {
                Arg::Int(s) => match tracer.sym_value(s.expr(), s.hint())? {
                    SymIntArgument::AsInt(v) => Argument::AsInt(v),
                    named => Argument::AsSymInt(named),
                },
                _ => return Err(Error::msg(format!("output `{n}` was not computed"))),
            },
            other => other.clone(),
        };
        outputs.push(arg.clone());
        output_specs.push(OutputSpec::UserOutput(schema::UserOutputSpec { arg }));
    }
    let (mut tensor_values, sym_int_values, sym_bool_values) = tracer.finished_values();
    let nodes = dead_code_eliminated(std::mem::take(&mut tracer.nodes), &outputs);
    let live: std::collections::HashSet<String> = nodes
        .iter()
        .flat_map(|n| {
            let mut v = Vec::new();
            for o in &n.outputs {
                ir::print::arg_names(o, &mut v);
            }
            v
        })
        .chain(graph.inputs.iter().flat_map(|i| {
            let mut v = Vec::new();
            ir::print::arg_names(i, &mut v);
            v
        }))
        .collect();
    tensor_values.retain(|name, _| live.contains(name));
    let (nodes, renamed) = name_unused_outputs(nodes, &outputs);
    for (old, new) in renamed {
        if let Some(m) = tensor_values.shift_remove(&old) {
            tensor_values.insert(new, m);
        }
    }
    let mut model = ep.model.clone();
    let gm = &mut model.graph_module;
    gm.graph.nodes = nodes;
    gm.graph.outputs = outputs;
    gm.graph.tensor_values = tensor_values;
    gm.graph.sym_int_values = sym_int_values;
    gm.graph.sym_bool_values = sym_bool_values;
    gm.signature.output_specs = output_specs;
    Ok(ir::ExportedProgram { model, state_dict: ep.state_dict.clone(), constants: ep.constants.clone(), example_inputs: ep.example_inputs.clone() })
}
