//! ATen operators: dense linear algebra, batched over leading dims and computed in f64.
//!
//! Factorizations follow LAPACK's conventions so that their outputs match PyTorch's to the
//! sign: partial pivoting takes the first largest pivot (1-based `int32` pivots, as `getrf`),
//! Householder reflectors are built as `larfg` builds them (`beta = -sign(alpha) * norm`).
//! Eigen- and singular vectors are defined only up to sign; pt2 makes the largest component of
//! each vector positive.

use tensor::{DType, Tensor};

use super::common::*;
use crate::{Args, MetaCall, Registry, Result, Value};
use symbolic::Expr;


/// `_linalg_eigh`: eigenvalues `[.., n]`, eigenvectors `[.., n, n]` (empty without `compute_v`).
fn eigh_meta(call: &mut crate::MetaCall) -> Result<Vec<Vec<symbolic::Expr>>> {
    let s = call.sizes("A")?;
    if s.len() < 2 {
        return Err(crate::Error::msg(format!("_linalg_eigh: expected a matrix or a batch of matrices, got {} dims", s.len())));
    }
    let values = s[..s.len() - 1].to_vec();
    let vectors = if call.args.bool("compute_v")? { s } else { vec![symbolic::Expr::Int(0)] };
    Ok(vec![values, vectors])
}

/// `_linalg_svd`: `U [.., m, m or k]`, `S [.., k]`, `Vh [.., n or k, n]` (k = min(m, n), the
/// full sizes with `full_matrices`); without `compute_uv` the factors are empty.
fn svd_meta(call: &mut crate::MetaCall) -> Result<Vec<Vec<symbolic::Expr>>> {
    let s = call.sizes("A")?;
    if s.len() < 2 {
        return Err(crate::Error::msg(format!("_linalg_svd: expected a matrix or a batch of matrices, got {} dims", s.len())));
    }
    let (b, m, n) = (s[..s.len() - 2].to_vec(), s[s.len() - 2].clone(), s[s.len() - 1].clone());
    let k = symbolic::Expr::min_of([m.clone(), n.clone()]);
    let values = [b.clone(), vec![k.clone()]].concat();
    if !call.args.bool("compute_uv")? {
        return Ok(vec![vec![symbolic::Expr::Int(0)], values, vec![symbolic::Expr::Int(0)]]);
    }
    let full = call.args.bool("full_matrices")?;
    let (uc, vr) = if full { (m.clone(), n.clone()) } else { (k.clone(), k) };
    Ok(vec![[b.clone(), vec![m, uc]].concat(), values, [b, vec![vr, n]].concat()])
}

pub fn register(r: &Registry) {
    let none = &[][..];
    // kernels PyTorch's core programs keep (they have no decomposition)
    let kept = &[crate::Tag::Core][..];
    r.def_meta("aten::_linalg_det(Tensor A) -> (Tensor result, Tensor LU, Tensor pivots)", kept, crate::meta::factored, det);
    r.def_meta("aten::_linalg_slogdet(Tensor A) -> (Tensor sign, Tensor logabsdet, Tensor LU, Tensor pivots)", kept, crate::meta::factored, slogdet);
    r.def_meta("aten::linalg_lu_factor_ex(Tensor A, *, bool pivot=True, bool check_errors=False) -> (Tensor LU, Tensor pivots, Tensor info)", kept, crate::meta::factored, lu_factor_ex);
    r.def("aten::linalg_lu(Tensor A, *, bool pivot=True) -> (Tensor P, Tensor L, Tensor U)", none, linalg_lu);
    r.def("aten::lu_unpack(Tensor LU_data, Tensor LU_pivots, bool unpack_data=True, bool unpack_pivots=True) -> (Tensor P, Tensor L, Tensor U)", none, lu_unpack);
    r.def("aten::linalg_lu_solve(Tensor LU, Tensor pivots, Tensor B, *, bool left=True, bool adjoint=False) -> Tensor", none, lu_solve);
    r.def("aten::_linalg_solve_ex(Tensor A, Tensor B, *, bool left=True, bool check_errors=False) -> (Tensor result, Tensor LU, Tensor pivots, Tensor info)", none, solve_ex);
    r.def_meta("aten::linalg_inv_ex(Tensor A, *, bool check_errors=False) -> (Tensor inverse, Tensor info)", kept, crate::meta::factored, inv_ex);
    r.def_meta("aten::linalg_cholesky_ex(Tensor self, *, bool upper=False, bool check_errors=False) -> (Tensor L, Tensor info)", kept, crate::meta::factored, cholesky_ex);
    r.def("aten::cholesky_solve(Tensor self, Tensor input2, bool upper=False) -> Tensor", none, cholesky_solve);
    r.def("aten::cholesky_inverse(Tensor self, bool upper=False) -> Tensor", none, cholesky_inverse);
    r.def("aten::linalg_solve_triangular(Tensor self, Tensor B, *, bool upper, bool left=True, bool unitriangular=False) -> Tensor", none, solve_triangular);
    r.def("aten::triangular_solve(Tensor self, Tensor A, bool upper=True, bool transpose=False, bool unitriangular=False) -> (Tensor solution, Tensor cloned_coefficient)", none, triangular_solve);
    r.def("aten::geqrf(Tensor self) -> (Tensor a, Tensor tau)", none, geqrf);
    r.def("aten::linalg_qr(Tensor A, str mode=\"reduced\") -> (Tensor Q, Tensor R)", none, qr);
    r.def("aten::linalg_householder_product(Tensor input, Tensor tau) -> Tensor", none, householder_product);
    r.def("aten::ormqr(Tensor self, Tensor input2, Tensor input3, bool left=True, bool transpose=False) -> Tensor", none, ormqr);
    r.def_meta("aten::_linalg_eigh(Tensor A, str UPLO=\"L\", bool compute_v=True) -> (Tensor eigenvalues, Tensor eigenvectors)", kept, eigh_meta, eigh);
    r.def_meta("aten::_linalg_svd(Tensor A, bool full_matrices=False, bool compute_uv=True, *, str? driver=None) -> (Tensor U, Tensor S, Tensor Vh)", kept, svd_meta, svd);
    r.def_meta("aten::linalg_pinv.atol_rtol_tensor(Tensor self, *, Tensor? atol=None, Tensor? rtol=None, bool hermitian=False) -> Tensor", none, pinv_meta, pinv);
    r.def_meta("aten::linalg_pinv.atol_rtol_float(Tensor self, *, float? atol=None, float? rtol=None, bool hermitian=False) -> Tensor", none, pinv_meta, pinv);
    r.def("aten::linalg_lstsq(Tensor self, Tensor b, float? rcond=None, *, str? driver=None) -> (Tensor solution, Tensor residuals, Tensor rank, Tensor singular_values)", none, lstsq);
    r.def("aten::linalg_polar(Tensor A) -> (Tensor U, Tensor H)", none, polar);
    r.def("aten::linalg_matrix_exp(Tensor self) -> Tensor", kept, matrix_exp);
    r.def("aten::linalg_matrix_sqrth(Tensor self) -> Tensor", none, matrix_sqrth);
    r.def("aten::linalg_cross(Tensor self, Tensor other, *, int dim=-1) -> Tensor", none, cross).complex();
    r.def_meta("aten::linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", none, crate::meta::reduction, vector_norm)
        .complex()
        .dtype(crate::DtypeRule::Custom(crate::dtype::real_parts));
    r.def("aten::_linalg_check_errors(Tensor info, str api_name, *, bool is_matrix) -> ()", none, check_errors);
}

