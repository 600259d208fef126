//! The decompositions, one function per operator (registered in [`register`]), each written
//! as PyTorch's own decomposition computes it (`torch/_decomp`, `torch/_refs` and the
//! composite-implicit kernels), so that a lowered program holds the operators PyTorch's does.

use ops::names::aten;
use ops::OpName;
use export::retrace::DecompCall;
use export::trace::{call, Arg};
use export::{Error, Result, SymInt, Tensor};
use ir::schema::{Argument, Layout, MemoryFormat};
use ops::Value;
use tensor::DType;

use crate::DecompTable;

pub fn register(t: &mut DecompTable) {
    t.insert(aten::linear, linear);
    t.insert(aten::matmul, matmul);
    t.insert(aten::lstm_input, lstm);
    t.insert(aten::squeeze_dim, squeeze_dim);
    t.insert(aten::scaled_dot_product_attention, sdpa);
    t.insert(aten::conv1d, conv);
    t.insert(aten::conv2d, conv);
    t.insert(aten::conv3d, conv);
    t.insert(aten::batch_norm, batch_norm);
    t.insert(aten::layer_norm, layer_norm);
    t.insert(aten::softmax_int, softmax);
    t.insert(aten::log_softmax_int, log_softmax);
    t.insert(aten::max_pool2d, max_pool2d);
    t.insert(aten::max_pool3d, max_pool3d);
    t.insert(aten::transpose_int, transpose);
    t.insert(aten::t, t_);
    t.insert(aten::chunk, chunk);
    t.insert(aten::split_Tensor, split);
    t.insert(aten::reshape, reshape);
    t.insert(aten::ones, ones);
    t.insert(aten::zeros, zeros);
    t.insert(aten::zeros_like, zeros_like);
    t.insert(aten::ones_like, ones_like);
    t.insert(aten::triu, triu);
    t.insert(aten::tril, tril);
    t.insert(aten::masked_fill_Scalar, masked_fill);
    t.insert(aten::fill_Scalar, fill_scalar);
    t.insert(aten::fill_Tensor, fill_tensor);
    t.insert(aten::sum, sum);
    t.insert(aten::to_dtype, to_dtype);
    t.insert(aten::contiguous, contiguous);
    t.insert(aten::flatten_using_ints, flatten);
    t.insert(aten::unflatten_int, unflatten);
    t.insert(aten::silu, silu);
    t.insert(aten::hardswish, hardswish);
    t.insert(aten::hardsigmoid, hardsigmoid);
    t.insert(aten::adaptive_avg_pool2d, adaptive_avg_pool2d);
    t.insert(aten::arange, arange);
    t.insert(aten::dropout, dropout);
    t.insert(aten::lift_fresh_copy, lift_fresh_copy);
    t.insert(aten::detach, detach);
    t.insert(aten::detach_, detach_);
    t.insert(aten::stack, stack);
    t.insert(aten::baddbmm, baddbmm);
    t.insert(aten::group_norm, group_norm);
    t.insert(aten::linalg_vector_norm, vector_norm);
    t.insert(aten::clamp_min, clamp_min);
    t.insert(aten::expand_as, expand_as);
}

fn op(name: OpName, args: Vec<Arg>) -> Result<Vec<Tensor>> {
    call(name, args, vec![])
}

fn op1(name: OpName, args: Vec<Arg>) -> Result<Tensor> {
    op(name, args)?.into_iter().next().ok_or_else(|| Error::msg(format!("{name} returned nothing")))
}

pub(crate) fn ints(v: &[i64]) -> Arg {
    Arg::Ints(v.iter().map(|&i| i.into()).collect())
}

fn sym_ints(v: &[SymInt]) -> Arg {
    Arg::Ints(v.to_vec())
}

fn tensors(v: Vec<Tensor>) -> Vec<Arg> {
    v.into_iter().map(Arg::Tensor).collect()
}

fn one(t: Tensor) -> Result<Vec<Arg>> {
    Ok(vec![Arg::Tensor(t)])
}

pub(crate) fn cpu() -> Arg {
    Arg::Device("cpu".into())
}

pub(crate) fn strided() -> Arg {
    Arg::Literal(Value::Layout("torch.strided".into()), Argument::AsLayout(Layout::STRIDED))
}

fn preserve_format() -> Arg {
    Arg::Literal(Value::MemoryFormat("torch.preserve_format".into()), Argument::AsMemoryFormat(MemoryFormat::PRESERVE_FORMAT))
}

/// The factory arguments (`dtype`, `layout`, `device`, `pin_memory`) a call was given, to pass on.
pub(crate) fn factory_kwargs(c: &DecompCall) -> Result<Vec<(&'static str, Arg)>> {
    let mut kwargs = Vec::new();
    for name in ["dtype", "layout", "device", "pin_memory"] {
        match c.args.get(name)? {
            Arg::None => {}
            a => kwargs.push((name, a.clone())),
        }
    }
    Ok(kwargs)
}


pub(crate) fn permute(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    op1(aten::permute, vec![Arg::Tensor(x.clone()), ints(dims)])
}

fn view(x: &Tensor, sizes: &[SymInt]) -> Result<Tensor> {
    op1(aten::view, vec![Arg::Tensor(x.clone()), sym_ints(sizes)])
}

/// `x.reshape(sizes)`: a view when the layout allows it, else a contiguous copy viewed.
pub(crate) fn reshape_to(x: &Tensor, sizes: &[SymInt]) -> Result<Tensor> {
    // pt2's strides of a value made by view operators are PyTorch's (a transposed attention
    // output folded back is a view); values from pt2's element-wise kernels are contiguous,
    // where viewing is always right
    reshape_with_layout(x, sizes, x.can_view(sizes))
}

