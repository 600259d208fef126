//! Linear-algebra composites: the public `linalg_*` functions over the kernels that compute
//! (`_linalg_det`, `_linalg_slogdet`, `linalg_inv_ex`, `_linalg_solve_ex`, `linalg_cholesky_ex`,
//! `_linalg_eigh`, `_linalg_svd`, `linalg_lu_factor_ex`, `linalg_matrix_exp`), as PyTorch's
//! composites call them, and the products (`linalg_matrix_power`, `linalg_multi_dot`).
//!
//! A failed factorization: the eager kernel refuses the call with PyTorch's message (what
//! `_linalg_check_errors` does); a lowered program keeps only the computing kernel.

use export::retrace::DecompCall;
use export::trace::{call, is_tracing, Arg};
use export::{Error, Result, Tensor};
use ops::names::aten;
use ops::{meta, DtypeRule, MetaCall, OpName};
use symbolic::Expr;

use super::{one, op1, Composite, Sizes};

pub(super) const COMPOSITES: &[Composite] = &[
    Composite { schema: "aten::linalg_det(Tensor A) -> Tensor", tags: &[], meta: Some(batch_meta), dtype: None, decompose: det },
    Composite { schema: "aten::det(Tensor self) -> Tensor", tags: &[], meta: Some(batch_meta), dtype: None, decompose: det },
    Composite { schema: "aten::logdet(Tensor self) -> Tensor", tags: &[], meta: Some(batch_meta), dtype: None, decompose: logdet },
    Composite { schema: "aten::linalg_slogdet(Tensor A) -> (Tensor sign, Tensor logabsdet)", tags: &[], meta: Some(batch_pair_meta), dtype: None, decompose: slogdet },
    Composite { schema: "aten::slogdet(Tensor self) -> (Tensor sign, Tensor logabsdet)", tags: &[], meta: Some(batch_pair_meta), dtype: None, decompose: slogdet },
    Composite { schema: "aten::linalg_inv(Tensor A) -> Tensor", tags: &[], meta: Some(same_as_first), dtype: None, decompose: inv },
    Composite { schema: "aten::inverse(Tensor self) -> Tensor", tags: &[], meta: Some(same_as_first), dtype: None, decompose: inv },
    Composite { schema: "aten::linalg_cholesky(Tensor self, *, bool upper=False) -> Tensor", tags: &[], meta: Some(same_as_first), dtype: None, decompose: cholesky },
    Composite { schema: "aten::linalg_solve(Tensor A, Tensor B, *, bool left=True) -> Tensor", tags: &[], meta: Some(solve_meta), dtype: None, decompose: solve },
    Composite {
        schema: "aten::linalg_solve_ex(Tensor A, Tensor B, *, bool left=True, bool check_errors=False) -> (Tensor result, Tensor info)",
        tags: &[],
        meta: Some(solve_ex_meta),
        dtype: Some(DtypeRule::Custom(result_and_info)), decompose: solve_ex,
    },
    Composite { schema: "aten::linalg_eigh(Tensor self, str UPLO=\"L\") -> (Tensor eigenvalues, Tensor eigenvectors)", tags: &[], meta: Some(eigh_meta), dtype: None, decompose: eigh },
    Composite { schema: "aten::linalg_eigvalsh(Tensor self, str UPLO=\"L\") -> Tensor", tags: &[], meta: Some(eigvalsh_meta), dtype: None, decompose: eigvalsh },
    Composite {
        schema: "aten::linalg_svd(Tensor A, bool full_matrices=True, *, str? driver=None) -> (Tensor U, Tensor S, Tensor Vh)",
        tags: &[],
        meta: Some(svd_meta),
        dtype: None, decompose: linalg_svd,
    },
    Composite { schema: "aten::svd(Tensor self, bool some=True, bool compute_uv=True) -> (Tensor U, Tensor S, Tensor V)", tags: &[], meta: Some(svd_meta), dtype: None, decompose: svd },
    Composite { schema: "aten::linalg_tensorinv(Tensor self, int ind=2) -> Tensor", tags: &[], meta: Some(tensorinv_meta), dtype: None, decompose: tensorinv },
    Composite { schema: "aten::linalg_tensorsolve(Tensor self, Tensor other, int[]? dims=None) -> Tensor", tags: &[], meta: Some(tensorsolve_meta), dtype: None, decompose: tensorsolve },
    Composite {
        schema: "aten::linalg_matrix_rank.atol_rtol_tensor(Tensor input, *, Tensor? atol=None, Tensor? rtol=None, bool hermitian=False) -> Tensor",
        tags: &[],
        meta: Some(batch_meta),
        dtype: Some(DtypeRule::Long), decompose: matrix_rank,
    },
    Composite { schema: "aten::linalg_cond(Tensor self, Scalar? p=None) -> Tensor", tags: &[], meta: Some(batch_meta), dtype: None, decompose: cond },
    Composite { schema: "aten::linalg_svdvals(Tensor A, *, str? driver=None) -> Tensor", tags: &[], meta: Some(svdvals_meta), dtype: None, decompose: svdvals },
    Composite { schema: "aten::matrix_exp(Tensor self) -> Tensor", tags: &[], meta: Some(same_as_first), dtype: None, decompose: matrix_exp },
    Composite { schema: "aten::linalg_matrix_power(Tensor self, int n) -> Tensor", tags: &[], meta: Some(same_as_first), dtype: None, decompose: matrix_power },
    Composite { schema: "aten::linalg_multi_dot(Tensor[] tensors) -> Tensor", tags: &[], meta: Some(multi_dot_meta), dtype: None, decompose: multi_dot },
    Composite {
        schema: "aten::_lu_with_info(Tensor self, bool pivot=True, bool check_errors=True) -> (Tensor LU, Tensor pivots, Tensor info)",
        tags: &[],
        meta: Some(meta::factored),
        dtype: None,
        decompose: lu_with_info,
    },
    Composite { schema: "aten::lu_solve(Tensor self, Tensor LU_data, Tensor LU_pivots) -> Tensor", tags: &[], meta: None, dtype: None, decompose: lu_solve },
    Composite { schema: "aten::linalg_diagonal(Tensor(a) A, *, int offset=0, int dim1=-2, int dim2=-1) -> Tensor(a)", tags: &[], meta: Some(meta::diagonal), dtype: None, decompose: linalg_diagonal },
    Composite {
        schema: "aten::linalg_norm(Tensor self, Scalar? ord=None, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
        tags: &[],
        meta: Some(norm_meta),
        dtype: None, decompose: norm,
    },
    Composite {
        schema: "aten::linalg_norm.ord_str(Tensor self, str ord, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
        tags: &[],
        meta: Some(norm_meta),
        dtype: None, decompose: norm,
    },
    Composite {
        schema: "aten::linalg_matrix_norm.str_ord(Tensor self, str ord=\"fro\", int[] dim=[-2, -1], bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
        tags: &[],
        meta: Some(norm_meta),
        dtype: None, decompose: matrix_norm,
    },
    Composite {
        schema: "aten::linalg_matrix_norm(Tensor self, Scalar ord, int[] dim=[-2, -1], bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
        tags: &[],
        meta: Some(norm_meta),
        dtype: None, decompose: matrix_norm,
    },
    Composite { schema: "aten::pinverse(Tensor self, float rcond=1.0000000000000001e-15) -> Tensor", tags: &[], meta: Some(transposed_meta), dtype: None, decompose: pinverse },
    Composite { schema: "aten::linalg_vander(Tensor x, *, SymInt? N=None) -> Tensor", tags: &[], meta: Some(vander_meta), dtype: None, decompose: vander },
    Composite {
        schema: "aten::linalg_lu_factor(Tensor A, *, bool pivot=True) -> (Tensor LU, Tensor pivots)",
        tags: &[],
        meta: Some(lu_factor_meta),
        dtype: Some(DtypeRule::Custom(result_and_info)), decompose: lu_factor,
    },
];

