//! Running a graph: each node's operator is looked up in the registry and called with its
//! arguments resolved from the values computed so far. Higher-order operators (`cond`,
//! `map_impl`, `scan`, `while_loop`) run their subgraphs recursively. Each intermediate is
//! dropped after its last use.

use std::collections::HashMap;

use ops::{Registry, Value};
use tensor::Tensor;

use crate::program::ExportedProgram;
use crate::schema::{self, Argument, Graph, InputSpec, Node, OutputSpec};
use crate::{dtype, Error, Result};

/// Values by name while a graph runs.
type Env = HashMap<String, Value>;

fn lookup(env: &Env, name: &str, node: &str) -> Result<Value> {
    env.get(name).cloned().ok_or_else(|| Error::msg(format!("node `{node}`: value `{name}` is not defined before its use")))
}

fn sym_int(env: &Env, a: &schema::SymIntArgument, node: &str) -> Result<Value> {
    match a {
        schema::SymIntArgument::AsName(n) => lookup(env, n, node),
        schema::SymIntArgument::AsInt(i) => Ok(Value::Int(*i)),
    }
}

fn sym_bool(env: &Env, a: &schema::SymBoolArgument, node: &str) -> Result<Value> {
    match a {
        schema::SymBoolArgument::AsName(n) => lookup(env, n, node),
        schema::SymBoolArgument::AsBool(b) => Ok(Value::Bool(*b)),
    }
}

fn sym_float(env: &Env, a: &schema::SymFloatArgument, node: &str) -> Result<Value> {
    match a {
        schema::SymFloatArgument::AsName(n) => lookup(env, n, node),
        schema::SymFloatArgument::AsFloat(f) => Ok(Value::Float(f.0)),
    }
}

fn optional_tensor(env: &Env, a: &schema::OptionalTensorArgument, node: &str) -> Result<Value> {
    match a {
        schema::OptionalTensorArgument::AsTensor(t) => lookup(env, &t.name, node),
        schema::OptionalTensorArgument::AsNone(_) => Ok(Value::None),
    }
}

/// The PyTorch spelling of a layout or memory format code, as `Value` keeps it.
fn layout_name(l: schema::Layout) -> &'static str {
    match l.0 {
        7 => "torch.strided",
        1 => "torch.sparse_coo",
        _ => "torch.unknown_layout",
    }
}

fn memory_format_name(m: schema::MemoryFormat) -> &'static str {
    match m.0 {
        1 => "torch.contiguous_format",
        2 => "torch.channels_last",
        3 => "torch.channels_last_3d",
        4 => "torch.preserve_format",
        _ => "torch.unknown_memory_format",
    }
}

/// The value of an argument that names no graph value (a literal: ints, floats, dtypes, ...);
/// `None` for arguments that refer to values.
pub fn literal(a: &Argument) -> Option<Value> {
    resolve(&Env::new(), a, "").ok()
}

/// Resolves a node argument to a value. Subgraph arguments are handled by the caller.
fn resolve(env: &Env, a: &Argument, node: &str) -> Result<Value> {
    use Argument::*;
    let list = |vs: Result<Vec<Value>>| vs.map(Value::List);
    Ok(match a {
        AsNone(_) => Value::None,
        AsTensor(t) => lookup(env, &t.name, node)?,
        AsTensors(ts) => list(ts.iter().map(|t| lookup(env, &t.name, node)).collect())?,
        AsInt(i) => Value::Int(*i),
        AsInts(is) => Value::List(is.iter().map(|&i| Value::Int(i)).collect()),
        AsFloat(f) => Value::Float(f.0),
        AsFloats(fs) => Value::List(fs.iter().map(|f| Value::Float(f.0)).collect()),
        AsString(s) => Value::Str(s.clone()),
        AsStrings(ss) => Value::List(ss.iter().map(|s| Value::Str(s.clone())).collect()),
        AsSymInt(s) => sym_int(env, s, node)?,
        AsSymInts(ss) => list(ss.iter().map(|s| sym_int(env, s, node)).collect())?,
        AsScalarType(s) => Value::Dtype(dtype::to_dtype(*s).map_err(|e| Error::msg(format!("node `{node}`: {e}")))?),
        AsMemoryFormat(m) => Value::MemoryFormat(memory_format_name(*m).into()),
        AsLayout(l) => Value::Layout(layout_name(*l).into()),
        AsDevice(d) => Value::Device(d.type_.clone()),
        AsBool(b) => Value::Bool(*b),
        AsBools(bs) => Value::List(bs.iter().map(|&b| Value::Bool(b)).collect()),
        AsSymBool(s) => sym_bool(env, s, node)?,
        AsSymBools(ss) => list(ss.iter().map(|s| sym_bool(env, s, node)).collect())?,
        AsOptionalTensors(ts) => list(ts.iter().map(|t| optional_tensor(env, t, node)).collect())?,
        AsOptionalTensor(t) => optional_tensor(env, t, node)?,
        AsSymFloat(s) => sym_float(env, s, node)?,
        AsSymFloats(ss) => list(ss.iter().map(|s| sym_float(env, s, node)).collect())?,
        AsOperator(s) => Value::Str(s.clone()),
        AsIntLists(ls) => Value::List(ls.iter().map(|l| Value::List(l.iter().map(|&i| Value::Int(i)).collect())).collect()),
        AsFloatLists(ls) => {
            Value::List(ls.iter().map(|l| Value::List(l.iter().map(|f| Value::Float(f.0)).collect())).collect())
        }
        AsGraph(_) | AsCustomObj(_) | AsComplex(_) | AsNestedTensors(_) | AsStringToArgument(_) => {
            return Err(Error::msg(format!("node `{node}`: argument kind {a:?} is not supported by pt2's interpreter")))
        }
    })
}

