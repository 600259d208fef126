//! Meta functions: an operator's output sizes as symbolic expressions of its inputs' sizes.
//!
//! Tracing runs each operator's kernel on the example data (so dtypes, values and concrete
//! shapes come from the real computation) and its meta function on the symbolic sizes, so that
//! the recorded program holds `s77`, `2*s77`, not the example's numbers. Decisions a meta
//! function makes about sizes (broadcasting `s0` against `s1`, clamping a slice end) go through
//! the shape environment and become guards.
//!
//! An operator whose inputs are all static needs no meta function: its output sizes are the
//! kernel's. Families share one rule each: pointwise operators broadcast, reductions drop or
//! keep dims, views rearrange, and so on. An operator's registration names its rule
//! (`Registry::def_meta`); a [`crate::Tag::Pointwise`] tag implies [`pointwise`], and an in-place
//! variant takes its functional operator's.

use symbolic::{Expr, ShapeEnv};

use crate::args::Args;
use crate::names::aten;
use crate::{Error, Result};

/// The symbolic side of one argument, beside its concrete value in [`Args`].
#[derive(Clone, Debug)]
pub enum SymArg {
    /// A tensor's sizes.
    Tensor(Vec<Expr>),
    Int(Expr),
    Ints(Vec<Expr>),
    /// A list of (optional) tensors' sizes.
    Tensors(Vec<Option<Vec<Expr>>>),
}

/// A meta function: the sizes of each tensor output (several for list returns).
pub type MetaFn = fn(&mut MetaCall) -> Result<Vec<Vec<Expr>>>;

/// One call of a meta function: the bound concrete arguments, their symbolic overlay (by
/// parameter index), and the shape environment that records guards.
pub struct MetaCall<'a> {
    pub args: &'a Args<'a>,
    pub sym: &'a [Option<SymArg>],
    pub env: &'a mut ShapeEnv,
    /// The user's code location, for guards.
    pub location: Option<&'a str>,
    /// The kernel's output shapes for the example, for outputs whose sizes are static.
    pub out_shapes: &'a [Vec<i64>],
}

impl MetaCall<'_> {
    fn overlay(&self, name: &str) -> Option<&SymArg> {
        self.args.schema().param_index(name).and_then(|i| self.sym.get(i)).and_then(Option::as_ref)
    }

    fn op(&self) -> String {
        self.args.schema().qualified_name()
    }

    /// The symbolic sizes of tensor parameter `name`.
    pub fn sizes(&self, name: &str) -> Result<Vec<Expr>> {
        if self.args.schema().param_index(name).is_none() {
            return Err(Error::msg(format!("{} has no parameter `{name}`", self.op())));
        }
        match self.overlay(name) {
            Some(SymArg::Tensor(s)) => Ok(s.clone()),
            _ => Ok(self.args.tensor(name)?.shape().iter().map(|&d| Expr::Int(d as i64)).collect()),
        }
    }

    pub fn opt_sizes(&self, name: &str) -> Result<Option<Vec<Expr>>> {
        match self.args.opt_tensor(name)? {
            None => Ok(None),
            Some(_) => self.sizes(name).map(Some),
        }
    }

    pub fn int(&self, name: &str) -> Result<Expr> {
        match self.overlay(name) {
            Some(SymArg::Int(e)) => Ok(e.clone()),
            _ => self.args.int(name).map(Expr::Int),
        }
    }

    pub fn ints(&self, name: &str) -> Result<Vec<Expr>> {
        match self.overlay(name) {
            Some(SymArg::Ints(v)) => Ok(v.clone()),
            _ => Ok(self.args.int_list(name)?.into_iter().map(Expr::Int).collect()),
        }
    }

    pub fn tensors(&self, name: &str) -> Result<Vec<Option<Vec<Expr>>>> {
        match self.overlay(name) {
            Some(SymArg::Tensors(v)) => Ok(v.clone()),
            _ => Ok(self.args.opt_tensor_list(name)?.iter().map(|t| t.as_ref().map(|t| t.shape().iter().map(|&d| Expr::Int(d as i64)).collect())).collect()),
        }
    }

    /// Decides a condition on sizes, recording a guard when the example decides it.
    pub fn guard(&mut self, cond: Expr) -> Result<bool> {
        self.env.evaluate(&cond, self.location).map_err(Error::from)
    }

    /// Like [`MetaCall::guard`], but a condition over values read from data (unbacked) that
    /// nothing decides is taken as false, with no guard (PyTorch's `guard_or_false`).
    pub fn guard_or_false(&mut self, cond: Expr) -> Result<bool> {
        match self.env.evaluate(&cond, self.location) {
            Ok(b) => Ok(b),
            Err(symbolic::SymbolicError::DataDependent { .. }) => Ok(false),
            Err(e) => Err(Error::from(e)),
        }
    }

    /// `a == b` for two sizes that must agree; refuses the call when they cannot.
    pub fn expect_equal(&mut self, a: &Expr, b: &Expr, what: &str) -> Result<()> {
        if self.guard(Expr::equals(a.clone(), b.clone()))? {
            Ok(())
        } else {
            Err(Error::msg(format!("{}: {what}: {a} != {b}", self.op())))
        }
    }

    pub fn wrap_dim(&self, dim: i64, rank: usize) -> Result<usize> {
        let r = rank.max(1) as i64;
        let d = if dim < 0 { dim + r } else { dim };
        if (0..r).contains(&d) {
            Ok(d as usize)
        } else {
            Err(Error::msg(format!("{}: dim {dim} out of range for a tensor of rank {rank}", self.op())))
        }
    }
}