/// The matrix argument (`A` in the `linalg_*` schemas, `self` in the older ones).
fn first(c: &DecompCall) -> Result<Tensor> {
    c.args.tensor("A").or_else(|_| c.args.tensor("self"))
}

/// The computing kernel's outputs, the call refused (eagerly) when `info` (at `info_at`) says
/// a factorization failed, with PyTorch's message for `api`.
fn checked(c: &DecompCall, kernel: OpName, args: Vec<Arg>, kwargs: Vec<(&'static str, Arg)>, info_at: Option<usize>, api: &str) -> Result<Vec<Tensor>> {
    let outs = call(kernel, args, kwargs)?;
    if let (Some(i), false) = (info_at, is_tracing()) {
        let info = outs.get(i).ok_or_else(|| Error::msg(format!("{}: {kernel} gave no info", c.args.op)))?;
        if let Some(bad) = info.data().to_f64_vec().into_iter().find(|&v| v != 0.0) {
            return Err(Error::msg(match api {
                "linalg.cholesky" => format!("{api}: The factorization could not be completed because the input is not positive-definite (the leading minor of order {bad} is not positive-definite)."),
                _ => format!("{api}: The diagonal element {bad} is zero, the inversion could not be completed because the input matrix is singular."),
            }));
        }
    }
    Ok(outs)
}

fn det(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(call(aten::_linalg_det, vec![Arg::Tensor(first(c)?)], vec![])?.remove(0))
}

/// `log(det)`: NaN for a negative determinant, as PyTorch's `logdet`.
fn logdet(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let d = call(aten::_linalg_det, vec![Arg::Tensor(first(c)?)], vec![])?.remove(0);
    one(op1(aten::log, vec![Arg::Tensor(d)])?)
}

fn slogdet(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let outs = call(aten::_linalg_slogdet, vec![Arg::Tensor(first(c)?)], vec![])?;
    Ok(outs.into_iter().take(2).map(Arg::Tensor).collect())
}

fn inv(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(checked(c, aten::linalg_inv_ex, vec![Arg::Tensor(first(c)?)], vec![], Some(1), "linalg.inv")?.remove(0))
}

fn cholesky(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let kwargs = vec![("upper", Arg::Bool(c.args.bool("upper")?))];
    one(checked(c, aten::linalg_cholesky_ex, vec![Arg::Tensor(first(c)?)], kwargs, Some(1), "linalg.cholesky")?.remove(0))
}

fn solve_args(c: &DecompCall) -> Result<(Vec<Arg>, Vec<(&'static str, Arg)>)> {
    Ok((vec![Arg::Tensor(c.args.tensor("A")?), Arg::Tensor(c.args.tensor("B")?)], vec![("left", Arg::Bool(c.args.bool("left")?))]))
}

fn solve(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (args, kwargs) = solve_args(c)?;
    one(checked(c, aten::_linalg_solve_ex, args, kwargs, Some(3), "linalg.solve")?.remove(0))
}

fn solve_ex(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (args, kwargs) = solve_args(c)?;
    let outs = call(aten::_linalg_solve_ex, args, kwargs)?;
    Ok(vec![Arg::Tensor(outs[0].clone()), Arg::Tensor(outs[3].clone())])
}

fn uplo(c: &DecompCall) -> Result<Arg> {
    c.args.get("UPLO").cloned()
}

fn eigh(c: &mut DecompCall) -> Result<Vec<Arg>> {
    Ok(call(aten::_linalg_eigh, vec![Arg::Tensor(first(c)?), uplo(c)?], vec![])?.into_iter().map(Arg::Tensor).collect())
}

fn eigvalsh(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(call(aten::_linalg_eigh, vec![Arg::Tensor(first(c)?), uplo(c)?, Arg::Bool(false)], vec![])?.remove(0))
}

fn linalg_svd(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(first(c)?), Arg::Bool(c.args.bool("full_matrices")?)];
    Ok(call(aten::_linalg_svd, args, vec![("driver", c.args.get("driver")?.clone())])?.into_iter().map(Arg::Tensor).collect())
}

/// The old `svd`: reduced unless `some` is false, `V` rather than `Vh`; without `compute_uv`
/// the factors are zeros (PyTorch returns them zero-filled).
fn svd(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = first(c)?;
    let (some, compute_uv) = (c.args.bool("some")?, c.args.bool("compute_uv")?);
    let outs = call(aten::_linalg_svd, vec![Arg::Tensor(x), Arg::Bool(!some), Arg::Bool(compute_uv)], vec![])?;
    let vh = outs[2].clone();
    let rank = vh.dim() as i64;
    let mut order: Vec<i64> = (0..rank).collect();
    if rank >= 2 {
        order.swap(rank as usize - 2, rank as usize - 1);
    }
    let v = crate::rules::permute(&vh, &order)?;
    Ok(vec![Arg::Tensor(outs[0].clone()), Arg::Tensor(outs[1].clone()), Arg::Tensor(v)])
}

fn svdvals(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(first(c)?), Arg::Bool(false), Arg::Bool(false)];
    one(call(aten::_linalg_svd, args, vec![("driver", c.args.get("driver")?.clone())])?.remove(1))
}