/// The names a node's outputs bind, and how: one name per returned value (`None` for an
/// output PyTorch did not name).
fn bind_outputs(env: &mut Env, node: &Node, result: Value) -> Result<()> {
    let outs = &node.outputs;
    let name = node.name.as_deref().unwrap_or(&node.target);
    let bind_one = |env: &mut Env, a: &Argument, v: Value| -> Result<()> {
        match a {
            Argument::AsTensor(t) => {
                env.insert(t.name.clone(), v);
            }
            Argument::AsSymInt(schema::SymIntArgument::AsName(n))
            | Argument::AsSymBool(schema::SymBoolArgument::AsName(n))
            | Argument::AsSymFloat(schema::SymFloatArgument::AsName(n)) => {
                env.insert(n.clone(), v);
            }
            Argument::AsTensors(ts) => {
                let Value::List(vs) = v else {
                    return Err(Error::msg(format!("node `{name}`: expected a list of tensors from {}", node.target)));
                };
                if vs.len() != ts.len() {
                    return Err(Error::msg(format!("node `{name}`: {} outputs named but {} returned", ts.len(), vs.len())));
                }
                for (t, v) in ts.iter().zip(vs) {
                    env.insert(t.name.clone(), v);
                }
            }
            Argument::AsOptionalTensors(ts) => {
                let Value::List(vs) = v else {
                    return Err(Error::msg(format!("node `{name}`: expected a list from {}", node.target)));
                };
                for (t, v) in ts.iter().zip(vs) {
                    if let schema::OptionalTensorArgument::AsTensor(t) = t {
                        env.insert(t.name.clone(), v);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    };
    match (outs.len(), result) {
        (0, _) => Ok(()),
        (1, Value::List(vs)) if !matches!(outs[0], Argument::AsTensors(_) | Argument::AsOptionalTensors(_)) => {
            // a one-element tuple return (or a higher-order op's single-tensor result)
            let v = vs.into_iter().next().ok_or_else(|| Error::msg(format!("node `{name}`: no value returned")))?;
            bind_one(env, &outs[0], v)
        }
        (1, v) => bind_one(env, &outs[0], v),
        (n, Value::List(vs)) => {
            if vs.len() != n {
                return Err(Error::msg(format!("node `{name}`: {n} outputs named but {} returned", vs.len())));
            }
            for (a, v) in outs.iter().zip(vs) {
                bind_one(env, a, v)?;
            }
            Ok(())
        }
        (n, v) => Err(Error::msg(format!("node `{name}`: {n} outputs named but one {} returned", v.kind()))),
    }
}

/// Where each value is used last, so it can be dropped right after (by node index; outputs of
/// the graph are used "after" the last node).
fn last_uses(graph: &Graph) -> HashMap<String, usize> {
    let mut last = HashMap::new();
    let names = crate::print::arg_names;
    for (i, node) in graph.nodes.iter().enumerate() {
        let mut used = Vec::new();
        for a in &node.inputs {
            names(&a.arg, &mut used);
        }
        for n in used {
            last.insert(n, i);
        }
    }
    let mut used = Vec::new();
    for a in &graph.outputs {
        names(a, &mut used);
    }
    for n in used {
        last.insert(n, usize::MAX);
    }
    last
}

/// Runs a graph on values for its placeholders (in `graph.inputs` order) and returns the values
/// of `graph.outputs`.
pub fn run_graph(graph: &Graph, inputs: Vec<Value>, registry: &Registry) -> Result<Vec<Value>> {
    if inputs.len() != graph.inputs.len() {
        return Err(Error::msg(format!("graph takes {} inputs but {} were given", graph.inputs.len(), inputs.len())));
    }
    let mut env = Env::new();
    for (a, v) in graph.inputs.iter().zip(inputs) {
        let placeholder = Node {
            target: "placeholder".into(),
            inputs: vec![],
            outputs: vec![a.clone()],
            metadata: Default::default(),
            is_hop_single_tensor_return: None,
            name: None,
        };
        bind_outputs(&mut env, &placeholder, v)?;
    }
    let last = last_uses(graph);
    let mut frees: Vec<Vec<&str>> = vec![Vec::new(); graph.nodes.len()];
    for (name, &i) in &last {
        if i < graph.nodes.len() {
            frees[i].push(name);
        }
    }
    let profile = std::env::var_os("PT2_PROFILE").is_some();
    for (i, node) in graph.nodes.iter().enumerate() {
        let t0 = std::time::Instant::now();
        let result = run_node(&env, node, registry)?;
        if profile {
            eprintln!("PROFILE {} {:.3}", node.target, t0.elapsed().as_secs_f64() * 1e3);
        }
        bind_outputs(&mut env, node, result)?;
        for name in &frees[i] {
            env.remove(*name);
        }
    }
    graph.outputs.iter().map(|a| resolve(&env, a, "output")).collect()
}

fn node_label(node: &Node) -> &str {
    node.name.as_deref().unwrap_or(&node.target)
}

fn run_node(env: &Env, node: &Node, registry: &Registry) -> Result<Value> {
    let target = node.target.as_str();
    if let Some(op) = target.strip_prefix("torch.ops.higher_order.") {
        return crate::interpret::higher_order(env, node, op, registry);
    }
    if let Some(op) = target.strip_prefix("_operator.") {
        let args = node.inputs.iter().map(|a| resolve(env, &a.arg, node_label(node))).collect::<Result<Vec<_>>>()?;
        return python_operator(op, &args).map_err(|e| Error::msg(format!("node `{}` ({target}): {e}", node_label(node))));
    }
    let name = target.strip_prefix("torch.ops.").unwrap_or(target);
    let def = registry.get(name).ok_or_else(|| {
        Error::msg(format!(
            "node `{}`: operator {name} is not registered{}",
            node_label(node),
            if name.starts_with("aten.") { "" } else { "; register a kernel for this custom operator with ops::Registry::register before loading" }
        ))
    })?;
    let mut positional = Vec::new();
    let mut kwargs = Vec::new();
    for a in &node.inputs {
        let v = resolve(env, &a.arg, node_label(node))?;
        if a.kind == Some(schema::ArgumentKind::KEYWORD) {
            kwargs.push((a.name.clone(), v));
        } else {
            positional.push(v);
        }
    }
    def.call(positional, kwargs).map_err(|e| Error::msg(format!("node `{}`: {e}", node_label(node))))
}

/// `_operator.add` and friends, on the ints, floats and bools of symbolic sizes.
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
        "floordiv" if both_int => {
            let (x, y) = (int(a), int(b));
            if y == 0 {
                return Err("integer division by zero".into());
            }
            // Python rounds toward negative infinity
            let q = x.wrapping_div(y);
            Value::Int(if x % y != 0 && ((x < 0) != (y < 0)) { q - 1 } else { q })
        }
        "mod" if both_int => {
            let (x, y) = (int(a), int(b));
            if y == 0 {
                return Err("integer modulo by zero".into());
            }
            Value::Int(((x % y) + y) % y)
        }
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

fn subgraph<'a>(node: &'a Node, index: usize) -> Result<&'a Graph> {
    match node.inputs.get(index).map(|a| &a.arg) {
        Some(Argument::AsGraph(g)) => Ok(&g.graph),
        _ => Err(Error::msg(format!("node `{}`: argument {index} of {} must be a subgraph", node_label(node), node.target))),
    }
}

fn tensor_list(env: &Env, node: &Node, index: usize) -> Result<Vec<Value>> {
    match node.inputs.get(index) {
        None => Ok(Vec::new()),
        Some(a) => match resolve(env, &a.arg, node_label(node))? {
            Value::List(vs) => Ok(vs),
            v => Ok(vec![v]),
        },
    }
}

fn as_tensor(v: &Value, what: &str) -> Result<Tensor> {
    match v {
        Value::Tensor(t) => Ok(t.clone()),
        other => Err(Error::msg(format!("{what}: expected a tensor, got {}", other.kind()))),
    }
}

fn stack(values: Vec<Tensor>, what: &str) -> Result<Tensor> {
    let unsqueezed = values.iter().map(|t| t.unsqueeze(0)).collect::<std::result::Result<Vec<_>, _>>()?;
    let r = Registry::global().call("aten::cat", vec![Value::List(unsqueezed.into_iter().map(Value::Tensor).collect())], vec![])
        .map_err(|e| Error::msg(format!("{what}: stacking results: {e}")))?;
    as_tensor(&r, what)
}

/// `cond`, `map_impl`, `scan` and `while_loop`.
fn higher_order(env: &Env, node: &Node, op: &str, registry: &Registry) -> Result<Value> {
    let label = node_label(node);
    match op {
        "cond" => {
            let pred = resolve(env, &node.inputs[0].arg, label)?;
            let take_true = match pred {
                Value::Bool(b) => b,
                Value::Int(i) => i != 0,
                Value::Tensor(t) => t.item_f64().map_err(|e| Error::msg(format!("node `{label}`: cond predicate: {e}")))? != 0.0,
                other => return Err(Error::msg(format!("node `{label}`: cond predicate must be a bool or a one-element tensor, got {}", other.kind()))),
            };
            let operands = tensor_list(env, node, 3)?;
            let branch = subgraph(node, if take_true { 1 } else { 2 })?;
            Ok(Value::List(run_graph(branch, operands, registry)?))
        }
        "map_impl" => {
            let body = subgraph(node, 0)?;
            let xs = tensor_list(env, node, 1)?;
            let extra = tensor_list(env, node, 2)?;
            let xs: Vec<Tensor> = xs.iter().map(|v| as_tensor(v, label)).collect::<Result<_>>()?;
            let n = xs.first().map(|t| t.shape().first().copied().unwrap_or(0)).unwrap_or(0);
            let mut per_output: Vec<Vec<Tensor>> = Vec::new();
            for i in 0..n {
                let mut args: Vec<Value> = xs.iter().map(|x| x.select(0, i as i64).map(Value::Tensor)).collect::<std::result::Result<_, _>>()?;
                args.extend(extra.iter().cloned());
                let outs = run_graph(body, args, registry)?;
                per_output.resize(outs.len(), Vec::new());
                for (k, o) in outs.iter().enumerate() {
                    per_output[k].push(as_tensor(o, label)?);
                }
            }
            let stacked = per_output.into_iter().map(|ts| stack(ts, label).map(Value::Tensor)).collect::<Result<Vec<_>>>()?;
            Ok(Value::List(stacked))
        }
        "scan" => {
            let combine = subgraph(node, 0)?;
            let mut carry = tensor_list(env, node, 1)?;
            let xs: Vec<Tensor> = tensor_list(env, node, 2)?.iter().map(|v| as_tensor(v, label)).collect::<Result<_>>()?;
            let extra = tensor_list(env, node, 3)?;
            let n = xs.first().map(|t| t.shape().first().copied().unwrap_or(0)).unwrap_or(0);
            let mut ys: Vec<Vec<Tensor>> = Vec::new();
            for i in 0..n {
                let mut args = carry.clone();
                for x in &xs {
                    args.push(Value::Tensor(x.select(0, i as i64)?));
                }
                args.extend(extra.iter().cloned());
                let mut outs = run_graph(combine, args, registry)?;
                let rest = outs.split_off(carry.len().min(outs.len()));
                carry = outs;
                ys.resize(rest.len(), Vec::new());
                for (k, y) in rest.iter().enumerate() {
                    ys[k].push(as_tensor(y, label)?);
                }
            }
            let mut result = carry;
            for y in ys {
                result.push(Value::Tensor(stack(y, label)?));
            }
            Ok(Value::List(result))
        }
        "while_loop" => {
            let cond_fn = subgraph(node, 0)?;
            let body_fn = subgraph(node, 1)?;
            let mut carried = tensor_list(env, node, 2)?;
            let extra = tensor_list(env, node, 3)?;
            loop {
                let mut args = carried.clone();
                args.extend(extra.iter().cloned());
                let pred = run_graph(cond_fn, args.clone(), registry)?;
                let go = match pred.first() {
                    Some(Value::Tensor(t)) => t.item_f64()? != 0.0,
                    Some(Value::Bool(b)) => *b,
                    _ => return Err(Error::msg(format!("node `{label}`: while_loop cond_fn must return a bool"))),
                };
                if !go {
                    return Ok(Value::List(carried));
                }
                carried = run_graph(body_fn, args, registry)?;
            }
        }
        "wrap_with_set_grad_enabled" => {
            // (enabled, body, *operands): pt2 computes no gradients, so the flag changes nothing
            let body = subgraph(node, 1)?;
            let operands = node.inputs[2..].iter().map(|a| resolve(env, &a.arg, label)).collect::<Result<Vec<_>>>()?;
            Ok(Value::List(run_graph(body, operands, registry)?))
        }
        other => Err(Error::msg(format!("node `{label}`: higher-order operator {other} is not supported"))),
    }
}

impl ExportedProgram {
    /// Runs the program on its user inputs (flattened in PyTorch's pytree order): lifted
    /// parameters, buffers and constants are supplied from the program, buffer mutations are
    /// written back to the program's state and user-input mutations to the inputs, as
    /// PyTorch's unlifted module does. Returns the user outputs, flattened.
    pub fn run(&self, user_inputs: Vec<Value>) -> Result<Vec<Value>> {
        let registry = Registry::global();
        let sig = self.signature();
        let expected = sig.input_specs.iter().filter(|s| matches!(s, InputSpec::UserInput(_) | InputSpec::ConstantInput(_))).count();
        if user_inputs.len() != expected {
            return Err(Error::msg(format!("the program takes {expected} user inputs but {} were given", user_inputs.len())));
        }
        let mut user = user_inputs.iter().cloned();
        let mut inputs = Vec::with_capacity(sig.input_specs.len());
        let mut user_by_placeholder = HashMap::new();
        for spec in &sig.input_specs {
            inputs.push(match spec {
                InputSpec::UserInput(u) => {
                    let v = user.next().expect("counted above");
                    if let Argument::AsTensor(t) = &u.arg {
                        user_by_placeholder.insert(t.name.clone(), v.clone());
                    }
                    v
                }
                InputSpec::Parameter(p) => Value::Tensor(self.state(&p.parameter_name)?),
                InputSpec::Buffer(b) => Value::Tensor(self.state(&b.buffer_name)?),
                InputSpec::TensorConstant(c) => Value::Tensor(self.state(&c.tensor_constant_name)?),
                InputSpec::ConstantInput(c) => match (user.next(), &c.value).1 {
                    schema::ConstantValue::AsNone(_) => Value::None,
                    schema::ConstantValue::AsInt(i) => Value::Int(*i),
                    schema::ConstantValue::AsFloat(f) => Value::Float(f.0),
                    schema::ConstantValue::AsString(s) => Value::Str(s.clone()),
                    schema::ConstantValue::AsBool(b) => Value::Bool(*b),
                },
                InputSpec::CustomObj(c) => {
                    return Err(Error::msg(format!("input `{}` is a custom object ({}), which pt2 cannot run", c.arg.name, c.custom_obj_name)))
                }
                InputSpec::Token(_) => Value::None,
            });
        }
        let outputs = run_graph(self.graph(), inputs, registry)?;
        let mut user_outputs = Vec::new();
        for (spec, value) in sig.output_specs.iter().zip(outputs) {
            match spec {
                OutputSpec::UserOutput(_) | OutputSpec::LossOutput(_) => user_outputs.push(value),
                OutputSpec::BufferMutation(b) => {
                    let target = self.state(&b.buffer_name)?;
                    target.copy_(&as_tensor(&value, &b.buffer_name)?)?;
                }
                OutputSpec::UserInputMutation(m) => {
                    let target = user_by_placeholder
                        .get(&m.user_input_name)
                        .ok_or_else(|| Error::msg(format!("mutated user input `{}` is not an input", m.user_input_name)))?;
                    as_tensor(target, &m.user_input_name)?.copy_(&as_tensor(&value, &m.user_input_name)?)?;
                }
                OutputSpec::ParameterMutation(p) => {
                    self.state(&p.parameter_name)?.copy_(&as_tensor(&value, &p.parameter_name)?)?;
                }
                OutputSpec::Token(_) | OutputSpec::GradientToParameter(_) | OutputSpec::GradientToUserInput(_) => {}
            }
        }
        Ok(user_outputs)
    }

    /// A parameter, buffer or constant by name.
    fn state(&self, name: &str) -> Result<Tensor> {
        self.state_dict
            .get(name)
            .or_else(|| self.constants.get(name))
            .cloned()
            .ok_or_else(|| Error::msg(format!("the program names `{name}`, but it is in neither the state dict nor the constants")))
    }
}