/// Broadcasts two shapes as PyTorch does, guarding on symbolic sizes.
pub fn broadcast(call: &mut MetaCall, a: &[Expr], b: &[Expr]) -> Result<Vec<Expr>> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let x = if i + a.len() >= n { Some(&a[i + a.len() - n]) } else { None };
        let y = if i + b.len() >= n { Some(&b[i + b.len() - n]) } else { None };
        out.push(match (x, y) {
            (Some(x), None) => x.clone(),
            (None, Some(y)) => y.clone(),
            (Some(x), Some(y)) if x == y => x.clone(),
            (Some(x), Some(y)) => {
                if *x == Expr::Int(1) {
                    y.clone()
                } else if *y == Expr::Int(1) {
                    x.clone()
                } else if call.guard(Expr::equals(x.clone(), y.clone()))? {
                    x.clone()
                } else if call.guard(Expr::equals(x.clone(), 1))? {
                    y.clone()
                } else if call.guard(Expr::equals(y.clone(), 1))? {
                    x.clone()
                } else {
                    return Err(Error::msg(format!("{}: sizes {x} and {y} do not broadcast", call.op())));
                }
            }
            (None, None) => unreachable!("i < max rank"),
        });
    }
    Ok(out)
}

fn product(v: &[Expr]) -> Expr {
    Expr::mul_all(v.iter().cloned())
}

/// Every tensor argument broadcast together (pointwise operators).
pub fn pointwise(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut out: Option<Vec<Expr>> = None;
    let names: Vec<String> = call.args.schema().params.iter().filter(|p| p.ty.is_tensor_like()).map(|p| p.name.clone()).collect();
    for name in names {
        if !matches!(call.args.get(&name), Ok(crate::Value::Tensor(_))) {
            continue;
        }
        let s = call.sizes(&name)?;
        out = Some(match out {
            None => s,
            Some(o) => broadcast(call, &o, &s)?,
        });
    }
    Ok(vec![out.unwrap_or_default()])
}

/// The meta function of an operator whose output has the sizes of its first tensor argument
/// (what most custom element-wise operators need).
pub fn same_as_input(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let first = call.args.schema().params.iter().find(|p| p.ty.is_tensor_like()).map(|p| p.name.clone());
    match first {
        Some(name) => Ok(vec![call.sizes(&name)?]),
        None => Err(Error::msg(format!("{} has no tensor argument", call.op()))),
    }
}

pub fn same_as_self(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.sizes("self").or_else(|_| call.sizes("input"))?])
}

/// Reductions over `dim` (all dims when absent), keeping them as 1 with `keepdim`.
pub fn reduction(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let schema = call.args.schema();
    let dims: Option<Vec<i64>> = if schema.param_index("dim").is_some() {
        match call.args.get("dim")? {
            crate::Value::None => None,
            crate::Value::Int(d) => Some(vec![*d]),
            _ => Some(call.args.int_list("dim")?).filter(|v| !v.is_empty()),
        }
    } else {
        None
    };
    let keepdim = schema.param_index("keepdim").is_some() && call.args.bool("keepdim")?;
    let mut reduced = vec![false; s.len()];
    match dims {
        None => reduced.iter_mut().for_each(|r| *r = true),
        Some(ds) => {
            for d in ds {
                // a 0-dim tensor takes dim 0 or -1 and stays 0-dim
                let d = call.wrap_dim(d, s.len())?;
                if let Some(r) = reduced.get_mut(d) {
                    *r = true;
                }
            }
        }
    }
    let out: Vec<Expr> = s.iter().zip(&reduced).filter_map(|(e, r)| if !r { Some(e.clone()) } else if keepdim { Some(Expr::Int(1)) } else { None }).collect();
    let outputs = call.args.schema().returns.len().max(1);
    Ok(vec![out; outputs])
}

/// `view`/`reshape`: the new sizes, with one `-1` inferred from the element count.
/// Two outputs reduced alike (`var_mean`, `std_mean`).
pub fn reduction_pair(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let out = reduction(call)?.into_iter().next().ok_or_else(|| Error::msg(format!("{}: the reduction gave no sizes", call.op())))?;
    Ok(vec![out.clone(), out])
}

pub fn view(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let name = if call.args.schema().param_index("size").is_some() { "size" } else { "shape" };
    let mut sizes = call.ints(name)?;
    if let Some(i) = sizes.iter().position(|e| *e == Expr::Int(-1)) {
        let known = product(&sizes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, e)| e.clone()).collect::<Vec<_>>());
        let total = product(&s);
        let inferred = Expr::floordiv(total.clone(), known.clone());
        sizes[i] = inferred;
    }
    Ok(vec![sizes])
}

/// `unflatten(dim, sizes)`: dim `dim` split into `sizes` (one may be -1).
pub fn unflatten(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    let mut sizes = call.ints("sizes")?;
    if let Some(i) = sizes.iter().position(|e| *e == Expr::Int(-1)) {
        let known = product(&sizes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, e)| e.clone()).collect::<Vec<_>>());
        sizes[i] = Expr::floordiv(s[d].clone(), known);
    }
    let mut out = s[..d].to_vec();
    out.extend(sizes);
    out.extend_from_slice(&s[d + 1..]);
    Ok(vec![out])
}

pub fn transpose(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let (a, b) = (call.wrap_dim(call.args.int("dim0")?, s.len())?, call.wrap_dim(call.args.int("dim1")?, s.len())?);
    if !s.is_empty() {
        s.swap(a, b);
    }
    Ok(vec![s])
}

pub fn t(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    s.reverse();
    Ok(vec![s])
}

pub fn permute(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let dims = call.args.int_list("dims")?;
    let out = dims.iter().map(|&d| call.wrap_dim(d, s.len()).map(|d| s[d].clone())).collect::<Result<Vec<_>>>()?;
    Ok(vec![out])
}