/// `reshape` given whether PyTorch's tensor can be viewed with `sizes`: pt2's element-wise
/// kernels return contiguous results where PyTorch's keep a permuted input's layout, so a
/// caller that knows better says so.
fn reshape_with_layout(x: &Tensor, sizes: &[SymInt], viewable: bool) -> Result<Tensor> {
    // a view when the layout allows one, or for the same sizes (an expanded operand);
    // otherwise a contiguous copy first
    let same = x.sizes().iter().zip(sizes).all(|(a, b)| a.expr() == b.expr()) && x.dim() == sizes.len();
    if same || viewable {
        view(x, sizes)
    } else {
        let c = call(aten::clone, vec![Arg::Tensor(x.clone())], vec![("memory_format", Arg::contiguous_format())])?.remove(0);
        view(&c, sizes)
    }
}

/// The product of some sizes (the element count of a tensor of those sizes).
/// The product of sizes, multiplied left to right as PyTorch's decompositions do (each
/// symbolic step a node of its own while tracing, [`export::trace::sym_mul`]).
pub(crate) fn product(v: &[SymInt]) -> SymInt {
    v.iter().fold(SymInt::from(1), |a, b| export::trace::sym_mul(&a, b).unwrap_or_else(|_| a * b.clone()))
}

/// `x @ w.T + b` as PyTorch lowers it: `permute` + `addmm` (`mm` without a bias), with the
/// leading dims folded into one by `view`s.
fn linear(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(linear_of(&c.args.tensor("input")?, &c.args.tensor("weight")?, c.args.opt_tensor("bias")?)?)
}

fn linear_of(x: &Tensor, w: &Tensor, b: Option<Tensor>) -> Result<Tensor> {
    let (x, w) = (x.clone(), w.clone());
    let one = Ok::<Tensor, Error>;
    let mm = |x2: &Tensor| -> Result<Tensor> {
        let wt = permute(&w, &[1, 0])?;
        match &b {
            Some(b) => op1(aten::addmm, vec![Arg::Tensor(b.clone()), Arg::Tensor(x2.clone()), Arg::Tensor(wt)]),
            None => op1(aten::mm, vec![Arg::Tensor(x2.clone()), Arg::Tensor(wt)]),
        }
    };
    let sizes = x.sizes();
    if sizes.len() == 2 {
        return one(mm(&x)?);
    }
    if !x.data().is_contiguous() {
        // a layout that cannot be folded: a batched product, then the bias
        let y = matmul_of(&x, &permute(&w, &[1, 0])?)?;
        return one(match &b {
            Some(b) => op1(aten::add_Tensor, vec![Arg::Tensor(y), Arg::Tensor(b.clone())])?,
            None => y,
        });
    }
    // the input is folded first, then the weight transposed, as PyTorch orders them
    let (lead, k) = sizes.split_at(sizes.len() - 1);
    let folded = reshape_to(&x, &[product(lead), k[0].clone()])?;
    let y = mm(&folded)?;
    let mut out = lead.to_vec();
    out.push(w.size(0)?);
    one(view(&y, &out)?)
}

fn matmul(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(matmul_of(&c.args.tensor("self")?, &c.args.tensor("other")?)?)
}

/// `a @ b` by the ranks of the operands, as `at::native::matmul` does it.
pub(crate) fn matmul_of(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with_layout(a, b, a.data().is_contiguous())
}

/// [`matmul_of`] given whether PyTorch's left operand is contiguous (its batch dims fold into
/// its rows only then); the broadcast operands of a batched product are reshaped as PyTorch's
/// `reshape` does, a view where their strides allow (pt2's element-wise kernels keep a
/// permuted operand's layout, as PyTorch's do).
fn matmul_with_layout(a: &Tensor, b: &Tensor, a_contiguous: bool) -> Result<Tensor> {
    let (a, b) = (a.clone(), b.clone());
    let (da, db) = (a.dim(), b.dim());
    let one = Ok::<Tensor, Error>;
    let t = |x: &Tensor| Arg::Tensor(x.clone());
    match (da, db) {
        (1, 1) => one(op1(aten::dot, vec![t(&a), t(&b)])?),
        (2, 1) => one(op1(aten::mv, vec![t(&a), t(&b)])?),
        (1, 2) => {
            let u = op1(aten::unsqueeze, vec![t(&a), 0.into()])?;
            let m = op1(aten::mm, vec![t(&u), t(&b)])?;
            one(op1(aten::squeeze_dim, vec![t(&m), 0.into()])?)
        }
        (2, 2) => one(op1(aten::mm, vec![t(&a), t(&b)])?),
        (da, 1 | 2) if da >= 3 && a_contiguous => {
            // fold a's batch dims into its rows
            let sa = a.sizes();
            let (lead, k) = sa.split_at(da - 1);
            let folded = reshape_to(&a, &[product(lead), k[0].clone()])?;
            let m = if db == 2 {
                op1(aten::mm, vec![t(&folded), t(&b)])?
            } else {
                op1(aten::mv, vec![t(&folded), t(&b)])?
            };
            let mut out = lead.to_vec();
            if db == 2 {
                out.push(b.size(1)?);
            }
            one(view(&m, &out)?)
        }
        _ => {
            // broadcast the batch dims, fold them into one, bmm, unfold
            let (sa, sb) = (a.sizes(), b.sizes());
            let (n, k) = if da >= 2 { (sa[da - 2].clone(), sa[da - 1].clone()) } else { (1.into(), sa[0].clone()) };
            let m = if db >= 2 { sb[db - 1].clone() } else { 1.into() };
            let (ba, bb) = (&sa[..da.saturating_sub(2)], &sb[..db.saturating_sub(2)]);
            let nb = ba.len().max(bb.len());
            let mut batch = Vec::with_capacity(nb);
            for i in 0..nb {
                let x = (i + ba.len() >= nb).then(|| ba[i + ba.len() - nb].clone());
                let y = (i + bb.len() >= nb).then(|| bb[i + bb.len() - nb].clone());
                batch.push(match (x, y) {
                    (Some(x), Some(y)) => {
                        if x.is_static() && x.hint() == 1 {
                            y
                        } else {
                            x
                        }
                    }
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => 1.into(),
                });
            }
            let bp = product(&batch);
            let mut ea = batch.clone();
            ea.extend([n.clone(), k.clone()]);
            let mut eb = batch.clone();
            eb.extend([sb[db - 2].clone(), m.clone()]);
            let xa = op1(aten::expand, vec![t(&a), sym_ints(&ea)])?;
            let xa = reshape_to(&xa, &[bp.clone(), n.clone(), k.clone()])?;
            let xb = op1(aten::expand, vec![t(&b), sym_ints(&eb)])?;
            let xb = reshape_to(&xb, &[bp, sb[db - 2].clone(), m.clone()])?;
            let r = op1(aten::bmm, vec![t(&xa), t(&xb)])?;
            let mut out = batch;
            out.extend([n, m]);
            one(view(&r, &out)?)
        }
    }
}

