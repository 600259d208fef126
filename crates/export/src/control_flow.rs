//! Control flow that stays in the program: `cond` (a data-dependent branch) and `map` (a body
//! over the leading dim), recorded as PyTorch's higher-order operators with their bodies as
//! subgraphs. Outside tracing they simply run.

use ops::names::aten;
use std::panic::Location;

use ir::schema::{self, Argument, NamedArgument, TensorArgument};
use symbolic::Expr;

use crate::symint::SymBool;
use crate::tensor::Tensor;
use crate::trace::{is_tracing, tensor_meta, with_tracer, SymbolSource};
use crate::{Error, Result};

/// `cond`'s predicate: a bool, a condition on sizes, or a one-element tensor.
pub enum Pred {
    Bool(bool),
    Sym(SymBool),
    Tensor(Tensor),
}

impl From<bool> for Pred {
    fn from(b: bool) -> Pred {
        Pred::Bool(b)
    }
}
impl From<SymBool> for Pred {
    fn from(b: SymBool) -> Pred {
        Pred::Sym(b)
    }
}
impl From<&Tensor> for Pred {
    fn from(t: &Tensor) -> Pred {
        Pred::Tensor(t.clone())
    }
}
impl From<Tensor> for Pred {
    fn from(t: Tensor) -> Pred {
        Pred::Tensor(t)
    }
}

/// A branch or a body: operands in, tensors out.
pub type Body<'a> = &'a dyn Fn(&[Tensor]) -> Result<Vec<Tensor>>;

/// One traced body: its subgraph, its outputs (values of the subgraph, with the example's
/// data) and the enclosing tensors it captured.
struct Traced {
    graph: schema::Graph,
    outputs: Vec<Tensor>,
    captured: Vec<(Tensor, Tensor)>,
}

/// Traces `body` on placeholders shaped like `operands` (sizes from `sizes`, data from `data`).
fn trace_body(body: Body, operands: &[(String, Vec<Expr>, tensor::Tensor)], at: &Location) -> Result<Traced> {
    with_tracer(|t| t.expect("tracing").enter_subgraph());
    let placeholders: Vec<Tensor> = operands
        .iter()
        .map(|(name, sizes, data)| {
            with_tracer(|t| {
                let t = t.expect("tracing");
                let n = t.fresh_name(name);
                for (d, s) in sizes.iter().enumerate() {
                    if let Some(sym) = s.as_symbol() {
                        t.symbol_sources.entry(sym.to_string()).or_insert(SymbolSource { value: n.clone(), dim: d, input: true });
                    }
                }
                t.new_value(n, data.clone(), sizes.clone(), false)
            })
        })
        .collect();
    let result = body(&placeholders);
    let names = |ts: &[Tensor]| -> Result<Vec<Argument>> {
        ts.iter()
            .map(|x| {
                with_tracer(|t| {
                    let t = t.expect("tracing");
                    crate::trace::argument_of(t, &crate::trace::Arg::Tensor(x.clone()))
                })
            })
            .collect()
    };
    let inputs = names(&placeholders);
    let outputs = result.as_ref().map_err(Clone::clone).and_then(|outs| names(outs));
    // a body must not update its inputs
    let mutated = with_tracer(|t| {
        let t = t.expect("tracing");
        t.nodes.iter().find(|n| mutates_an_input(n)).map(|n| n.name.clone().unwrap_or_default())
    });
    let sub = with_tracer(|t| t.expect("tracing").exit_subgraph(inputs.clone().unwrap_or_default(), outputs.clone().unwrap_or_default()));
    let outs = result?;
    if let Some(node) = mutated {
        return Err(Error::msg(format!(
            "Higher order ops do not support input mutation. Found in a cond branch or map/scan/while_loop body at {}:{} (node `{node}` modifies its input); the bodies of control flow must be functional",
            at.file(),
            at.line()
        )));
    }
    inputs?;
    outputs?;
    Ok(Traced { graph: sub.graph, outputs: outs, captured: sub.captured })
}

