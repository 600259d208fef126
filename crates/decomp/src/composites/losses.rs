//! Loss functions PyTorch's training IR keeps as one operator, each as its composite computes
//! it: the element-wise loss, then the reduction (`0` none, `1` mean, `2` sum).

use export::retrace::DecompCall;
use export::trace::Arg;
use export::{Error, Result, Tensor};
use ops::names::aten;
use ops::MetaCall;
use symbolic::Expr;

use super::math::pairwise;
use super::{one, op1, Composite, Sizes};

pub(super) const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::l1_loss(Tensor self, Tensor target, int reduction=1) -> Tensor", tags: &[], meta: Some(elementwise_loss_meta), dtype: None, decompose: l1_loss },
    Composite {
        schema: "aten::multilabel_margin_loss(Tensor self, Tensor target, int reduction=1) -> Tensor",
        tags: &[],
        meta: Some(multilabel_margin_meta),
        dtype: None,
        decompose: multilabel_margin_loss,
    },
    Composite { schema: "aten::kl_div(Tensor self, Tensor target, int reduction=1, *, bool log_target=False) -> Tensor", tags: &[], meta: Some(elementwise_loss_meta), dtype: None, decompose: kl_div },
    Composite {
        schema: "aten::margin_ranking_loss(Tensor input1, Tensor input2, Tensor target, float margin=0., int reduction=1) -> Tensor",
        tags: &[],
        meta: Some(elementwise_loss_meta),
        dtype: None, decompose: margin_ranking_loss,
    },
    Composite {
        schema: "aten::hinge_embedding_loss(Tensor self, Tensor target, float margin=1., int reduction=1) -> Tensor",
        tags: &[],
        meta: Some(elementwise_loss_meta),
        dtype: None, decompose: hinge_embedding_loss,
    },
    Composite {
        schema: "aten::cosine_embedding_loss(Tensor input1, Tensor input2, Tensor target, float margin=0., int reduction=1) -> Tensor",
        tags: &[],
        meta: Some(per_row_loss_meta),
        dtype: None, decompose: cosine_embedding_loss,
    },
    Composite {
        schema: "aten::triplet_margin_loss(Tensor anchor, Tensor positive, Tensor negative, float margin=1., float p=2., float eps=9.9999999999999995e-07, bool swap=False, int reduction=1) -> Tensor",
        tags: &[],
        meta: Some(per_row_loss_meta),
        dtype: None, decompose: triplet_margin_loss,
    },
];

fn t(x: Tensor) -> Arg {
    Arg::Tensor(x)
}

/// The loss reduced as `reduction` says: as it is (0), its mean (1) or its sum (2).
pub(super) fn reduced(op: &str, loss: Tensor, reduction: i64) -> Result<Vec<Arg>> {
    match reduction {
        0 => one(loss),
        1 => one(op1(aten::mean, vec![t(loss)])?),
        2 => one(op1(aten::sum_dim_IntList, vec![t(loss), Arg::Ints(vec![]), Arg::Bool(false)])?),
        r => Err(Error::msg(format!("{op}: {r} is not a valid value for reduction"))),
    }
}

fn reduction(c: &DecompCall) -> Result<i64> {
    Ok(c.args.int("reduction")?.hint())
}

fn l1_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let diff = op1(aten::sub_Tensor, vec![t(c.args.tensor("self")?), t(c.args.tensor("target")?)])?;
    reduced(&c.args.op, op1(aten::abs, vec![t(diff)])?, reduction(c)?)
}

/// `exp(target) * (target - self)` for a log target, else `xlogy(target, target) - target * self`.
fn kl_div(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, target) = (c.args.tensor("self")?, c.args.tensor("target")?);
    let loss = if c.args.bool("log_target")? {
        let diff = op1(aten::sub_Tensor, vec![t(target.clone()), t(x)])?;
        op1(aten::mul_Tensor, vec![t(op1(aten::exp, vec![t(target)])?), t(diff)])?
    } else {
        let entropy = op1(aten::xlogy_Tensor, vec![t(target.clone()), t(target.clone())])?;
        op1(aten::sub_Tensor, vec![t(entropy), t(op1(aten::mul_Tensor, vec![t(target), t(x)])?)])?
    };
    reduced(&c.args.op, loss, reduction(c)?)
}

/// `max(0, -target * (input1 - input2) + margin)`.
fn margin_ranking_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let diff = op1(aten::sub_Tensor, vec![t(c.args.tensor("input1")?), t(c.args.tensor("input2")?)])?;
    let signed = op1(aten::mul_Tensor, vec![t(op1(aten::neg, vec![t(c.args.tensor("target")?)])?), t(diff)])?;
    let shifted = op1(aten::add_Scalar, vec![t(signed), Arg::Float(c.args.float("margin")?)])?;
    reduced(&c.args.op, op1(aten::clamp_min, vec![t(shifted), Arg::Int(0.into())])?, reduction(c)?)
}

fn zeros_like(x: &Tensor) -> Result<Tensor> {
    op1(aten::zeros_like, vec![t(x.clone())])
}

/// `max(0, margin - self)` where the target is not 1, plus `self` where it is not -1.
fn hinge_embedding_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x, target) = (c.args.tensor("self")?, c.args.tensor("target")?);
    let zeros = zeros_like(&x)?;
    let margin = op1(aten::rsub_Scalar, vec![t(x.clone()), Arg::Float(c.args.float("margin")?)])?;
    let clamped = op1(aten::clamp_min, vec![t(margin), Arg::Int(0.into())])?;
    let not_one = op1(aten::ne_Scalar, vec![t(target.clone()), Arg::Int(1.into())])?;
    let not_minus_one = op1(aten::ne_Scalar, vec![t(target), Arg::Int((-1).into())])?;
    let from_margin = op1(aten::where_self, vec![t(not_one), t(clamped), t(zeros.clone())])?;
    let from_self = op1(aten::where_self, vec![t(not_minus_one), t(x), t(zeros)])?;
    reduced(&c.args.op, op1(aten::add_Tensor, vec![t(from_margin), t(from_self)])?, reduction(c)?)
}

