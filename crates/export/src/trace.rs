//! The tracer: while `export` runs a model's `forward`, every operator call is executed on the
//! example data *and* recorded as a graph node, with symbolic sizes from the operator's meta
//! function. One tracer is active per thread at a time (like PyTorch's dispatch mode), so the
//! tensor API needs no context argument.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indexmap::IndexMap;
use ir::schema::{self, Argument, NamedArgument, Node, SymIntArgument, TensorArgument};
use ops::{Registry, SymArg, Value};
use symbolic::{Expr, ShapeEnv};

use crate::symint::SymInt;
use crate::tensor::{Tensor, Traced};
use crate::{Error, Result};

static NEXT_TRACE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static TRACER: RefCell<Option<Tracer>> = const { RefCell::new(None) };
}

/// What belongs to one graph while it is recorded: swapped out while a subgraph is recorded.
#[derive(Default)]
pub(crate) struct Frame {
    id: u64,
    nodes: Vec<Node>,
    sym_nodes_at_top: usize,
    tensor_values: IndexMap<String, (schema::TensorMeta, Vec<Expr>)>,
    sym_int_values: IndexMap<String, (Expr, Option<i64>)>,
    sym_bool_values: IndexMap<String, Expr>,
    counters: HashMap<String, usize>,
    used_names: std::collections::HashSet<String>,
    symbol_sources: HashMap<String, SymbolSource>,
    symbol_nodes: HashMap<String, String>,
    computed_syms: HashMap<Expr, String>,
    captured: Vec<(Tensor, Tensor)>,
}

/// Names torch.fx will not give a node because generated Python code would shadow them:
/// Python's keywords and lowercase builtins, and FX's own globals (`torch`, `inf`, `device`,
/// ...) — from `keyword.kwlist`, `builtins` and `torch.fx.graph._custom_builtins`. Sorted.
const PYTHON_RESERVED: &[&str] = &[
    "abs", "aiter", "all", "and", "anext", "any", "as", "ascii", "assert", "async", "await", "bin", "bool", "break",
    "breakpoint", "bytearray", "bytes", "callable", "chr", "class", "classmethod", "compile", "complex", "continue",
    "copyright", "credits", "def", "del", "delattr", "device", "dict", "dir", "divmod", "elif", "else", "enumerate",
    "eval", "except", "exec", "exit", "filter", "finally", "float", "for", "format", "from", "frozenset", "fx_pytree",
    "getattr", "global", "globals", "hasattr", "hash", "help", "hex", "id", "if", "import", "in", "inf", "input", "int",
    "is", "isinstance", "issubclass", "iter", "lambda", "len", "license", "list", "locals", "map", "max", "memoryview",
    "min", "nan", "next", "nonlocal", "not", "object", "oct", "open", "or", "ord", "pass", "pow", "print", "property",
    "pytree", "quit", "raise", "range", "repr", "return", "reversed", "round", "set", "setattr", "slice", "sorted",
    "staticmethod", "str", "sum", "super", "torch", "try", "tuple", "type", "vars", "while", "with", "yield", "zip",
];

/// A graph's value metadata: tensors, symbolic ints, symbolic bools, by name.
pub(crate) type Values = (IndexMap<String, schema::TensorMeta>, IndexMap<String, schema::SymInt>, IndexMap<String, schema::SymBool>);

/// A graph from its inputs, outputs, nodes and value metadata.
pub(crate) fn graph_of(inputs: Vec<Argument>, outputs: Vec<Argument>, nodes: Vec<Node>, (tensor_values, sym_int_values, sym_bool_values): Values) -> schema::Graph {
    schema::Graph {
        inputs,
        outputs,
        nodes,
        tensor_values,
        sym_int_values,
        sym_bool_values,
        is_single_tensor_return: false,
        custom_obj_values: IndexMap::new(),
        sym_float_values: IndexMap::new(),
    }
}

/// A recorded subgraph: its graph and the enclosing tensors it captured (extra operands).
pub(crate) struct Subgraph {
    pub graph: schema::Graph,
    pub captured: Vec<(Tensor, Tensor)>,
}

/// Where a symbol's value can be read in the graph: `sym_size.int(input, dim)`.
#[derive(Clone, Debug)]
pub(crate) struct SymbolSource {
    pub value: String,
    pub dim: usize,
    /// An input's size is read at the top of the graph; an intermediate's where it is made.
    pub input: bool,
}

/// A placeholder for lifted state: a parameter, a buffer or a constant.
#[derive(Clone, Debug)]
pub(crate) enum PlaceholderKind {
    Parameter { target: String },
    Buffer { target: String, persistent: bool },
    Constant { target: String },
}

#[derive(Clone, Debug)]
pub(crate) struct Placeholder {
    pub name: String,
    pub kind: PlaceholderKind,
}

pub(crate) struct Tracer {
    /// The graph being recorded (a subgraph has its own id).
    pub id: u64,
    /// The export this tracer records, the same across its subgraphs.
    pub family: u64,
    /// Enclosing graphs while a subgraph (a `cond` branch, a `map` body) is recorded.
    pub(crate) outer: Vec<Frame>,
    /// Tensors of enclosing graphs used inside the current subgraph: lifted as extra inputs.
    pub(crate) captured: Vec<(Tensor, Tensor)>,
    pub env: ShapeEnv,
    pub nodes: Vec<Node>,
    /// How many `sym_size` nodes sit at the top of `nodes` (new ones go after them).
    pub(crate) sym_nodes_at_top: usize,
    pub tensor_values: IndexMap<String, (schema::TensorMeta, Vec<Expr>)>,
    pub sym_int_values: IndexMap<String, (Expr, Option<i64>)>,
    pub sym_bool_values: IndexMap<String, Expr>,
    pub placeholders: Vec<Placeholder>,
    counters: HashMap<String, usize>,
    used_names: std::collections::HashSet<String>,
    /// Traced tensors standing for a module's parameters and buffers, by state id.
    pub lifted: HashMap<u64, Tensor>,
    /// Constant tensors lifted as `c_lifted_tensor_N`, with their data.
    pub constants: Vec<(String, tensor::Tensor)>,
    pub symbol_sources: HashMap<String, SymbolSource>,
    pub symbol_nodes: HashMap<String, String>,
    /// Graph values already holding a symbolic expression (`2*s27`).
    computed_syms: HashMap<Expr, String>,
    /// `(fqn, type)` of the modules whose `forward` is running, outermost first.
    pub module_stack: Vec<(String, String)>,
    /// Module fully qualified names, by the module's address.
    pub module_names: HashMap<usize, (String, String)>,
    /// Strict mode: reading traced data into host code is an error, not a specialization.
    pub strict: bool,
    /// Metadata every new node takes (re-tracing keeps the original node's).
    pub metadata_override: Option<IndexMap<String, String>>,
}

