//! ATen operators that create tensors: ranges, constants, identity, random values.
//!
//! Default dtypes follow PyTorch: float32 for floating values and unspecified `zeros`/`ones`,
//! int64 for integer ranges and fills, the input's dtype for `*_like` and `new_*`.

use crate::dtype::{self, DtypeRule};
use crate::meta;
use tensor::{DType, Scalar, Tensor};

use super::common::*;
use super::shape::filled;
use crate::registry::Tag::*;
use crate::{Args, Registry, Result, Value};

const FACTORY: &str = "*, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None";

pub fn register(r: &Registry) {
    let core = &[Core][..];
    let none = &[][..];
    let random = &[Core, Nondeterministic][..];
    r.def_meta(&format!("aten::arange(Scalar end, {FACTORY}) -> Tensor"), none, meta::arange, arange).dtype(DtypeRule::Custom(dtype::of_numbers));
    r.def_meta(&format!("aten::arange.start_step(Scalar start, Scalar end, Scalar step=1, {FACTORY}) -> Tensor"), core, meta::arange, arange).dtype(DtypeRule::Custom(dtype::of_numbers));
    r.def_meta(&format!("aten::full(SymInt[] size, Scalar fill_value, {FACTORY}) -> Tensor"), core, meta::factory, full).complex().dtype(DtypeRule::Custom(dtype::of_numbers));
    r.def_meta(&format!("aten::zeros(SymInt[] size, {FACTORY}) -> Tensor"), none, meta::factory, |a| constant(a, 0));
    r.def_meta(&format!("aten::ones(SymInt[] size, {FACTORY}) -> Tensor"), none, meta::factory, |a| constant(a, 1));
    r.def_meta(&format!("aten::empty.memory_format(SymInt[] size, {FACTORY}, MemoryFormat? memory_format=None) -> Tensor"), core, meta::factory, |a| constant(a, 0));
    r.def_meta(&format!("aten::empty_strided(SymInt[] size, SymInt[] stride, {FACTORY}) -> Tensor"), core, meta::sized_by_size, |a| constant(a, 0));
    // the physical order of the dims only decides strides; values are written before read
    r.def_meta(&format!("aten::empty_permuted(SymInt[] size, int[] physical_layout, {FACTORY}) -> Tensor"), core, meta::factory, |a| constant(a, 0));
    r.def_meta(&format!("aten::scalar_tensor(Scalar s, {FACTORY}) -> Tensor"), core, meta::scalar, |a| {
        Ok(filled(&[], a.number("s")?, a.opt_dtype("dtype")?.unwrap_or(DType::F32))?.into())
    })
    .complex();
    r.def_meta(&format!("aten::full_like(Tensor self, Scalar fill_value, {FACTORY}, MemoryFormat? memory_format=None) -> Tensor"), core, meta::same_as_self, |a| like(a, a.number("fill_value")?)).any_dtype();
    r.def_meta(&format!("aten::zeros_like(Tensor self, {FACTORY}, MemoryFormat? memory_format=None) -> Tensor"), none, meta::same_as_self, |a| like(a, Scalar::Int(0))).any_dtype();
    r.def_meta(&format!("aten::ones_like(Tensor self, {FACTORY}, MemoryFormat? memory_format=None) -> Tensor"), none, meta::same_as_self, |a| like(a, Scalar::Int(1))).any_dtype();
    r.def_meta(&format!("aten::empty_like(Tensor self, {FACTORY}, MemoryFormat? memory_format=None) -> Tensor"), none, meta::same_as_self, |a| like(a, Scalar::Int(0))).any_dtype();
    r.def_meta(&format!("aten::new_empty(Tensor self, SymInt[] size, {FACTORY}) -> Tensor"), none, meta::factory, |a| new_filled(a, Scalar::Int(0)));
    r.def_meta(&format!("aten::eye(SymInt n, {FACTORY}) -> Tensor"), none, meta::eye, eye);
    r.def_meta(&format!("aten::eye.m(SymInt n, SymInt m, {FACTORY}) -> Tensor"), none, meta::eye, eye);
    for (ov, start, end) in [("", "Scalar start", "Scalar end"), (".Scalar_Tensor", "Scalar start", "Tensor end"), (".Tensor_Scalar", "Tensor start", "Scalar end"), (".Tensor_Tensor", "Tensor start", "Tensor end")] {
        r.def_meta(&format!("aten::linspace{ov}({start}, {end}, int steps, {FACTORY}) -> Tensor"), none, meta::steps, |a| spaced(a, None));
        r.def_meta(&format!("aten::logspace{ov}({start}, {end}, int steps, float base=10., {FACTORY}) -> Tensor"), none, meta::steps, |a| spaced(a, Some(a.float("base")?)));
    }
    r.def_meta(&format!("aten::tril_indices(int row, int col, int offset=0, {}) -> Tensor", FACTORY.replace("ScalarType? dtype=None", "ScalarType? dtype=4")), none, meta::triangle_indices, |a| tri_indices(a, true));
    r.def_meta(&format!("aten::triu_indices(int row, int col, int offset=0, {}) -> Tensor", FACTORY.replace("ScalarType? dtype=None", "ScalarType? dtype=4")), none, meta::triangle_indices, |a| tri_indices(a, false));
    r.def_meta(&format!("aten::rand(SymInt[] size, {FACTORY}) -> Tensor"), random, meta::factory, |a| random_tensor(a, false));
    r.def_meta(&format!("aten::randn(SymInt[] size, {FACTORY}) -> Tensor"), random, meta::factory, |a| random_tensor(a, true));
    r.def_meta(&format!("aten::randperm(SymInt n, {}) -> Tensor", FACTORY.replace("ScalarType? dtype=None", "ScalarType? dtype=4")), random, meta::permutation, randperm);
}