pub fn movedim(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let order = crate::aten::shape::movedim_order(s.len(), call.args.int("source")?, call.args.int("destination")?)?;
    Ok(vec![order.iter().map(|&d| s[d as usize].clone()).collect()])
}

pub fn unsqueeze(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len() + 1)?;
    s.insert(d, Expr::Int(1));
    Ok(vec![s])
}

pub fn squeeze(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let dims: Vec<usize> = match call.args.schema().param_index("dim") {
        None => (0..s.len()).collect(),
        Some(_) => match call.args.get("dim")? {
            crate::Value::Int(d) => vec![call.wrap_dim(*d, s.len())?],
            _ => call.args.int_list("dim")?.into_iter().map(|d| call.wrap_dim(d, s.len())).collect::<Result<_>>()?,
        },
    };
    Ok(vec![s.into_iter().enumerate().filter(|(i, e)| !(dims.contains(i) && *e == Expr::Int(1))).map(|(_, e)| e).collect()])
}

pub fn flatten(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    if s.is_empty() {
        return Ok(vec![vec![Expr::Int(1)]]);
    }
    let (a, b) = (call.wrap_dim(call.args.int("start_dim")?, s.len())?, call.wrap_dim(call.args.int("end_dim")?, s.len())?);
    let mut out: Vec<Expr> = s[..a].to_vec();
    out.push(product(&s[a..=b]));
    out.extend_from_slice(&s[b + 1..]);
    Ok(vec![out])
}

pub fn expand(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let size = call.ints("size")?;
    let lead = size.len() - s.len().min(size.len());
    Ok(vec![size.iter().enumerate().map(|(i, e)| if *e == Expr::Int(-1) && i >= lead { s[i - lead].clone() } else { e.clone() }).collect()])
}

/// `slice.Tensor`: start and end clamped to the size as Python slicing does.
pub fn slice(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    let size = s[d].clone();
    let step = call.args.int("step")?;
    let bound = |call: &mut MetaCall, name: &str, default: Expr| -> Result<Expr> {
        let v = match call.args.get(name)? {
            crate::Value::None => return Ok(default),
            _ => call.int(name)?,
        };
        // huge ends mean "to the end"
        if let Expr::Int(i) = v {
            if i >= i64::MAX / 2 {
                return Ok(size.clone());
            }
            if i < 0 {
                let shifted = size.clone() + i;
                return Ok(if call.guard(Expr::less(shifted.clone(), 0))? { Expr::Int(0) } else { shifted });
            }
        }
        Ok(if call.guard_or_false(Expr::greater_eq(v.clone(), size.clone()))? { size.clone() } else { v })
    };
    // a bound read from data: the length is a new value known only to lie in [0, size]
    // (PyTorch's unbacked slice), asserted when the program runs
    let unbacked = ["start", "end"].iter().any(|n| !matches!(call.args.get(n), Ok(crate::Value::None)) && call.int(n).is_ok_and(|e| call.env.hint(&e).is_none()));
    if unbacked {
        let len = call.env.create_unbacked(false);
        let check = |call: &mut MetaCall, cond: Expr| call.env.check(&cond, call.location).map_err(Error::from);
        check(call, Expr::greater_eq(len.clone(), 0))?;
        check(call, Expr::less_eq(len.clone(), size.clone()))?;
        s[d] = len;
        return Ok(vec![s]);
    }
    let start = bound(call, "start", Expr::Int(0))?;
    let end = bound(call, "end", size.clone())?;
    let len = end - start;
    s[d] = if call.guard_or_false(Expr::less_eq(len.clone(), 0))? { Expr::Int(0) } else { Expr::floordiv(len + (step - 1), Expr::Int(step)) };
    Ok(vec![s])
}

pub fn select(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    s.remove(d);
    Ok(vec![s])
}

/// `chunk`/`split`/`split_with_sizes`/`unbind`: one shape per piece (the example decides how
/// many pieces there are).
pub fn pieces(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim").unwrap_or(0), s.len())?;
    let size = s[d].clone();
    let op = call.op();
    let lens: Vec<Expr> = if op == aten::unbind_int {
        let n = call.env.guard_int(&size, call.location).map_err(Error::from)?;
        return Ok((0..n).map(|_| s.iter().enumerate().filter(|(i, _)| *i != d).map(|(_, e)| e.clone()).collect()).collect());
    } else if op == aten::split_with_sizes {
        call.ints("split_sizes")?
    } else {
        let each = if op == aten::chunk {
            let chunks = call.args.int("chunks")?;
            Expr::floordiv(size.clone() + (chunks - 1), Expr::Int(chunks))
        } else {
            call.int("split_size")?
        };
        let n = call.env.guard_int(&Expr::floordiv(size.clone() + each.clone() - 1, each.clone()), call.location).map_err(Error::from)?;
        (0..n).map(|i| if i + 1 < n { each.clone() } else { size.clone() - each.clone() * (n - 1) }).collect()
    };
    Ok(lens
        .into_iter()
        .map(|len| {
            let mut piece = s.clone();
            piece[d] = len;
            piece
        })
        .collect())
}