// ----- matrices -----------------------------------------------------------------------------

/// A dense row-major f64 matrix.
#[derive(Clone, Debug)]
struct Mat {
    r: usize,
    c: usize,
    d: Vec<f64>,
}

impl Mat {
    fn zeros(r: usize, c: usize) -> Mat {
        Mat { r, c, d: vec![0.0; r * c] }
    }
    fn eye(n: usize) -> Mat {
        let mut m = Mat::zeros(n, n);
        (0..n).for_each(|i| m.d[i * n + i] = 1.0);
        m
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        self.d[i * self.c + j]
    }
    fn set(&mut self, i: usize, j: usize, v: f64) {
        self.d[i * self.c + j] = v;
    }
    fn t(&self) -> Mat {
        let mut m = Mat::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                m.set(j, i, self.at(i, j));
            }
        }
        m
    }
    fn mul(&self, o: &Mat) -> Mat {
        let mut m = Mat::zeros(self.r, o.c);
        for i in 0..self.r {
            for k in 0..self.c {
                let a = self.at(i, k);
                if a == 0.0 {
                    continue;
                }
                for j in 0..o.c {
                    m.d[i * o.c + j] += a * o.at(k, j);
                }
            }
        }
        m
    }
}

/// A batch of matrices from a `[..., r, c]` tensor.
struct Batch {
    lead: Vec<usize>,
    mats: Vec<Mat>,
    r: usize,
    c: usize,
}

fn batch(t: &Tensor, what: &str) -> Result<Batch> {
    if t.dim() < 2 {
        bail!("{what}: The input tensor must have at least 2 dimensions.");
    }
    let (r, c) = (t.shape()[t.dim() - 2], t.shape()[t.dim() - 1]);
    let lead = t.shape()[..t.dim() - 2].to_vec();
    let mats = if r * c == 0 {
        vec![Mat::zeros(r, c); lead.iter().product()]
    } else {
        t.to_f64_vec().chunks(r * c).map(|ch| Mat { r, c, d: ch.to_vec() }).collect()
    };
    Ok(Batch { lead, mats, r, c })
}

fn square(b: &Batch, what: &str) -> Result<()> {
    if let Some(m) = b.mats.first() {
        if m.r != m.c {
            bail!("{what}: A must be batches of square matrices, but they are {} by {} matrices", m.r, m.c);
        }
    }
    Ok(())
}

fn float_input(t: &Tensor, what: &str) -> Result<DType> {
    if !t.dtype().is_float() {
        bail!("{what}: Expected a floating point or complex tensor as input. Got {}", t.dtype().name());
    }
    Ok(t.dtype())
}

/// Stacks matrices into `[lead..., r, c]`; `rc` gives the matrix shape when the batch is empty.
fn assemble_rc(lead: &[usize], mats: &[Mat], rc: (usize, usize), dtype: DType) -> Result<Tensor> {
    let (r, c) = mats.first().map(|m| (m.r, m.c)).unwrap_or(rc);
    let mut shape = lead.to_vec();
    shape.extend([r, c]);
    let data: Vec<f64> = mats.iter().flat_map(|m| m.d.iter().copied()).collect();
    Ok(Tensor::from_vec(data, &shape)?.to_dtype(dtype))
}

fn assemble_vecs(lead: &[usize], vecs: &[Vec<f64>], dtype: DType) -> Result<Tensor> {
    let n = vecs.first().map(|v| v.len()).unwrap_or(0);
    let mut shape = lead.to_vec();
    shape.push(n);
    Ok(Tensor::from_vec(vecs.concat(), &shape)?.to_dtype(dtype))
}

fn scalars(lead: &[usize], v: Vec<f64>, dtype: DType) -> Result<Tensor> {
    Ok(Tensor::from_vec(v, lead)?.to_dtype(dtype))
}

// ----- LU -----------------------------------------------------------------------------------

/// `getrf`: LU with partial pivoting in place; returns 1-based pivots and the LAPACK info.
fn lu_in_place(a: &mut Mat) -> (Vec<i32>, i32) {
    let (m, n) = (a.r, a.c);
    let k = m.min(n);
    let mut piv = Vec::with_capacity(k);
    let mut info = 0;
    for j in 0..k {
        let mut p = j;
        let mut best = a.at(j, j).abs();
        for i in j + 1..m {
            if a.at(i, j).abs() > best {
                best = a.at(i, j).abs();
                p = i;
            }
        }
        piv.push(p as i32 + 1);
        if a.at(p, j) != 0.0 {
            if p != j {
                for c in 0..n {
                    a.d.swap(j * n + c, p * n + c);
                }
            }
            let pivot = a.at(j, j);
            for i in j + 1..m {
                let v = a.at(i, j) / pivot;
                a.set(i, j, v);
            }
        } else if info == 0 {
            info = j as i32 + 1;
        }
        for i in j + 1..m {
            let l = a.at(i, j);
            if l == 0.0 {
                continue;
            }
            for c in j + 1..n {
                let v = a.at(i, c) - l * a.at(j, c);
                a.set(i, c, v);
            }
        }
    }
    (piv, info)
}

fn pivots_tensor(lead: &[usize], piv: &[Vec<i32>]) -> Result<Tensor> {
    let k = piv.first().map(|p| p.len()).unwrap_or(0);
    let mut shape = lead.to_vec();
    shape.push(k);
    Tensor::from_vec(piv.concat(), &shape)
}

fn infos(lead: &[usize], info: Vec<i32>) -> Result<Tensor> {
    Tensor::from_vec(info, lead)
}