/// Scaled dot-product attention as PyTorch's math kernel computes it: both operands scaled by
/// `sqrt(scale)`, a causal or given mask added as a bias, softmax, rows that attend to nothing
/// set to zero ("safe softmax"), then the values.
fn sdpa(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (q, k, v) = (c.args.tensor("query")?, c.args.tensor("key")?, c.args.tensor("value")?);
    let mask = c.args.opt_tensor("attn_mask")?;
    let causal = c.args.bool("is_causal")?;
    let e = q.size(-1)?.guard_int()? as f64;
    let scale = match c.args.get("scale")? {
        Arg::Float(s) => *s,
        _ => 1.0 / e.sqrt(),
    };
    let sf = scale.sqrt();
    let dtype = q.dtype();
    let (l, s_len) = (q.size(-2)?, k.size(-2)?);
    let bias = if causal {
        let full = call(aten::full, vec![Arg::Ints(vec![l.clone(), s_len.clone()]), true.into()], vec![("dtype", Arg::Dtype(DType::Bool)), ("layout", strided()), ("device", cpu()), ("pin_memory", false.into())])?.remove(0);
        let lower = triangle_mask(l.clone(), s_len.clone(), 0.into(), false)?;
        let allowed = op1(aten::logical_and, vec![Arg::Tensor(lower), Arg::Tensor(full)])?;
        let neg_inf = call(aten::scalar_tensor, vec![f64::NEG_INFINITY.into()], vec![("dtype", Arg::Dtype(dtype)), ("device", cpu())])?.remove(0);
        let zero = scalar_tensor(0.0.into(), dtype)?;
        Some(op1(aten::where_self, vec![Arg::Tensor(allowed), Arg::Tensor(zero), Arg::Tensor(neg_inf)])?)
    } else {
        match mask {
            Some(m) if m.dtype() == DType::Bool => {
                let neg_inf = call(aten::scalar_tensor, vec![f64::NEG_INFINITY.into()], vec![("dtype", Arg::Dtype(dtype)), ("device", cpu())])?.remove(0);
                let zero = scalar_tensor(0.0.into(), dtype)?;
                Some(op1(aten::where_self, vec![Arg::Tensor(m), Arg::Tensor(zero), Arg::Tensor(neg_inf)])?)
            }
            other => other,
        }
    };
    let qs = op1(aten::mul_Scalar, vec![Arg::Tensor(q.clone()), sf.into()])?;
    let rank = k.dim() as i64;
    let mut perm: Vec<i64> = (0..rank).collect();
    perm.swap(rank as usize - 1, rank as usize - 2);
    let kt = op1(aten::mul_Scalar, vec![Arg::Tensor(permute(&k, &perm)?), sf.into()])?;
    // the scaled operands keep their inputs' layouts in PyTorch, as pt2's element-wise
    // kernels do: q's, and k's transposed
    let mut scores = matmul_with_layout(&qs, &kt, q.data().is_contiguous())?;
    if let Some(b) = bias {
        scores = op1(aten::add_Tensor, vec![Arg::Tensor(scores), Arg::Tensor(b)])?;
    }
    let p = op1(aten::_softmax, vec![Arg::Tensor(scores.clone()), (-1).into(), false.into()])?;
    // rows whose every score is -inf attend to nothing: zeros, not NaN
    let masked = op1(aten::eq_Scalar, vec![Arg::Tensor(scores), f64::NEG_INFINITY.into()])?;
    let live = op1(aten::logical_not, vec![Arg::Tensor(masked)])?;
    let any = op1(aten::any_dim, vec![Arg::Tensor(live), (-1).into(), true.into()])?;
    let dead = op1(aten::logical_not, vec![Arg::Tensor(any)])?;
    let zeros = call(aten::full_like, vec![Arg::Tensor(p.clone()), 0.into()], vec![("pin_memory", false.into()), ("memory_format", preserve_format())])?.remove(0);
    let safe = op1(aten::where_self, vec![Arg::Tensor(dead), Arg::Tensor(zeros), Arg::Tensor(p)])?;
    let out = matmul_of(&safe, &v)?;
    if out.dim() != 4 {
        return one(out);
    }
    // PyTorch lowers CPU attention through its flash kernel's decomposition, which hands the
    // result back in that kernel's layout: [L, N, H, E] in memory, seen as [N, H, L, E] (so a
    // following transpose and reshape is a view, and the projection after it a batched product)
    let laid_out = call(aten::clone, vec![Arg::Tensor(permute(&out, &[2, 0, 1, 3])?)], vec![("memory_format", Arg::contiguous_format())])?.remove(0);
    one(permute(&laid_out, &[1, 2, 0, 3])?)
}