fn mutates_an_input(n: &schema::Node) -> bool {
    let name = n.target.trim_start_matches("torch.ops.");
    ops::Registry::global().get(name).is_some_and(|op| op.schema.is_mutating())
}

/// The operands with the tensors both bodies captured appended (each body's subgraph gets a
/// placeholder for every one, used or not), as PyTorch lifts closed-over tensors.
fn with_captured(operands: &[Tensor], bodies: &mut [&mut Traced]) -> Vec<Tensor> {
    let mut all: Vec<Tensor> = operands.to_vec();
    for b in bodies.iter() {
        for (outer, _) in &b.captured {
            if !all.iter().any(|t| t.same_as(outer)) {
                all.push(outer.clone());
            }
        }
    }
    for b in bodies.iter_mut() {
        for outer in &all[operands.len()..] {
            let inner = b.captured.iter().find(|(o, _)| o.same_as(outer)).map(|(_, i)| i.clone());
            let name = match inner {
                Some(i) => i.trace_info().map(|x| x.name.clone()).unwrap_or_default(),
                None => {
                    // unused here: a placeholder all the same, so both bodies take the same operands
                    let info = outer.trace_info();
                    let base = info.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| "arg".into());
                    let mut name = base.clone();
                    let mut k = 1;
                    while b.graph.tensor_values.contains_key(&name) {
                        name = format!("{base}_{k}");
                        k += 1;
                    }
                    let sizes = info.map(|i| i.sizes.clone()).unwrap_or_default();
                    b.graph.tensor_values.insert(name.clone(), tensor_meta(&outer.data(), &sizes, false));
                    name
                }
            };
            b.graph.inputs.push(Argument::AsTensor(TensorArgument { name }));
        }
    }
    all
}

fn hop_arg(arg: Argument) -> NamedArgument {
    NamedArgument { name: String::new(), arg, kind: Some(schema::ArgumentKind(1)) }
}

/// Records a higher-order node whose outputs are `outputs` (data and symbolic sizes).
fn record(target: &str, inputs: Vec<NamedArgument>, outputs: Vec<(tensor::Tensor, Vec<Expr>)>, at: &Location) -> Vec<Tensor> {
    with_tracer(|t| {
        let t = t.expect("tracing");
        let node_name = t.fresh_name(target.rsplit('.').next().unwrap_or("hop"));
        let mut results = Vec::new();
        let mut out_args = Vec::new();
        for (data, sizes) in outputs {
            let n = t.fresh_name("getitem");
            out_args.push(Argument::AsTensor(TensorArgument { name: n.clone() }));
            results.push(t.new_value(n, data, sizes, false));
        }
        let metadata = t.metadata(at);
        t.nodes.push(schema::Node {
            target: target.into(),
            inputs,
            outputs: out_args,
            metadata,
            is_hop_single_tensor_return: Some(false),
            name: Some(node_name),
        });
        results
    })
}

fn operand_args(operands: &[Tensor]) -> Result<Argument> {
    with_tracer(|t| crate::trace::argument_of(t.expect("tracing"), &crate::trace::Arg::Tensors(operands.to_vec())))
}

fn sizes_of(t: &Tensor) -> Vec<Expr> {
    t.trace_info().map(|i| i.sizes.clone()).unwrap_or_else(|| t.data().shape().iter().map(|&d| Expr::Int(d as i64)).collect())
}

fn subgraph_arg(name: String, graph: schema::Graph) -> Argument {
    Argument::AsGraph(schema::GraphArgument { name, graph })
}