/// LU factors of every matrix: (LU, pivots, infos).
fn lu_all(b: &Batch) -> (Vec<Mat>, Vec<Vec<i32>>, Vec<i32>) {
    let mut lus = Vec::new();
    let mut pivs = Vec::new();
    let mut info = Vec::new();
    for m in &b.mats {
        let mut a = m.clone();
        let (p, i) = lu_in_place(&mut a);
        lus.push(a);
        pivs.push(p);
        info.push(i);
    }
    (lus, pivs, info)
}

fn det_of(lu: &Mat, piv: &[i32]) -> f64 {
    let mut d: f64 = (0..lu.r).map(|i| lu.at(i, i)).product();
    for (i, &p) in piv.iter().enumerate() {
        if p as usize != i + 1 {
            d = -d;
        }
    }
    d
}

fn det(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.det")?;
    let b = batch(t, "linalg.det")?;
    square(&b, "linalg.det")?;
    let (lus, pivs, _) = lu_all(&b);
    let dets = lus.iter().zip(&pivs).map(|(l, p)| det_of(l, p)).collect();
    Ok((scalars(&b.lead, dets, dt)?, assemble_rc(&b.lead, &lus, (b.r, b.c), dt)?, pivots_tensor(&b.lead, &pivs)?).into())
}

fn slogdet(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.slogdet")?;
    let b = batch(t, "linalg.slogdet")?;
    square(&b, "linalg.slogdet")?;
    let (lus, pivs, _) = lu_all(&b);
    let (mut signs, mut logs) = (Vec::new(), Vec::new());
    for (l, p) in lus.iter().zip(&pivs) {
        let d = det_of(l, p);
        signs.push(if d > 0.0 { 1.0 } else if d < 0.0 { -1.0 } else { 0.0 });
        logs.push((0..l.r).map(|i| l.at(i, i).abs().ln()).sum::<f64>());
    }
    Ok(Value::List(vec![
        scalars(&b.lead, signs, dt)?.into(),
        scalars(&b.lead, logs, dt)?.into(),
        assemble_rc(&b.lead, &lus, (b.r, b.c), dt)?.into(),
        pivots_tensor(&b.lead, &pivs)?.into(),
    ]))
}

fn lu_factor_ex(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.lu_factor")?;
    if !a.bool("pivot")? {
        bail!("linalg.lu_factor: LU without pivoting is not implemented on the CPU");
    }
    let b = batch(t, "linalg.lu_factor")?;
    let (lus, pivs, info) = lu_all(&b);
    Ok((assemble_rc(&b.lead, &lus, (b.r, b.c), dt)?, pivots_tensor(&b.lead, &pivs)?, infos(&b.lead, info)?).into())
}

/// (P, L, U) from packed LU and pivots.
fn unpack(lu: &Mat, piv: &[i32]) -> (Mat, Mat, Mat) {
    let (m, n) = (lu.r, lu.c);
    let k = m.min(n);
    let mut l = Mat::zeros(m, k);
    let mut u = Mat::zeros(k, n);
    for i in 0..m {
        for j in 0..n {
            if j < i && j < k {
                l.set(i, j, lu.at(i, j));
            } else if i < k && j >= i {
                u.set(i, j, lu.at(i, j));
            }
        }
        if i < k {
            l.set(i, i, 1.0);
        }
    }
    // the permutation: apply the row swaps to the identity, P = perm^T
    let mut perm: Vec<usize> = (0..m).collect();
    for (i, &p) in piv.iter().enumerate() {
        perm.swap(i, (p - 1) as usize);
    }
    let mut pm = Mat::zeros(m, m);
    for (i, &p) in perm.iter().enumerate() {
        pm.set(p, i, 1.0);
    }
    (pm, l, u)
}

fn linalg_lu(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.lu")?;
    let b = batch(t, "linalg.lu")?;
    let (lus, pivs, _) = lu_all(&b);
    let (mut ps, mut ls, mut us) = (Vec::new(), Vec::new(), Vec::new());
    for (lu, p) in lus.iter().zip(&pivs) {
        let (pm, l, u) = unpack(lu, p);
        ps.push(pm);
        ls.push(l);
        us.push(u);
    }
    Ok((assemble_rc(&b.lead, &ps, (b.r, b.c), dt)?, assemble_rc(&b.lead, &ls, (b.r, b.c), dt)?, assemble_rc(&b.lead, &us, (b.r, b.c), dt)?).into())
}

fn lu_unpack(a: &Args) -> Result<Value> {
    let t = a.tensor("LU_data")?;
    let dt = t.dtype();
    let b = batch(t, "lu_unpack")?;
    let piv = a.tensor("LU_pivots")?.to_i64_vec();
    let k = b.mats.first().map(|m| m.r.min(m.c)).unwrap_or(0);
    let (mut ps, mut ls, mut us) = (Vec::new(), Vec::new(), Vec::new());
    for (i, lu) in b.mats.iter().enumerate() {
        let p: Vec<i32> = piv[i * k..(i + 1) * k].iter().map(|&v| v as i32).collect();
        if p.iter().any(|&v| v < 1 || v as usize > lu.r) {
            bail!("lu_unpack: pivots must be in [1, {}]", lu.r);
        }
        let (pm, l, u) = unpack(lu, &p);
        ps.push(pm);
        ls.push(l);
        us.push(u);
    }
    let empty = || Tensor::zeros(&[0], dt);
    let (pt, lt, ut) = (
        if a.bool("unpack_pivots")? { assemble_rc(&b.lead, &ps, (b.r, b.c), dt)? } else { empty() },
        if a.bool("unpack_data")? { assemble_rc(&b.lead, &ls, (b.r, b.c), dt)? } else { empty() },
        if a.bool("unpack_data")? { assemble_rc(&b.lead, &us, (b.r, b.c), dt)? } else { empty() },
    );
    Ok((pt, lt, ut).into())
}

/// Solves `A x = b` for every column of `b` from A's LU factors.
fn lu_solve_mat(lu: &Mat, piv: &[i32], b: &Mat) -> Mat {
    let n = lu.r;
    let mut x = b.clone();
    for (i, &p) in piv.iter().enumerate() {
        let p = (p - 1) as usize;
        if p != i {
            for c in 0..x.c {
                x.d.swap(i * x.c + c, p * x.c + c);
            }
        }
    }
    for c in 0..x.c {
        for i in 0..n {
            let mut s = x.at(i, c);
            for k in 0..i {
                s -= lu.at(i, k) * x.at(k, c);
            }
            x.set(i, c, s);
        }
        for i in (0..n).rev() {
            let mut s = x.at(i, c);
            for k in i + 1..n {
                s -= lu.at(i, k) * x.at(k, c);
            }
            x.set(i, c, s / lu.at(i, i));
        }
    }
    x
}

