//! ATen operators: element-wise arithmetic, comparison, logic and activation functions.

use tensor::DType;

use super::common::*;
use crate::registry::Tag::*;
use crate::{float_map, float_zip, Args, Registry, Result, Value};

pub fn register(r: &Registry) {
    r.def("aten::abs(Tensor self) -> Tensor", &[Core, Pointwise], abs);
    r.def("aten::sin(Tensor self) -> Tensor", &[Core, Pointwise], sin);
    r.def("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", &[Core, Pointwise], add);
    r.def("aten::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", &[Core, Pointwise], add);
}

fn abs(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(match x.dtype() {
        DType::Bool => bail!("abs is not supported for bool tensors"),
        dt if dt.is_float() => float_map!(x, dt, |v| v.abs()),
        dt => map_i64(x, dt, |v| v.wrapping_abs()),
    }
    .into())
}

fn sin(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    Ok(float_map!(x, float_dtype(x.dtype()), |v| v.sin()).into())
}

/// `self + alpha * other`.
fn add(a: &Args) -> Result<Value> {
    let (x, y) = (operand(a, "self")?, operand(a, "other")?);
    let alpha = a.scalar("alpha")?;
    let out = result_dtype(&[x, y]);
    let (tx, ty) = (x.to_tensor(out), y.to_tensor(out));
    Ok(match out {
        DType::Bool => zip_i64(&tx, &ty, out, |p, q| ((p != 0) || (q != 0 && alpha.to_i64() != 0)) as i64)?,
        dt if dt.is_float() => {
            let al = alpha.to_f64();
            if al == 1.0 {
                float_zip!(&tx, &ty, dt, |p, q| p + q)?
            } else {
                float_zip!(&tx, &ty, dt, |p: F, q| p + q * (al as F))?
            }
        }
        dt => {
            if alpha.is_float() {
                bail!("For integral input tensors, argument alpha must not be a floating point number.");
            }
            let al = alpha.to_i64();
            zip_i64(&tx, &ty, dt, |p, q| p.wrapping_add(q.wrapping_mul(al)))?
        }
    }
    .into())
}