/// `squeeze(dim)` → `squeeze.dims([dim])`.
fn squeeze_dim(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::squeeze_dims, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Ints(vec![c.args.int("dim")?])])?)
}

fn squeeze0(x: &Tensor) -> Result<Tensor> {
    op1(aten::squeeze_dims, vec![Arg::Tensor(x.clone()), ints(&[0])])
}

/// `x[i]` along dim 0 as iteration over a tensor records it: one slice each, then the squeezes.
fn unbind0(x: &Tensor) -> Result<Vec<Tensor>> {
    let n = x.size(0)?.guard_int()?;
    let slices: Vec<Tensor> = (0..n).map(|i| op1(aten::slice_Tensor, vec![Arg::Tensor(x.clone()), 0.into(), i.into(), (i + 1).into()])).collect::<Result<_>>()?;
    slices.iter().map(squeeze0).collect()
}

/// `lstm` as `torch._decomp` unrolls it: the input projection for all steps at once, then one
/// cell per step (gates from a linear of the hidden state, chunked into four).
fn lstm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let input = c.args.tensor("input")?;
    let hx = c.args.tensors("hx")?;
    let params = c.args.tensors("params")?;
    let has_biases = c.args.bool("has_biases")?;
    let layers = c.args.int("num_layers")?.hint() as usize;
    let bidirectional = c.args.bool("bidirectional")?;
    let batch_first = c.args.bool("batch_first")?;
    if hx.len() != 2 {
        return Err(Error::msg(format!("lstm expects two hidden states, got {}", hx.len())));
    }
    let group = if has_biases { 4 } else { 2 };
    if params.len() % group != 0 || hx[0].size(2)?.hint() != hx[1].size(2)?.hint() {
        return Err(Error::msg("lstm: projections are not supported"));
    }
    let groups: Vec<&[Tensor]> = params.chunks(group).collect();
    let (h0, c0) = (unbind0(&hx[0])?, unbind0(&hx[1])?);
    let mut x = if batch_first { permute(&input, &[1, 0, 2])? } else { input };
    let layer = |x: &Tensor, h: &Tensor, cell: &Tensor, p: &[Tensor], reverse: bool| -> Result<(Tensor, Tensor, Tensor)> {
        let (w_ih, w_hh) = (&p[0], &p[1]);
        let (b_ih, b_hh) = if has_biases { (Some(p[2].clone()), Some(p[3].clone())) } else { (None, None) };
        let mut hx = op1(aten::unsqueeze, vec![Arg::Tensor(h.clone()), 0.into()])?;
        let mut cx = op1(aten::unsqueeze, vec![Arg::Tensor(cell.clone()), 0.into()])?;
        let mut pre = linear_of(x, w_ih, b_ih)?;
        if reverse {
            pre = op1(aten::flip, vec![Arg::Tensor(pre), ints(&[0])])?;
        }
        let mut steps = Vec::new();
        for inp in unbind0(&pre)? {
            let gates = op1(aten::add_Tensor, vec![Arg::Tensor(linear_of(&hx, w_hh, b_hh.clone())?), Arg::Tensor(inp)])?;
            let each = gates.size(2)?.hint() / 4;
            let g = op(aten::split_with_sizes, vec![Arg::Tensor(gates), ints(&[each; 4]), 2.into()])?;
            let i = op1(aten::sigmoid, vec![Arg::Tensor(g[0].clone())])?;
            let f = op1(aten::sigmoid, vec![Arg::Tensor(g[1].clone())])?;
            let cg = op1(aten::tanh, vec![Arg::Tensor(g[2].clone())])?;
            let o = op1(aten::sigmoid, vec![Arg::Tensor(g[3].clone())])?;
            let fc = op1(aten::mul_Tensor, vec![Arg::Tensor(f), Arg::Tensor(cx)])?;
            let ic = op1(aten::mul_Tensor, vec![Arg::Tensor(i), Arg::Tensor(cg)])?;
            cx = op1(aten::add_Tensor, vec![Arg::Tensor(fc), Arg::Tensor(ic)])?;
            let tc = op1(aten::tanh, vec![Arg::Tensor(cx.clone())])?;
            hx = op1(aten::mul_Tensor, vec![Arg::Tensor(o), Arg::Tensor(tc)])?;
            steps.push(hx.clone());
        }
        if reverse {
            steps.reverse();
        }
        let out = op1(aten::cat, vec![Arg::Tensors(steps)])?;
        Ok((out, squeeze0(&hx)?, squeeze0(&cx)?))
    };
    let (mut final_h, mut final_c) = (Vec::new(), Vec::new());
    for l in 0..layers {
        let dirs = if bidirectional { 2 } else { 1 };
        let (idx, bidx) = (l * dirs, l * dirs + 1);
        let (out, h, cell) = layer(&x, &h0[idx], &c0[idx], groups[idx], false)?;
        final_h.push(h);
        final_c.push(cell);
        x = if bidirectional {
            let (bout, bh, bc) = layer(&x, &h0[bidx], &c0[bidx], groups[bidx], true)?;
            final_h.push(bh);
            final_c.push(bc);
            let last = out.dim() as i64 - 1;
            op1(aten::cat, vec![Arg::Tensors(vec![out, bout]), last.into()])?
        } else {
            out
        };
    }
    if batch_first {
        x = permute(&x, &[1, 0, 2])?;
    }
    let stack = |v: Vec<Tensor>| op1(aten::stack, vec![Arg::Tensors(v), 0.into()]);
    Ok(vec![Arg::Tensor(x), Arg::Tensor(stack(final_h)?), Arg::Tensor(stack(final_c)?)])
}

