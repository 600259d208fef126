//! Operators that archives from older PyTorch releases (2.9) hold and 2.15 no longer emits.
//! The expected values are what PyTorch 2.15 computes for the same calls.

use pt2::{DType, Registry, Tensor, Value};

fn call(op: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> pt2::ops::Result<Value> {
    Registry::global().call(op, args, kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn tensor(v: Value) -> Tensor {
    v.into_tensor().expect("a tensor")
}

#[test]
fn movedim_moves_one_dim() {
    let x = Tensor::from_vec((0..24i64).collect(), &[2, 3, 4]).unwrap();
    // torch.ops.aten.movedim.int(torch.arange(24).reshape(2, 3, 4), 0, 2)
    let y = tensor(call("aten::movedim.int", vec![x.clone().into(), Value::Int(0), Value::Int(2)], vec![]).unwrap());
    assert_eq!(y.shape(), &[3, 4, 2]);
    assert_eq!(y.to_i64_vec(), [0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23]);
    // ... and (-1, 0)
    let y = tensor(call("aten::movedim.int", vec![x.into(), Value::Int(-1), Value::Int(0)], vec![]).unwrap());
    assert_eq!(y.shape(), &[4, 2, 3]);
    assert_eq!(y.to_i64_vec(), [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23]);
}

#[test]
fn fill_with_a_tensor_value() {
    let x = Tensor::zeros(&[2, 2], DType::F32);
    let v = Tensor::scalar(3.5f32);
    let y = tensor(call("aten::fill.Tensor", vec![x.clone().into(), v.clone().into()], vec![]).unwrap());
    assert_eq!(y.to_f64_vec(), [3.5; 4]);
    // the in-place form writes into self
    call("aten::fill_.Tensor", vec![x.clone().into(), v.into()], vec![]).unwrap();
    assert_eq!(x.to_f64_vec(), [3.5; 4]);
    let err = call("aten::fill.Tensor", vec![x.into(), Tensor::zeros(&[2], DType::F32).into()], vec![]).unwrap_err();
    assert!(err.to_string().contains("0-dimension value tensor"), "{err}");
}

#[test]
fn constrain_range_checks_the_value() {
    for op in ["aten::sym_constrain_range_for_size", "aten::sym_constrain_range"] {
        let bounds = || vec![("min", Value::Int(0)), ("max", Value::Int(3))];
        assert!(call(op, vec![Value::Int(2)], bounds()).is_ok());
        // PyTorch: "Invalid value range for 5 between [0, 3]."
        let err = call(op, vec![Value::Int(5)], bounds()).unwrap_err();
        assert!(err.to_string().ends_with("Invalid value range for 5 between [0, 3]."), "{err}");
    }
}