impl Tracer {
    pub fn new() -> Tracer {
        let id = NEXT_TRACE.fetch_add(1, Ordering::Relaxed);
        Tracer {
            id,
            family: id,
            outer: Vec::new(),
            captured: Vec::new(),
            env: ShapeEnv::new(),
            nodes: Vec::new(),
            sym_nodes_at_top: 0,
            tensor_values: IndexMap::new(),
            sym_int_values: IndexMap::new(),
            sym_bool_values: IndexMap::new(),
            placeholders: Vec::new(),
            counters: HashMap::new(),
            used_names: Default::default(),
            lifted: HashMap::new(),
            constants: Vec::new(),
            symbol_sources: HashMap::new(),
            symbol_nodes: HashMap::new(),
            computed_syms: HashMap::new(),
            module_stack: Vec::new(),
            module_names: HashMap::new(),
            strict: false,
            metadata_override: None,
        }
    }

    /// Starts recording a subgraph: a new graph with its own names and values.
    pub fn enter_subgraph(&mut self) {
        let frame = Frame {
            id: std::mem::replace(&mut self.id, NEXT_TRACE.fetch_add(1, Ordering::Relaxed)),
            nodes: std::mem::take(&mut self.nodes),
            sym_nodes_at_top: std::mem::take(&mut self.sym_nodes_at_top),
            tensor_values: std::mem::take(&mut self.tensor_values),
            sym_int_values: std::mem::take(&mut self.sym_int_values),
            sym_bool_values: std::mem::take(&mut self.sym_bool_values),
            counters: std::mem::take(&mut self.counters),
            used_names: std::mem::take(&mut self.used_names),
            symbol_sources: std::mem::take(&mut self.symbol_sources),
            symbol_nodes: std::mem::take(&mut self.symbol_nodes),
            computed_syms: std::mem::take(&mut self.computed_syms),
            captured: std::mem::take(&mut self.captured),
        };
        self.outer.push(frame);
    }

    /// Ends the subgraph begun by [`Tracer::enter_subgraph`]: the graph with `inputs` and
    /// `outputs`, and what it captured.
    pub fn exit_subgraph(&mut self, inputs: Vec<Argument>, outputs: Vec<Argument>) -> Subgraph {
        let (tensor_values, sym_int_values, sym_bool_values) = self.finished_values();
        let f = self.outer.pop().expect("inside a subgraph");
        self.id = f.id;
        self.sym_nodes_at_top = f.sym_nodes_at_top;
        let nodes = std::mem::replace(&mut self.nodes, f.nodes);
        self.tensor_values = f.tensor_values;
        self.sym_int_values = f.sym_int_values;
        self.sym_bool_values = f.sym_bool_values;
        self.counters = f.counters;
        self.used_names = f.used_names;
        self.symbol_sources = f.symbol_sources;
        self.symbol_nodes = f.symbol_nodes;
        self.computed_syms = f.computed_syms;
        let captured = std::mem::replace(&mut self.captured, f.captured);
        Subgraph { graph: graph_of(inputs, outputs, nodes, (tensor_values, sym_int_values, sym_bool_values)), captured }
    }

    /// The recorded values' metadata in final form: sizes, strides and symbolic values with
    /// every replacement the guards found applied (also to values recorded before them).
    pub fn finished_values(&self) -> Values {
        let env = &self.env;
        let sym = |e: &Expr, hint: Option<i64>| match env.simplify(e) {
            Expr::Int(v) => schema::SymInt::AsInt(v),
            e => schema::SymInt::AsExpr(schema::SymExpr { expr_str: e.to_srepr(), hint: hint.map(schema::SymExprHint::AsInt) }),
        };
        let mut tensors = IndexMap::new();
        for (name, (meta, sizes)) in &self.tensor_values {
            let mut meta = meta.clone();
            if sizes.iter().any(|s| s.as_int().is_none()) {
                for (slot, e) in meta.sizes.iter_mut().zip(sizes) {
                    let hint = slot.hint();
                    *slot = sym(e, hint);
                }
                for s in meta.strides.iter_mut() {
                    if let schema::SymInt::AsExpr(x) = s {
                        if let Ok(e) = Expr::parse_srepr(&x.expr_str) {
                            *s = sym(&e, None);
                        }
                    }
                }
            }
            tensors.insert(name.clone(), meta);
        }
        let ints = self.sym_int_values.iter().map(|(n, (e, h))| (n.clone(), sym(e, *h))).collect();
        let bools = self
            .sym_bool_values
            .iter()
            .map(|(n, e)| (n.clone(), schema::SymBool::AsExpr(schema::SymExpr { expr_str: env.simplify(e).to_srepr(), hint: None })))
            .collect();
        (tensors, ints, bools)
    }

    /// A fresh value name from `base` (`add`, `add_1`, ...), as torch.fx names nodes: a name
    /// Python reserves (`sum`, `slice`, `max`, `all`, ...) starts at `_1`.
    pub fn fresh_name(&mut self, base: &str) -> String {
        let reserved = PYTHON_RESERVED.binary_search(&base).is_ok();
        let mut n = self.counters.get(base).copied().unwrap_or(usize::from(reserved));
        loop {
            let name = if n == 0 { base.to_string() } else { format!("{base}_{n}") };
            n += 1;
            if self.used_names.insert(name.clone()) {
                self.counters.insert(base.to_string(), n);
                return name;
            }
        }
    }