fn matrix_exp(c: &mut DecompCall) -> Result<Vec<Arg>> {
    one(op1(aten::linalg_matrix_exp, vec![Arg::Tensor(first(c)?)])?)
}

/// `A^n` by repeated squaring (`n < 0`: of the inverse; `n = 0`: the identity).
fn matrix_power(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let mut a = first(c)?;
    let mut n = c.args.int("n")?.hint();
    let sizes = a.sizes();
    if sizes.len() < 2 || sizes[sizes.len() - 1].hint() != sizes[sizes.len() - 2].hint() {
        return Err(Error::msg(format!("{}: A must be batches of square matrices", c.args.op)));
    }
    if n == 0 {
        let side = sizes[sizes.len() - 1].clone();
        let eye = call(aten::eye, vec![Arg::Int(side)], vec![("dtype", Arg::Dtype(a.dtype())), ("device", crate::rules::cpu()), ("pin_memory", Arg::Bool(false))])?.remove(0);
        return one(op1(aten::expand, vec![Arg::Tensor(eye), Arg::Ints(sizes)])?);
    }
    if n < 0 {
        a = checked(c, aten::linalg_inv_ex, vec![Arg::Tensor(a)], vec![], Some(1), "linalg.inv")?.remove(0);
        n = -n;
    }
    let mut result: Option<Tensor> = None;
    let mut base = a;
    while n > 0 {
        if n & 1 == 1 {
            result = Some(match result {
                None => base.clone(),
                Some(r) => crate::rules::matmul_of(&r, &base)?,
            });
        }
        n >>= 1;
        if n > 0 {
            base = crate::rules::matmul_of(&base, &base)?;
        }
    }
    one(result.expect("n > 0"))
}

/// The matrices multiplied left to right (a first vector is a row, a last one a column, and
/// their dims dropped from the result, as `multi_dot` does).
fn multi_dot(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let tensors = c.args.tensors("tensors")?;
    if tensors.len() < 2 {
        return Err(Error::msg(format!("{}: multi_dot(): expected at least 2 tensors but got {}", c.args.op, tensors.len())));
    }
    let mut it = tensors.into_iter();
    let mut acc = it.next().expect("two or more");
    for t in it {
        acc = crate::rules::matmul_of(&acc, &t)?;
    }
    one(acc)
}

fn linalg_diagonal(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(c.args.tensor("A")?), Arg::Int(c.args.int("offset")?), Arg::Int(c.args.int("dim1")?), Arg::Int(c.args.int("dim2")?)];
    one(op1(aten::diagonal, args)?)
}

fn lu_factor(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let kwargs = vec![("pivot", Arg::Bool(c.args.bool("pivot")?))];
    let outs = checked(c, aten::linalg_lu_factor_ex, vec![Arg::Tensor(c.args.tensor("A")?)], kwargs, None, "linalg.lu_factor")?;
    Ok(outs.into_iter().take(2).map(Arg::Tensor).collect())
}

