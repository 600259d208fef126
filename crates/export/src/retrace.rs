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
use ir::schema::{self, Argument, InputSpec, OptionalTensorArgument, OutputSpec, SymIntArgument, TensorArgument};
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

struct Retracer {
    env: HashMap<String, Arg>,
    /// The current value of each buffer / user-input placeholder, when a node updated it.
    latest: IndexMap<String, Tensor>,
    placeholders: HashMap<String, Tensor>,
    functionalize: bool,
    /// The graph's recorded tensor metadata (sizes of control-flow outputs).
    meta: IndexMap<String, schema::TensorMeta>,
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

impl Retracer {
    fn value(&self, name: &str, node: &str) -> Result<Arg> {
        self.env.get(name).cloned().ok_or_else(|| Error::msg(format!("node `{node}` uses `{name}` before it is defined")))
    }

    fn sym(&self, a: &SymIntArgument, node: &str) -> Result<SymInt> {
        match a {
            SymIntArgument::AsInt(i) => Ok((*i).into()),
            SymIntArgument::AsName(n) => match self.value(n, node)? {
                Arg::Int(s) => Ok(s),
                _ => Err(Error::msg(format!("node `{node}`: `{n}` is not a symbolic int"))),
            },
        }
    }

    fn arg(&self, a: &Argument, node: &str) -> Result<Arg> {
        let tensor = |n: &str| -> Result<Tensor> {
            match self.value(n, node)? {
                Arg::Tensor(t) => Ok(t),
                _ => Err(Error::msg(format!("node `{node}`: `{n}` is not a tensor"))),
            }
        };
        Ok(match a {
            Argument::AsTensor(t) => Arg::Tensor(tensor(&t.name)?),
            Argument::AsTensors(ts) => Arg::Tensors(ts.iter().map(|t| tensor(&t.name)).collect::<Result<_>>()?),
            Argument::AsOptionalTensors(ts) => Arg::OptTensors(
                ts.iter()
                    .map(|t| match t {
                        OptionalTensorArgument::AsTensor(t) => tensor(&t.name).map(Some),
                        OptionalTensorArgument::AsNone(_) => Ok(None),
                    })
                    .collect::<Result<_>>()?,
            ),
            Argument::AsSymInt(s) => Arg::Int(self.sym(s, node)?),
            Argument::AsSymInts(ss) => Arg::Ints(ss.iter().map(|s| self.sym(s, node)).collect::<Result<_>>()?),
            Argument::AsSymBool(schema::SymBoolArgument::AsName(n)) => self.value(n, node)?,
            other => {
                let v = ir::plan::literal(other).ok_or_else(|| Error::msg(format!("node `{node}`: argument {other:?} is not supported when re-tracing")))?;
                match &v {
                    Value::List(items) if items.iter().all(|i| matches!(i, Value::Int(_))) => arg_of_value(&v),
                    // kept as recorded
                    Value::Layout(_) | Value::MemoryFormat(_) | Value::List(_) => Arg::Literal(v, other.clone()),
                    _ => arg_of_value(&v),
                }
            }
        })
    }

    /// Rebinds every name holding `old` to `new`; records the update of a placeholder.
    /// `old` now holds `new`: every use of it reads `new`, and when `old` is a view, its base
    /// gets the update scattered in (and so on up a chain of views).
    fn write_back(&mut self, old: &Tensor, new: &Tensor) -> Result<()> {
        self.replace(old, new);
        let Some(i) = self.views.iter().rposition(|v| v.tensor.same_as(old)) else { return Ok(()) };
        let View { base, op, args, .. } = self.views.swap_remove(i);
        let scatter = if op == aten::slice_Tensor { aten::slice_scatter } else { aten::select_scatter };
        let mut call_args = vec![Arg::Tensor(base.clone()), Arg::Tensor(new.clone())];
        call_args.extend(args.iter().map(|(_, a)| a.clone()));
        let new_base = crate::trace::call(scatter, call_args, vec![])?.remove(0);
        // the updated value is still that view of the updated base
        self.views.push(View { tensor: new.clone(), base: new_base.clone(), op, args });
        self.write_back(&base, &new_base)
    }