/// `1 - cos(x1, x2)` where the target is 1, `max(0, cos - margin)` where it is -1; the cosine
/// along the last dim with 1e-12 added to each squared norm, as PyTorch computes it.
fn cosine_embedding_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (x1, x2, target) = (c.args.tensor("input1")?, c.args.tensor("input2")?, c.args.tensor("target")?);
    let dim = x1.dim() as i64 - 1;
    let dot = |a: &Tensor, b: &Tensor| -> Result<Tensor> {
        let product = op1(aten::mul_Tensor, vec![t(a.clone()), t(b.clone())])?;
        op1(aten::sum_dim_IntList, vec![t(product), Arg::Ints(vec![dim.into()]), Arg::Bool(false)])
    };
    const EPSILON: f64 = 1e-12;
    let prod = dot(&x1, &x2)?;
    let m1 = op1(aten::add_Scalar, vec![t(dot(&x1, &x1)?), Arg::Float(EPSILON)])?;
    let m2 = op1(aten::add_Scalar, vec![t(dot(&x2, &x2)?), Arg::Float(EPSILON)])?;
    let denom = op1(aten::sqrt, vec![t(op1(aten::mul_Tensor, vec![t(m1), t(m2)])?)])?;
    let cos = op1(aten::div_Tensor, vec![t(prod), t(denom)])?;
    let zeros = zeros_like(&cos)?;
    let pos = op1(aten::rsub_Scalar, vec![t(cos.clone()), Arg::Int(1.into())])?;
    let neg = op1(aten::clamp_min, vec![t(op1(aten::sub_Scalar, vec![t(cos), Arg::Float(c.args.float("margin")?)])?), Arg::Int(0.into())])?;
    let is_one = op1(aten::eq_Scalar, vec![t(target.clone()), Arg::Int(1.into())])?;
    let is_minus_one = op1(aten::eq_Scalar, vec![t(target), Arg::Int((-1).into())])?;
    let out_pos = op1(aten::where_self, vec![t(is_one), t(pos), t(zeros.clone())])?;
    let out_neg = op1(aten::where_self, vec![t(is_minus_one), t(neg), t(zeros)])?;
    reduced(&c.args.op, op1(aten::add_Tensor, vec![t(out_pos), t(out_neg)])?, reduction(c)?)
}

/// `max(0, margin + d(anchor, positive) - d(anchor, negative))`, the negative distance the
/// smaller of the two when `swap`.
fn triplet_margin_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (a, pos, neg) = (c.args.tensor("anchor")?, c.args.tensor("positive")?, c.args.tensor("negative")?);
    let (p, eps) = (c.args.float("p")?, c.args.float("eps")?);
    let d_pos = pairwise(a.clone(), pos.clone(), p, eps, false)?;
    let mut d_neg = pairwise(a, neg.clone(), p, eps, false)?;
    if c.args.bool("swap")? {
        let d_swap = pairwise(pos, neg, p, eps, false)?;
        d_neg = op1(aten::minimum, vec![t(d_neg), t(d_swap)])?;
    }
    let gap = op1(aten::sub_Tensor, vec![t(op1(aten::add_Scalar, vec![t(d_pos), Arg::Float(c.args.float("margin")?)])?), t(d_neg)])?;
    reduced(&c.args.op, op1(aten::clamp_min, vec![t(gap), Arg::Int(0.into())])?, reduction(c)?)
}

/// The broadcast sizes of the tensor arguments, or a 0-dim result when reduced.
/// `multilabel_margin_loss`: one loss per sample (the input's dims but the classes) unreduced,
/// a scalar reduced.
fn multilabel_margin_meta(call: &mut MetaCall) -> Sizes {
    let mut s = call.sizes("self")?;
    if call.args.int("reduction")? != 0 {
        return Ok(vec![vec![]]);
    }
    s.pop();
    Ok(vec![s])
}

/// `multilabel_margin_loss` is its forward kernel's loss (PyTorch's composite drops `is_target`).
fn multilabel_margin_loss(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(c.args.tensor("self")?), Arg::Tensor(c.args.tensor("target")?), Arg::Int(c.args.int("reduction")?.into())];
    let mut outs = export::trace::call(aten::multilabel_margin_loss_forward, args, vec![])?;
    one(outs.remove(0))
}

fn elementwise_loss_meta(call: &mut MetaCall) -> Sizes {
    if call.args.int("reduction")? != 0 {
        return Ok(vec![vec![]]);
    }
    let names: Vec<String> = call.args.schema().params.iter().filter(|p| matches!(p.ty, ops::schema::Type::Tensor)).map(|p| p.name.clone()).collect();
    let mut out: Vec<Expr> = vec![];
    for n in names {
        let s = call.sizes(&n)?;
        out = ops::meta::broadcast(call, &out, &s)?;
    }
    Ok(vec![out])
}

/// One loss per row of the first input (its last dim reduced), or a 0-dim result when reduced.
fn per_row_loss_meta(call: &mut MetaCall) -> Sizes {
    if call.args.int("reduction")? != 0 {
        return Ok(vec![vec![]]);
    }
    let first = call.args.schema().params[0].name.clone();
    let mut s = call.sizes(&first)?;
    s.pop();
    Ok(vec![s])
}