/// `torch.lu` (deprecated): `linalg_lu_factor_ex`, whose errors it never raises (PyTorch
/// passes `check_errors=False` whatever it is given).
fn lu_with_info(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let outs = call(aten::linalg_lu_factor_ex, vec![Arg::Tensor(c.args.tensor("self")?)], vec![("pivot", Arg::Bool(c.args.bool("pivot")?))])?;
    Ok(outs.into_iter().map(Arg::Tensor).collect())
}

/// `torch.lu_solve(b, LU, pivots)` (deprecated): `linalg_lu_solve(LU, pivots, b)`.
fn lu_solve(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let args = vec![Arg::Tensor(c.args.tensor("LU_data")?), Arg::Tensor(c.args.tensor("LU_pivots")?), Arg::Tensor(c.args.tensor("self")?)];
    one(op1(aten::linalg_lu_solve, args)?)
}

/// `linalg_pinv` with `rcond` as its relative tolerance.
fn pinverse(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = first(c)?;
    let rtol = call(aten::scalar_tensor, vec![Arg::Float(c.args.float("rcond")?)], vec![("dtype", Arg::Dtype(x.dtype())), ("device", crate::rules::cpu())])?.remove(0);
    one(call(aten::linalg_pinv_atol_rtol_tensor, vec![Arg::Tensor(x)], vec![("rtol", Arg::Tensor(rtol))])?.remove(0))
}

/// Each element's powers `x^0 .. x^(N-1)` along a new last dim, as PyTorch composes them: a
/// running product of `N - 1` copies of `x` after a column of ones (integers accumulate as
/// int64, as `cumprod` does).
fn vander(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("x")?;
    let n = match c.args.get("N")? {
        Arg::Int(n) => n.clone(),
        _ if x.dim() == 0 => export::SymInt::from(1),
        _ => x.size(-1)?,
    };
    if n.hint() <= 1 {
        return Err(Error::msg(format!("{}: N must be greater than 1.", c.args.op)));
    }
    // a 0-dim x is one point, as PyTorch reads it
    let x = if x.dim() == 0 { op1(aten::unsqueeze, vec![Arg::Tensor(x), Arg::Int((-1).into())])? } else { x };
    let column = op1(aten::unsqueeze, vec![Arg::Tensor(x), Arg::Int((-1).into())])?;
    let mut sizes = column.sizes();
    *sizes.last_mut().expect("unsqueezed") = n.clone() - export::SymInt::from(1);
    let copies = op1(aten::expand, vec![Arg::Tensor(column), Arg::Ints(sizes.clone()), Arg::Bool(false)])?;
    let powers = op1(aten::cumprod, vec![Arg::Tensor(copies), Arg::Int((-1).into())])?;
    *sizes.last_mut().expect("unsqueezed") = export::SymInt::from(1);
    let kwargs = vec![("dtype", Arg::Dtype(powers.dtype())), ("layout", crate::rules::strided()), ("device", crate::rules::cpu()), ("pin_memory", Arg::Bool(false))];
    let ones = call(aten::full, vec![Arg::Ints(sizes), Arg::Int(1.into())], kwargs)?.remove(0);
    one(op1(aten::cat, vec![Arg::Tensors(vec![ones, powers]), Arg::Int((-1).into())])?)
}

// ----- sizes and dtypes -----

fn first_sizes(call: &mut MetaCall) -> ops::Result<Vec<Expr>> {
    let name = call.args.schema().params[0].name.clone();
    call.sizes(&name)
}

fn matrix_dims(call: &mut MetaCall) -> ops::Result<(Vec<Expr>, Expr, Expr)> {
    let s = first_sizes(call)?;
    if s.len() < 2 {
        return Err(ops::Error::msg(format!("{}: expected a matrix or a batch of matrices, got {} dims", call.args.schema().qualified_name(), s.len())));
    }
    let n = s.len();
    Ok((s[..n - 2].to_vec(), s[n - 2].clone(), s[n - 1].clone()))
}

fn same_as_first(call: &mut MetaCall) -> Sizes {
    Ok(vec![first_sizes(call)?])
}

fn batch_meta(call: &mut MetaCall) -> Sizes {
    Ok(vec![matrix_dims(call)?.0])
}

fn batch_pair_meta(call: &mut MetaCall) -> Sizes {
    let b = matrix_dims(call)?.0;
    Ok(vec![b.clone(), b])
}

/// `A X = B` (or `X A = B`): `B` as a batch of matrices, or of vectors when it has one dim less
/// than `A`; batch dims broadcast.
fn solve_sizes(call: &mut MetaCall) -> ops::Result<(Vec<Expr>, Vec<Expr>)> {
    let (a, b) = (call.sizes("A")?, call.sizes("B")?);
    let vector = b.len() == 1 || b.len() + 1 == a.len();
    let (ab, bb) = (&a[..a.len().saturating_sub(2)], if vector { &b[..b.len() - 1] } else { &b[..b.len().saturating_sub(2)] });
    let batch = meta::broadcast(call, ab, bb)?;
    let tail = if vector { b[b.len() - 1..].to_vec() } else { b[b.len() - 2..].to_vec() };
    Ok((batch.clone(), [batch, tail].concat()))
}

fn solve_meta(call: &mut MetaCall) -> Sizes {
    Ok(vec![solve_sizes(call)?.1])
}