/// `mm`, `bmm`, `matmul`, `linear`, `addmm`: batch dims broadcast, the inner dims must agree.
pub fn matmul(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let op = call.op();
    let (a, b, b_transposed) = if op == aten::linear {
        (call.sizes("input")?, call.sizes("weight")?, true)
    } else if op == aten::addmm || op == aten::baddbmm {
        (call.sizes("mat1").or_else(|_| call.sizes("batch1"))?, call.sizes("mat2").or_else(|_| call.sizes("batch2"))?, false)
    } else if op == aten::mm || op == aten::bmm {
        (call.sizes("self")?, call.sizes("mat2")?, false)
    } else {
        (call.sizes("self")?, call.sizes("other")?, false)
    };
    let b: Vec<Expr> = if b_transposed {
        let mut b = b;
        b.reverse();
        b
    } else {
        b
    };
    // vectors are promoted to matrices and the added dim dropped afterwards
    let (a2, drop_m) = if a.len() == 1 { (vec![Expr::Int(1), a[0].clone()], true) } else { (a.clone(), false) };
    let (b2, drop_n) = if b.len() == 1 { (vec![b[0].clone(), Expr::Int(1)], true) } else { (b.clone(), false) };
    let (ka, kb) = (a2[a2.len() - 1].clone(), b2[b2.len() - 2].clone());
    call.expect_equal(&ka, &kb, "the inner dimensions of a matrix product must agree")?;
    let batch = broadcast(call, &a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    let mut out = batch;
    if !drop_m {
        out.push(a2[a2.len() - 2].clone());
    }
    if !drop_n {
        out.push(b2[b2.len() - 1].clone());
    }
    Ok(vec![out])
}

/// `(size + 2*pad - dilation*(kernel-1) - 1) // stride + 1`, ceil mode rounding up.
fn window_out(size: &Expr, kernel: i64, stride: i64, pad: i64, dilation: i64, ceil: bool) -> Expr {
    let span = size.clone() + (2 * pad - dilation * (kernel - 1) - 1);
    let out = Expr::floordiv(span + if ceil { stride - 1 } else { 0 }, Expr::Int(stride)) + 1;
    if ceil {
        // the last window must start inside the input or its left padding
        Expr::min_of([out.clone(), Expr::floordiv(size.clone() + (pad - 1), Expr::Int(stride)) + 1])
    } else {
        out
    }
}

pub fn conv(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("input")?;
    let w = call.sizes("weight")?;
    let spatial = w.len() - 2;
    let list = |call: &MetaCall, name: &str, default: i64| -> Result<Vec<i64>> {
        let v = call.args.int_list(name).unwrap_or_default();
        Ok(match v.len() {
            0 => vec![default; spatial],
            1 => vec![v[0]; spatial],
            _ => v,
        })
    };
    let (stride, dilation) = (list(call, "stride", 1)?, list(call, "dilation", 1)?);
    let batched = x.len() == w.len();
    let lead = if batched { 2 } else { 1 };
    let padding: Vec<i64> = match call.args.get("padding")? {
        crate::Value::Str(s) if s == "same" => (0..spatial).map(|i| -1 - i as i64).collect(),
        crate::Value::Str(_) => vec![0; spatial],
        _ => list(call, "padding", 0)?,
    };
    // `convolution` says so; `conv_transposeNd` have output padding and no flag
    let transposed = if call.args.has("transposed") { call.args.bool("transposed")? } else { call.args.has("output_padding") };
    // a transposed convolution's weight is [in, out / groups, k...]
    let channels = if transposed { w[1].clone() * call.args.int("groups")? } else { w[0].clone() };
    let output_padding = if transposed { list(call, "output_padding", 0)? } else { vec![0; spatial] };
    let mut out: Vec<Expr> = if batched { vec![x[0].clone(), channels] } else { vec![channels] };
    for i in 0..spatial {
        let k = w[2 + i].as_int().ok_or_else(|| Error::msg("conv: symbolic kernel sizes are not supported"))?;
        out.push(if transposed {
            (x[lead + i].clone() - 1) * stride[i] + (dilation[i] * (k - 1) + output_padding[i] + 1 - 2 * padding[i])
        } else if padding[i] < 0 {
            x[lead + i].clone()
        } else {
            window_out(&x[lead + i], k, stride[i], padding[i], dilation[i], false)
        });
    }
    Ok(vec![out])
}

pub fn pool(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("self")?;
    let kernel = call.args.int_list("kernel_size")?;
    let spatial = kernel.len().max(1);
    let fill = |v: Vec<i64>, d: &[i64]| if v.is_empty() { d.to_vec() } else if v.len() == 1 { vec![v[0]; spatial] } else { v };
    let kernel = fill(kernel.clone(), &kernel);
    let stride = fill(call.args.int_list("stride").unwrap_or_default(), &kernel);
    let padding = fill(call.args.int_list("padding").unwrap_or_default(), &vec![0; spatial]);
    // average pooling has no dilation parameter
    let dilation = if call.args.has("dilation") { call.args.int_list("dilation").unwrap_or_default() } else { Vec::new() };
    let dilation = fill(dilation, &vec![1; spatial]);
    let ceil = call.args.opt_bool("ceil_mode").ok().flatten().unwrap_or(false);
    let lead = x.len() - spatial;
    let mut out = x[..lead].to_vec();
    for i in 0..spatial {
        out.push(window_out(&x[lead + i], kernel[i], stride[i], padding[i], dilation[i], ceil));
    }
    let n = call.args.schema().returns.len().max(1);
    Ok(vec![out; n])
}

pub fn adaptive_pool(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("self")?;
    let size = call.ints("output_size")?;
    let mut out = x[..x.len() - size.len()].to_vec();
    out.extend(size);
    let n = call.args.schema().returns.len().max(1);
    Ok(vec![out; n])
}

pub fn cat(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().flatten().filter(|s| !(s.len() == 1 && s[0] == Expr::Int(0))).collect();
    let Some(first) = shapes.first().cloned() else { return Ok(vec![vec![Expr::Int(0)]]) };
    let op = call.op();
    let d = call.args.int("dim")?;
    if op == aten::stack {
        let d = call.wrap_dim(d, first.len() + 1)?;
        let mut out = first;
        out.insert(d, Expr::Int(shapes.len() as i64));
        return Ok(vec![out]);
    }
    let d = call.wrap_dim(d, first.len())?;
    let mut out = first.clone();
    out[d] = Expr::add_all(shapes.iter().map(|s| s[d].clone()));
    for s in &shapes[1..] {
        for (i, (a, b)) in first.iter().zip(s).enumerate() {
            if i != d {
                call.expect_equal(a, b, "concatenated tensors must agree outside the concatenation dim")?;
            }
        }
    }
    Ok(vec![out])
}

pub fn embedding(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let w = call.sizes("weight")?;
    let mut out = call.sizes("indices")?;
    out.push(w[w.len() - 1].clone());
    Ok(vec![out])
}

pub fn repeat(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let r = call.ints("repeats")?;
    let lead = r.len() - s.len();
    Ok(vec![r.iter().enumerate().map(|(i, k)| if i < lead { k.clone() } else { k.clone() * s[i - lead].clone() }).collect()])
}

/// Factories: the requested size.
pub fn factory(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.ints("size")?])
}