/// `conv1d/2d/3d` → `convolution(..., transposed=False, output_padding=0, groups)`.
fn conv(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    let w = c.args.tensor("weight")?;
    let spatial = w.dim() - 2;
    let list = |name: &str| -> Result<Arg> {
        let v = c.args.ints(name)?;
        Ok(Arg::Ints(if v.len() == 1 && spatial > 1 { vec![v[0].clone(); spatial] } else { v }))
    };
    let args = vec![
        Arg::Tensor(x),
        Arg::Tensor(w),
        Arg::OptTensor(c.args.opt_tensor("bias")?),
        list("stride")?,
        list("padding")?,
        list("dilation")?,
        false.into(),
        ints(&vec![0; spatial]),
        Arg::Int(c.args.int("groups")?),
    ];
    one(op1(aten::convolution, args)?)
}

/// `batch_norm`: in training, `_native_batch_norm_legit_functional` (the new running
/// statistics become buffer updates); in eval, `_native_batch_norm_legit_no_training`.
fn batch_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    let (w, b) = (c.args.opt_tensor("weight")?, c.args.opt_tensor("bias")?);
    let (rm, rv) = (c.args.opt_tensor("running_mean")?, c.args.opt_tensor("running_var")?);
    let (training, momentum, eps) = (c.args.bool("training")?, c.args.float("momentum")?, c.args.float("eps")?);
    let opt = |t: &Option<Tensor>| Arg::OptTensor(t.clone());
    match (&rm, &rv, training) {
        (Some(m), Some(v), true) => {
            let outs = op(
                aten::_native_batch_norm_legit_functional,
                vec![Arg::Tensor(x), opt(&w), opt(&b), Arg::Tensor(m.clone()), Arg::Tensor(v.clone()), true.into(), momentum.into(), eps.into()],
            )?;
            c.mutate(m, outs[3].clone());
            c.mutate(v, outs[4].clone());
            one(outs[0].clone())
        }
        (Some(m), Some(v), false) => {
            let outs = op(
                aten::_native_batch_norm_legit_no_training,
                vec![Arg::Tensor(x), opt(&w), opt(&b), Arg::Tensor(m.clone()), Arg::Tensor(v.clone()), momentum.into(), eps.into()],
            )?;
            one(outs[0].clone())
        }
        _ => {
            let outs = op(aten::_native_batch_norm_legit_no_stats, vec![Arg::Tensor(x), opt(&w), opt(&b), training.into(), momentum.into(), eps.into()])?;
            one(outs[0].clone())
        }
    }
}

fn layer_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![
        Arg::Tensor(c.args.tensor("input")?),
        Arg::Ints(c.args.ints("normalized_shape")?),
        Arg::OptTensor(c.args.opt_tensor("weight")?),
        Arg::OptTensor(c.args.opt_tensor("bias")?),
        c.args.float("eps")?.into(),
    ];
    one(op(aten::native_layer_norm, args)?.remove(0))
}

fn softmax(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::_softmax, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Int(c.args.int("dim")?), false.into()])?)
}

fn log_softmax(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::_log_softmax, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Int(c.args.int("dim")?), false.into()])?)
}

/// `max_pool2d` → `max_pool2d_with_indices`, the values kept.
fn max_pool2d(c: &mut DecompCall) -> Result<Vec<Arg>> {
    max_pool(c, aten::max_pool2d_with_indices)
}

fn max_pool3d(c: &mut DecompCall) -> Result<Vec<Arg>> {
    max_pool(c, aten::max_pool3d_with_indices)
}

/// The values of the pooling that also gives indices.
fn max_pool(c: &DecompCall, with_indices: OpName) -> Result<Vec<Arg>> {
    let mut args = vec![Arg::Tensor(c.args.tensor("self")?), Arg::Ints(c.args.ints("kernel_size")?)];
    // only the arguments that differ from the defaults, as PyTorch passes them on
    let stride = c.args.ints("stride")?;
    let padding = c.args.ints("padding")?;
    let dilation = c.args.ints("dilation")?;
    let ceil = c.args.bool("ceil_mode")?;
    let rest: Vec<(bool, Arg)> = vec![
        (!stride.is_empty(), Arg::Ints(stride)),
        (padding.iter().any(|p| p.hint() != 0), Arg::Ints(padding)),
        (dilation.iter().any(|d| d.hint() != 1), Arg::Ints(dilation)),
        (ceil, ceil.into()),
    ];
    let last = rest.iter().rposition(|(given, _)| *given).map(|i| i + 1).unwrap_or(0);
    args.extend(rest.into_iter().take(last).map(|(_, a)| a));
    one(op(with_indices, args)?.remove(0))
}

fn transpose(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let rank = x.dim().max(1) as i64;
    let wrap = |d: i64| if d < 0 { d + rank } else { d };
    let (a, b) = (wrap(c.args.int("dim0")?.hint()), wrap(c.args.int("dim1")?.hint()));
    let mut perm: Vec<i64> = (0..rank).collect();
    if x.dim() > 0 {
        perm.swap(a as usize, b as usize);
    }
    one(permute(&x, &perm)?)
}

fn t_(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let perm: Vec<i64> = (0..x.dim() as i64).rev().collect();
    one(permute(&x, &perm)?)
}

/// `split_with_sizes` for pieces of `each` (the last one shorter).
fn split_sizes(x: &Tensor, each: SymInt, dim: i64) -> Result<Vec<Arg>> {
    let size = x.size(dim)?;
    let n = (size.hint() + each.hint() - 1) / each.hint().max(1);
    let sizes: Vec<SymInt> = (0..n).map(|i| if i + 1 < n { each.clone() } else { size.clone() - each.clone() * (n - 1) }).collect();
    Ok(vec![Arg::Tensors(op(aten::split_with_sizes, vec![Arg::Tensor(x.clone()), Arg::Ints(sizes), dim.into()])?)])
}