    /// Records a tensor value's metadata and returns the traced tensor.
    pub fn new_value(&mut self, name: String, data: tensor::Tensor, sizes: Vec<Expr>, requires_grad: bool) -> Tensor {
        let meta = tensor_meta(&data, &sizes, requires_grad);
        self.tensor_values.insert(name.clone(), (meta, sizes.clone()));
        Tensor::traced(data, Arc::new(Traced { trace: self.id, family: self.family, name, sizes }))
    }

    /// The graph value holding a symbolic integer: a `sym_size` node for an input's size, or
    /// `_operator` arithmetic on such values.
    pub fn sym_value(&mut self, e: &Expr, hint: i64) -> Result<SymIntArgument> {
        let e = self.env.simplify(e);
        if let Expr::Int(v) = e {
            return Ok(SymIntArgument::AsInt(v));
        }
        if let Some(sym) = e.as_symbol() {
            if let Some(name) = self.symbol_nodes.get(sym) {
                return Ok(SymIntArgument::AsName(name.clone()));
            }
            let src = self.symbol_sources.get(sym).cloned().ok_or_else(|| Error::msg(format!("no input size holds the symbol {sym}")))?;
            let name = self.fresh_name("sym_size_int");
            let node = Node {
                target: "torch.ops.aten.sym_size.int".into(),
                inputs: vec![
                    named("self", Argument::AsTensor(TensorArgument { name: src.value.clone() }), 1),
                    named("dim", Argument::AsInt(src.dim as i64), 1),
                ],
                outputs: vec![Argument::AsSymInt(SymIntArgument::AsName(name.clone()))],
                metadata: IndexMap::new(),
                is_hop_single_tensor_return: None,
                name: Some(name.clone()),
            };
            // sizes of inputs are read once, at the top of the graph, as PyTorch does
            if src.input {
                self.nodes.insert(self.sym_nodes_at_top, node);
                self.sym_nodes_at_top += 1;
            } else {
                self.nodes.push(node);
            }
            self.sym_int_values.insert(name.clone(), (e.clone(), Some(hint)));
            self.symbol_nodes.insert(sym.to_string(), name.clone());
            return Ok(SymIntArgument::AsName(name));
        }
        // arithmetic: `_operator.add/mul/floordiv` over the parts, computed once per value
        if let Some(name) = self.computed_syms.get(&e) {
            return Ok(SymIntArgument::AsName(name.clone()));
        }
        let (target, parts): (&str, Vec<Expr>) = match &e {
            Expr::Add(v) => ("_operator.add", v.clone()),
            Expr::Mul(v) => ("_operator.mul", v.clone()),
            Expr::FloorDiv(a, b) => ("_operator.floordiv", vec![(**a).clone(), (**b).clone()]),
            Expr::Mod(a, b) => ("_operator.mod", vec![(**a).clone(), (**b).clone()]),
            other => return Err(Error::msg(format!("cannot compute the symbolic size {other} in the graph"))),
        };
        let hints: Vec<i64> = parts.iter().map(|p| self.env.hint(p).unwrap_or(0)).collect();
        let mut acc = self.sym_value(&parts[0], hints[0])?;
        let mut acc_expr = parts[0].clone();
        for (p, h) in parts.iter().zip(&hints).skip(1) {
            let rhs = self.sym_value(p, *h)?;
            acc_expr = match target {
                "_operator.add" => acc_expr + p.clone(),
                "_operator.mul" => acc_expr * p.clone(),
                "_operator.floordiv" => Expr::floordiv(acc_expr, p.clone()),
                _ => Expr::modulo(acc_expr, p.clone()),
            };
            acc = self.push_sym_op(target, acc, rhs, &acc_expr);
        }
        if let SymIntArgument::AsName(n) = &acc {
            self.computed_syms.insert(e.clone(), n.clone());
        }
        Ok(acc)
    }

    /// Records `target(a, b)` (`_operator.mul`, ...) whose value is `value`.
    #[track_caller]
    fn push_sym_op(&mut self, target: &str, a: SymIntArgument, b: SymIntArgument, value: &Expr) -> SymIntArgument {
        let name = self.fresh_name(target.trim_start_matches("_operator."));
        self.nodes.push(Node {
            target: target.into(),
            inputs: vec![named("a", Argument::AsSymInt(a), 1), named("b", Argument::AsSymInt(b), 1)],
            outputs: vec![Argument::AsSymInt(SymIntArgument::AsName(name.clone()))],
            metadata: self.metadata(Location::caller()),
            is_hop_single_tensor_return: None,
            name: Some(name.clone()),
        });
        let h = self.env.hint(value);
        self.sym_int_values.insert(name.clone(), (value.clone(), h));
        SymIntArgument::AsName(name)
    }

    /// Records the product `a * b` of traced sizes as its own `_operator.mul` node, unless a node
    /// already computes it (see [`sym_mul`]).
    fn record_product(&mut self, a: &SymInt, b: &SymInt) -> Result<()> {
        let product = self.env.simplify(&(a.expr().clone() * b.expr().clone()));
        if product.as_int().is_some() || product.as_symbol().is_some() || self.computed_syms.contains_key(&product) {
            return Ok(());
        }
        let (x, y) = (self.sym_value(a.expr(), a.hint())?, self.sym_value(b.expr(), b.hint())?);
        if let SymIntArgument::AsName(n) = self.push_sym_op("_operator.mul", x, y, &product) {
            self.computed_syms.insert(product, n);
        }
        Ok(())
    }

    /// Records `aten.item` of a traced tensor: an unbacked symbol (`u0`) named by the node.

    /// Records a read of a tensor's single value (`item`, or core ATen's
    /// `_local_scalar_dense`) as an unbacked symbol.
    pub fn record_scalar_read(&mut self, op: &str, tensor: &str, at: &Location) -> Expr {
        let u = self.env.create_unbacked(false);
        let name = self.fresh_name(op);
        self.nodes.push(Node {
            target: format!("torch.ops.aten.{op}.default"),
            inputs: vec![named("self", Argument::AsTensor(TensorArgument { name: tensor.into() }), 1)],
            outputs: vec![Argument::AsSymInt(SymIntArgument::AsName(name.clone()))],
            metadata: self.metadata(at),
            is_hop_single_tensor_return: None,
            name: Some(name.clone()),
        });
        self.sym_int_values.insert(name.clone(), (u.clone(), None));
        self.symbol_nodes.insert(u.as_symbol().expect("a symbol").to_string(), name);
        u
    }