pub fn native_layer_norm(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("input")?;
    let n = call.args.int_list("normalized_shape")?.len();
    let mut stat = x[..x.len() - n].to_vec();
    stat.extend(std::iter::repeat_n(Expr::Int(1), n));
    Ok(vec![x, stat.clone(), stat])
}

pub fn index_select(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    let idx = call.sizes("index")?;
    if !s.is_empty() {
        s[d] = idx.first().cloned().unwrap_or(Expr::Int(1));
    }
    Ok(vec![s])
}

pub fn gather(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.sizes("index")?])
}

/// `topk(k, dim)`: values and indices with `k` along `dim`.
pub fn topk(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    if !s.is_empty() {
        s[d] = call.int("k")?;
    }
    Ok(vec![s.clone(), s])
}

pub fn sort(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    Ok(vec![s.clone(), s])
}

/// A length read from the data (`nonzero`, `masked_select`): a new value in `[0, numel]`,
/// asserted when the program runs.
fn data_dependent_length(call: &mut MetaCall, numel: Expr) -> Result<Expr> {
    let n = call.env.create_unbacked(false);
    let check = |call: &mut MetaCall, cond: Expr| call.env.check(&cond, call.location).map_err(Error::from);
    check(call, Expr::greater_eq(n.clone(), 0))?;
    check(call, Expr::less_eq(n.clone(), numel))?;
    Ok(n)
}

pub fn nonzero(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let n = data_dependent_length(call, product(&s))?;
    Ok(vec![vec![n, Expr::Int(s.len() as i64)]])
}

pub fn masked_select(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let m = call.sizes("mask")?;
    let b = broadcast(call, &s, &m)?;
    let n = data_dependent_length(call, product(&b))?;
    Ok(vec![vec![n]])
}

/// `x[i, :, j]` with index tensors (`index.Tensor`): the indexed dims are replaced by the
/// indices' broadcast shape, in place when they are adjacent, first otherwise.
pub fn index(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    let indices = call.tensors("indices")?;
    if call.args.opt_tensor_list("indices")?.iter().flatten().any(|t| matches!(t.dtype(), tensor::DType::Bool | tensor::DType::U8)) {
        return Err(Error::msg("index: boolean masks as indices cannot be traced with symbolic sizes yet"));
    }
    let positions: Vec<usize> = indices.iter().enumerate().filter(|(_, t)| t.is_some()).map(|(i, _)| i).collect();
    let mut b: Vec<Expr> = Vec::new();
    for t in indices.iter().flatten() {
        b = broadcast(call, &b, t)?;
    }
    let (Some(&first), Some(&last)) = (positions.first(), positions.last()) else { return Ok(vec![s]) };
    let adjacent = positions.windows(2).all(|w| w[1] == w[0] + 1);
    let rest: Vec<Expr> = s.iter().enumerate().filter(|(i, _)| !positions.contains(i)).map(|(_, e)| e.clone()).collect();
    let out = if adjacent {
        let mut out = s[..first].to_vec();
        out.extend(b);
        out.extend_from_slice(&s[last + 1..]);
        out
    } else {
        let mut out = b;
        out.extend(rest);
        out
    };
    Ok(vec![out])
}

/// `arange(start, end, step)`: `ceil((end - start) / step)` elements.
pub fn arange(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let has = |name: &str| call.args.schema().param_index(name).is_some();
    let number = |name: &str, default: f64| -> Result<f64> { if has(name) { call.args.float(name) } else { Ok(default) } };
    let symbolic = |name: &str| matches!(call.overlay(name), Some(SymArg::Int(e)) if e.as_int().is_none());
    if !["start", "end", "step"].iter().any(|n| symbolic(n)) {
        // constant bounds (ints or floats): ceil((end - start) / step), as PyTorch computes it
        let (start, end, step) = (number("start", 0.0)?, number("end", 0.0)?, number("step", 1.0)?);
        if step == 0.0 {
            return Err(Error::msg(format!("{}: step must be nonzero", call.op())));
        }
        let n = ((end - start) / step).ceil();
        if !n.is_finite() || n < 0.0 {
            return Err(Error::msg(format!("{}: upper bound and larger bound inconsistent with step sign", call.op())));
        }
        return Ok(vec![vec![Expr::Int(n as i64)]]);
    }
    let int = |call: &MetaCall, name: &str, default: i64| -> Result<Expr> { if has(name) { call.int(name) } else { Ok(Expr::Int(default)) } };
    let (start, end, step) = (int(call, "start", 0)?, int(call, "end", 0)?, int(call, "step", 1)?);
    match step.as_int() {
        Some(step) if step > 0 => Ok(vec![vec![Expr::floordiv(end - start + (step - 1), Expr::Int(step))]]),
        Some(step) if step < 0 => Ok(vec![vec![Expr::floordiv(start - end + (-step - 1), Expr::Int(-step))]]),
        _ => Err(Error::msg(format!("{}: only a constant, nonzero step can be traced with symbolic bounds", call.op()))),
    }
}