fn solve_ex_meta(call: &mut MetaCall) -> Sizes {
    let (batch, result) = solve_sizes(call)?;
    Ok(vec![result, batch])
}

/// The first output in the input's dtype, the second (`info`, `pivots`) int32.
fn result_and_info(args: &ops::Args) -> ops::Result<Vec<tensor::DType>> {
    let name = &args.schema().params[0].name;
    Ok(vec![args.tensor(name)?.dtype(), tensor::DType::I32])
}

fn eigh_meta(call: &mut MetaCall) -> Sizes {
    let (b, n, _) = matrix_dims(call)?;
    Ok(vec![[b.clone(), vec![n.clone()]].concat(), [b, vec![n.clone(), n]].concat()])
}

fn eigvalsh_meta(call: &mut MetaCall) -> Sizes {
    let (b, n, _) = matrix_dims(call)?;
    Ok(vec![[b, vec![n]].concat()])
}

fn svd_meta(call: &mut MetaCall) -> Sizes {
    let (b, m, n) = matrix_dims(call)?;
    let k = Expr::min_of([m.clone(), n.clone()]);
    let op = call.args.schema().qualified_name();
    let (full, compute_uv, v_not_vh) = if op.contains("linalg_svd") {
        (call.args.bool("full_matrices")?, true, false)
    } else {
        (!call.args.bool("some")?, call.args.bool("compute_uv")?, true)
    };
    let s = [b.clone(), vec![k.clone()]].concat();
    // without `compute_uv`, `svd`'s factors are zero-filled, of the same sizes
    let _ = compute_uv;
    let (uc, vr) = if full { (m.clone(), n.clone()) } else { (k.clone(), k) };
    let u = [b.clone(), vec![m, uc]].concat();
    let vh = if v_not_vh { [b, vec![n, vr]].concat() } else { [b, vec![vr, n]].concat() };
    Ok(vec![u, s, vh])
}

fn svdvals_meta(call: &mut MetaCall) -> Sizes {
    let (b, m, n) = matrix_dims(call)?;
    Ok(vec![[b, vec![Expr::min_of([m, n])]].concat()])
}

fn multi_dot_meta(call: &mut MetaCall) -> Sizes {
    let shapes: Vec<Vec<Expr>> = call.tensors("tensors")?.into_iter().flatten().collect();
    let (first, last) = (shapes.first().cloned().unwrap_or_default(), shapes.last().cloned().unwrap_or_default());
    let mut out = Vec::new();
    if first.len() == 2 {
        out.push(first[0].clone());
    }
    if last.len() == 2 {
        out.push(last[1].clone());
    }
    Ok(vec![out])
}

fn lu_factor_meta(call: &mut MetaCall) -> Sizes {
    let (b, m, n) = matrix_dims(call)?;
    Ok(vec![[b.clone(), vec![m.clone(), n.clone()]].concat(), [b, vec![Expr::min_of([m, n])]].concat()])
}

/// `[.., n, m]` for an `[.., m, n]` input.
fn transposed_meta(call: &mut MetaCall) -> Sizes {
    let (b, m, n) = matrix_dims(call)?;
    Ok(vec![[b, vec![n, m]].concat()])
}

/// `x`'s sizes and `N` (the last size by default).
fn vander_meta(call: &mut MetaCall) -> Sizes {
    let mut s = call.sizes("x")?;
    if s.is_empty() {
        s = vec![Expr::Int(1)];
    }
    let n = match call.args.get("N")? {
        ops::Value::Int(n) => Expr::Int(*n),
        _ => s.last().cloned().unwrap_or(Expr::Int(1)),
    };
    Ok(vec![[s, vec![n]].concat()])
}

/// A matrix norm's order: a number (±1, ±2, ±∞) or `fro` / `nuc`.
#[derive(Clone, Copy)]
enum MatrixOrd {
    Number(f64),
    Frobenius,
    Nuclear,
}

impl MatrixOrd {
    /// The order an `ord` (or `p`) argument gives; `None` for anything else (None included).
    fn of(a: &Arg) -> Option<MatrixOrd> {
        match a {
            Arg::Str(s) if s == "fro" => Some(MatrixOrd::Frobenius),
            Arg::Str(s) if s == "nuc" => Some(MatrixOrd::Nuclear),
            Arg::Int(i) => Some(MatrixOrd::Number(i.hint() as f64)),
            Arg::Float(f) => Some(MatrixOrd::Number(*f)),
            _ => None,
        }
    }
}