fn chunk(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let chunks = c.args.int("chunks")?.hint();
    let dim = c.args.int("dim")?.hint();
    let size = x.size(dim)?;
    let each = (size + (chunks - 1)).floordiv(chunks);
    split_sizes(&x, each, dim)
}

fn split(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    split_sizes(&x, c.args.int("split_size")?, c.args.int("dim")?.hint())
}

fn reshape(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    one(reshape_to(&x, &c.args.ints("shape")?)?)
}

fn flatten(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let sizes = x.sizes();
    if sizes.is_empty() {
        return one(reshape_to(&x, &[1.into()])?);
    }
    let rank = sizes.len() as i64;
    let wrap = |d: i64| (if d < 0 { d + rank } else { d }) as usize;
    let (a, b) = (wrap(c.args.int("start_dim")?.hint()), wrap(c.args.int("end_dim")?.hint()));
    if a == b {
        return one(x);
    }
    let mut out = sizes[..a].to_vec();
    out.push(product(&sizes[a..=b]));
    out.extend_from_slice(&sizes[b + 1..]);
    one(reshape_to(&x, &out)?)
}

/// `unflatten(dim, sizes)` → `view` to the split sizes.
fn unflatten(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let mut sizes = x.sizes();
    let rank = sizes.len() as i64;
    let d = c.args.int("dim")?.hint();
    let d = (if d < 0 { d + rank } else { d }) as usize;
    let mut parts = c.args.ints("sizes")?;
    if let Some(i) = parts.iter().position(|p| p.is_static() && p.hint() == -1) {
        let known = parts.iter().enumerate().filter(|(j, _)| *j != i).fold(SymInt::from(1), |a, (_, p)| a * p.clone());
        parts[i] = sizes[d].floordiv(known);
    }
    sizes.splice(d..=d, parts);
    one(reshape_to(&x, &sizes)?)
}

/// `full(size, value, dtype=..., layout=torch.strided, device=cpu, pin_memory=False)`.
fn full(size: Vec<SymInt>, value: Arg, dtype: Option<DType>) -> Result<Vec<Arg>> {
    let kwargs = vec![
        ("dtype", Arg::Dtype(dtype.unwrap_or(DType::F32))),
        ("layout", strided()),
        ("device", Arg::Device("cpu".into())),
        ("pin_memory", false.into()),
    ];
    one(call(aten::full, vec![Arg::Ints(size), value], kwargs)?.remove(0))
}

fn factory_dtype(c: &DecompCall) -> Option<DType> {
    match c.args.get("dtype") {
        Ok(Arg::Dtype(d)) => Some(*d),
        _ => None,
    }
}

fn ones(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let dtype = factory_dtype(c);
    let value = if dtype == Some(DType::Bool) { Arg::Bool(true) } else { Arg::Int(1.into()) };
    full(c.args.ints("size")?, value, dtype)
}

fn zeros(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let dtype = factory_dtype(c);
    let value = if dtype == Some(DType::Bool) { Arg::Bool(false) } else { Arg::Int(0.into()) };
    full(c.args.ints("size")?, value, dtype)
}

/// `zeros_like(x)` → `full_like(x, 0, ..., memory_format=preserve_format)`, the given
/// factory arguments passed on.
fn like(c: &mut DecompCall, value: i64) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let mut kwargs = factory_kwargs(c)?;
    kwargs.push(("memory_format", preserve_format()));
    one(call(aten::full_like, vec![Arg::Tensor(x), value.into()], kwargs)?.remove(0))
}

/// `fill(x, v)` → `full_like(x, v)`, as `torch._decomp` lowers it.
fn fill_scalar(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, value) = (c.args.tensor("self")?, c.args.get("value")?.clone());
    one(call(aten::full_like, vec![Arg::Tensor(x), value], vec![("pin_memory", false.into()), ("memory_format", preserve_format())])?.remove(0))
}

/// `fill(x, t)` for a 0-d tensor `t` → `copy(x, t)` (the PyTorch 2.9 form of a masked write).
fn fill_tensor(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, value) = (c.args.tensor("self")?, c.args.tensor("value")?);
    if value.dim() != 0 {
        return Err(Error::msg(format!("{}: fill only supports 0-dimension value tensor but got tensor with {} dimensions", c.args.op, value.dim())));
    }
    one(op1(aten::copy, vec![Arg::Tensor(x), Arg::Tensor(value)])?)
}

fn zeros_like(c: &mut DecompCall) -> Result<Vec<Arg>> {
    like(c, 0)
}

fn ones_like(c: &mut DecompCall) -> Result<Vec<Arg>> {
    like(c, 1)
}

/// `triu`/`tril` as `torch._refs` writes them: a mask from two `arange`s, then `logical_and`
/// (bool) or `where`.
fn triangle(c: &mut DecompCall, upper: bool) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let diagonal = c.args.int("diagonal")?;
    let (h, w) = (x.size(-2)?, x.size(-1)?);
    let mask = triangle_mask(h, w, diagonal, upper)?;
    if x.dtype() == DType::Bool {
        one(op1(aten::logical_and, vec![Arg::Tensor(mask), Arg::Tensor(x)])?)
    } else {
        let zero = scalar_tensor(Arg::Int(0.into()), x.dtype())?;
        one(op1(aten::where_self, vec![Arg::Tensor(mask), Arg::Tensor(x), Arg::Tensor(zero)])?)
    }
}