/// Padding (`pad`, `constant_pad_nd`, `reflection_pad2d`, ...): the pads come in (before,
/// after) pairs from the last dim backwards.
pub fn pad(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let name = if call.args.schema().param_index("pad").is_some() { "pad" } else { "padding" };
    let pads = call.ints(name)?;
    if pads.len() % 2 != 0 || pads.len() / 2 > s.len() {
        return Err(Error::msg(format!("{}: padding length must be even and at most twice the rank {}, got {}", call.op(), s.len(), pads.len())));
    }
    let rank = s.len();
    for (i, pair) in pads.chunks(2).enumerate() {
        let d = rank - 1 - i;
        s[d] = s[d].clone() + pair[0].clone() + pair[1].clone();
    }
    Ok(vec![s])
}

/// An operator that returns nothing (an assertion): no sizes to give.
pub fn no_outputs(_: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![])
}

pub fn scalar(_: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![vec![]])
}

/// Batch norm's output has the input's sizes; the saved statistics are per channel where the
/// operator computes them (training, or no running statistics) and empty otherwise, as
/// PyTorch's CPU kernel returns them. The functional form also returns the updated running
/// statistics, per channel.
pub fn batch_norm_stats(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("input")?;
    let channels = x.get(1).cloned().unwrap_or(Expr::Int(1));
    // `_native_batch_norm_legit_no_training` has no `training` parameter: it is eval mode
    let training = call.args.has("training") && call.args.bool("training")?;
    let has_running = call.args.has("running_mean") && call.args.opt_tensor("running_mean")?.is_some();
    let stats = if training || !has_running { vec![channels.clone()] } else { vec![Expr::Int(0)] };
    let outputs = call.args.schema().returns.len();
    let mut out = vec![x, stats.clone(), stats];
    out.extend((3..outputs).map(|_| vec![channels.clone()]));
    Ok(out)
}

/// `_batch_norm_with_update(_functional)`: the output, the batch statistics, the empty
/// `reserve`, and (functional) the updated running statistics.
pub fn batch_norm_with_update(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("input")?;
    let channels = vec![x.get(1).cloned().unwrap_or(Expr::Int(1))];
    let mut out = vec![x, channels.clone(), channels.clone(), vec![Expr::Int(0)]];
    if call.args.schema().returns.len() == 6 {
        out.extend([channels.clone(), channels]);
    }
    Ok(out)
}

/// Sizes of the factorizations' outputs, by return name: per-matrix values (`result`, `sign`,
/// `logabsdet`, `info`) have the batch dims, `pivots` the batch dims and `min(m, n)`, and the
/// factors (`LU`, `L`, `inverse`) the input's sizes.
pub fn factored(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let name = call.args.schema().params[0].name.clone();
    let s = call.sizes(&name)?;
    if s.len() < 2 {
        return Err(Error::msg(format!("{}: expected a matrix or a batch of matrices, got {} dims", call.args.schema().qualified_name(), s.len())));
    }
    let (batch, m, n) = (s[..s.len() - 2].to_vec(), s[s.len() - 2].clone(), s[s.len() - 1].clone());
    let returns: Vec<Option<String>> = call.args.schema().returns.iter().map(|r| r.name.clone()).collect();
    Ok(returns
        .iter()
        .map(|r| match r.as_deref() {
            Some("result" | "sign" | "logabsdet" | "info") => batch.clone(),
            Some("pivots") => [batch.clone(), vec![Expr::min_of([m.clone(), n.clone()])]].concat(),
            _ => s.clone(),
        })
        .collect())
}

/// `as_strided`: the sizes asked for.
pub fn as_strided(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.ints("size")?])
}

/// `diagonal`: `dim1` and `dim2` removed, the diagonal's length appended.
/// `diagonal` and `linalg_diagonal` (whose tensor is `A`): the diagonal's length last.
pub fn diagonal(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let name = call.args.schema().params[0].name.clone();
    let s = call.sizes(&name)?;
    let (d1, d2) = (call.wrap_dim(call.args.int("dim1")?, s.len())?, call.wrap_dim(call.args.int("dim2")?, s.len())?);
    let offset = call.args.int("offset")?;
    let (rows, cols) = (s[d1].clone() - offset.min(0).abs(), s[d2].clone() - offset.max(0));
    let length = Expr::max_of([Expr::min_of([rows, cols]), Expr::Int(0)]);
    let mut out: Vec<Expr> = s.iter().enumerate().filter(|(i, _)| *i != d1 && *i != d2).map(|(_, e)| e.clone()).collect();
    out.push(length);
    Ok(vec![out])
}

/// `lstm.input`: the output keeps the input's sequence and batch dims with `directions ×
/// hidden` features; the final hidden and cell states have the initial ones' sizes.
pub fn lstm(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("input")?;
    let hx = call.tensors("hx")?;
    let (Some(Some(h0)), Some(Some(c0))) = (hx.first().cloned(), hx.get(1).cloned()) else {
        return Err(Error::msg(format!("{}: hx must hold the initial hidden and cell states", call.op())));
    };
    let directions = if call.args.bool("bidirectional")? { 2 } else { 1 };
    let hidden = h0.last().cloned().ok_or_else(|| Error::msg(format!("{}: hx[0] has no dims", call.op())))?;
    let mut output = x.clone();
    let last = output.len() - 1;
    output[last] = hidden * directions;
    Ok(vec![output, h0, c0])
}

/// `expand_as`, `view_as`, `reshape_as`: the other tensor's sizes.
pub fn sizes_of_other(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.sizes("other")?])
}