    /// The graph value of a condition on sizes: an `_operator` comparison node.
    pub fn sym_bool_value(&mut self, cond: &Expr, at: &Location) -> Result<String> {
        let Expr::Cmp(op, lhs, rhs) = cond else {
            return Err(Error::msg(format!("cannot compute the condition {cond} in the graph")));
        };
        let operator = cmp_operator(*op);
        let (a, b) = (self.sym_value(lhs, 0)?, self.sym_value(rhs, 0)?);
        let name = self.fresh_name(operator);
        let metadata = self.metadata(at);
        self.nodes.push(Node {
            target: format!("_operator.{operator}"),
            inputs: vec![named("a", Argument::AsSymInt(a), 1), named("b", Argument::AsSymInt(b), 1)],
            outputs: vec![Argument::AsSymBool(schema::SymBoolArgument::AsName(name.clone()))],
            metadata,
            is_hop_single_tensor_return: None,
            name: Some(name.clone()),
        });
        self.sym_bool_values.insert(name.clone(), cond.clone());
        Ok(name)
    }

    /// Takes the name torch.fx gives a comparison traced from user code (`ge` for
    /// `torch._check(a >= 0)`): PyTorch records that node and later drops it as dead, so the
    /// runtime assertion it then adds for the same condition is `ge_1`.
    pub fn reserve_comparison_name(&mut self, cond: &Expr) {
        if let Expr::Cmp(op, ..) = cond {
            self.fresh_name(cmp_operator(*op));
        }
    }

    /// Records `_assert_scalar(lhs op rhs)`: a runtime assertion over unbacked values.
    pub fn record_assert(&mut self, cond: &Expr, at: &Location) -> Result<()> {
        let name = self.sym_bool_value(cond, at)?;
        let metadata = self.metadata(at);
        let message = format!("Runtime assertion failed for expression {cond} on node '{name}'");
        let assert_name = self.fresh_name("_assert_scalar_default");
        self.nodes.push(Node {
            target: "torch.ops.aten._assert_scalar.default".into(),
            inputs: vec![
                named("self", Argument::AsSymBool(schema::SymBoolArgument::AsName(name)), 1),
                named("assert_msg", Argument::AsString(message), 1),
            ],
            outputs: vec![Argument::AsNone(true)],
            metadata,
            is_hop_single_tensor_return: None,
            name: Some(assert_name),
        });
        Ok(())
    }

    /// `stack_trace` and `nn_module_stack` for a node made at `at`.
    pub fn metadata(&self, at: &Location) -> IndexMap<String, String> {
        if let Some(m) = &self.metadata_override {
            return m.clone();
        }
        let mut m = IndexMap::new();
        let code = source_line(at.file(), at.line()).map(|c| format!("\n    {c}")).unwrap_or_default();
        m.insert("stack_trace".into(), format!("File \"{}\", line {}, in forward{code}", at.file(), at.line()));
        if !self.module_stack.is_empty() {
            let stack: Vec<String> = self
                .module_stack
                .iter()
                .map(|(fqn, ty)| {
                    let key = if fqn.is_empty() { "L__self__".to_string() } else { format!("L__self___{}", fqn.replace('.', "_")) };
                    format!("{key},{fqn},{ty}")
                })
                .collect();
            m.insert("nn_module_stack".into(), stack.join(";"));
        }
        m
    }
}

/// The text of line `line` of `file`, when the source is at hand (for `stack_trace`).
fn source_line(file: &str, line: u32) -> Option<String> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Option<Vec<String>>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let lines = c.entry(file.to_string()).or_insert_with(|| {
            // `file` is relative to the workspace the code was built in; tests run in a crate
            // folder below it
            let mut dir = std::env::current_dir().ok()?;
            for _ in 0..4 {
                if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
                    return Some(text.lines().map(|l| l.trim().to_string()).collect());
                }
                dir = dir.parent()?.to_path_buf();
            }
            None
        });
        lines.as_ref().and_then(|l| l.get(line.checked_sub(1)? as usize).cloned())
    })
}

pub(crate) fn named(name: &str, arg: Argument, kind: i64) -> NamedArgument {
    NamedArgument { name: name.into(), arg, kind: Some(schema::ArgumentKind(kind)) }
}

fn sym_int_meta(e: &Expr, hint: Option<i64>) -> schema::SymInt {
    match e {
        Expr::Int(v) => schema::SymInt::AsInt(*v),
        e => schema::SymInt::AsExpr(schema::SymExpr { expr_str: e.to_srepr(), hint: hint.map(schema::SymExprHint::AsInt) }),
    }
}

/// Strides for symbolic sizes: dense in the order of the example's strides, so a transposed
/// view reads `[1, s0]` where the example reads `[1, 8]`.
pub(crate) fn symbolic_strides(data: &tensor::Tensor, sizes: &[Expr]) -> Vec<Expr> {
    let strides = data.strides();
    if sizes.iter().all(|s| s.as_int().is_some()) {
        return strides.iter().map(|&s| Expr::Int(s as i64)).collect();
    }
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    // innermost first: smallest stride, later dims first on ties
    order.sort_by(|&a, &b| strides[a].cmp(&strides[b]).then(b.cmp(&a)));
    let mut out = vec![Expr::Int(0); sizes.len()];
    let mut acc = Expr::Int(1);
    for d in order {
        out[d] = if strides[d] == 0 && data.shape()[d] != 1 { Expr::Int(0) } else { acc.clone() };
        acc = acc * sizes[d].clone();
    }
    out
}

