//! Random operators cannot match PyTorch's values (another generator), so they are held to what
//! PyTorch documents about them: shape, dtype, range, moments, permutations, dropout's keep rate
//! and scale — and a seed makes pt2's own draws repeatable.

use std::sync::Mutex;

use pt2::{DType, Registry, Tensor, Value};

/// The tests share the process-wide generator: one at a time, so a seed is followed by its
/// own draws.
static GENERATOR: Mutex<()> = Mutex::new(());

fn call(op: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Value {
    Registry::global().call(op, args, kwargs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).unwrap()
}

fn size(dims: &[i64]) -> Value {
    Value::List(dims.iter().map(|&d| Value::Int(d)).collect())
}

fn tensor(v: Value) -> Tensor {
    match v {
        Value::Tensor(t) => t,
        other => panic!("{other:?}"),
    }
}

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
}

#[test]
fn rand_is_uniform_on_zero_to_one_in_every_float_dtype() {
    let _g = GENERATOR.lock().unwrap();
    const N: i64 = 200_000;
    for dtype in [DType::F32, DType::F64, DType::F16, DType::BF16] {
        let t = tensor(call("aten::rand", vec![size(&[N / 100, 100])], vec![("dtype", Value::Dtype(dtype))]));
        assert_eq!((t.dtype(), t.shape()), (dtype, &[N as usize / 100, 100][..]));
        let v = t.to_f64_vec();
        assert!(v.iter().all(|u| (0.0..1.0).contains(u)), "{}: a value outside [0, 1)", dtype.name());
        // mean 1/2 and variance 1/12, within five standard errors
        let (mean, var) = moments(&v);
        let se = (1.0 / 12.0 / N as f64).sqrt();
        assert!((mean - 0.5).abs() < 5.0 * se, "{}: mean {mean}", dtype.name());
        assert!((var - 1.0 / 12.0).abs() < 0.002, "{}: variance {var}", dtype.name());
    }
    let t = tensor(call("aten::rand", vec![size(&[2, 3])], vec![]));
    assert_eq!(t.dtype(), DType::F32, "float32 by default");
}

#[test]
fn randn_is_standard_normal() {
    let _g = GENERATOR.lock().unwrap();
    const N: usize = 200_000;
    let v = tensor(call("aten::randn", vec![size(&[N as i64])], vec![])).to_f64_vec();
    let (mean, var) = moments(&v);
    assert!(mean.abs() < 5.0 / (N as f64).sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 0.02, "variance {var}");
    // the tails of a normal: 4.55% beyond two standard deviations, none absurdly far
    let beyond2 = v.iter().filter(|x| x.abs() > 2.0).count() as f64 / N as f64;
    assert!((beyond2 - 0.0455).abs() < 0.003, "{beyond2} beyond 2 sigma");
    assert!(v.iter().all(|x| x.is_finite() && x.abs() < 7.0));
}

#[test]
fn randperm_is_a_permutation() {
    let _g = GENERATOR.lock().unwrap();
    let t = tensor(call("aten::randperm", vec![Value::Int(1000)], vec![]));
    assert_eq!((t.dtype(), t.shape()), (DType::I64, &[1000usize][..]));
    let mut v = t.to_i64_vec();
    assert_ne!(v, (0..1000).collect::<Vec<_>>(), "shuffled");
    v.sort();
    assert_eq!(v, (0..1000).collect::<Vec<_>>());
    assert!(tensor(call("aten::randperm", vec![Value::Int(0)], vec![])).to_i64_vec().is_empty());
}

#[test]
fn dropout_keeps_one_minus_p_and_scales_what_it_keeps() {
    let _g = GENERATOR.lock().unwrap();
    const N: usize = 100_000;
    let x = Tensor::full(&[N], 2.0, DType::F32);
    let Value::List(out) = call("aten::native_dropout", vec![Value::Tensor(x), Value::Float(0.3), Value::Bool(true)], vec![]) else {
        panic!("two outputs")
    };
    let (y, mask) = (tensor(out[0].clone()), tensor(out[1].clone()));
    assert_eq!((y.dtype(), mask.dtype()), (DType::F32, DType::Bool));
    let (y, mask) = (y.to_f64_vec(), mask.to_bool_vec());
    let kept = mask.iter().filter(|&&k| k).count() as f64 / N as f64;
    assert!((kept - 0.7).abs() < 5.0 * (0.21 / N as f64).sqrt(), "kept {kept}");
    for (v, k) in y.iter().zip(&mask) {
        let want = if *k { 2.0 / 0.7 } else { 0.0 };
        assert!((v - want).abs() < 1e-5, "{v} with mask {k}");
    }
}

#[test]
fn a_seed_makes_draws_repeatable() {
    let _g = GENERATOR.lock().unwrap();
    let draw = || {
        let a = tensor(call("aten::randn", vec![size(&[64])], vec![])).to_f64_vec();
        let b = tensor(call("aten::randperm", vec![Value::Int(64)], vec![])).to_i64_vec();
        (a, b)
    };
    pt2::manual_seed(7);
    let first = draw();
    pt2::manual_seed(7);
    assert_eq!(draw(), first);
    pt2::manual_seed(8);
    assert_ne!(draw(), first);
}