/// `_embedding_bag`: `[bags, D]` sums (means, maxima), each index's bag (none on the sum fast
/// path, which reports none), each bag's size, and the maxima's indices (`[bags, D]` in max
/// mode, else `[bags]`); `bags` is the offsets' count, less one with `include_last_offset`.
pub fn embedding_bag(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let (w, idx, offsets) = (call.sizes("weight")?, call.sizes("indices")?, call.sizes("offsets")?);
    if w.len() != 2 || idx.len() != 1 || offsets.len() != 1 {
        return Err(Error::msg(format!("embedding_bag: expected 2-D weight, 1-D indices and 1-D offsets, got {w:?}, {idx:?} and {offsets:?}")));
    }
    let bags = if call.args.bool("include_last_offset")? { Expr::add_all([offsets[0].clone(), Expr::Int(-1)]) } else { offsets[0].clone() };
    let mode = call.args.int("mode")?;
    let fast = crate::aten::nn::misc::embedding_bag_fast_sum(mode, call.args.tensor("weight")?.dtype(), call.args.int("padding_idx")?);
    let offset2bag = if fast { Expr::Int(0) } else { idx[0].clone() };
    let max_indices = if mode == 2 { vec![bags.clone(), w[1].clone()] } else { vec![bags.clone()] };
    Ok(vec![vec![bags.clone(), w[1].clone()], vec![offset2bag], vec![bags], max_indices])
}

/// `eye(n)` / `eye(n, m)`.
pub fn eye(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let n = call.int("n")?;
    let m = if call.args.has("m") { call.int("m")? } else { n.clone() };
    Ok(vec![vec![n, m]])
}

/// `upsample_*`: batch and channels kept, each spatial size the output size asked for, or the
/// input size times the scale factor, rounded down.
pub fn upsample(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let name = if call.args.has("input") { "input" } else { "self" };
    let s = call.sizes(name)?;
    let spatial = s.len().saturating_sub(2);
    let mut out = s[..s.len() - spatial].to_vec();
    if call.args.opt_int_list("output_size")?.is_some() {
        out.extend(call.ints("output_size")?);
    } else {
        let scales = call.args.opt_float_list("scale_factors")?.ok_or_else(|| Error::msg(format!("{}: either output_size or scale_factors must be given", call.op())))?;
        for (i, size) in s[s.len() - spatial..].iter().enumerate() {
            let scale = scales.get(i).or(scales.first()).copied().unwrap_or(1.0);
            let size = size.as_int().ok_or_else(|| Error::msg(format!("{}: a scale factor on a symbolic size is not supported; pass output_size", call.op())))?;
            out.push(Expr::Int((size as f64 * scale).floor() as i64));
        }
    }
    Ok(vec![out])
}

/// `native_group_norm`: the output has the input's sizes; mean and rstd are `[N, group]`.
pub fn native_group_norm(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("input")?;
    let stats = vec![call.int("N")?, Expr::Int(call.args.int("group")?)];
    Ok(vec![x, stats.clone(), stats])
}

/// `glu`: `dim` halved.
pub fn glu(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    s[d] = Expr::floordiv(s[d].clone(), Expr::Int(2));
    Ok(vec![s])
}

/// `pixel_shuffle` (channels / r², height and width × r) and `pixel_unshuffle` (the reverse).
pub fn pixel_shuffle(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let n = s.len();
    if n < 3 {
        return Err(Error::msg(format!("{}: the input needs at least 3 dimensions, got {n}", call.op())));
    }
    let (up, r) = if call.args.has("upscale_factor") { (true, call.args.int("upscale_factor")?) } else { (false, call.args.int("downscale_factor")?) };
    if up {
        s[n - 3] = Expr::floordiv(s[n - 3].clone(), Expr::Int(r * r));
        s[n - 2] = s[n - 2].clone() * r;
        s[n - 1] = s[n - 1].clone() * r;
    } else {
        s[n - 3] = s[n - 3].clone() * (r * r);
        s[n - 2] = Expr::floordiv(s[n - 2].clone(), Expr::Int(r));
        s[n - 1] = Expr::floordiv(s[n - 1].clone(), Expr::Int(r));
    }
    Ok(vec![s])
}

/// `dot`, `vdot`, `trace`: a 0-dim result.
pub fn scalar_result(_: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![vec![]])
}

/// `mv` and `addmv`: the matrix's rows.
pub fn matrix_vector(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let m = call.sizes(if call.args.has("mat") { "mat" } else { "self" })?;
    Ok(vec![vec![m.first().cloned().ok_or_else(|| Error::msg(format!("{}: the matrix has no dims", call.op())))?]])
}

/// `addr`: the outer product's sizes.
pub fn outer_product(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.sizes("vec1")?.into_iter().chain(call.sizes("vec2")?).collect()])
}

/// Losses with a `reduction`: none (0) keeps the broadcast sizes, mean and sum give a 0-dim.
pub fn loss(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    if call.args.int("reduction")? != 0 {
        return Ok(vec![vec![]]);
    }
    let (x, t) = (call.sizes("self")?, call.sizes("target")?);
    Ok(vec![broadcast(call, &x, &t)?])
}

/// `rot90`: an odd number of quarter turns swaps the two dims.
pub fn rot90(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let dims = call.args.int_list("dims")?;
    if dims.len() != 2 {
        return Err(Error::msg(format!("{}: expected 2 dims, got {}", call.op(), dims.len())));
    }
    if call.args.int("k")?.rem_euclid(2) == 1 {
        let (a, b) = (call.wrap_dim(dims[0], s.len())?, call.wrap_dim(dims[1], s.len())?);
        s.swap(a, b);
    }
    Ok(vec![s])
}