/// `torch.cond(pred, true_fn, false_fn, operands)`: a branch on data that stays in the
/// program. Both branches are traced; they must return the same number of tensors with the
/// same dtypes and sizes. A predicate known while tracing (a bool, or sizes that decide it)
/// just runs its branch.
#[track_caller]
pub fn cond(pred: impl Into<Pred>, true_fn: Body, false_fn: Body, operands: &[Tensor]) -> Result<Vec<Tensor>> {
    let at = Location::caller();
    let pred = pred.into();
    if !is_tracing() {
        let p = match &pred {
            Pred::Bool(b) => *b,
            Pred::Sym(s) => s.hint(),
            Pred::Tensor(t) => truth(t, "cond")?,
        };
        return if p { true_fn(operands) } else { false_fn(operands) };
    }
    let (pred_arg, taken) = match &pred {
        Pred::Bool(b) => return if *b { true_fn(operands) } else { false_fn(operands) },
        Pred::Sym(s) => {
            let decided = with_tracer(|t| t.expect("tracing").env.simplify(s.expr()));
            if let Expr::Bool(b) = decided {
                return if b { true_fn(operands) } else { false_fn(operands) };
            }
            let name = with_tracer(|t| t.expect("tracing").sym_bool_value(&decided, at))?;
            (Argument::AsSymBool(schema::SymBoolArgument::AsName(name)), s.hint())
        }
        Pred::Tensor(t) => {
            if t.data().numel() != 1 {
                return Err(Error::msg(format!("cond: the predicate must be a one-element tensor, got shape {:?}", t.shape())));
            }
            let a = with_tracer(|tr| crate::trace::argument_of(tr.expect("tracing"), &crate::trace::Arg::Tensor(t.clone())))?;
            // both branches are traced; a shapes-only predicate has no value to pick the
            // example's outputs by, and either branch's meta outputs serve (they must agree)
            (a, t.is_meta() || truth(t, "cond")?)
        }
    };
    let described: Vec<(String, Vec<Expr>, tensor::Tensor)> =
        operands.iter().map(|o| (o.trace_info().map(|i| i.name.clone()).unwrap_or_else(|| "arg".into()), sizes_of(o), o.data())).collect();
    let mut tb = trace_body(true_fn, &described, at)?;
    let mut fb = trace_body(false_fn, &described, at)?;
    // both branches must agree on what they return
    if tb.outputs.len() != fb.outputs.len() {
        return Err(Error::msg(format!(
            "{}:{}: cond branches must return the same number of tensors: the true branch returns {}, the false branch {}",
            at.file(),
            at.line(),
            tb.outputs.len(),
            fb.outputs.len()
        )));
    }
    let mut outputs = Vec::new();
    for (i, (a, b)) in tb.outputs.iter().zip(&fb.outputs).enumerate() {
        let (sa, sb) = (sizes_of(a), sizes_of(b));
        let same_sizes = sa.len() == sb.len() && sa.iter().zip(&sb).all(|(x, y)| with_tracer(|t| t.expect("tracing").env.statically_known_true(&Expr::equals(x.clone(), y.clone()))));
        if a.dtype() != b.dtype() || !same_sizes {
            let show = |s: &[Expr]| format!("[{}]", s.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", "));
            let what = if sa.len() != sb.len() {
                format!("expected same dim but got {} and {}", sa.len(), sb.len())
            } else if a.dtype() != b.dtype() {
                format!("expected same dtype but got {} and {}", a.dtype(), b.dtype())
            } else {
                format!("expected same shape but got {} and {}", show(&sa), show(&sb))
            };
            return Err(Error::msg(format!(
                "When merging the two branches' outputs of `cond`, {what} (output {i}: {:?}{} in the true branch, {:?}{} in the false branch; at {}:{})",
                a.dtype(),
                show(&sa),
                b.dtype(),
                show(&sb),
                at.file(),
                at.line()
            )));
        }
        let data = if taken { a.data() } else { b.data() };
        outputs.push((data, sa));
    }
    let all = with_captured(operands, &mut [&mut tb, &mut fb]);
    let k = graph_index("true_graph");
    let inputs = vec![
        hop_arg(pred_arg),
        hop_arg(subgraph_arg(format!("true_graph_{k}"), tb.graph)),
        hop_arg(subgraph_arg(format!("false_graph_{k}"), fb.graph)),
        hop_arg(operand_args(&all)?),
    ];
    Ok(record("torch.ops.higher_order.cond", inputs, outputs, at))
}

