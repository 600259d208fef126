//! Python values ↔ pt2 pytrees: numpy arrays ↔ tensors (copied), numbers, None, and the
//! tuples, lists and dicts around them.

use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyTuple};

use pt2::ir::pytree::DictKey;
use pt2::{DType, PyTree, Tensor, Value};

/// A tensor from a numpy array of one of pt2's dtypes (any strides: read in row-major order).
fn tensor_from_array(a: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    let shape = a.shape().to_vec();
    macro_rules! try_as {
        ($($t:ty => $d:expr),*) => {
            $(
                if let Ok(arr) = a.cast::<PyArrayDyn<$t>>() {
                    let data: Vec<$t> = arr.readonly().as_array().iter().copied().collect();
                    return Tensor::from_vec_as(data, &shape, $d).map_err(crate::err);
                }
            )*
        };
    }
    try_as!(f32 => DType::F32, f64 => DType::F64, i64 => DType::I64, i32 => DType::I32, i16 => DType::I16, i8 => DType::I8, u8 => DType::U8, u16 => DType::U16, u32 => DType::U32, u64 => DType::U64, half::f16 => DType::F16);
    macro_rules! try_complex {
        ($($t:ty => $ours:ty),*) => {
            $(
                if let Ok(arr) = a.cast::<PyArrayDyn<$t>>() {
                    let data: Vec<$ours> = arr.readonly().as_array().iter().map(|c| <$ours as pt2::tensor::Element>::from_complex(c.re.into(), c.im.into())).collect();
                    return Tensor::from_vec(data, &shape).map_err(crate::err);
                }
            )*
        };
    }
    try_complex!(numpy::Complex32 => pt2::tensor::Complex32, numpy::Complex64 => pt2::tensor::Complex64);
    if let Ok(arr) = a.cast::<PyArrayDyn<bool>>() {
        let data: Vec<u8> = arr.readonly().as_array().iter().map(|&b| b as u8).collect();
        return Tensor::from_vec_as(data, &shape, DType::Bool).map_err(crate::err);
    }
    Err(PyTypeError::new_err(format!(
        "a numpy array of dtype {} is not supported; pt2 takes float16/32/64, complex64/128, int8/16/32/64, uint8/16/32/64 and bool",
        a.dtype()
    )))
}

/// The program input tree of a Python value.
pub fn tree_from_py(v: &Bound<'_, PyAny>) -> PyResult<PyTree> {
    if let Ok(a) = v.cast::<PyUntypedArray>() {
        return Ok(PyTree::Leaf(Value::Tensor(tensor_from_array(a)?)));
    }
    // bool before int: Python's bool is an int
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(PyTree::Leaf(Value::Bool(b.is_true())));
    }
    if v.cast::<PyInt>().is_ok() {
        return Ok(PyTree::Leaf(Value::Int(v.extract()?)));
    }
    if v.cast::<PyFloat>().is_ok() {
        return Ok(PyTree::Leaf(Value::Float(v.extract()?)));
    }
    if v.is_none() {
        return Ok(PyTree::Leaf(Value::None));
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return Ok(PyTree::Tuple(t.iter().map(|x| tree_from_py(&x)).collect::<PyResult<_>>()?));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return Ok(PyTree::List(l.iter().map(|x| tree_from_py(&x)).collect::<PyResult<_>>()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(d.len());
        for (k, x) in d.iter() {
            let key = if let Ok(s) = k.extract::<String>() {
                DictKey::Str(s)
            } else if let Ok(i) = k.extract::<i64>() {
                DictKey::Int(i)
            } else {
                return Err(PyTypeError::new_err(format!("a dict key must be a str or an int, not {}", k.get_type().name()?)));
            };
            entries.push((key, tree_from_py(&x)?));
        }
        return Ok(PyTree::Dict(entries));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(PyTree::Leaf(Value::Str(s)));
    }
    Err(PyTypeError::new_err(format!(
        "an input of type {} is not supported; pass numpy arrays (np.asarray(x)), numbers, None, and tuples, lists or dicts of them",
        v.get_type().name()?
    )))
}

/// A numpy array holding a copy of `t` (bfloat16, which numpy lacks, becomes float32).
fn array_from_tensor<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let shape = t.shape().to_vec();
    macro_rules! array {
        ($t:ty, $data:expr) => {
            numpy::PyArray1::<$t>::from_vec(py, $data).reshape(shape)?.into_any()
        };
    }
    Ok(match t.dtype() {
        DType::F32 => array!(f32, t.to_vec::<f32>()),
        DType::F64 => array!(f64, t.to_vec::<f64>()),
        DType::I64 => array!(i64, t.to_vec::<i64>()),
        DType::I32 => array!(i32, t.to_vec::<i32>()),
        DType::I16 => array!(i16, t.to_vec::<i16>()),
        DType::I8 => array!(i8, t.to_vec::<i8>()),
        DType::U8 => array!(u8, t.to_vec::<u8>()),
        DType::U16 => array!(u16, t.to_vec::<u16>()),
        DType::U32 => array!(u32, t.to_vec::<u32>()),
        DType::U64 => array!(u64, t.to_vec::<u64>()),
        DType::F16 => array!(half::f16, t.to_vec::<half::f16>()),
        DType::BF16 => array!(f32, t.to_dtype(DType::F32).to_vec::<f32>()),
        DType::Bool => array!(bool, t.to_bool_vec()),
        DType::C64 => array!(numpy::Complex32, t.to_vec::<pt2::tensor::Complex32>().into_iter().map(|c| numpy::Complex32::new(c.re, c.im)).collect()),
        DType::C128 => array!(numpy::Complex64, t.to_vec::<pt2::tensor::Complex64>().into_iter().map(|c| numpy::Complex64::new(c.re, c.im)).collect()),
    })
}

/// The Python value of a program output tree.
pub fn tree_to_py(py: Python<'_>, tree: PyTree) -> PyResult<Bound<'_, PyAny>> {
    Ok(match tree {
        PyTree::Leaf(v) => match v {
            Value::Tensor(t) => array_from_tensor(py, &t)?,
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(f) => f.into_pyobject(py)?.into_any(),
            Value::Complex(re, im) => pyo3::types::PyComplex::from_doubles(py, re, im).into_any(),
            Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            Value::None => py.None().into_bound(py),
            Value::Str(s) => s.into_pyobject(py)?.into_any(),
            Value::List(items) => PyList::new(py, items.into_iter().map(|x| tree_to_py(py, PyTree::Leaf(x))).collect::<PyResult<Vec<_>>>()?)?.into_any(),
            other => crate::err(format!("an output of kind {other:?} has no Python value")).into_value(py).into_bound(py).into_any(),
        },
        PyTree::Tuple(items) => PyTuple::new(py, items.into_iter().map(|x| tree_to_py(py, x)).collect::<PyResult<Vec<_>>>()?)?.into_any(),
        PyTree::List(items) => PyList::new(py, items.into_iter().map(|x| tree_to_py(py, x)).collect::<PyResult<Vec<_>>>()?)?.into_any(),
        PyTree::Dict(entries) => {
            let d = PyDict::new(py);
            for (k, x) in entries {
                match k {
                    DictKey::Str(s) => d.set_item(s, tree_to_py(py, x)?)?,
                    DictKey::Int(i) => d.set_item(i, tree_to_py(py, x)?)?,
                }
            }
            d.into_any()
        }
    })
}