/// The `h`×`w` mask of `col - row >= diagonal` (upper) or `<= diagonal` (lower), from two
/// `arange`s as `torch._refs` builds it.
fn triangle_mask(h: SymInt, w: SymInt, diagonal: SymInt, upper: bool) -> Result<Tensor> {
    let arange = |n: SymInt| -> Result<Tensor> {
        let kwargs = vec![("layout", strided()), ("device", Arg::Device("cpu".into())), ("pin_memory", false.into())];
        Ok(call(aten::arange_start_step, vec![0.into(), Arg::Int(n)], kwargs)?.remove(0))
    };
    let cols = op1(aten::unsqueeze, vec![Arg::Tensor(arange(w)?), (-2).into()])?;
    let rows = op1(aten::unsqueeze, vec![Arg::Tensor(arange(h)?), (-1).into()])?;
    let diff = op1(aten::sub_Tensor, vec![Arg::Tensor(cols), Arg::Tensor(rows)])?;
    op1(if upper { aten::ge_Scalar } else { aten::le_Scalar }, vec![Arg::Tensor(diff), Arg::Int(diagonal)])
}

fn triu(c: &mut DecompCall) -> Result<Vec<Arg>> {
    triangle(c, true)
}

fn tril(c: &mut DecompCall) -> Result<Vec<Arg>> {
    triangle(c, false)
}

pub(crate) fn scalar_tensor(value: Arg, dtype: DType) -> Result<Tensor> {
    let kwargs = vec![("dtype", Arg::Dtype(dtype)), ("layout", strided()), ("device", cpu())];
    Ok(call(aten::scalar_tensor, vec![value], kwargs)?.remove(0))
}

/// `masked_fill(x, mask, v)` → `where(mask, scalar_tensor(v), x)`.
fn masked_fill(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let value = c.args.get("value")?.clone();
    let fill = scalar_tensor(value, x.dtype())?;
    one(op1(aten::where_self, vec![Arg::Tensor(c.args.tensor("mask")?), Arg::Tensor(fill), Arg::Tensor(x)])?)
}

fn sum(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let mut args = vec![Arg::Tensor(x), ints(&[])];
    if let Ok(Arg::Dtype(d)) = c.args.get("dtype") {
        args.push(false.into());
        return one(call(aten::sum_dim_IntList, args, vec![("dtype", Arg::Dtype(*d))])?.remove(0));
    }
    one(op1(aten::sum_dim_IntList, args)?)
}

fn to_dtype(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let Arg::Dtype(d) = c.args.get("dtype")?.clone() else { return Err(Error::msg("to: dtype expected")) };
    if x.dtype() == d {
        return one(x);
    }
    one(call(aten::_to_copy, vec![Arg::Tensor(x)], vec![("dtype", Arg::Dtype(d))])?.remove(0))
}

fn contiguous(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if x.data().is_contiguous() {
        return one(x);
    }
    one(call(aten::clone, vec![Arg::Tensor(x)], vec![("memory_format", Arg::contiguous_format())])?.remove(0))
}

/// `silu(x)` = `x * sigmoid(x)`.
fn silu(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let s = op1(aten::sigmoid, vec![Arg::Tensor(x.clone())])?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(x), Arg::Tensor(s)])?)
}

/// `clamp(x + 3, 0, 6)`, as two clamps (PyTorch's `hardtanh`-free form).
fn relu6_of_x_plus_3(x: &Tensor) -> Result<Tensor> {
    let a = op1(aten::add_Tensor, vec![Arg::Tensor(x.clone()), 3.into()])?;
    let lo = op1(aten::clamp, vec![Arg::Tensor(a), 0.into()])?;
    op1(aten::clamp, vec![Arg::Tensor(lo), Arg::None, 6.into()])
}

/// `hardswish(x)` = `x * clamp(x + 3, 0, 6) / 6`.
fn hardswish(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let r = relu6_of_x_plus_3(&x)?;
    let m = op1(aten::mul_Tensor, vec![Arg::Tensor(x), Arg::Tensor(r)])?;
    one(op1(aten::div_Tensor, vec![Arg::Tensor(m), 6.into()])?)
}

/// `hardsigmoid(x)` = `clamp(x + 3, 0, 6) / 6`.
fn hardsigmoid(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let r = relu6_of_x_plus_3(&c.args.tensor("self")?)?;
    one(op1(aten::div_Tensor, vec![Arg::Tensor(r), 6.into()])?)
}

/// Global average pooling is a mean over the spatial dims; other sizes, the core operator.
fn adaptive_avg_pool2d(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let size = c.args.ints("output_size")?;
    if size.iter().all(|s| s.is_static() && s.hint() == 1) {
        return one(global_average(x)?);
    }
    one(op1(aten::_adaptive_avg_pool2d, vec![Arg::Tensor(x), Arg::Ints(size)])?)
}

/// Adaptive average pooling to one value per plane, as PyTorch's composite computes it: a mean
/// over the spatial dims (kept), restrided channels-last (`as_strided`, strides `[C, 1, C, C]`)
/// when the input's layout suggests channels-last (ConvNeXt's and Swin's permuted features).
pub(crate) fn global_average(x: Tensor) -> Result<Tensor> {
    let spatial: Vec<i64> = (1..x.dim() as i64 - 1).map(|d| -d).collect();
    let mean = call(aten::mean_dim, vec![Arg::Tensor(x.clone()), ints(&spatial), true.into()], vec![])?.remove(0);
    if !x.data().strides_like_channels_last() {
        return Ok(mean);
    }
    let (n, c) = (x.size(0)?, x.size(1)?);
    let mut size = vec![n, c.clone()];
    let mut strides = vec![c.clone(), 1.into()];
    for _ in &spatial {
        size.push(1.into());
        strides.push(c.clone());
    }
    op1(aten::as_strided, vec![Arg::Tensor(mean), Arg::Ints(size), Arg::Ints(strides)])
}

/// `arange(end)` → `arange.start_step(0, end)`, the factory arguments passed on.
fn arange(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let end = c.args.get("end")?.clone();
    one(call(aten::arange_start_step, vec![0.into(), end], factory_kwargs(c)?)?.remove(0))
}