/// `map(f, xs, args)`: `f` applied to each slice of the tensors `xs` along their leading dim
/// (with the extra operands `args`), the results stacked (`map_impl` in the program).
#[track_caller]
pub fn map(f: Body, xs: &[Tensor], args: &[Tensor]) -> Result<Vec<Tensor>> {
    let at = Location::caller();
    if xs.is_empty() {
        return Err(Error::msg("map: at least one tensor to map over is needed"));
    }
    if let Some(x) = xs.iter().find(|x| x.dim() == 0) {
        return Err(Error::msg(format!("map: cannot map over a 0-d tensor (a tensor of shape {:?}); map iterates over the leading dim", x.shape())));
    }
    let n = xs[0].shape()[0];
    if xs.iter().any(|x| x.shape()[0] != n) {
        return Err(Error::msg("map: the tensors mapped over must have the same leading dim"));
    }
    // the body run on each slice, eagerly: the outputs' data
    let eager = |slice: usize| -> Result<Vec<Tensor>> {
        let mut operands: Vec<Tensor> = xs.iter().map(|x| Tensor::from_data(x.data().select(0, slice as i64).expect("in range"))).collect();
        operands.extend(args.iter().cloned());
        f(&operands)
    };
    if !is_tracing() {
        let per: Vec<Vec<Tensor>> = (0..n).map(eager).collect::<Result<_>>()?;
        return stack_outputs(per);
    }
    let mut described: Vec<(String, Vec<Expr>, tensor::Tensor)> = xs
        .iter()
        .map(|x| (x.trace_info().map(|i| i.name.clone()).unwrap_or_else(|| "xs".into()), sizes_of(x)[1..].to_vec(), x.data().select(0, 0).expect("non-empty").contiguous()))
        .collect();
    described.extend(args.iter().map(|a| (a.trace_info().map(|i| i.name.clone()).unwrap_or_else(|| "arg".into()), sizes_of(a), a.data())));
    let mut body = trace_body(f, &described, at)?;
    let extra = with_captured(&[], &mut [&mut body]);
    // the results' data: the body on every slice, outside the trace
    let per: Vec<Vec<Tensor>> = crate::trace::untraced(|| (0..n).map(eager).collect::<Result<_>>())?;
    let stacked = stack_outputs(per)?;
    let lead = sizes_of(&xs[0])[0].clone();
    let outputs: Vec<(tensor::Tensor, Vec<Expr>)> = stacked
        .iter()
        .zip(&body.outputs)
        .map(|(s, o)| {
            let mut sizes = vec![lead.clone()];
            sizes.extend(sizes_of(o));
            (s.data(), sizes)
        })
        .collect();
    let mut all_args = args.to_vec();
    all_args.extend(extra);
    let k = graph_index("body_graph");
    let inputs = vec![hop_arg(subgraph_arg(format!("body_graph_{k}"), body.graph)), hop_arg(operand_args(xs)?), hop_arg(operand_args(&all_args)?)];
    Ok(record("torch.ops.higher_order.map_impl", inputs, outputs, at))
}

fn stack_outputs(per: Vec<Vec<Tensor>>) -> Result<Vec<Tensor>> {
    let k = per.first().map(Vec::len).unwrap_or(0);
    (0..k)
        .map(|i| {
            let parts: Vec<tensor::Tensor> = per.iter().map(|p| p[i].data()).collect();
            let refs: Vec<ops::Value> = parts.into_iter().map(ops::Value::Tensor).collect();
            match ops::Registry::global().call(aten::stack, vec![ops::Value::List(refs)], vec![]) {
                Ok(ops::Value::Tensor(t)) => Ok(Tensor::from_data(t)),
                Ok(_) => Err(Error::msg("stack returned no tensor")),
                Err(e) => Err(e),
            }
        })
        .collect()
}