fn sizes(a: &Args, name: &str) -> Result<Vec<usize>> {
    a.int_list(name)?
        .into_iter()
        .map(|s| if s < 0 { Err(tensor::Error::msg(format!("Trying to create tensor with negative dimension {s}: {:?}", a.int_list(name)))) } else { Ok(s as usize) })
        .collect()
}

fn arange(a: &Args) -> Result<Value> {
    let has_start = a.schema().param_index("start").is_some();
    let start = if has_start { a.scalar("start")? } else { Scalar::Int(0) };
    let end = a.scalar("end")?;
    let step = if has_start { a.scalar("step")? } else { Scalar::Int(1) };
    let dtype = match a.opt_dtype("dtype")? {
        Some(d) => d,
        None if start.is_float() || end.is_float() || step.is_float() => DType::F32,
        None => DType::I64,
    };
    let (s, e, st) = (start.to_f64(), end.to_f64(), step.to_f64());
    if st == 0.0 {
        bail!("step must be nonzero");
    }
    if (st > 0.0 && s > e) || (st < 0.0 && s < e) {
        bail!("upper bound and larger bound inconsistent with step sign");
    }
    let n = ((e - s) / st).ceil().max(0.0);
    if !n.is_finite() || n > (1u64 << 40) as f64 {
        bail!("arange: the range [{s}, {e}) with step {st} is too large");
    }
    let n = n as usize;
    if dtype.is_float() {
        Ok(Tensor::from_vec((0..n).map(|i| s + i as f64 * st).collect::<Vec<f64>>(), &[n])?.to_dtype(dtype).into())
    } else {
        let (si, sti) = (start.to_i64(), step.to_i64());
        let exact = !start.is_float() && !step.is_float();
        let v: Vec<i64> = (0..n).map(|i| if exact { si + i as i64 * sti } else { (s + i as f64 * st) as i64 }).collect();
        Ok(Tensor::from_vec(v, &[n])?.to_dtype(dtype).into())
    }
}

fn full(a: &Args) -> Result<Value> {
    let v = a.number("fill_value")?;
    // a number's own dtype when none is given: bool, int64, float32 or complex64
    let dtype = a.opt_dtype("dtype")?.unwrap_or(v.dtype());
    Ok(filled(&sizes(a, "size")?, v, dtype)?.into())
}

fn constant(a: &Args, v: i64) -> Result<Value> {
    let dtype = a.opt_dtype("dtype")?.unwrap_or(DType::F32);
    Ok(Tensor::full_i64(&sizes(a, "size")?, v, dtype).into())
}

fn like(a: &Args, v: Scalar) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(filled(x.shape(), v, a.opt_dtype("dtype")?.unwrap_or(x.dtype()))?.into())
}