pub(crate) fn tensor_meta(data: &tensor::Tensor, sizes: &[Expr], requires_grad: bool) -> schema::TensorMeta {
    let strides = symbolic_strides(data, sizes);
    schema::TensorMeta {
        dtype: ir::dtype::to_scalar_type(data.dtype()),
        sizes: sizes.iter().zip(data.shape()).map(|(e, &h)| sym_int_meta(e, Some(h as i64))).collect(),
        requires_grad,
        device: schema::Device { type_: "cpu".into(), index: None },
        strides: strides.iter().map(|e| sym_int_meta(e, None)).collect(),
        storage_offset: schema::SymInt::AsInt(0),
        layout: schema::Layout::STRIDED,
    }
}

/// Runs `f` with the thread's tracer, if one is active.
pub(crate) fn with_tracer<R>(f: impl FnOnce(Option<&mut Tracer>) -> R) -> R {
    TRACER.with(|t| f(t.borrow_mut().as_mut()))
}

/// Traced data is read into host code at `at`: refused in strict mode, a specialization to the
/// example otherwise.
/// Reading a traced tensor's values into host code: refused while tracing, in strict and
/// non-strict export alike, because a program that used them (to branch, to size, to scale)
/// would compute with the example's values for every input.
pub(crate) fn host_read(what: &str, at: &Location) -> Result<()> {
    if !is_tracing() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "{}:{}: {what} reads a traced tensor's values into host code, so the exported program would keep the example's \
         values for every input. Branch inside the program with `cond`, keep the computation in tensors, or call \
         `Tensor::specialize_values()` to keep the example's values with a runtime check that refuses other inputs",
        at.file(),
        at.line()
    )))
}

/// Whether a program is being traced (export, or a decomposition being lowered) rather than run
/// eagerly: values exist only eagerly.
/// `a * b` on sizes as Python multiplies them while PyTorch traces: a symbolic product is
/// recorded as its own `_operator.mul` node when it is made, so that a product of several sizes
/// (`reduce(operator.mul, sizes)` in PyTorch's decompositions: `(s0 * 16) * 16`) is the chain of
/// nodes PyTorch records, each reused wherever the same value is needed again, instead of one
/// node with the constants folded (`256 * s0`).
pub fn sym_mul(a: &SymInt, b: &SymInt) -> Result<SymInt> {
    let product = a * b.clone();
    if is_tracing() && a.expr().as_int() != Some(1) && b.expr().as_int() != Some(1) {
        with_tracer(|t| t.expect("tracing").record_product(a, b))?;
    }
    Ok(product)
}

pub fn is_tracing() -> bool {
    TRACER.with(|t| t.borrow().is_some())
}

/// Runs `f` eagerly even while a program is being traced: nothing it calls is recorded, and
/// tracing resumes afterwards (also after a panic). A composite operator's kernel runs its
/// decomposition this way, so that tracing records the composite's node, not its parts; control
/// flow runs its branches' eager values this way.
pub fn untraced<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Tracer>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(tracer) = self.0.take() {
                TRACER.with(|slot| *slot.borrow_mut() = Some(tracer));
            }
        }
    }
    let _restore = Restore(TRACER.with(|t| t.borrow_mut().take()));
    f()
}

/// Installs `tracer` for the duration of `f`; returns it afterwards with what `f` returned.
pub(crate) fn tracing<R>(tracer: Tracer, f: impl FnOnce() -> R) -> (Tracer, R) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            TRACER.with(|t| t.borrow_mut().take());
        }
    }
    TRACER.with(|t| {
        let mut slot = t.borrow_mut();
        assert!(slot.is_none(), "export() cannot run inside another export()");
        *slot = Some(tracer);
    });
    let reset = Reset;
    let out = f();
    let tracer = TRACER.with(|t| t.borrow_mut().take()).expect("tracer installed above");
    std::mem::forget(reset);
    (tracer, out)
}

/// The `_operator` function of a comparison (`ge` for `>=`).
fn cmp_operator(op: symbolic::CmpOp) -> &'static str {
    match op {
        symbolic::CmpOp::Eq => "eq",
        symbolic::CmpOp::Ne => "ne",
        symbolic::CmpOp::Lt => "lt",
        symbolic::CmpOp::Le => "le",
        symbolic::CmpOp::Gt => "gt",
        symbolic::CmpOp::Ge => "ge",
    }
}

/// An argument to an operator, as the tensor API passes it.
#[derive(Clone)]
pub enum Arg {
    Tensor(Tensor),
    OptTensor(Option<Tensor>),
    Tensors(Vec<Tensor>),
    OptTensors(Vec<Option<Tensor>>),
    Int(SymInt),
    Ints(Vec<SymInt>),
    Float(f64),
    Bool(bool),
    None,
    Dtype(tensor::DType),
    Str(String),
    Device(String),
    /// A condition on sizes (`_operator.ge` of two `SymInt`s).
    SymBool(crate::symint::SymBool),
    /// Any other constant, with the graph argument it is recorded as.
    Literal(Value, Argument),
}