/// `scan(combine, init, xs, additional)`: `combine(carry..., x_slice..., additional...)`
/// returns `(new_carry..., y...)`; the results are the final carry and the `y`s stacked along
/// the leading dim of `xs`.
#[track_caller]
pub fn scan(combine: Body, init: &[Tensor], xs: &[Tensor], additional: &[Tensor]) -> Result<Vec<Tensor>> {
    let at = Location::caller();
    if let Some(x) = xs.iter().find(|x| x.dim() == 0) {
        return Err(Error::msg(format!("scan: cannot scan over a 0-d tensor (a tensor of shape {:?})", x.shape())));
    }
    let n = xs.first().map(|x| x.shape()[0]).unwrap_or(0);
    let run = || -> Result<Vec<Tensor>> {
        let mut carry: Vec<Tensor> = init.to_vec();
        let mut ys: Vec<Vec<Tensor>> = Vec::new();
        for i in 0..n {
            let mut operands = carry.clone();
            operands.extend(xs.iter().map(|x| Tensor::from_data(x.data().select(0, i as i64).expect("in range"))));
            operands.extend(additional.iter().cloned());
            let out = combine(&operands)?;
            if out.len() < carry.len() {
                return Err(Error::msg(format!("scan: combine returned {} tensors, fewer than the {} carried", out.len(), carry.len())));
            }
            let rest = out[carry.len()..].to_vec();
            carry = out[..carry.len()].to_vec();
            ys.push(rest);
        }
        let mut out = carry;
        out.extend(stack_outputs(ys)?);
        Ok(out)
    };
    if !is_tracing() {
        return run();
    }
    let mut described: Vec<(String, Vec<Expr>, tensor::Tensor)> = Vec::new();
    for t in init {
        described.push((format!("arg{}_1", described.len()), sizes_of(t), t.data()));
    }
    for x in xs {
        described.push((format!("arg{}_1", described.len()), sizes_of(x)[1..].to_vec(), x.data().select(0, 0).expect("non-empty").contiguous()));
    }
    for a in additional {
        described.push((format!("arg{}_1", described.len()), sizes_of(a), a.data()));
    }
    let mut body = trace_body(combine, &described, at)?;
    for (c, o) in init.iter().zip(&body.outputs) {
        if c.dtype() != o.dtype() || c.shape() != o.shape() {
            return Err(Error::msg(format!("{}:{}: scan: combine must return the carry with the init's metadata: {:?}{:?} became {:?}{:?}", at.file(), at.line(), c.dtype(), c.shape(), o.dtype(), o.shape())));
        }
    }
    let extra = with_captured(&[], &mut [&mut body]);
    let values = crate::trace::untraced(run)?;
    let lead = xs.first().map(|x| sizes_of(x)[0].clone()).unwrap_or(Expr::Int(0));
    let outputs: Vec<(tensor::Tensor, Vec<Expr>)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let sizes = if i < init.len() {
                sizes_of(&init[i])
            } else {
                let mut s = vec![lead.clone()];
                s.extend(sizes_of(&body.outputs[i]));
                s
            };
            (v.data(), sizes)
        })
        .collect();
    let mut all_additional = additional.to_vec();
    all_additional.extend(extra);
    let k = graph_index("scan_combine_graph");
    let inputs = vec![
        hop_arg(subgraph_arg(format!("scan_combine_graph_{k}"), body.graph)),
        hop_arg(operand_args(init)?),
        hop_arg(operand_args(xs)?),
        hop_arg(operand_args(&all_additional)?),
    ];
    Ok(record("torch.ops.higher_order.scan", inputs, outputs, at))
}