    fn replace(&mut self, old: &Tensor, new: &Tensor) {
        for v in self.env.values_mut() {
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

    fn node(&mut self, node: &schema::Node) -> Result<()> {
        let label = node.name.clone().unwrap_or_else(|| node.target.clone());
        let target = node.target.as_str();
        if let Some(op) = target.strip_prefix("_operator.") {
            return self.operator(op, node, &label);
        }
        if target.starts_with("torch.ops.higher_order.") {
            return self.higher_order(node, &label);
        }
        let qualified = target.strip_prefix("torch.ops.").unwrap_or(target);
        let def = Registry::global().lookup(qualified).map_err(|e| e.in_node(label.as_str()))?;
        if def.name() == aten::_assert_scalar {
            return match self.arg(&node.inputs[0].arg, &label)? {
                Arg::SymBool(b) => crate::symint::check(&b),
                _ => Ok(()),
            };
        }
        if def.name() == aten::item || def.name() == aten::_local_scalar_dense {
            let t = match self.arg(&node.inputs[0].arg, &label)? {
                Arg::Tensor(t) => t,
                _ => return Err(Error::msg(format!("node `{label}`: item of a non-tensor"))),
            };
            // core ATen reads the value with `_local_scalar_dense`
            return self.bind(node, vec![Arg::Int(t.local_scalar_dense()?)]);
        }
        if def.name() == aten::sym_size_int {
            let t = match self.arg(&node.inputs[0].arg, &label)? {
                Arg::Tensor(t) => t,
                _ => return Err(Error::msg(format!("node `{label}`: sym_size of a non-tensor"))),
            };
            let dim = match self.arg(&node.inputs[1].arg, &label)? {
                Arg::Int(d) => d.hint(),
                _ => 0,
            };
            return self.bind(node, vec![Arg::Int(t.size(dim)?)]);
        }
        // the arguments by parameter name, with defaults
        let mut params = Vec::new();
        let mut positional = Vec::new();
        let mut kwargs: Vec<(String, Arg)> = Vec::new();
        for p in &def.schema.params {
            let given = node.inputs.iter().find(|a| a.name == p.name);
            let a = match given {
                Some(g) => {
                    let a = self.arg(&g.arg, &label)?;
                    if g.kind == Some(schema::ArgumentKind::KEYWORD) {
                        kwargs.push((p.name.clone(), a.clone()));
                    } else {
                        positional.push(a.clone());
                    }
                    a
                }
                None => p.default.as_ref().map(arg_of_value).unwrap_or(Arg::None),
            };
            params.push((p.name.clone(), a));
        }
        let name = def.name();
        let (functional, mutated) = match (self.functionalize && def.schema.is_mutating(), functional_name(&def)) {
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
                self.replace(&old, &new);
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
            self.write_back(old, &new)?;
        } else if self.functionalize && (functional == aten::slice_Tensor || functional == aten::select_int) {
            if let (Some((_, Arg::Tensor(base))), Some(Arg::Tensor(view))) = (params.first(), outputs.first()) {
                let op = if functional == aten::slice_Tensor { aten::slice_Tensor } else { aten::select_int };
                self.views.push(View { tensor: view.clone(), base: base.clone(), op, args: params[1..].to_vec() });
            }
        }
        self.bind(node, outputs)
    }

    fn bind(&mut self, node: &schema::Node, outputs: Vec<Arg>) -> Result<()> {
        let mut outs = outputs.into_iter();
        for o in &node.outputs {
            match o {
                Argument::AsTensor(t) => {
                    let v = outs.next().ok_or_else(|| Error::msg(format!("node `{}` gave too few outputs", t.name)))?;
                    self.env.insert(t.name.clone(), v);
                }
                Argument::AsTensors(ts) => match outs.next() {
                    Some(Arg::Tensors(v)) => {
                        for (t, x) in ts.iter().zip(v) {
                            self.env.insert(t.name.clone(), Arg::Tensor(x));
                        }
                    }
                    _ => return Err(Error::msg("a list output was expected")),
                },
                Argument::AsSymInt(SymIntArgument::AsName(n)) | Argument::AsSymBool(schema::SymBoolArgument::AsName(n)) => {
                    if let Some(v) = outs.next() {
                        self.env.insert(n.clone(), v);
                    }
                }
                _ => {
                    outs.next();
                }
            }
        }
        Ok(())
    }

    /// A control-flow node (`cond`, `map_impl`, `scan`, `while_loop`): each subgraph is
    /// re-traced on its own (with the same decompositions), the node is recorded with the new
    /// subgraphs, and its outputs are computed by running it.
    fn higher_order(&mut self, node: &schema::Node, label: &str) -> Result<()> {
        if node.target == "torch.ops.higher_order.wrap_with_set_grad_enabled" {
            return self.inline(node, label);
        }
        let mut inputs = Vec::new();
        let mut operand_names: Vec<(String, Value)> = Vec::new();
        for a in &node.inputs {
            let arg = match &a.arg {
                Argument::AsGraph(g) => Argument::AsGraph(schema::GraphArgument { name: g.name.clone(), graph: self.subgraph(&g.graph, label)? }),
                other => {
                    let value = self.arg(other, label)?;
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
        let graph_meta = |name: &str| -> Option<schema::TensorMeta> { self.meta.get(name).cloned() };
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
        let results = ir::plan::GraphPlan::compile(&mini, Registry::global())
            .and_then(|plan| plan.run(values))
            .map_err(|e| Error::msg(format!("node `{label}`: {e}")))?;
        let mut results = results.into_iter();
        let mut bound = Vec::new();
        crate::trace::with_tracer(|tr| -> Result<()> {
            let tr = tr.expect("tracing");
            for (old, new) in &out_names {
                let Some(Value::Tensor(data)) = results.next() else { return Err(Error::msg(format!("node `{label}` gave too few outputs"))) };
                let sizes: Vec<Expr> = match graph_meta(old) {
                    Some(m) => m
                        .sizes
                        .iter()
                        .map(|s| match s {
                            schema::SymInt::AsInt(v) => Ok(Expr::Int(*v)),
                            schema::SymInt::AsExpr(e) => Expr::parse_srepr(&e.expr_str).map_err(|err| Error::msg(err.to_string())),
                        })
                        .collect::<Result<_>>()?,
                    None => data.shape().iter().map(|&d| Expr::Int(d as i64)).collect(),
                };
                let t = tr.new_value(new.clone(), data, sizes, false);
                bound.push((old.clone(), t));
            }
            tr.nodes.push(new_node);
            Ok(())
        })?;
        for (old, t) in bound {
            self.env.insert(old, Arg::Tensor(t));
        }
        Ok(())
    }

    /// A region whose only effect is on autograd (`torch.no_grad()`): without autograd its
    /// subgraph's nodes belong to the program itself, as PyTorch's inference IR inlines them.
    fn inline(&mut self, node: &schema::Node, label: &str) -> Result<()> {
        let graph = node.inputs.iter().find_map(|a| if let Argument::AsGraph(g) = &a.arg { Some(&g.graph) } else { None });
        let Some(g) = graph else { return Err(Error::msg(format!("node `{label}` has no subgraph"))) };
        let operands: Vec<Arg> = node.inputs.iter().skip_while(|a| !matches!(a.arg, Argument::AsGraph(_))).skip(1).map(|a| self.arg(&a.arg, label)).collect::<Result<_>>()?;
        let mut flat = Vec::new();
        for o in operands {
            match o {
                Arg::Tensors(v) => flat.extend(v.into_iter().map(Arg::Tensor)),
                other => flat.push(other),
            }
        }
        let mut inner = Retracer { env: HashMap::new(), latest: IndexMap::new(), placeholders: HashMap::new(), functionalize: self.functionalize, meta: g.tensor_values.clone(), views: vec![] };
        for (input, value) in g.inputs.iter().zip(flat) {
            let mut names = Vec::new();
            ir::print::arg_names(input, &mut names);
            if let Some(n) = names.pop() {
                inner.env.insert(n, value);
            }
        }
        for n in &g.nodes {
            inner.node(n)?;
        }
        let results: Vec<Arg> = g
            .outputs
            .iter()
            .map(|o| {
                let mut names = Vec::new();
                ir::print::arg_names(o, &mut names);
                names.pop().and_then(|n| inner.env.get(&n).cloned()).ok_or_else(|| Error::msg(format!("node `{label}`: a subgraph output was not computed")))
            })
            .collect::<Result<_>>()?;
        // the node's outputs are the subgraph's, one name each
        let mut results = results.into_iter();
        for o in &node.outputs {
            match o {
                Argument::AsTensors(ts) => {
                    for t in ts {
                        if let Some(v) = results.next() {
                            self.env.insert(t.name.clone(), v);
                        }
                    }
                }
                other => {
                    let mut names = Vec::new();
                    ir::print::arg_names(other, &mut names);
                    if let (Some(n), Some(v)) = (names.pop(), results.next()) {
                        self.env.insert(n, v);
                    }
                }
            }
        }
        Ok(())
    }

    /// A subgraph re-traced into a new graph of its own.
    fn subgraph(&mut self, g: &schema::Graph, label: &str) -> Result<schema::Graph> {
        crate::trace::with_tracer(|tr| tr.expect("tracing").enter_subgraph());
        let mut inner = Retracer {
            env: HashMap::new(),
            latest: IndexMap::new(),
            placeholders: HashMap::new(),
            functionalize: self.functionalize,
            meta: g.tensor_values.clone(),
            views: vec![],
        };
        let mut new_inputs = Vec::new();
        let name_of = |t: &Tensor| crate::trace::with_tracer(|tr| t.name_in(tr.expect("tracing").id));
        let result = (|| -> Result<Vec<Argument>> {
            for input in &g.inputs {
                let Argument::AsTensor(TensorArgument { name }) = input else {
                    new_inputs.push(input.clone());
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
                inner.env.insert(name.clone(), Arg::Tensor(t));
            }
            for n in &g.nodes {
                crate::trace::with_tracer(|tr| tr.expect("tracing").metadata_override = Some(n.metadata.clone()));
                inner.node(n)?;
            }
            g.outputs
                .iter()
                .map(|o| match o {
                    Argument::AsTensor(t) => match inner.env.get(&t.name) {
                        Some(Arg::Tensor(v)) => {
                            let n = name_of(v).ok_or_else(|| Error::msg("a subgraph output is not one of its values"))?;
                            Ok(Argument::AsTensor(TensorArgument { name: n }))
                        }
                        _ => Err(Error::msg(format!("subgraph output `{}` was not computed", t.name))),
                    },
                    other => Ok(other.clone()),
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

    /// Python operators on symbolic ints (`_operator.mul`), re-done on `SymInt`s.
    fn operator(&mut self, op: &str, node: &schema::Node, label: &str) -> Result<()> {
        let args: Vec<SymInt> = node.inputs.iter().map(|a| match self.arg(&a.arg, label)? {
            Arg::Int(s) => Ok(s),
            _ => Err(Error::msg(format!("node `{label}`: _operator.{op} of a non-int"))),
        }).collect::<Result<_>>()?;
        let (a, b) = match args.as_slice() {
            [a, b] => (a.clone(), b.clone()),
            _ => return Err(Error::msg(format!("node `{label}`: _operator.{op} takes two ints"))),
        };
        let out = match op {
            "add" => Arg::Int(a + b),
            "sub" => Arg::Int(a - b),
            "mul" => Arg::Int(a * b),
            "floordiv" => Arg::Int(a.floordiv(b)),
            "eq" => Arg::SymBool(a.sym_eq(b)),
            "ne" => Arg::SymBool(a.sym_ne(b)),
            "lt" => Arg::SymBool(a.sym_lt(b)),
            "le" => Arg::SymBool(a.sym_le(b)),
            "gt" => Arg::SymBool(a.sym_gt(b)),
            "ge" => Arg::SymBool(a.sym_ge(b)),
            other => return Err(Error::msg(format!("node `{label}`: _operator.{other} is not supported when re-tracing"))),
        };
        self.bind(node, vec![out])
    }
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
    let mut env = HashMap::new();
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
        let Argument::AsTensor(TensorArgument { name }) = input else { continue };
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
        env.insert(name.clone(), Arg::Tensor(t));
    }
    let mut r = Retracer { env, latest: IndexMap::new(), placeholders, functionalize, meta: graph.tensor_values.clone(), views: vec![] };
    struct Uninstall;
    impl Drop for Uninstall {
        fn drop(&mut self) {
            LOWERING.with(|l| l.borrow_mut().take());
        }
    }
    LOWERING.with(|l| *l.borrow_mut() = Some(Lowering { lookup: decomp, running: vec![] }));
    let _uninstall = Uninstall;
    let (tracer, result) = tracing(tracer, || -> Result<()> {
        for node in &graph.nodes {
            crate::trace::with_tracer(|t| {
                if let Some(t) = t {
                    t.metadata_override = Some(node.metadata.clone());
                }
            });
            r.node(node)?;
        }
        Ok(())
    });
    result?;
    assemble_retraced(ep, tracer, &r)
}

fn assemble_retraced(ep: &ir::ExportedProgram, mut tracer: Tracer, r: &Retracer) -> Result<ir::ExportedProgram> {
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
    for (o, spec) in graph.outputs.iter().zip(&ep.signature().output_specs) {
        if !matches!(spec, OutputSpec::UserOutput(_)) {
            continue;
        }
        let arg = match o {
            Argument::AsTensor(t) => match r.env.get(&t.name) {
                Some(Arg::Tensor(v)) => Argument::AsTensor(TensorArgument { name: name_of(v)? }),
                _ => return Err(Error::msg(format!("output `{}` was not computed", t.name))),
            },
            Argument::AsSymInt(SymIntArgument::AsName(n)) => match r.env.get(n) {
                Some(Arg::Int(s)) => match tracer.sym_value(s.expr(), s.hint())? {
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