impl From<&Tensor> for Arg {
    fn from(t: &Tensor) -> Arg {
        Arg::Tensor(t.clone())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(SymInt::from(v))
    }
}
impl From<SymInt> for Arg {
    fn from(v: SymInt) -> Arg {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Arg {
        Arg::Float(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Bool(v)
    }
}
impl From<Vec<SymInt>> for Arg {
    fn from(v: Vec<SymInt>) -> Arg {
        Arg::Ints(v)
    }
}
impl From<&[i64]> for Arg {
    fn from(v: &[i64]) -> Arg {
        Arg::Ints(v.iter().map(|&i| SymInt::from(i)).collect())
    }
}
impl From<tensor::DType> for Arg {
    fn from(d: tensor::DType) -> Arg {
        Arg::Dtype(d)
    }
}

impl Arg {
    /// `memory_format=torch.contiguous_format`, as a recorded argument.
    pub fn contiguous_format() -> Arg {
        Arg::Literal(Value::MemoryFormat("torch.contiguous_format".into()), Argument::AsMemoryFormat(schema::MemoryFormat::CONTIGUOUS_FORMAT))
    }

    fn value(&self) -> Value {
        match self {
            Arg::Tensor(t) => Value::Tensor(t.data().clone()),
            Arg::OptTensor(Some(t)) => Value::Tensor(t.data().clone()),
            Arg::OptTensor(None) | Arg::None => Value::None,
            Arg::Tensors(ts) => Value::List(ts.iter().map(|t| Value::Tensor(t.data().clone())).collect()),
            Arg::OptTensors(ts) => Value::List(ts.iter().map(|t| t.as_ref().map(|t| Value::Tensor(t.data().clone())).unwrap_or(Value::None)).collect()),
            Arg::Int(i) => Value::Int(i.hint()),
            Arg::Ints(v) => Value::List(v.iter().map(|i| Value::Int(i.hint())).collect()),
            Arg::Float(f) => Value::Float(*f),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Dtype(d) => Value::Dtype(*d),
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Device(d) => Value::Device(d.clone()),
            Arg::SymBool(b) => Value::Bool(b.hint()),
            Arg::Literal(v, _) => v.clone(),
        }
    }

    fn symbolic(&self, tracer: &Tracer) -> Option<SymArg> {
        let sizes = |t: &Tensor| t.sym_sizes_in(tracer.family);
        match self {
            Arg::Tensor(t) | Arg::OptTensor(Some(t)) => Some(SymArg::Tensor(sizes(t))),
            Arg::Tensors(ts) => Some(SymArg::Tensors(ts.iter().map(|t| Some(sizes(t))).collect())),
            Arg::OptTensors(ts) => Some(SymArg::Tensors(ts.iter().map(|t| t.as_ref().map(sizes)).collect())),
            Arg::Int(i) => Some(SymArg::Int(i.expr().clone())),
            Arg::Ints(v) => Some(SymArg::Ints(v.iter().map(|i| i.expr().clone()).collect())),
            _ => None,
        }
    }
}

/// Whether a symbolic overlay holds any size that is not a constant.
fn has_symbols(a: &Option<SymArg>) -> bool {
    let sym = |e: &Expr| e.as_int().is_none();
    match a {
        Some(SymArg::Tensor(s)) => s.iter().any(sym),
        Some(SymArg::Tensors(v)) => v.iter().flatten().flatten().any(sym),
        Some(SymArg::Int(e)) => sym(e),
        Some(SymArg::Ints(v)) => v.iter().any(sym),
        None => false,
    }
}

/// Calls operator `op` (`aten::add.Tensor`) on the arguments: runs its kernel and, while
/// tracing, records the call. Returns the tensor outputs, flattened. On shapes-only (meta)
/// tensors no kernel runs: the operator's meta function and dtype rule make meta outputs.
#[track_caller]
pub fn call(op: impl AsRef<str>, args: Vec<Arg>, kwargs: Vec<(&str, Arg)>) -> Result<Vec<Tensor>> {
    let at = Location::caller();
    let op = op.as_ref();
    let def = Registry::global().lookup(op)?;
    if is_tracing() {
        if let Some(lowered) = crate::retrace::lowered_call(&def, &args, &kwargs) {
            return lowered;
        }
    }
    let positional: Vec<Value> = args.iter().map(Arg::value).collect();
    let named_values: Vec<(String, Value)> = kwargs.iter().map(|(k, v)| (k.to_string(), v.value())).collect();
    let shapes_only = positional.iter().chain(named_values.iter().map(|(_, v)| v)).any(Value::holds_meta);
    let outs = if shapes_only {
        None
    } else {
        let out = def.call(positional.clone(), named_values.clone()).map_err(|e| at_user_line(e, at))?;
        Some(match out {
            Value::Tensor(t) => vec![t],
            Value::List(vs) => vs.into_iter().filter_map(|v| if let Value::Tensor(t) = v { Some(t) } else { None }).collect(),
            _ => vec![],
        })
    };
    if !is_tracing() {
        let outs = match outs {
            Some(outs) => outs,
            None => eager_meta(&def, positional, named_values, at)?,
        };
        return Ok(outs.into_iter().map(Tensor::eager).collect());
    }
    with_tracer(|t| record(t.expect("tracing"), &def, &args, &kwargs, positional, named_values, outs, at))
}

/// A kernel's refusal while tracing, with the user's line it came from (`mat1 and mat2 shapes
/// cannot be multiplied (5x3 and 8x2) (at model.rs:12)`); typed errors keep their type.
fn at_user_line(e: Error, at: &Location) -> Error {
    match e {
        Error::Message(m) if is_tracing() => Error::Message(format!("{m} (at {}:{})", at.file(), at.line())),
        other => other,
    }
}

/// Outside a trace, an operator on meta tensors gives meta tensors of the sizes and dtypes its
/// meta function and dtype rule give (building a model on the meta device).
fn eager_meta(def: &ops::OpDef, positional: Vec<Value>, named_values: Vec<(String, Value)>, at: &Location) -> Result<Vec<tensor::Tensor>> {
    let location = format!("{}:{}", at.file(), at.line());
    let bound = ops::Args::bind(&def.schema, positional, named_values)?;
    def.meta_tensors(&bound, Some(&location)).map_err(|e| Error::msg(format!("{e} (shapes only, at {location})")))
}

/// A meta tensor with the example sizes (hints) of symbolic `sizes`.
fn meta_tensor(def: &ops::OpDef, sizes: &[Expr], dtype: tensor::DType, env: &symbolic::ShapeEnv, location: &str) -> Result<tensor::Tensor> {
    let shape = sizes
        .iter()
        .map(|e| match env.hint(e) {
            Some(h) if h >= 0 => Ok(h as usize),
            _ => Err(Error::msg(format!(
                "{}: an output size ({e}) depends on tensor values, which shapes-only tensors do not have (at {location}); \
                 export with real example data instead",
                def.name()
            ))),
        })
        .collect::<Result<Vec<usize>>>()?;
    Ok(tensor::Tensor::meta(&shape, dtype))
}

#[allow(clippy::too_many_arguments)]
fn record(
    tracer: &mut Tracer,
    def: &ops::OpDef,
    args: &[Arg],
    kwargs: &[(&str, Arg)],
    positional: Vec<Value>,
    named_values: Vec<(String, Value)>,
    outs: Option<Vec<tensor::Tensor>>,
    at: &Location,
) -> Result<Vec<Tensor>> {
    let op = def.name();
    // the symbolic overlay, by parameter index
    let schema = &def.schema;
    let mut sym: Vec<Option<SymArg>> = vec![None; schema.params.len()];
    let mut symbolic = false;
    for (i, a) in args.iter().enumerate() {
        if i < sym.len() {
            sym[i] = a.symbolic(tracer);
            symbolic |= has_symbols(&sym[i]);
        }
    }
    for (k, a) in kwargs {
        if let Some(i) = schema.param_index(k) {
            sym[i] = a.symbolic(tracer);
            symbolic |= has_symbols(&sym[i]);
        }
    }
    let location = format!("{}:{}", at.file(), at.line());
    let bound = ops::Args::bind(schema, positional, named_values)?;
    // the dtype rule must agree with the kernel on the example, as the meta function must
    // (shapes-only export has only the rule)
    if let Some(outs) = &outs {
        let dtypes = def.dtype.output_dtypes(&bound).map_err(|e| Error::msg(format!("{} (at {location})", e)))?;
        let list_return = dtypes.len() == 1 && outs.len() > 1;
        for (i, t) in outs.iter().enumerate() {
            let want = if list_return { dtypes[0] } else { dtypes.get(i).copied().unwrap_or(t.dtype()) };
            if want != t.dtype() {
                return Err(Error::msg(format!("{op}: its dtype rule gives {want:?} for output {i}, but the kernel made {:?} (at {location})", t.dtype())));
            }
        }
    }
    // an operator without a meta function: a draft runs it on the data and keeps the
    // example's output sizes
    let draft_static = def.meta.is_none() && outs.is_some() && crate::draft::drafting();
    if def.meta.is_none() && !op.starts_with("aten::") {
        let message = format!(
            "custom operator {op} has no meta (fake) implementation, so it cannot be exported: register it with \
             `Registry::register_with_meta(schema, tags, kernel, meta)` (at {location})"
        );
        if !draft_static {
            return Err(Error::msg(message));
        }
        let fix = "register a meta function: `Registry::register_with_meta(schema, tags, kernel, meta)`".to_string();
        crate::draft::record(crate::draft::ProblemKind::MissingCustomMeta, message, Some(location.clone()), vec![fix]);
    } else if draft_static && symbolic {
        crate::draft::record(
            crate::draft::ProblemKind::MissingMeta,
            format!("{op} has no meta function, so it cannot be traced with dynamic shapes; its outputs keep the example's sizes"),
            Some(location.clone()),
            vec![format!("give {op} a meta function where it is registered (`.meta(..)`), or declare these sizes static")],
        );
    }
    let symbolic = symbolic && !draft_static;
    let mut asserts_before = usize::MAX;
    let (out_sizes, outs): (Vec<Vec<Expr>>, Vec<tensor::Tensor>) = match outs {
        Some(outs) if !symbolic => (outs.iter().map(|t| t.shape().iter().map(|&d| Expr::Int(d as i64)).collect()).collect(), outs),
        outs => {
            let shapes_only = outs.is_none();
            if def.meta.is_none() {
                let why = if shapes_only { "run on shapes-only (meta) tensors" } else { "traced with dynamic shapes" };
                return Err(Error::msg(format!("{op} has no meta function, so it cannot be {why} (at {location})")));
            }
            let out_shapes: Vec<Vec<i64>> = outs.iter().flatten().map(|t| t.shape().iter().map(|&d| d as i64).collect()).collect();
            asserts_before = tracer.env.runtime_asserts().len();
            let mut call = ops::MetaCall { args: &bound, sym: &sym, env: &mut tracer.env, location: Some(&location), out_shapes: &out_shapes };
            let metas = def.output_meta(&mut call).map_err(|e| Error::msg(format!("{} (at {location})", e)))?;
            let sizes: Vec<Vec<Expr>> = metas.iter().map(|(s, _)| s.clone()).collect();
            match outs {
                Some(outs) => {
                    // the meta function must agree with the kernel on the example
                    if sizes.len() != outs.len() {
                        return Err(Error::msg(format!("meta function of {op} gives {} outputs, the kernel {}", sizes.len(), outs.len())));
                    }
                    for (s, t) in sizes.iter().zip(&outs) {
                        // sizes over unbacked values have no hint to compare
                        let agrees = s.len() == t.shape().len() && s.iter().zip(t.shape()).all(|(e, &d)| tracer.env.hint(e).is_none_or(|h| h == d as i64));
                        if !agrees {
                            return Err(Error::msg(format!("meta function of {op} gives sizes {s:?}, but the kernel's output has shape {:?}", t.shape())));
                        }
                    }
                    (sizes, outs)
                }
                None => {
                    let outs = metas.iter().map(|(s, dtype)| meta_tensor(def, s, *dtype, &tracer.env, &location)).collect::<Result<Vec<_>>>()?;
                    (sizes, outs)
                }
            }
        }
    };

    // the node's arguments, by parameter name
    let mut inputs = Vec::new();
    for (i, a) in args.iter().enumerate() {
        let p = schema.params.get(i).ok_or_else(|| Error::msg(format!("{op} takes {} arguments, got {}", schema.params.len(), args.len())))?;
        inputs.push(named(&p.name, argument(tracer, a)?, 1));
    }
    for (k, a) in kwargs {
        inputs.push(named(k, argument(tracer, a)?, 2));
    }
    let (op_name, overload) = schema.namespace_and_op().1.split_once('.').unwrap_or((schema.namespace_and_op().1, "default"));
    // torch.fx names a node by its first output; one with none keeps the operator's own name
    // (`_assert_tensor_metadata_default`)
    let base = if schema.returns.is_empty() { format!("{op_name}_{overload}") } else { op_name.to_string() };
    let list_return = schema.returns.len() == 1 && matches!(schema.returns[0].ty, ops::schema::Type::List(..));
    let requires_grad = false;
    let mut results = Vec::new();
    let node_name;
    let outputs = if list_return {
        node_name = tracer.fresh_name(&base);
        let mut names = Vec::new();
        for (t, s) in outs.into_iter().zip(out_sizes) {
            let name = tracer.fresh_name("getitem");
            names.push(TensorArgument { name: name.clone() });
            results.push(tracer.new_value(name, t, s, requires_grad));
        }
        vec![Argument::AsTensors(names)]
    } else if outs.len() == 1 {
        node_name = tracer.fresh_name(&base);
        let t = outs.into_iter().next().expect("one output");
        results.push(tracer.new_value(node_name.clone(), t, out_sizes.into_iter().next().expect("one"), requires_grad));
        vec![Argument::AsTensor(TensorArgument { name: node_name.clone() })]
    } else {
        node_name = tracer.fresh_name(&base);
        let mut v = Vec::new();
        for (t, s) in outs.into_iter().zip(out_sizes) {
            let name = tracer.fresh_name("getitem");
            v.push(Argument::AsTensor(TensorArgument { name: name.clone() }));
            results.push(tracer.new_value(name, t, s, requires_grad));
        }
        v
    };
    let metadata = tracer.metadata(at);
    tracer.nodes.push(Node {
        target: format!("torch.ops.{}", op.replace("::", ".")),
        inputs,
        outputs,
        metadata,
        is_hop_single_tensor_return: None,
        name: Some(node_name),
    });
    // sizes the meta function made from data (unbacked) are read from the outputs, and what
    // it asserted of them is checked when the program runs
    if asserts_before != usize::MAX {
        for r in &results {
            let info = r.trace_info().expect("traced output");
            for (d, e) in info.sizes.iter().enumerate() {
                if let Some(sym) = e.as_symbol() {
                    tracer.symbol_sources.entry(sym.to_string()).or_insert(SymbolSource { value: info.name.clone(), dim: d, input: false });
                }
            }
        }
        let added: Vec<Expr> = tracer.env.runtime_asserts()[asserts_before..].iter().map(|g| g.expr.clone()).collect();
        for e in added {
            tracer.record_assert(&e, at)?;
        }
    }
    Ok(results)
}

/// The graph argument for `a` (for nodes built outside [`call`]).
pub(crate) fn argument_of(tracer: &mut Tracer, a: &Arg) -> Result<Argument> {
    argument(tracer, a)
}

/// The graph argument for `a`; tensors from outside the trace are lifted as constants.
fn argument(tracer: &mut Tracer, a: &Arg) -> Result<Argument> {
    Ok(match a {
        Arg::Tensor(t) | Arg::OptTensor(Some(t)) => Argument::AsTensor(tensor_arg(tracer, t)),
        Arg::OptTensor(None) | Arg::None => Argument::AsNone(true),
        Arg::Tensors(ts) => Argument::AsTensors(ts.iter().map(|t| tensor_arg(tracer, t)).collect()),
        Arg::OptTensors(ts) => Argument::AsOptionalTensors(
            ts.iter()
                .map(|t| match t {
                    Some(t) => schema::OptionalTensorArgument::AsTensor(tensor_arg(tracer, t)),
                    None => schema::OptionalTensorArgument::AsNone(true),
                })
                .collect(),
        ),
        Arg::Int(i) => match tracer.sym_value(i.expr(), i.hint())? {
            SymIntArgument::AsInt(v) => Argument::AsInt(v),
            name => Argument::AsSymInt(name),
        },
        Arg::Ints(v) => {
            let parts: Vec<SymIntArgument> = v.iter().map(|i| tracer.sym_value(i.expr(), i.hint())).collect::<Result<_>>()?;
            if parts.iter().all(|p| matches!(p, SymIntArgument::AsInt(_))) {
                Argument::AsInts(parts.into_iter().map(|p| if let SymIntArgument::AsInt(v) = p { v } else { 0 }).collect())
            } else {
                Argument::AsSymInts(parts)
            }
        }
        Arg::Float(f) => Argument::AsFloat(ir::float::F64(*f)),
        Arg::Bool(b) => Argument::AsBool(*b),
        Arg::Dtype(d) => Argument::AsScalarType(ir::dtype::to_scalar_type(*d)),
        Arg::Str(s) => Argument::AsString(s.clone()),
        Arg::Device(d) => Argument::AsDevice(schema::Device { type_: d.clone(), index: None }),
        Arg::SymBool(b) => match tracer.env.simplify(b.expr()) {
            Expr::Bool(v) => Argument::AsBool(v),
            e => Argument::AsSymBool(schema::SymBoolArgument::AsName(tracer.sym_bool_value(&e, Location::caller())?)),
        },
        Arg::Literal(_, a) => a.clone(),
    })
}

fn tensor_arg(tracer: &mut Tracer, t: &Tensor) -> TensorArgument {
    if let Some(name) = t.name_in(tracer.id) {
        return TensorArgument { name };
    }
    // a value of an enclosing graph used in a subgraph: an extra input of the subgraph
    if let Some(info) = t.trace_info().filter(|i| i.family == tracer.family) {
        if let Some((_, inner)) = tracer.captured.iter().find(|(outer, _)| outer.same_as(t)) {
            return TensorArgument { name: inner.name_in(tracer.id).expect("captured in this graph") };
        }
        let name = tracer.fresh_name(&info.name);
        let inner = tracer.new_value(name.clone(), t.data(), info.sizes.clone(), false);
        tracer.captured.push((t.clone(), inner));
        return TensorArgument { name };
    }
    // a tensor made outside the trace: a constant of the program
    let index = tracer.constants.len();
    let name = tracer.fresh_name(&format!("c_lifted_tensor_{index}"));
    let target = format!("lifted_tensor_{index}");
    tracer.constants.push((target.clone(), t.data().clone()));
    tracer.placeholders.push(Placeholder { name: name.clone(), kind: PlaceholderKind::Constant { target } });
    let sizes = t.data().shape().iter().map(|&d| Expr::Int(d as i64)).collect();
    tracer.new_value(name.clone(), t.data().clone(), sizes, false);
    TensorArgument { name }
}

#[cfg(test)]
mod tests {
    use super::PYTHON_RESERVED;

    #[test]
    fn reserved_names_are_sorted_for_binary_search() {
        assert!(PYTHON_RESERVED.windows(2).all(|w| w[0] < w[1]));
    }
}