/// Dropout in eval mode is the identity; in training, `native_dropout`.
fn dropout(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    if !c.args.bool("train")? {
        return one(x);
    }
    let p = c.args.float("p")?;
    one(op(aten::native_dropout, vec![Arg::Tensor(x), p.into(), Arg::Bool(true)])?.remove(0))
}

fn lift_fresh_copy(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::clone, vec![Arg::Tensor(c.args.tensor("self")?)])?)
}

/// `detach` is an alias of its input in core ATen (PyTorch lowers it to `aten.alias`).
fn detach(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::alias, vec![Arg::Tensor(c.args.tensor("self")?)])?)
}

/// `detach_` changes nothing a functional program can see.
fn detach_(c: &mut DecompCall) -> Result<Vec<Arg>> {
    Ok(tensors(vec![c.args.tensor("self")?]))
}

/// Each tensor unsqueezed at `dim`, concatenated there.
fn stack(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let tensors = c.args.tensors("tensors")?;
    let dim = c.args.int("dim")?.hint();
    let rank = tensors.first().map_or(0, |t| t.dim()) as i64 + 1;
    let d = if dim < 0 { dim + rank } else { dim };
    let parts = tensors.into_iter().map(|t| op1(aten::unsqueeze, vec![Arg::Tensor(t), Arg::Int(d.into())])).collect::<Result<Vec<_>>>()?;
    one(op1(aten::cat, vec![Arg::Tensors(parts), Arg::Int(d.into())])?)
}

/// `beta * self + alpha * bmm(batch1, batch2)`, each factor only where it is not 1 (and
/// `self` left out where beta is 0), as PyTorch's decomposition writes it.
fn baddbmm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let product = op1(aten::bmm, vec![Arg::Tensor(c.args.tensor("batch1")?), Arg::Tensor(c.args.tensor("batch2")?)])?;
    let is = |a: &Arg, v: f64| match a {
        Arg::Int(i) => i.hint() as f64 == v,
        Arg::Float(f) => *f == v,
        _ => false,
    };
    let (beta, alpha) = (c.args.get("beta")?.clone(), c.args.get("alpha")?.clone());
    let scaled = if is(&alpha, 1.0) { product } else { op1(aten::mul_Tensor, vec![Arg::Tensor(product), alpha])? };
    if is(&beta, 0.0) {
        return one(scaled);
    }
    let x = c.args.tensor("self")?;
    let x = if is(&beta, 1.0) { x } else { op1(aten::mul_Tensor, vec![Arg::Tensor(x), beta])? };
    one(op1(aten::add_Tensor, vec![Arg::Tensor(x), Arg::Tensor(scaled)])?)
}

/// `native_group_norm` over the input as `[N, C, H×W]`, its normalized output.
fn group_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    let sizes = x.sizes();
    if sizes.len() < 2 {
        return Err(Error::msg(format!("group_norm: expected an input with at least 2 dims, got {}", sizes.len())));
    }
    let args = vec![
        Arg::Tensor(x),
        Arg::OptTensor(c.args.opt_tensor("weight")?),
        Arg::OptTensor(c.args.opt_tensor("bias")?),
        Arg::Int(sizes[0].clone()),
        Arg::Int(sizes[1].clone()),
        Arg::Int(product(&sizes[2..])),
        Arg::Int(c.args.int("num_groups")?),
        c.args.float("eps")?.into(),
    ];
    one(op(aten::native_group_norm, args)?.remove(0))
}

/// `(sum |x|^p)^(1/p)` over `dim`, as PyTorch's reference: no `abs` for an even `p`,
/// `amax(|x|)` for infinity, a count of non-zeros for 0.
fn vector_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    if !matches!(c.args.get("dtype")?, Arg::None) {
        return Err(Error::msg("linalg_vector_norm: a dtype= argument is not supported when lowering"));
    }
    let p = match c.args.get("ord")? {
        Arg::Int(i) => i.hint() as f64,
        Arg::Float(f) => *f,
        _ => return Err(Error::msg("linalg_vector_norm: ord must be a number")),
    };
    let dims = match c.args.get("dim")? {
        Arg::None => Arg::Ints(vec![]),
        Arg::Int(d) => Arg::Ints(vec![d.clone()]),
        other => other.clone(),
    };
    let keepdim = Arg::Bool(c.args.bool("keepdim")?);
    let abs = |t: Tensor| op1(aten::abs, vec![Arg::Tensor(t)]);
    if p.is_infinite() {
        let a = abs(x)?;
        let reduce = if p > 0.0 { aten::amax } else { aten::amin };
        return one(op1(reduce, vec![Arg::Tensor(a), dims, keepdim])?);
    }
    if p == 0.0 {
        let nonzero = op1(aten::ne_Scalar, vec![Arg::Tensor(x.clone()), Arg::Int(0.into())])?;
        let counted = call(aten::sum_dim_IntList, vec![Arg::Tensor(nonzero), dims, keepdim], vec![("dtype", Arg::Dtype(x.dtype()))])?.remove(0);
        return one(counted);
    }
    let even = p.fract() == 0.0 && (p as i64) % 2 == 0;
    let base = if even { x } else { abs(x)? };
    let powered = if p == 1.0 { base } else { op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(base), Arg::Float(p)])? };
    let summed = op1(aten::sum_dim_IntList, vec![Arg::Tensor(powered), dims, keepdim])?;
    one(if p == 1.0 { summed } else { op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(summed), Arg::Float(1.0 / p)])? })
}

/// `clamp(self, min)`.
fn clamp_min(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::clamp, vec![Arg::Tensor(c.args.tensor("self")?), c.args.get("min")?.clone()])?)
}

/// `expand(self, other's sizes)`.
fn expand_as(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let sizes = c.args.tensor("other")?.sizes();
    one(op1(aten::expand, vec![Arg::Tensor(c.args.tensor("self")?), Arg::Ints(sizes)])?)
}