/// `while_loop(cond_fn, body_fn, carried, additional)`: `body_fn` applied while `cond_fn`
/// (a one-element bool tensor) holds; the results are the final carried values, which keep
/// their dtypes and sizes.
#[track_caller]
pub fn while_loop(cond_fn: Body, body_fn: Body, carried: &[Tensor], additional: &[Tensor]) -> Result<Vec<Tensor>> {
    let at = Location::caller();
    let run = || -> Result<Vec<Tensor>> {
        let mut state = carried.to_vec();
        loop {
            let mut operands = state.clone();
            operands.extend(additional.iter().cloned());
            let c = cond_fn(&operands)?;
            let keep = truth(c.first().ok_or_else(|| Error::msg("while_loop: cond_fn returned nothing"))?, "while_loop")?;
            if !keep {
                return Ok(state);
            }
            let next = body_fn(&operands)?;
            if next.len() != state.len() {
                return Err(Error::msg(format!("while_loop: body_fn returned {} tensors for {} carried", next.len(), state.len())));
            }
            state = next;
        }
    };
    if !is_tracing() {
        return run();
    }
    let described: Vec<(String, Vec<Expr>, tensor::Tensor)> =
        carried.iter().chain(additional).enumerate().map(|(i, t)| (format!("arg{i}_1"), sizes_of(t), t.data())).collect();
    let mut cg = trace_body(cond_fn, &described, at)?;
    // the condition's graph returns a tensor, not a tuple of one
    cg.graph.is_single_tensor_return = true;
    let mut bg = trace_body(body_fn, &described, at)?;
    if cg.outputs.len() != 1 || cg.outputs[0].dtype() != tensor::DType::Bool || cg.outputs[0].data().numel() != 1 {
        return Err(Error::msg(format!("{}:{}: while_loop: cond_fn must return one boolean scalar tensor", at.file(), at.line())));
    }
    for (c, o) in carried.iter().zip(&bg.outputs) {
        if c.dtype() != o.dtype() || c.shape() != o.shape() {
            return Err(Error::msg(format!(
                "{}:{}: while_loop: body_fn must return the carried values with their metadata: {:?}{:?} became {:?}{:?}",
                at.file(),
                at.line(),
                c.dtype(),
                c.shape(),
                o.dtype(),
                o.shape()
            )));
        }
    }
    let extra = with_captured(&[], &mut [&mut cg, &mut bg]);
    let values = crate::trace::untraced(run)?;
    let outputs = values.iter().zip(carried).map(|(v, c)| (v.data(), sizes_of(c))).collect();
    let mut all_additional = additional.to_vec();
    all_additional.extend(extra);
    let k = graph_index("while_loop_cond_graph");
    let inputs = vec![
        hop_arg(subgraph_arg(format!("while_loop_cond_graph_{k}"), cg.graph)),
        hop_arg(subgraph_arg(format!("while_loop_body_graph_{k}"), bg.graph)),
        hop_arg(operand_args(carried)?),
        hop_arg(operand_args(&all_additional)?),
    ];
    Ok(record("torch.ops.higher_order.while_loop", inputs, outputs, at))
}

/// The next index for subgraphs named `base_N` in the current graph.
fn graph_index(base: &str) -> usize {
    with_tracer(|t| {
        let name = t.expect("tracing").fresh_name(base);
        name.trim_start_matches(base).trim_start_matches('_').parse::<usize>().unwrap_or(0)
    })
}

/// The truth of a one-element predicate tensor (`cond`, `while_loop`); a shapes-only tensor
/// has none to give.
fn truth(t: &Tensor, op: &str) -> Result<bool> {
    if t.is_meta() {
        return Err(Error::msg(format!("{op}: the predicate is a shapes-only (meta) tensor, whose value is not known; run it on real data")));
    }
    Ok(t.data().to_f64_vec().first().copied().unwrap_or(0.0) != 0.0)
}