/// Broadcasts two batches' leading dims; returns the lead shape and index pairs.
fn broadcast_batches(a: &Batch, b: &Batch) -> Result<(Vec<usize>, Vec<(usize, usize)>)> {
    let lead = tensor::shape::broadcast_shapes(&a.lead, &b.lead)?.to_vec();
    let n: usize = lead.iter().product();
    let index = |l: &[usize], flat: usize| -> usize {
        let mut rem = flat;
        let mut idx = 0;
        let mut mult = 1;
        for d in (0..lead.len()).rev() {
            let coord = rem % lead[d];
            rem /= lead[d];
            let off = lead.len() - l.len();
            if d >= off {
                let size = l[d - off];
                idx += if size == 1 { 0 } else { coord } * mult;
                mult *= size;
            }
        }
        idx
    };
    Ok((lead.clone(), (0..n).map(|i| (index(&a.lead, i), index(&b.lead, i))).collect()))
}

fn as_matrix_rhs(a_dim: usize, b: &Tensor) -> Result<(Tensor, bool)> {
    // B is a batch of vectors when it has one dim fewer than A
    if b.dim() == 1 || b.dim() + 1 == a_dim {
        Ok((b.unsqueeze(-1)?, true))
    } else {
        Ok((b.clone(), false))
    }
}

fn solve_ex(a: &Args) -> Result<Value> {
    let (at, bt) = (a.tensor("A")?, a.tensor("B")?);
    let dt = float_input(at, "linalg.solve")?;
    let left = a.bool("left")?;
    let ab = batch(at, "linalg.solve")?;
    square(&ab, "linalg.solve")?;
    let (bt, vector) = as_matrix_rhs(at.dim(), bt)?;
    let bb = batch(&bt, "linalg.solve")?;
    let (lus, pivs, info) = lu_all(&ab);
    let (lead, pairs) = broadcast_batches(&ab, &bb)?;
    let mut xs = Vec::new();
    for (i, j) in pairs {
        let x = if left {
            lu_solve_mat(&lus[i], &pivs[i], &bb.mats[j])
        } else {
            // X A = B  <=>  A^T X^T = B^T
            let mut at_ = ab.mats[i].t();
            let (p, _) = lu_in_place(&mut at_);
            lu_solve_mat(&at_, &p, &bb.mats[j].t()).t()
        };
        xs.push(x);
    }
    let mut x = assemble_rc(&lead, &xs, (bb.r, bb.c), dt)?;
    if vector {
        x = x.squeeze(Some(&[-1]))?;
    }
    if a.bool("check_errors")? && info.iter().any(|&i| i != 0) {
        bail!("linalg.solve: The solver failed because the input matrix is singular.");
    }
    Ok(Value::List(vec![x.into(), assemble_rc(&ab.lead, &lus, (ab.r, ab.c), dt)?.into(), pivots_tensor(&ab.lead, &pivs)?.into(), infos(&ab.lead, info)?.into()]))
}

fn lu_solve(a: &Args) -> Result<Value> {
    let (lut, pt, bt) = (a.tensor("LU")?, a.tensor("pivots")?, a.tensor("B")?);
    let dt = lut.dtype();
    let (left, adjoint) = (a.bool("left")?, a.bool("adjoint")?);
    let lb = batch(lut, "linalg.lu_solve")?;
    let bb = batch(bt, "linalg.lu_solve")?;
    let n = lb.mats.first().map(|m| m.r).unwrap_or(0);
    let pv = pt.to_i64_vec();
    let (lead, pairs) = broadcast_batches(&lb, &bb)?;
    let mut xs = Vec::new();
    for (i, j) in pairs {
        let piv: Vec<i32> = pv[(i * n)..(i + 1) * n].iter().map(|&v| v as i32).collect();
        let (pm, l, u) = unpack(&lb.mats[i], &piv);
        // A = P L U; reconstructing A keeps this short and is exact enough in f64
        let amat = pm.mul(&l).mul(&u);
        let op = if adjoint { amat.t() } else { amat };
        let x = if left {
            let mut f = op.clone();
            let (p, _) = lu_in_place(&mut f);
            lu_solve_mat(&f, &p, &bb.mats[j])
        } else {
            let mut f = op.t();
            let (p, _) = lu_in_place(&mut f);
            lu_solve_mat(&f, &p, &bb.mats[j].t()).t()
        };
        xs.push(x);
    }
    Ok(assemble_rc(&lead, &xs, (bb.r, bb.c), dt)?.into())
}

fn inv_ex(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.inv")?;
    let b = batch(t, "linalg.inv")?;
    square(&b, "linalg.inv")?;
    let (lus, pivs, info) = lu_all(&b);
    let invs: Vec<Mat> = lus.iter().zip(&pivs).map(|(l, p)| lu_solve_mat(l, p, &Mat::eye(l.r))).collect();
    if a.bool("check_errors")? && info.iter().any(|&i| i != 0) {
        bail!("linalg.inv: The diagonal element {} is zero, the inversion could not be completed because the input matrix is singular.", info.iter().find(|&&i| i != 0).unwrap_or(&0));
    }
    Ok((assemble_rc(&b.lead, &invs, (b.r, b.c), dt)?, infos(&b.lead, info)?).into())
}

// ----- Cholesky and triangular solves -------------------------------------------------------

/// Lower Cholesky factor and LAPACK info (the order of the first non-positive leading minor).
fn cholesky_lower(a: &Mat) -> (Mat, i32) {
    let n = a.r;
    let mut l = Mat::zeros(n, n);
    for j in 0..n {
        let mut s = a.at(j, j);
        for k in 0..j {
            s -= l.at(j, k) * l.at(j, k);
        }
        if s <= 0.0 || s.is_nan() {
            return (l, j as i32 + 1);
        }
        let d = s.sqrt();
        l.set(j, j, d);
        for i in j + 1..n {
            let mut s = a.at(i, j);
            for k in 0..j {
                s -= l.at(i, k) * l.at(j, k);
            }
            l.set(i, j, s / d);
        }
    }
    (l, 0)
}

fn cholesky_ex(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    let dt = float_input(t, "linalg.cholesky")?;
    let b = batch(t, "linalg.cholesky")?;
    square(&b, "linalg.cholesky")?;
    let upper = a.bool("upper")?;
    let (mut ls, mut info) = (Vec::new(), Vec::new());
    for m in &b.mats {
        let (l, i) = cholesky_lower(m);
        ls.push(if upper { l.t() } else { l });
        info.push(i);
    }
    if a.bool("check_errors")? && info.iter().any(|&i| i != 0) {
        bail!("linalg.cholesky: The factorization could not be completed because the input is not positive-definite (the leading minor of order {} is not positive-definite).", info.iter().find(|&&i| i != 0).unwrap_or(&0));
    }
    Ok((assemble_rc(&b.lead, &ls, (b.r, b.c), dt)?, infos(&b.lead, info)?).into())
}

