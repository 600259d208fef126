//! Reading the fixture formats PyTorch's scripts write: JSON values referring to tensors stored
//! in a safetensors file.

use std::collections::HashMap;

use serde_json::Value as Json;
use tensor::{DType, Tensor};

use ops::Value;

/// The tensors of a fixture's safetensors file, by name.
pub struct TensorStore {
    tensors: HashMap<String, Tensor>,
}

impl TensorStore {
    pub fn load(path: &std::path::Path) -> Result<TensorStore, String> {
        let tensors = serialize::safetensors::load_tensors(path).map_err(|e| e.to_string())?;
        Ok(TensorStore { tensors: tensors.into_iter().collect() })
    }

    /// Only the tensors `values` (fixture JSON) refer to: a benchmark reading one input set
    /// does not hold the file's other sets and expected outputs in memory.
    pub fn load_referenced(path: &std::path::Path, values: &Json) -> Result<TensorStore, String> {
        fn names<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
            match v {
                Json::Object(m) => {
                    for key in ["tensor", "storage"] {
                        if let Some(Json::String(name)) = m.get(key) {
                            out.push(name);
                        }
                    }
                    m.values().for_each(|v| names(v, out));
                }
                Json::Array(items) => items.iter().for_each(|v| names(v, out)),
                _ => {}
            }
        }
        let mut wanted = Vec::new();
        names(values, &mut wanted);
        let tensors = serialize::safetensors::load_tensors_where(path, |n| wanted.contains(&n)).map_err(|e| e.to_string())?;
        Ok(TensorStore { tensors: tensors.into_iter().collect() })
    }

    pub fn get(&self, key: &str) -> Result<&Tensor, String> {
        self.tensors.get(key).ok_or_else(|| format!("tensor `{key}` is not in the safetensors file"))
    }
}

fn float_of(v: &Json) -> Result<f64, String> {
    match v {
        Json::Number(n) => n.as_f64().ok_or_else(|| format!("bad float {n}")),
        Json::String(s) => match s.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            other => other.parse().map_err(|_| format!("bad float `{other}`")),
        },
        other => Err(format!("bad float {other}")),
    }
}

/// Recreates a recorded tensor, in storage of its own: the stored values laid out with the
/// recorded strides and storage offset (within the recorded whole storage, where there is one),
/// so kernels see the same layouts PyTorch's did.
fn recorded_tensor(obj: &serde_json::Map<String, Json>, store: &TensorStore) -> Result<Tensor, String> {
    let key = obj["tensor"].as_str().ok_or("tensor key is not a string")?;
    let values = store.get(key)?;
    let ints = |k: &str| -> Vec<i64> {
        obj.get(k).and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|x| x.as_i64()).collect()).unwrap_or_default()
    };
    let strides = ints("strides");
    let offset = obj.get("storage_offset").and_then(|v| v.as_i64()).unwrap_or(0) as usize;
    let shape: Vec<usize> = values.shape().to_vec();
    if let Some(whole) = obj.get("storage").and_then(|v| v.as_str()) {
        // a view into a recorded storage (whose other elements `as_strided` may read)
        let whole = store.get(whole)?.deep_clone();
        let strides: Vec<isize> = strides.iter().map(|&s| s as isize).collect();
        return whole.as_strided(&shape, &strides, Some(offset)).map_err(|e| e.to_string());
    }
    let contiguous = tensor::shape::contiguous_strides(&shape);
    let is_plain = strides.len() != shape.len()
        || (offset == 0 && strides.iter().map(|&s| s as isize).eq(contiguous.iter().copied()));
    if is_plain {
        // a copy: a program mutating its inputs must not change the recorded values
        return Ok(values.deep_clone());
    }
    let strides: Vec<isize> = strides.iter().map(|&s| s as isize).collect();
    let extent = tensor::strided::extent(&shape, &strides, offset).map(|(_, hi)| hi as usize).unwrap_or(offset);
    let base = Tensor::zeros(&[extent.max(1)], values.dtype());
    let t = base.as_strided(&shape, &strides, Some(offset)).map_err(|e| e.to_string())?;
    t.copy_(values).map_err(|e| e.to_string())?;
    Ok(t)
}

/// Converts a recorded argument (`{"tensor": ...}`, `{"int": 3}`, `{"list": [...]}`, ...) to a
/// [`Value`].
pub fn value_of(v: &Json, store: &TensorStore) -> Result<Value, String> {
    let obj = v.as_object().ok_or_else(|| format!("expected an object, got {v}"))?;
    if obj.contains_key("tensor") {
        return recorded_tensor(obj, store).map(Value::Tensor);
    }
    let (kind, x) = obj.iter().next().ok_or("empty value object")?;
    Ok(match kind.as_str() {
        "int" => Value::Int(x.as_i64().ok_or_else(|| format!("bad int {x}"))?),
        "float" => Value::Float(float_of(x)?),
        "bool" => Value::Bool(x.as_bool().ok_or_else(|| format!("bad bool {x}"))?),
        "none" => Value::None,
        "str" => Value::Str(x.as_str().unwrap_or_default().to_string()),
        "dtype" => Value::Dtype(DType::parse(x.as_str().unwrap_or_default()).ok_or_else(|| format!("unknown dtype {x}"))?),
        "device" => Value::Device(x.as_str().unwrap_or_default().to_string()),
        "layout" => Value::Layout(x.as_str().unwrap_or_default().to_string()),
        "memory_format" => Value::MemoryFormat(x.as_str().unwrap_or_default().to_string()),
        "list" => Value::List(
            x.as_array().ok_or("list is not an array")?.iter().map(|e| value_of(e, store)).collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("unknown value kind `{other}`")),
    })
}