/// The norm of each matrix spanned by dims `d0`, `d1` (already wrapped).
fn matrix_norm_of(op: &str, x: Tensor, ord: MatrixOrd, d0: i64, d1: i64, keepdim: bool) -> Result<Tensor> {
    let reduce = |name: OpName, t: Tensor, d: i64, keep: bool| op1(name, vec![Arg::Tensor(t), Arg::Ints(vec![d.into()]), Arg::Bool(keep)]);
    match ord {
        MatrixOrd::Frobenius => {
            // as `linalg_vector_norm`'s decomposition writes the 2-norm: no `abs` for an even
            // power of real values; complex ones square their magnitudes
            let x = if x.dtype().is_complex() { op1(aten::abs, vec![Arg::Tensor(x)])? } else { x };
            let squared = op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(x), Arg::Float(2.0)])?;
            let summed = op1(aten::sum_dim_IntList, vec![Arg::Tensor(squared), Arg::Ints(vec![d0.into(), d1.into()]), Arg::Bool(keepdim)])?;
            op1(aten::pow_Tensor_Scalar, vec![Arg::Tensor(summed), Arg::Float(0.5)])
        }
        MatrixOrd::Number(p) if p.abs() == 1.0 || p.is_infinite() => {
            // ±1: the largest (smallest) column sum of |x|; ±∞: the same over rows
            let (sum_dim, max_dim) = if p.abs() == 1.0 { (d0, d1) } else { (d1, d0) };
            let sums = reduce(aten::sum_dim_IntList, op1(aten::abs, vec![Arg::Tensor(x)])?, sum_dim, true)?;
            let pick = reduce(if p > 0.0 { aten::amax } else { aten::amin }, sums, max_dim, true)?;
            if keepdim {
                return Ok(pick);
            }
            let (hi, lo) = (d0.max(d1), d0.min(d1));
            let once = op1(aten::squeeze_dim, vec![Arg::Tensor(pick), Arg::Int(hi.into())])?;
            op1(aten::squeeze_dim, vec![Arg::Tensor(once), Arg::Int(lo.into())])
        }
        MatrixOrd::Number(p) if p.abs() == 2.0 => singular_values_reduced(x, d0, d1, keepdim, if p > 0.0 { aten::amax } else { aten::amin }),
        MatrixOrd::Nuclear => singular_values_reduced(x, d0, d1, keepdim, aten::sum_dim_IntList),
        MatrixOrd::Number(p) => Err(Error::msg(format!("{op}: Order {p} not supported."))),
    }
}

/// The singular values of each matrix (the two dims moved last), reduced by `reduce`, with the
/// two dims kept as ones when asked.
fn singular_values_reduced(x: Tensor, d0: i64, d1: i64, keepdim: bool, reduce: OpName) -> Result<Tensor> {
    let rank = x.dim() as i64;
    let mut order: Vec<i64> = (0..rank).filter(|d| *d != d0 && *d != d1).collect();
    order.extend([d0, d1]);
    let s = singular_values(crate::rules::permute(&x, &order)?)?;
    let mut out = op1(reduce, vec![Arg::Tensor(s), Arg::Ints(vec![(-1).into()]), Arg::Bool(false)])?;
    if keepdim {
        for d in [d0.min(d1), d0.max(d1)] {
            out = op1(aten::unsqueeze, vec![Arg::Tensor(out), Arg::Int(d.into())])?;
        }
    }
    Ok(out)
}

fn no_dtype(c: &DecompCall) -> Result<()> {
    match c.args.get("dtype")? {
        Arg::None => Ok(()),
        _ => Err(Error::msg(format!("{}: a dtype= argument is not supported yet", c.args.op))),
    }
}

/// The two matrix dims of `dim` (a list of two), wrapped.
fn matrix_dims_of(c: &DecompCall, rank: i64) -> Result<(i64, i64)> {
    let dims: Vec<i64> = c.args.ints("dim")?.iter().map(|d| d.hint()).collect();
    let [a, b] = dims.as_slice() else { return Err(Error::msg(format!("{}: dim must be a 2-tuple. Got {dims:?}", c.args.op))) };
    let w = |d: i64| if d < 0 { d + rank } else { d };
    Ok((w(*a), w(*b)))
}

fn matrix_norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    no_dtype(c)?;
    let x = c.args.tensor("self")?;
    let ord = match (MatrixOrd::of(c.args.get("ord")?), c.args.get("ord")?) {
        (Some(ord), _) => ord,
        (None, Arg::Str(s)) => return Err(Error::msg(format!("{}: Order {s} not supported.", c.args.op))),
        (None, _) => return Err(Error::msg(format!("{}: ord must be a number or a string", c.args.op))),
    };
    let (d0, d1) = matrix_dims_of(c, x.dim() as i64)?;
    let keepdim = c.args.bool("keepdim")?;
    one(matrix_norm_of(&c.args.op, x, ord, d0, d1, keepdim)?)
}

/// `linalg.norm`: a vector norm (the 2-norm of every element when `ord` is None), or a matrix
/// norm when `ord` is given over two dims (or a matrix with no dims given).
fn norm(c: &mut DecompCall) -> Result<Vec<Arg>> {
    no_dtype(c)?;
    let x = c.args.tensor("self")?;
    let keepdim = c.args.bool("keepdim")?;
    let dims: Option<Vec<i64>> = match c.args.get("dim")? {
        Arg::None => None,
        Arg::Int(d) => Some(vec![d.hint()]),
        Arg::Ints(v) => Some(v.iter().map(|d| d.hint()).collect()),
        _ => return Err(Error::msg(format!("{}: dim must be ints or None", c.args.op))),
    };
    let ord = match (MatrixOrd::of(c.args.get("ord")?), c.args.get("ord")?) {
        (None, Arg::None) => None,
        (Some(ord), _) => Some(ord),
        (None, _) => return Err(Error::msg(format!("{}: ord must be a number, 'fro' or 'nuc'", c.args.op))),
    };
    let rank = x.dim() as i64;
    let matrix = match (&dims, &ord) {
        (_, None) => None,
        (Some(d), Some(_)) if d.len() == 2 => Some((d[0], d[1])),
        (None, Some(_)) if rank == 2 => Some((0, 1)),
        _ => None,
    };
    if let (Some((a, b)), Some(ord)) = (matrix, ord) {
        let w = |d: i64| if d < 0 { d + rank } else { d };
        return one(matrix_norm_of(&c.args.op, x, ord, w(a), w(b), keepdim)?);
    }
    let p = match ord {
        None => 2.0,
        Some(MatrixOrd::Number(p)) => p,
        Some(_) => return Err(Error::msg(format!("{}: 'fro' and 'nuc' need a matrix (2 dims)", c.args.op))),
    };
    let dim_arg = dims.map_or(Arg::None, |d| Arg::Ints(d.into_iter().map(Into::into).collect()));
    one(op1(aten::linalg_vector_norm, vec![Arg::Tensor(x), Arg::Float(p), dim_arg, Arg::Bool(keepdim)])?)
}