/// Solves `T x = b` column by column for a triangular `T`.
fn tri_solve(t: &Mat, b: &Mat, upper: bool, unit: bool) -> Mat {
    let n = t.r;
    let mut x = b.clone();
    for c in 0..x.c {
        let order: Vec<usize> = if upper { (0..n).rev().collect() } else { (0..n).collect() };
        for &i in &order {
            let mut s = x.at(i, c);
            let range: Vec<usize> = if upper { (i + 1..n).collect() } else { (0..i).collect() };
            for k in range {
                s -= t.at(i, k) * x.at(k, c);
            }
            x.set(i, c, if unit { s } else { s / t.at(i, i) });
        }
    }
    x
}

fn solve_triangular(a: &Args) -> Result<Value> {
    let (tt, bt) = (a.tensor("self")?, a.tensor("B")?);
    let dt = float_input(tt, "linalg.solve_triangular")?;
    let (upper, left, unit) = (a.bool("upper")?, a.bool("left")?, a.bool("unitriangular")?);
    let tb = batch(tt, "linalg.solve_triangular")?;
    let bb = batch(bt, "linalg.solve_triangular")?;
    let (lead, pairs) = broadcast_batches(&tb, &bb)?;
    let xs: Vec<Mat> = pairs
        .into_iter()
        .map(|(i, j)| if left { tri_solve(&tb.mats[i], &bb.mats[j], upper, unit) } else { tri_solve(&tb.mats[i].t(), &bb.mats[j].t(), !upper, unit).t() })
        .collect();
    Ok(assemble_rc(&lead, &xs, (bb.r, bb.c), dt)?.into())
}

fn triangular_solve(a: &Args) -> Result<Value> {
    let (bt, at) = (a.tensor("self")?, a.tensor("A")?);
    let dt = float_input(bt, "triangular_solve")?;
    let (upper, transpose, unit) = (a.bool("upper")?, a.bool("transpose")?, a.bool("unitriangular")?);
    let ab = batch(at, "triangular_solve")?;
    let bb = batch(bt, "triangular_solve")?;
    let (lead, pairs) = broadcast_batches(&ab, &bb)?;
    let xs: Vec<Mat> = pairs
        .into_iter()
        .map(|(i, j)| if transpose { tri_solve(&ab.mats[i].t(), &bb.mats[j], !upper, unit) } else { tri_solve(&ab.mats[i], &bb.mats[j], upper, unit) })
        .collect();
    let cloned: Vec<Mat> = (0..xs.len()).map(|k| ab.mats[k % ab.mats.len().max(1)].clone()).collect();
    Ok((assemble_rc(&lead, &xs, (bb.r, bb.c), dt)?, assemble_rc(&lead, &cloned, (bb.r, bb.c), dt)?).into())
}

fn cholesky_solve(a: &Args) -> Result<Value> {
    let (bt, lt) = (a.tensor("self")?, a.tensor("input2")?);
    let dt = float_input(bt, "cholesky_solve")?;
    let upper = a.bool("upper")?;
    let lb = batch(lt, "cholesky_solve")?;
    let bb = batch(bt, "cholesky_solve")?;
    let (lead, pairs) = broadcast_batches(&lb, &bb)?;
    let xs: Vec<Mat> = pairs
        .into_iter()
        .map(|(i, j)| {
            let l = if upper { lb.mats[i].t() } else { lb.mats[i].clone() };
            let y = tri_solve(&l, &bb.mats[j], false, false);
            tri_solve(&l.t(), &y, true, false)
        })
        .collect();
    Ok(assemble_rc(&lead, &xs, (bb.r, bb.c), dt)?.into())
}

fn cholesky_inverse(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    let dt = float_input(t, "cholesky_inverse")?;
    let upper = a.bool("upper")?;
    let b = batch(t, "cholesky_inverse")?;
    let invs: Vec<Mat> = b
        .mats
        .iter()
        .map(|m| {
            let l = if upper { m.t() } else { m.clone() };
            let y = tri_solve(&l, &Mat::eye(l.r), false, false);
            tri_solve(&l.t(), &y, true, false)
        })
        .collect();
    Ok(assemble_rc(&b.lead, &invs, (b.r, b.c), dt)?.into())
}

// ----- Householder QR -----------------------------------------------------------------------

/// `geqrf` in place: R in the upper triangle, reflector vectors below it; returns `tau`.
fn geqrf_in_place(a: &mut Mat) -> Vec<f64> {
    let (m, n) = (a.r, a.c);
    let k = m.min(n);
    let mut tau = vec![0.0; k];
    for j in 0..k {
        let alpha = a.at(j, j);
        let xnorm = (j + 1..m).map(|i| a.at(i, j) * a.at(i, j)).sum::<f64>().sqrt();
        if xnorm == 0.0 {
            tau[j] = 0.0;
            continue;
        }
        let beta = -alpha.signum() * alpha.hypot(xnorm);
        let beta = if alpha == 0.0 { -alpha.hypot(xnorm) } else { beta };
        tau[j] = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        for i in j + 1..m {
            let v = a.at(i, j) * scale;
            a.set(i, j, v);
        }
        a.set(j, j, beta);
        // apply H = I - tau v v^T to the trailing columns
        for c in j + 1..n {
            let mut s = a.at(j, c);
            for i in j + 1..m {
                s += a.at(i, j) * a.at(i, c);
            }
            s *= tau[j];
            let v = a.at(j, c) - s;
            a.set(j, c, v);
            for i in j + 1..m {
                let v = a.at(i, c) - s * a.at(i, j);
                a.set(i, c, v);
            }
        }
    }
    tau
}

/// Applies `H_1 ... H_k` (or its transpose) to `c` from the left: reflectors in `v`'s lower part.
fn apply_q(v: &Mat, tau: &[f64], c: &mut Mat, transpose: bool) {
    let m = v.r;
    let order: Vec<usize> = if transpose { (0..tau.len()).collect() } else { (0..tau.len()).rev().collect() };
    for j in order {
        if tau[j] == 0.0 {
            continue;
        }
        for col in 0..c.c {
            let mut s = c.at(j, col);
            for i in j + 1..m {
                s += v.at(i, j) * c.at(i, col);
            }
            s *= tau[j];
            let x = c.at(j, col) - s;
            c.set(j, col, x);
            for i in j + 1..m {
                let x = c.at(i, col) - s * v.at(i, j);
                c.set(i, col, x);
            }
        }
    }
}