fn new_filled(a: &Args, v: Scalar) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(filled(&sizes(a, "size")?, v, a.opt_dtype("dtype")?.unwrap_or(x.dtype()))?.into())
}

fn eye(a: &Args) -> Result<Value> {
    let n = a.int("n")?;
    let m = if a.schema().param_index("m").is_some() { a.int("m")? } else { n };
    if n < 0 || m < 0 {
        bail!("n and m must be non-negative, got n={n}, m={m}");
    }
    let (n, m) = (n as usize, m as usize);
    let v: Vec<f64> = (0..n * m).map(|i| if i / m == i % m { 1.0 } else { 0.0 }).collect();
    Ok(Tensor::from_vec(v, &[n, m])?.to_dtype(a.opt_dtype("dtype")?.unwrap_or(DType::F32)).into())
}

/// A number or a one-element tensor argument.
fn endpoint(a: &Args, name: &str) -> Result<(f64, bool)> {
    match a.get(name)? {
        Value::Tensor(t) => {
            if t.dim() != 0 {
                bail!("linspace only supports 0-dimensional start and end tensors, but got {name} with {} dimension(s).", t.dim());
            }
            Ok((t.item_f64()?, t.dtype().is_float()))
        }
        v => {
            let s = v.as_scalar().ok_or_else(|| tensor::Error::msg(format!("{name} must be a number")))?;
            Ok((s.to_f64(), s.is_float()))
        }
    }
}

/// `linspace`, or `logspace` when a base is given. Values are computed from both ends toward
/// the middle, as PyTorch does, so the endpoints are exact.
fn spaced(a: &Args, base: Option<f64>) -> Result<Value> {
    let (s, _) = endpoint(a, "start")?;
    let (e, _) = endpoint(a, "end")?;
    let steps = a.int("steps")?;
    if steps < 0 {
        bail!("number of steps must be non-negative");
    }
    let dtype = a.opt_dtype("dtype")?.unwrap_or(DType::F32);
    let n = steps as usize;
    let step = if n > 1 { (e - s) / (n - 1) as f64 } else { 0.0 };
    let half = n / 2;
    let v: Vec<f64> = (0..n)
        .map(|i| {
            let lin = if n == 1 || i < half { s + step * i as f64 } else { e - step * (n - 1 - i) as f64 };
            match base {
                Some(b) => b.powf(lin),
                None => lin,
            }
        })
        .collect();
    let t = Tensor::from_vec(v, &[n])?;
    Ok(if dtype.is_float() { t.to_dtype(dtype) } else { map_f64(&t, dtype, |x| x.trunc()) }.into())
}

fn tri_indices(a: &Args, lower: bool) -> Result<Value> {
    let (rows, cols, off) = (a.int("row")?, a.int("col")?, a.int("offset")?);
    if rows < 0 || cols < 0 {
        bail!("row and col must be non-negative, got row={rows}, col={cols}");
    }
    let (mut rs, mut cs) = (Vec::new(), Vec::new());
    for r in 0..rows {
        for c in 0..cols {
            if (lower && c - r <= off) || (!lower && c - r >= off) {
                rs.push(r);
                cs.push(c);
            }
        }
    }
    let n = rs.len();
    rs.extend(cs);
    Ok(Tensor::from_vec(rs, &[2, n])?.to_dtype(a.opt_dtype("dtype")?.unwrap_or(DType::I64)).into())
}

fn random_tensor(a: &Args, normal: bool) -> Result<Value> {
    let shape = sizes(a, "size")?;
    let dtype = a.opt_dtype("dtype")?.unwrap_or(DType::F32);
    Ok(crate::random::with_generator(|g| crate::random::sample(g, &shape, dtype, normal))?.into())
}

fn randperm(a: &Args) -> Result<Value> {
    let n = a.int("n")?;
    if n < 0 {
        bail!("n must be non-negative, got {n}");
    }
    let mut v: Vec<i64> = tensor::alloc::try_tensor_vec(0i64, &[n as usize])?;
    v.iter_mut().zip(0..).for_each(|(x, i)| *x = i);
    crate::random::with_generator(|g| {
        for i in (1..v.len()).rev() {
            v.swap(i, g.below(i as u64 + 1) as usize);
        }
    });
    Ok(Tensor::from_vec(v, &[n as usize])?.to_dtype(a.opt_dtype("dtype")?.unwrap_or(DType::I64)).into())
}