/// A norm's sizes: the reduced dims dropped (or kept as ones); every dim when `dim` is None
/// (a matrix norm of a matrix given no dims reduces both too).
fn norm_meta(call: &mut MetaCall) -> Sizes {
    let s = call.sizes("self")?;
    let keepdim = call.args.bool("keepdim")?;
    let dims: Vec<usize> = match call.args.get("dim")? {
        ops::Value::None => (0..s.len()).collect(),
        ops::Value::Int(d) => vec![call.wrap_dim(*d, s.len())?],
        _ => call.args.int_list("dim")?.iter().map(|&d| call.wrap_dim(d, s.len())).collect::<ops::Result<_>>()?,
    };
    Ok(vec![s.iter().enumerate().filter_map(|(i, e)| if dims.contains(&i) { keepdim.then_some(Expr::Int(1)) } else { Some(e.clone()) }).collect()])
}

fn tensorinv_sizes(sizes: &[Expr], ind: i64) -> ops::Result<Vec<Expr>> {
    if ind <= 0 || ind as usize > sizes.len() {
        return Err(ops::Error::msg(format!("linalg.tensorinv: Expected a strictly positive integer for 'ind', but got {ind}")));
    }
    let (a, b) = sizes.split_at(ind as usize);
    Ok(b.iter().chain(a).cloned().collect())
}

fn tensorinv_meta(call: &mut MetaCall) -> Sizes {
    let x = call.sizes("self")?;
    Ok(vec![tensorinv_sizes(&x, call.args.int("ind")?)?])
}

/// `linalg.tensorinv`: the leading `ind` dims and the rest as one square matrix, inverted, the
/// two groups of dims exchanged.
fn tensorinv(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let ind = c.args.int("ind")?.hint();
    let sizes = x.sizes();
    if ind <= 0 || ind as usize > sizes.len() {
        return Err(Error::msg(format!("{}: Expected a strictly positive integer for 'ind', but got {ind}", c.args.op)));
    }
    let (a, b) = sizes.split_at(ind as usize);
    let (rows, cols) = (crate::rules::product(a), crate::rules::product(b));
    if rows.hint() != cols.hint() {
        return Err(Error::msg(format!("{}: Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {rows} != {cols}", c.args.op)));
    }
    let square = crate::rules::reshape_to(&x, &[rows.clone(), rows])?;
    let inverse = checked(c, aten::linalg_inv_ex, vec![Arg::Tensor(square)], vec![], Some(1), "linalg.inv")?.remove(0);
    let out: Vec<_> = b.iter().chain(a).cloned().collect();
    one(crate::rules::reshape_to(&inverse, &out)?)
}

fn tensorsolve_meta(call: &mut MetaCall) -> Sizes {
    let (a, b) = (call.sizes("self")?, call.sizes("other")?);
    Ok(vec![a.get(b.len()..).unwrap_or_default().to_vec()])
}

/// `linalg.tensorsolve`: `self` (its `dims` moved last) as a matrix of `other`'s element count
/// rows, solved against `other` flattened, the solution shaped as `self`'s remaining dims.
fn tensorsolve(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let (mut a, b) = (c.args.tensor("self")?, c.args.tensor("other")?);
    let rank = a.dim() as i64;
    if let Arg::Ints(dims) = c.args.get("dims")? {
        let dims: Vec<i64> = dims.iter().map(|d| if d.hint() < 0 { d.hint() + rank } else { d.hint() }).collect();
        let order: Vec<i64> = (0..rank).filter(|d| !dims.contains(d)).chain(dims.iter().copied()).collect();
        a = crate::rules::permute(&a, &order)?;
    }
    let sizes = a.sizes();
    let rest = sizes.get(b.dim()..).unwrap_or_default().to_vec();
    let (rows, cols) = (crate::rules::product(&b.sizes()), crate::rules::product(&rest));
    if rows.hint() != cols.hint() {
        return Err(Error::msg(format!("{}: Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), but got {cols} != {rows}", c.args.op)));
    }
    let matrix = crate::rules::reshape_to(&a, &[rows.clone(), cols])?;
    let rhs = crate::rules::reshape_to(&b, &[rows, 1.into()])?;
    let x = checked(c, aten::_linalg_solve_ex, vec![Arg::Tensor(matrix), Arg::Tensor(rhs)], vec![("left", Arg::Bool(true))], Some(3), "linalg.solve")?.remove(0);
    one(crate::rules::reshape_to(&x, &rest)?)
}