/// `unfold(dimension, size, step)`: that dim becomes the number of windows, a new last dim
/// the window.
pub fn unfold(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let (size, step) = (call.args.int("size")?, call.args.int("step")?);
    if s.is_empty() {
        return Ok(vec![vec![Expr::Int(size)]]);
    }
    let d = call.wrap_dim(call.args.int("dimension")?, s.len())?;
    s[d] = Expr::floordiv(s[d].clone() - size, Expr::Int(step)) + 1;
    s.push(Expr::Int(size));
    Ok(vec![s])
}

/// Two outputs with `self`'s sizes (`cummax`, `cummin`: values and indices).
pub fn same_as_self_twice(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let s = call.sizes("self")?;
    Ok(vec![s.clone(), s])
}

/// `linspace`/`logspace`: `steps` points.
pub fn steps(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![vec![call.int("steps")?]])
}

/// `randperm(n)`.
pub fn permutation(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![vec![call.int("n")?]])
}

/// `tril_indices`/`triu_indices(row, col, offset)`: `[2, count]`, the count of the triangle.
pub fn triangle_indices(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let (rows, cols, offset) = (call.args.int("row")?, call.args.int("col")?, call.args.int("offset")?);
    let lower = call.op().contains("tril");
    let count: i64 = (0..rows.max(0)).map(|r| if lower { (r + offset + 1).clamp(0, cols.max(0)) } else { (cols - (r + offset).max(0)).max(0) }).sum();
    Ok(vec![vec![Expr::Int(2), Expr::Int(count)]])
}

/// `diag_embed(offset, dim1, dim2)`: the last dim becomes a square of `n + |offset|` at
/// `dim1`, `dim2` of a result one dim larger.
pub fn diag_embed(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let n = s.pop().ok_or_else(|| Error::msg(format!("{}: the input needs at least one dim", call.op())))?;
    let side = n + call.args.int("offset")?.abs();
    let rank = s.len() + 2;
    let (d1, d2) = (call.wrap_dim(call.args.int("dim1")?, rank)?, call.wrap_dim(call.args.int("dim2")?, rank)?);
    let (lo, hi) = (d1.min(d2), d1.max(d2));
    s.insert(lo, side.clone());
    s.insert(hi, side);
    Ok(vec![s])
}

/// `narrow_copy(dim, start, length)`.
pub fn narrow(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    let d = call.wrap_dim(call.args.int("dim")?, s.len())?;
    s[d] = call.int("length")?;
    Ok(vec![s])
}

/// The sizes of parameter `index` (`take`), or of `self` for ops shaped like their values
/// (`searchsorted`, `bucketize`: one index per value).
pub fn sizes_of_index(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.sizes("index")?])
}

/// `nll_loss_forward`: the loss (per sample without reduction, else 0-dim) and the total
/// weight (0-dim).
pub fn nll_loss(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("self")?;
    let loss = if call.args.int("reduction")? != 0 {
        vec![]
    } else if x.len() >= 2 {
        let mut t = vec![x[0].clone()];
        t.extend(x[2..].iter().cloned());
        t
    } else {
        vec![]
    };
    Ok(vec![loss, vec![]])
}

/// `multi_margin_loss`: per sample without reduction, else 0-dim.
pub fn per_sample_loss(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("self")?;
    Ok(vec![if call.args.int("reduction")? == 0 && x.len() >= 2 { vec![x[0].clone()] } else { vec![] }])
}

/// `_cdist_forward`: batch dims broadcast, then `[rows of x1, rows of x2]`.
pub fn cdist(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let (a, b) = (call.sizes("x1")?, call.sizes("x2")?);
    if a.len() < 2 || b.len() < 2 {
        return Err(Error::msg(format!("{}: both inputs need at least 2 dims", call.op())));
    }
    let mut out = broadcast(call, &a[..a.len() - 2], &b[..b.len() - 2])?;
    out.push(a[a.len() - 2].clone());
    out.push(b[b.len() - 2].clone());
    Ok(vec![out])
}

/// `_pdist_forward`: one distance per pair of rows.
pub fn pdist(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let n = call.sizes("self")?.first().cloned().ok_or_else(|| Error::msg(format!("{}: the input needs 2 dims", call.op())))?;
    Ok(vec![vec![Expr::floordiv(n.clone() * (n - 1), Expr::Int(2))]])
}

/// `grid_sampler_2d`: `[N, C]` of the input, `[H, W]` of the grid.
pub fn grid_sampler(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let (x, g) = (call.sizes("input")?, call.sizes("grid")?);
    if x.len() != 4 || g.len() != 4 {
        return Err(Error::msg(format!("{}: input and grid must be 4-D", call.op())));
    }
    Ok(vec![vec![x[0].clone(), x[1].clone(), g[1].clone(), g[2].clone()]])
}

/// `histc`: `bins` counts.
pub fn histc(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![vec![Expr::Int(call.args.int("bins")?)]])
}

/// `empty_strided(size, stride)`: the sizes asked for.
pub fn sized_by_size(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.ints("size")?])
}

/// `max_unpool2d/3d`: batch and channels kept, spatial sizes as asked.
pub fn unpool(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let x = call.sizes("self")?;
    let size = call.ints("output_size")?;
    let mut out = x[..x.len() - size.len()].to_vec();
    out.extend(size);
    Ok(vec![out])
}

/// `isin`: one answer per element.
pub fn sizes_of_elements(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    Ok(vec![call.sizes("elements")?])
}

/// `masked_scatter`: `self` and `mask` broadcast together.
pub fn masked_scatter(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let (x, mask) = (call.sizes("self")?, call.sizes("mask")?);
    Ok(vec![broadcast(call, &x, &mask)?])
}

pub fn sdpa(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let q = call.sizes("query")?;
    let v = call.sizes("value")?;
    let mut out = q[..q.len() - 1].to_vec();
    out.push(v[v.len() - 1].clone());
    Ok(vec![out])
}
