//! uint16/uint32/uint64 through the kernels PyTorch computes them with, against PyTorch 2.15's
//! answers; values past 2^53 and 2^63 catch a kernel that goes through f64 or orders as int64.

use tensor::{DType, Tensor};

use crate::{Registry, Value};

const BIG: u64 = (1 << 63) + 1;

fn u64s(v: &[u64]) -> Value {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap().into()
}

fn call(name: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> crate::Result<Value> {
    Registry::global().call(name, args, kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn tensor(v: Value) -> Tensor {
    match v {
        Value::Tensor(t) => t,
        other => panic!("{other:?}"),
    }
}

fn pair(v: Value) -> (Tensor, Tensor) {
    match v {
        Value::List(mut l) if l.len() >= 2 => {
            let b = tensor(l.remove(1));
            (tensor(l.remove(0)), b)
        }
        other => panic!("{other:?}"),
    }
}

/// `torch.tensor([2**63+1, 3, 2**63, 3], dtype=torch.uint64).sort()` (and descending):
/// values in exact order, ties in index order.
#[test]
fn sort_orders_uint64_exactly() {
    let x = u64s(&[BIG, 3, 1 << 63, 3]);
    let (v, i) = pair(call("aten::sort", vec![x.clone()], vec![]).unwrap());
    assert_eq!(v.dtype(), DType::U64);
    assert_eq!(v.to_vec::<u64>(), vec![3, 3, 1 << 63, BIG]);
    assert_eq!(i.to_vec::<i64>(), vec![1, 3, 2, 0]);
    let (v, i) = pair(call("aten::sort", vec![x], vec![("descending", Value::Bool(true))]).unwrap());
    assert_eq!(v.to_vec::<u64>(), vec![BIG, 1 << 63, 3, 3]);
    assert_eq!(i.to_vec::<i64>(), vec![0, 2, 1, 3]);
}

/// Selection compares int64 exactly too. In PyTorch 2.15, with `B = 2**53` and
/// `x = torch.tensor([B, B+1, B+3, B+2, B+1])`: `topk(x, 2)` is `([B+3, B+2], [2, 3])`,
/// `kthvalue(x, 2)` is `(B+1, 4)`, `median(x)` is `B+1`, `mode(x)` is `(B+1, 4)`
/// (as f64 keys all five are equal).
#[test]
fn selection_orders_int64_exactly() {
    const B: i64 = 1 << 53;
    let x: Value = Tensor::from_vec(vec![B, B + 1, B + 3, B + 2, B + 1], &[5]).unwrap().into();
    let (v, i) = pair(call("aten::topk", vec![x.clone(), Value::Int(2)], vec![]).unwrap());
    assert_eq!((v.to_vec::<i64>(), i.to_vec::<i64>()), (vec![B + 3, B + 2], vec![2, 3]));
    let (v, i) = pair(call("aten::kthvalue", vec![x.clone(), Value::Int(2)], vec![]).unwrap());
    assert_eq!((v.to_vec::<i64>(), i.to_vec::<i64>()), (vec![B + 1], vec![4]));
    assert_eq!(tensor(call("aten::median", vec![x.clone()], vec![]).unwrap()).to_vec::<i64>(), vec![B + 1]);
    let (v, i) = pair(call("aten::mode", vec![x], vec![]).unwrap());
    assert_eq!((v.to_vec::<i64>(), i.to_vec::<i64>()), (vec![B + 1], vec![4]));
}

/// `torch.unique(.., return_inverse=True, return_counts=True)` of the same tensor.
#[test]
fn unique_keeps_uint64_values() {
    let out = call("aten::_unique2", vec![u64s(&[BIG, 3, 1 << 63, 3])], vec![("return_inverse", Value::Bool(true)), ("return_counts", Value::Bool(true))]).unwrap();
    let Value::List(parts) = out else { panic!() };
    let parts: Vec<Tensor> = parts.into_iter().map(tensor).collect();
    assert_eq!(parts[0].to_vec::<u64>(), vec![3, 1 << 63, BIG]);
    assert_eq!(parts[1].to_vec::<i64>(), vec![2, 0, 1, 0]);
    assert_eq!(parts[2].to_vec::<i64>(), vec![2, 1, 1]);
}

/// Products wrap in the type (uint32 `[1, 2, 2**31+5]` squared is `[1, 4, 25]`); sums are
/// int64 and wrap there (`[3, 2**63+1]` sums to -9223372036854775804); equality and bitwise
/// logic see every bit; true division gives float32.
#[test]
fn arithmetic_pytorch_supports() {
    let x: Value = Tensor::from_vec(vec![1u32, 2, (1 << 31) + 5], &[3]).unwrap().into();
    let sq = tensor(call("aten::mul.Tensor", vec![x.clone(), x], vec![]).unwrap());
    assert_eq!((sq.dtype(), sq.to_vec::<u32>()), (DType::U32, vec![1, 4, 25]));

    let s = tensor(call("aten::sum", vec![u64s(&[3, BIG])], vec![]).unwrap());
    assert_eq!((s.dtype(), s.to_vec::<i64>()), (DType::I64, vec![-9223372036854775804]));

    let eq = tensor(call("aten::eq.Tensor", vec![u64s(&[BIG, 5]), u64s(&[BIG, 4])], vec![]).unwrap());
    assert_eq!(eq.to_bool_vec(), vec![true, false]);
    let and = tensor(call("aten::bitwise_and.Scalar", vec![u64s(&[BIG, 5]), Value::Int(0xff)], vec![]).unwrap());
    assert_eq!((and.dtype(), and.to_vec::<u64>()), (DType::U64, vec![1, 5]));

    let (a, b) = (Tensor::from_vec(vec![7u16, 2], &[2]).unwrap(), Tensor::from_vec(vec![2u16, 4], &[2]).unwrap());
    let q = tensor(call("aten::div.Tensor", vec![a.into(), b.into()], vec![]).unwrap());
    assert_eq!((q.dtype(), q.to_vec::<f32>()), (DType::F32, vec![3.5, 0.5]));
}

/// Conversions as `Tensor.to` makes them: float32 `[1e19, -1, 3.7, 2**40]` to uint64 is
/// `[9999999980506447872, 2**64-1, 3, 2**40]`; `[-1., 70000.5]` to uint16 is `[65535, 4464]`;
/// uint64 `2**64-1` to int64 is -1.
#[test]
fn conversions_wrap_as_pytorch() {
    let f = Tensor::from_vec(vec![1e19f32, -1.0, 3.7, (1u64 << 40) as f32], &[4]).unwrap();
    assert_eq!(f.to_dtype(DType::U64).to_vec::<u64>(), vec![9999999980506447872, u64::MAX, 3, 1 << 40]);
    let f = Tensor::from_vec(vec![-1.0f32, 70000.5], &[2]).unwrap();
    assert_eq!(f.to_dtype(DType::U16).to_vec::<u16>(), vec![65535, 4464]);
    let m = Tensor::from_vec(vec![u64::MAX], &[1]).unwrap();
    assert_eq!(m.to_dtype(DType::I64).to_vec::<i64>(), vec![-1]);
    assert_eq!(m.to_dtype(DType::F64).to_vec::<f64>(), vec![1.8446744073709552e19]);
}

/// What PyTorch refuses, refused: ordering comparisons ("lt_cpu" not implemented for
/// 'UInt32'), arithmetic it has no kernel for (add), and promotion with another integer type.
#[test]
fn refusals_match_pytorch() {
    let x: Value = Tensor::from_vec(vec![1u32, 2], &[2]).unwrap().into();
    let lt = call("aten::lt.Tensor", vec![x.clone(), x.clone()], vec![]).unwrap_err().to_string();
    assert!(lt.contains("\"lt_cpu\" not implemented for 'UInt32'"), "{lt}");
    let add = call("aten::add.Tensor", vec![x.clone(), x.clone()], vec![]).unwrap_err().to_string();
    assert!(add.contains("pt2 does not compute this operator on torch.uint32 tensors"), "{add}");
    let ints: Value = Tensor::from_vec(vec![1i64], &[1]).unwrap().into();
    let cat = call("aten::cat", vec![Value::List(vec![x, ints])], vec![]).unwrap_err().to_string();
    assert!(cat.contains("torch.uint32 and torch.int64 have no common dtype"), "{cat}");
}