/// Closeness for floating-point values: `|a - b| <= atol + rtol * |b|`, NaN equal to NaN,
/// infinities equal only to themselves.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// Compares a result with the recorded one. `Err` says where and how they differ.
pub fn compare(got: &Value, want: &Value, tol: Tolerance, path: &str) -> Result<(), String> {
    compare_with(got, want, &|_| tol, path)
}

/// Like [`compare`], with the tolerance chosen by each recorded tensor's dtype.
pub fn compare_with(got: &Value, want: &Value, tol: &dyn Fn(DType) -> Tolerance, path: &str) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) => compare_tensors(g, w, tol(w.dtype()), path),
        (Value::List(g), Value::List(w)) => {
            same_length(g, w, path)?;
            g.iter().zip(w).enumerate().try_for_each(|(i, (a, b))| compare_with(a, b, tol, &format!("{path}[{i}]")))
        }
        (Value::Float(a), Value::Float(b)) => {
            close(*a, *b, tol(DType::F64)).then_some(()).ok_or_else(|| format!("{path}: {a} != {b}"))
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: got {a:?}, expected {b:?}")),
    }
}

/// Like [`compare`], for a whole program's outputs: each float tensor's absolute tolerance
/// scales with its largest magnitude (when above 1). A program sums many products, and float32
/// rounding grows with the size of what is summed, not of each result: PyTorch's own float32
/// outputs of a random-weight ResNet differ from its float64 ones by more than 1e-5 on values
/// near zero when others reach 20.
pub fn compare_outputs(got: &Value, want: &Value, tol: Tolerance, path: &str) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) if w.dtype().is_float() => {
            let scale = w.to_f64_vec().iter().filter(|v| v.is_finite()).fold(1.0f64, |m, v| m.max(v.abs()));
            compare_tensors(g, w, Tolerance { atol: tol.atol * scale, ..tol }, path)
        }
        (Value::List(g), Value::List(w)) => {
            same_length(g, w, path)?;
            g.iter().zip(w).enumerate().try_for_each(|(i, (a, b))| compare_outputs(a, b, tol, &format!("{path}[{i}]")))
        }
        _ => compare(got, want, tol, path),
    }
}

/// Compares only what does not depend on values: the structure, each tensor's dtype and shape,
/// and non-tensor values exactly (for random operators, whose values cannot match PyTorch's).
pub fn compare_layout(got: &Value, want: &Value, path: &str) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) => same_dtype_and_shape(g, w, path),
        (Value::List(g), Value::List(w)) => {
            same_length(g, w, path)?;
            g.iter().zip(w).enumerate().try_for_each(|(i, (a, b))| compare_layout(a, b, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: got {a:?}, expected {b:?}")),
    }
}

fn same_length(g: &[Value], w: &[Value], path: &str) -> Result<(), String> {
    if g.len() != w.len() {
        return Err(format!("{path}: {} outputs, expected {}", g.len(), w.len()));
    }
    Ok(())
}

fn same_dtype_and_shape(g: &Tensor, w: &Tensor, path: &str) -> Result<(), String> {
    if g.dtype() != w.dtype() {
        return Err(format!("{path}: dtype {} but PyTorch gives {}", g.dtype().name(), w.dtype().name()));
    }
    if g.shape() != w.shape() {
        return Err(format!("{path}: shape {:?} but PyTorch gives {:?}", g.shape(), w.shape()));
    }
    Ok(())
}

fn close(a: f64, b: f64, tol: Tolerance) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= tol.atol + tol.rtol * b.abs()
}

fn compare_tensors(g: &Tensor, w: &Tensor, tol: Tolerance, path: &str) -> Result<(), String> {
    same_dtype_and_shape(g, w, path)?;
    if let (Some(g), Some(w)) = (g.view_as_real(), w.view_as_real()) {
        // complex: each part is held to the tolerance of a float (as assert_close compares them)
        return compare_tensors(&g, &w, tol, path);
    }
    if w.dtype().is_float() {
        let (gv, wv) = (g.to_f64_vec(), w.to_f64_vec());
        let mut bad = 0;
        let mut first = None;
        for (i, (a, b)) in gv.iter().zip(&wv).enumerate() {
            if !close(*a, *b, tol) {
                bad += 1;
                first.get_or_insert((i, *a, *b));
            }
        }
        if let Some((i, a, b)) = first {
            return Err(format!("{path}: {bad} of {} values differ; first at flat index {i}: {a} vs PyTorch {b}", gv.len()));
        }
    } else {
        let (gv, wv) = (g.to_i64_vec(), w.to_i64_vec());
        if let Some(i) = (0..gv.len()).find(|&i| gv[i] != wv[i]) {
            let bad = (0..gv.len()).filter(|&i| gv[i] != wv[i]).count();
            return Err(format!("{path}: {bad} of {} values differ; first at flat index {i}: {} vs PyTorch {}", gv.len(), gv[i], wv[i]));
        }
    }
    Ok(())
}