/// The singular values of each matrix of `x`, largest first.
fn singular_values(x: Tensor) -> Result<Tensor> {
    Ok(call(aten::_linalg_svd, vec![Arg::Tensor(x), Arg::Bool(false), Arg::Bool(false)], vec![])?.remove(1))
}

/// `linalg.matrix_rank`: the singular values (eigenvalue magnitudes when hermitian) above
/// `max(atol, rtol * largest)`; with neither given, `rtol` is the dtype's epsilon times the
/// larger matrix dim, and with only `atol`, `rtol` is 0 where `atol` is positive.
fn matrix_rank(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("input")?;
    if x.dim() < 2 {
        return Err(Error::msg(format!("{}: The input tensor input must have at least 2 dimensions.", c.args.op)));
    }
    let s = if c.args.bool("hermitian")? {
        let w = call(aten::_linalg_eigh, vec![Arg::Tensor(x.clone())], vec![("UPLO", Arg::Str("L".into())), ("compute_v", Arg::Bool(false))])?.remove(0);
        op1(aten::abs, vec![Arg::Tensor(w)])?
    } else {
        singular_values(x.clone())?
    };
    let (m, n) = (x.size(-2)?.hint(), x.size(-1)?.hint());
    if m.min(n) == 0 {
        // no singular values: rank 0 (PyTorch compares against an empty tolerance)
        let batch = x.sizes()[..x.dim() - 2].to_vec();
        return one(export::tensor::zeros(&batch, tensor::DType::I64)?);
    }
    let eps = if x.dtype() == tensor::DType::F64 { f64::EPSILON } else { f32::EPSILON as f64 };
    let largest = op1(aten::amax, vec![Arg::Tensor(s.clone()), Arg::Ints(vec![(-1).into()]), Arg::Bool(true)])?;
    let per_matrix = |t: Tensor| op1(aten::unsqueeze, vec![Arg::Tensor(t), Arg::Int((-1).into())]);
    let default_rtol = eps * m.max(n) as f64;
    let relative = |rtol: Option<Tensor>| -> Result<Tensor> {
        match rtol {
            Some(r) => op1(aten::mul_Tensor, vec![Arg::Tensor(per_matrix(r)?), Arg::Tensor(largest.clone())]),
            None => op1(aten::mul_Scalar, vec![Arg::Tensor(largest.clone()), Arg::Float(default_rtol)]),
        }
    };
    let tol = match (c.args.opt_tensor("atol")?, c.args.opt_tensor("rtol")?) {
        (None, rtol) => relative(rtol)?,
        (Some(atol), Some(rtol)) => op1(aten::maximum, vec![Arg::Tensor(per_matrix(atol)?), Arg::Tensor(relative(Some(rtol))?)])?,
        (Some(atol), None) => {
            let atol = per_matrix(atol)?;
            let positive = op1(aten::gt_Scalar, vec![Arg::Tensor(atol.clone()), Arg::Int(0.into())])?;
            let zero = crate::rules::scalar_tensor(Arg::Int(0.into()), s.dtype())?;
            let rel = op1(aten::where_self, vec![Arg::Tensor(positive), Arg::Tensor(zero), Arg::Tensor(relative(None)?)])?;
            op1(aten::maximum, vec![Arg::Tensor(atol), Arg::Tensor(rel)])?
        }
    };
    let above = op1(aten::gt_Tensor, vec![Arg::Tensor(s), Arg::Tensor(tol)])?;
    one(op1(aten::sum_dim_IntList, vec![Arg::Tensor(above), Arg::Ints(vec![(-1).into()]), Arg::Bool(false)])?)
}

/// `linalg.cond`: for the 2-norms the ratio of the extreme singular values; for the other
/// matrix norms `norm(A) * norm(inverse(A))`.
fn cond(c: &mut DecompCall) -> Result<Vec<Arg>> {
    let x = c.args.tensor("self")?;
    let op = c.args.op.clone();
    let ord = match (MatrixOrd::of(c.args.get("p")?), c.args.get("p")?) {
        (None, Arg::None) => MatrixOrd::Number(2.0),
        (Some(ord), _) => ord,
        (None, _) => return Err(Error::msg(format!("{op}: p must be a number, 'fro' or 'nuc'"))),
    };
    if let MatrixOrd::Number(p) = ord {
        if p.abs() == 2.0 {
            let s = singular_values(x)?;
            let (hi, lo) = (op1(aten::amax, vec![Arg::Tensor(s.clone()), Arg::Ints(vec![(-1).into()]), Arg::Bool(false)])?, op1(aten::amin, vec![Arg::Tensor(s), Arg::Ints(vec![(-1).into()]), Arg::Bool(false)])?);
            let (num, den) = if p > 0.0 { (hi, lo) } else { (lo, hi) };
            return one(op1(aten::div_Tensor, vec![Arg::Tensor(num), Arg::Tensor(den)])?);
        }
    }
    let rank = x.dim() as i64;
    let inverse = checked(c, aten::linalg_inv_ex, vec![Arg::Tensor(x.clone())], vec![], Some(1), "linalg.inv")?.remove(0);
    let a = matrix_norm_of(&op, x, ord, rank - 2, rank - 1, false)?;
    let b = matrix_norm_of(&op, inverse, ord, rank - 2, rank - 1, false)?;
    one(op1(aten::mul_Tensor, vec![Arg::Tensor(a), Arg::Tensor(b)])?)
}