fn geqrf(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    let dt = float_input(t, "geqrf")?;
    let b = batch(t, "geqrf")?;
    let (mut outs, mut taus) = (Vec::new(), Vec::new());
    for m in &b.mats {
        let mut x = m.clone();
        taus.push(geqrf_in_place(&mut x));
        outs.push(x);
    }
    Ok((assemble_rc(&b.lead, &outs, (b.r, b.c), dt)?, assemble_vecs(&b.lead, &taus, dt)?).into())
}

fn qr(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.qr")?;
    let mode = a.str("mode")?;
    if !matches!(mode, "reduced" | "complete" | "r") {
        bail!("qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'");
    }
    let b = batch(t, "linalg.qr")?;
    let (mut qs, mut rs) = (Vec::new(), Vec::new());
    for m in &b.mats {
        let (rows, cols) = (m.r, m.c);
        let k = rows.min(cols);
        let mut x = m.clone();
        let tau = geqrf_in_place(&mut x);
        let qcols = if mode == "complete" { rows } else { k };
        let rrows = if mode == "complete" { rows } else { k };
        let mut r = Mat::zeros(rrows, cols);
        for i in 0..rrows.min(rows) {
            for j in i..cols {
                r.set(i, j, x.at(i, j));
            }
        }
        let mut q = Mat::zeros(rows, qcols);
        (0..qcols.min(rows)).for_each(|i| q.set(i, i, 1.0));
        apply_q(&x, &tau, &mut q, false);
        qs.push(q);
        rs.push(r);
    }
    let q = if mode == "r" { Tensor::zeros(&[0], dt) } else { assemble_rc(&b.lead, &qs, (b.r, b.c), dt)? };
    Ok((q, assemble_rc(&b.lead, &rs, (b.r, b.c), dt)?).into())
}

fn householder_product(a: &Args) -> Result<Value> {
    let (t, tau) = (a.tensor("input")?, a.tensor("tau")?);
    let dt = float_input(t, "linalg.householder_product")?;
    let b = batch(t, "linalg.householder_product")?;
    let k = *tau.shape().last().unwrap_or(&0);
    let tv = tau.to_f64_vec();
    let mut qs = Vec::new();
    for (i, v) in b.mats.iter().enumerate() {
        let mut q = Mat::zeros(v.r, v.c);
        (0..v.c.min(v.r)).for_each(|d| q.set(d, d, 1.0));
        apply_q(v, &tv[i * k..(i + 1) * k], &mut q, false);
        qs.push(q);
    }
    Ok(assemble_rc(&b.lead, &qs, (b.r, b.c), dt)?.into())
}

fn ormqr(a: &Args) -> Result<Value> {
    let (v, tau, c) = (a.tensor("self")?, a.tensor("input2")?, a.tensor("input3")?);
    let dt = float_input(v, "ormqr")?;
    let (left, transpose) = (a.bool("left")?, a.bool("transpose")?);
    let vb = batch(v, "ormqr")?;
    let cb = batch(c, "ormqr")?;
    let k = *tau.shape().last().unwrap_or(&0);
    let tv = tau.to_f64_vec();
    let mut outs = Vec::new();
    for (i, (vm, cm)) in vb.mats.iter().zip(&cb.mats).enumerate() {
        let taus = &tv[i * k..(i + 1) * k];
        let out = if left {
            let mut x = cm.clone();
            apply_q(vm, taus, &mut x, transpose);
            x
        } else {
            // C Q = (Q^T C^T)^T
            let mut x = cm.t();
            apply_q(vm, taus, &mut x, !transpose);
            x.t()
        };
        outs.push(out);
    }
    Ok(assemble_rc(&cb.lead, &outs, (cb.r, cb.c), dt)?.into())
}

// ----- symmetric eigenproblem and SVD -------------------------------------------------------

/// Cyclic Jacobi on a symmetric matrix: ascending eigenvalues and eigenvectors (columns),
/// each vector's largest-magnitude component made positive.
fn jacobi_eigh(a: &Mat) -> (Vec<f64>, Mat) {
    let n = a.r;
    let mut m = a.clone();
    let mut v = Mat::eye(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m.at(i, j).powi(2)).sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m.at(p, q);
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m.at(q, q) - m.at(p, p)) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m.at(k, p), m.at(k, q));
                    m.set(k, p, c * mkp - s * mkq);
                    m.set(k, q, s * mkp + c * mkq);
                }
                for k in 0..n {
                    let (mpk, mqk) = (m.at(p, k), m.at(q, k));
                    m.set(p, k, c * mpk - s * mqk);
                    m.set(q, k, s * mpk + c * mqk);
                }
                for k in 0..n {
                    let (vkp, vkq) = (v.at(k, p), v.at(k, q));
                    v.set(k, p, c * vkp - s * vkq);
                    v.set(k, q, s * vkp + c * vkq);
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m.at(i, i).partial_cmp(&m.at(j, j)).unwrap_or(std::cmp::Ordering::Equal));
    let vals: Vec<f64> = order.iter().map(|&i| m.at(i, i)).collect();
    let mut vecs = Mat::zeros(n, n);
    for (c, &i) in order.iter().enumerate() {
        let col: Vec<f64> = (0..n).map(|r| v.at(r, i)).collect();
        let big = col.iter().cloned().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        let sign = if big < 0.0 { -1.0 } else { 1.0 };
        for (r, x) in col.iter().enumerate() {
            vecs.set(r, c, sign * x);
        }
    }
    (vals, vecs)
}

fn symmetrize(m: &Mat, lower: bool) -> Mat {
    let mut s = m.clone();
    for i in 0..m.r {
        for j in 0..m.c {
            let v = if (j <= i) == lower { m.at(i, j) } else { m.at(j, i) };
            s.set(i, j, v);
        }
    }
    s
}

fn eigh(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.eigh")?;
    let lower = a.str("UPLO")? != "U";
    let b = batch(t, "linalg.eigh")?;
    square(&b, "linalg.eigh")?;
    let (mut vals, mut vecs) = (Vec::new(), Vec::new());
    for m in &b.mats {
        let (w, v) = jacobi_eigh(&symmetrize(m, lower));
        vals.push(w);
        vecs.push(v);
    }
    let v = if a.bool("compute_v")? { assemble_rc(&b.lead, &vecs, (b.r, b.c), dt)? } else { Tensor::zeros(&[0], dt) };
    Ok((assemble_vecs(&b.lead, &vals, dt)?, v).into())
}

/// Thin SVD from the eigendecomposition of `A^T A` (or `A A^T`), singular values descending.
fn svd_of(m: &Mat) -> (Mat, Vec<f64>, Mat) {
    let tall = m.r >= m.c;
    let a = if tall { m.clone() } else { m.t() };
    let (w, v) = jacobi_eigh(&a.t().mul(&a));
    let k = a.c;
    let order: Vec<usize> = (0..k).rev().collect();
    let s: Vec<f64> = order.iter().map(|&i| w[i].max(0.0).sqrt()).collect();
    let mut vm = Mat::zeros(k, k);
    for (c, &i) in order.iter().enumerate() {
        for r in 0..k {
            vm.set(r, c, v.at(r, i));
        }
    }
    let av = a.mul(&vm);
    let mut u = Mat::zeros(a.r, k);
    for c in 0..k {
        for r in 0..a.r {
            u.set(r, c, if s[c] > 1e-300 { av.at(r, c) / s[c] } else { 0.0 });
        }
    }
    if tall {
        (u, s, vm.t())
    } else {
        (vm, s, u.t())
    }
}

fn svd(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.svd")?;
    let b = batch(t, "linalg.svd")?;
    let (mut us, mut ss, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    for m in &b.mats {
        let (u, s, vh) = svd_of(m);
        us.push(u);
        ss.push(s);
        vs.push(vh);
    }
    if a.bool("full_matrices")? && b.mats.first().is_some_and(|m| m.r != m.c) {
        bail!("linalg.svd with full_matrices=True on non-square matrices is not supported by pt2 yet");
    }
    let compute_uv = a.bool("compute_uv")?;
    let (u, vh) = if compute_uv { (assemble_rc(&b.lead, &us, (b.r, b.c), dt)?, assemble_rc(&b.lead, &vs, (b.r, b.c), dt)?) } else { (Tensor::zeros(&[0], dt), Tensor::zeros(&[0], dt)) };
    Ok((u, assemble_vecs(&b.lead, &ss, dt)?, vh).into())
}

/// The pseudo-inverse, keeping singular values above `max(atol, rtol * largest)`.
fn pinv_of(m: &Mat, atol: f64, rtol: f64) -> Mat {
    let (u, s, vh) = svd_of(m);
    let cutoff = atol.max(rtol * s.iter().cloned().fold(0.0, f64::max));
    let mut out = Mat::zeros(m.c, m.r);
    for (k, &sk) in s.iter().enumerate() {
        if sk <= cutoff || sk == 0.0 {
            continue;
        }
        for i in 0..m.c {
            for j in 0..m.r {
                out.d[i * m.r + j] += vh.at(k, i) * u.at(j, k) / sk;
            }
        }
    }
    out
}

/// A pseudo-inverse has each matrix's shape transposed.
fn pinv_meta(call: &mut MetaCall) -> Result<Vec<Vec<Expr>>> {
    let mut s = call.sizes("self")?;
    if s.len() < 2 {
        tensor::bail!("linalg.pinv(A): The input tensor A must have at least 2 dimensions.");
    }
    let n = s.len();
    s.swap(n - 2, n - 1);
    Ok(vec![s])
}

fn pinv(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    let dt = float_input(t, "linalg.pinv")?;
    let b = batch(t, "linalg.pinv")?;
    // tolerances come as 0-dim tensors (`atol_rtol_tensor`) or as floats (`atol_rtol_float`)
    let tolerance = |name: &str| -> Result<Option<f64>> {
        Ok(match a.get(name)? {
            Value::Tensor(x) => Some(x.item_f64()?),
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        })
    };
    let (atol, rtol) = (tolerance("atol")?, tolerance("rtol")?);
    let (m, n) = b.mats.first().map(|x| (x.r, x.c)).unwrap_or((0, 0));
    let eps = if dt == DType::F64 { f64::EPSILON } else { f32::EPSILON as f64 };
    let rtol = match (atol, rtol) {
        (_, Some(r)) => r,
        (Some(a), None) if a > 0.0 => 0.0,
        _ => eps * m.max(n) as f64,
    };
    // a Hermitian input is read from its lower triangle, as PyTorch's eigh-based path does (a
    // symmetric matrix's singular values are its eigenvalues' magnitudes: the same cutoff)
    let hermitian = a.bool("hermitian")?;
    let outs: Vec<Mat> = b.mats.iter().map(|x| pinv_of(&if hermitian { symmetrize(x, true) } else { x.clone() }, atol.unwrap_or(0.0), rtol)).collect();
    Ok(assemble_rc(&b.lead, &outs, (b.r, b.c), dt)?.into())
}

fn lstsq(a: &Args) -> Result<Value> {
    let (at, bt) = (a.tensor("self")?, a.tensor("b")?);
    let dt = float_input(at, "linalg.lstsq")?;
    let ab = batch(at, "linalg.lstsq")?;
    let (bt, vector) = as_matrix_rhs(at.dim(), bt)?;
    let bb = batch(&bt, "linalg.lstsq")?;
    let (lead, pairs) = broadcast_batches(&ab, &bb)?;
    let eps = if dt == DType::F64 { f64::EPSILON } else { f32::EPSILON as f64 };
    let (m, n) = ab.mats.first().map(|x| (x.r, x.c)).unwrap_or((0, 0));
    let rcond = a.opt_float("rcond")?.unwrap_or(eps * m.max(n) as f64);
    let (mut xs, mut ranks) = (Vec::new(), Vec::new());
    for (i, j) in pairs {
        let p = pinv_of(&ab.mats[i], 0.0, rcond);
        xs.push(p.mul(&bb.mats[j]));
        let (_, s, _) = svd_of(&ab.mats[i]);
        let top = s.iter().cloned().fold(0.0, f64::max);
        ranks.push(s.iter().filter(|&&v| v > rcond * top).count() as i64);
    }
    let mut x = assemble_rc(&lead, &xs, (bb.r, bb.c), dt)?;
    if vector {
        x = x.squeeze(Some(&[-1]))?;
    }
    let rank = Tensor::from_vec(ranks, &lead)?;
    Ok(Value::List(vec![x.into(), Tensor::zeros(&[0], dt).into(), rank.into(), Tensor::zeros(&[0], dt).into()]))
}

fn polar(a: &Args) -> Result<Value> {
    let t = a.tensor("A")?;
    let dt = float_input(t, "linalg.polar")?;
    let b = batch(t, "linalg.polar")?;
    let (mut us, mut hs) = (Vec::new(), Vec::new());
    for m in &b.mats {
        let (u, s, vh) = svd_of(m);
        us.push(u.mul(&vh));
        let v = vh.t();
        let mut vs = v.clone();
        for r in 0..vs.r {
            for c in 0..vs.c {
                vs.set(r, c, v.at(r, c) * s[c]);
            }
        }
        hs.push(vs.mul(&vh));
    }
    Ok((assemble_rc(&b.lead, &us, (b.r, b.c), dt)?, assemble_rc(&b.lead, &hs, (b.r, b.c), dt)?).into())
}

/// `exp(A)` by scaling and squaring with a Taylor series.
fn expm(a: &Mat) -> Mat {
    let norm: f64 = (0..a.r).map(|i| (0..a.c).map(|j| a.at(i, j).abs()).sum::<f64>()).fold(0.0, f64::max);
    let s = if norm > 0.5 { (norm / 0.5).log2().ceil() as i32 } else { 0 };
    let scale = 2f64.powi(-s);
    let x = Mat { r: a.r, c: a.c, d: a.d.iter().map(|v| v * scale).collect() };
    let mut result = Mat::eye(a.r);
    let mut term = Mat::eye(a.r);
    for k in 1..30 {
        term = term.mul(&x);
        term.d.iter_mut().for_each(|v| *v /= k as f64);
        result.d.iter_mut().zip(&term.d).for_each(|(r, t)| *r += t);
    }
    for _ in 0..s {
        result = result.mul(&result);
    }
    result
}

fn matrix_exp(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    let dt = float_input(t, "linalg.matrix_exp")?;
    let b = batch(t, "linalg.matrix_exp")?;
    square(&b, "linalg.matrix_exp")?;
    let outs: Vec<Mat> = b.mats.iter().map(expm).collect();
    Ok(assemble_rc(&b.lead, &outs, (b.r, b.c), dt)?.into())
}

/// The principal square root of a symmetric positive semi-definite matrix, `V sqrt(L) V^T`
/// (independent of the eigenvectors' signs).
fn matrix_sqrth(a: &Args) -> Result<Value> {
    let t = a.tensor("self")?;
    let dt = float_input(t, "linalg.matrix_sqrth")?;
    let b = batch(t, "linalg.matrix_sqrth")?;
    square(&b, "linalg.matrix_sqrth")?;
    let outs: Vec<Mat> = b
        .mats
        .iter()
        .map(|m| {
            let (w, v) = jacobi_eigh(&symmetrize(m, true));
            let mut vs = v.clone();
            for r in 0..vs.r {
                for c in 0..vs.c {
                    vs.set(r, c, v.at(r, c) * w[c].max(0.0).sqrt());
                }
            }
            vs.mul(&v.t())
        })
        .collect();
    Ok(assemble_rc(&b.lead, &outs, (b.r, b.c), dt)?.into())
}

fn cross(a: &Args) -> Result<Value> {
    let (x, y) = (a.tensor("self")?, a.tensor("other")?);
    let shape = tensor::shape::broadcast_shapes(x.shape(), y.shape())?;
    let d = tensor::shape::wrap_dim(a.int("dim")?, shape.len())?;
    if shape[d] != 3 {
        bail!("linalg.cross: inputs dimension {d} must have length 3. Got {} and {}", x.shape().get(d).copied().unwrap_or(0), y.shape().get(d).copied().unwrap_or(0));
    }
    let out = tensor::promote_types(x.dtype(), y.dtype())?;
    let (xe, ye) = (x.broadcast_to(&shape)?, y.broadcast_to(&shape)?);
    let comp = |t: &Tensor, i: i64| t.narrow(d as i64, i, 1);
    // x_i y_j - x_j y_i, each product rounded to the output dtype as PyTorch's kernel rounds it
    let term = |i: i64, j: i64| -> Result<Tensor> {
        let (xi, yj, xj, yi) = (comp(&xe, i)?, comp(&ye, j)?, comp(&xe, j)?, comp(&ye, i)?);
        if out.is_complex() {
            let (a1, a2) = (super::complex::zip(&xi, &yj, out, |p, q| p * q)?, super::complex::zip(&xj, &yi, out, |p, q| p * q)?);
            return super::complex::zip(&a1, &a2, out, |p, q| p - q);
        }
        let a1 = zip_f64(&xi, &yj, DType::F64, |p, q| p * q)?;
        let a2 = zip_f64(&xj, &yi, DType::F64, |p, q| p * q)?;
        zip_f64(&a1, &a2, DType::F64, |p, q| p - q)
    };
    let parts = vec![term(1, 2)?, term(2, 0)?, term(0, 1)?];
    let r = super::shape::cat(&parts, d as i64)?;
    Ok(if out.is_float() || out.is_complex() { r.to_dtype(out) } else { map_f64(&r, out, |v| v.round()) }.into())
}

fn vector_norm(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    // a complex tensor's norm is its magnitudes' (a real tensor)
    let magnitudes = x.dtype().is_complex().then(|| super::complex::map(x, x.dtype().to_real(), |z| super::complex::Complex::new(z.norm(), 0.0)));
    let x = magnitudes.as_ref().unwrap_or(x);
    let ord = a.scalar("ord")?.to_f64();
    let out = a.opt_dtype("dtype")?.map(DType::to_real).unwrap_or(x.dtype());
    if !out.is_float() {
        bail!("linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}", x.dtype().name());
    }
    let dims = tensor::kernels::reduce::reduction_dims(a.opt_int_list("dim")?.as_deref(), x.dim())?;
    let r = tensor::kernels::reduce::reduce::<f64, f64>(&x.to_dtype(DType::F64), &dims, a.bool("keepdim")?, move |g| {
        if ord == f64::INFINITY {
            g.iter().map(|v| v.abs()).fold(0.0, f64::max)
        } else if ord == f64::NEG_INFINITY {
            g.iter().map(|v| v.abs()).fold(f64::INFINITY, f64::min)
        } else if ord == 0.0 {
            g.iter().filter(|v| **v != 0.0).count() as f64
        } else {
            g.iter().map(|v| v.abs().powf(ord)).sum::<f64>().powf(1.0 / ord)
        }
    })?;
    Ok(r.to_dtype(out).into())
}

fn check_errors(a: &Args) -> Result<Value> {
    let info = a.tensor("info")?.to_i64_vec();
    let api = a.str("api_name")?;
    if let Some(&i) = info.iter().find(|&&i| i != 0) {
        if i < 0 {
            bail!("{api}: Argument {} has illegal value. Most certainly there is a bug in the implementation calling the backend library.", -i);
        }
        bail!("{api}: The algorithm failed to converge or the input is singular (info = {i}).");
    }
    Ok(Value::None)
}
