//! `Value`: an argument to or result of an operator, as the dispatcher sees it (PyTorch's
//! `IValue`).

use tensor::{DType, Scalar, Tensor};

#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A Python `complex`: real and imaginary parts.
    Complex(f64, f64),
    Str(String),
    Tensor(Tensor),
    /// Lists, and the tuple of several returns.
    List(Vec<Value>),
    Dtype(DType),
    /// `torch.strided` and friends, kept as PyTorch spells them.
    Layout(String),
    Device(String),
    MemoryFormat(String),
}

impl PartialEq for Value {
    /// Structural equality; tensors are equal when they are the same view of the same storage.
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Complex(a, b), Complex(c, d)) => (a == c || (a.is_nan() && c.is_nan())) && (b == d || (b.is_nan() && d.is_nan())),
            (Str(a), Str(b)) | (Layout(a), Layout(b)) | (Device(a), Device(b)) | (MemoryFormat(a), MemoryFormat(b)) => a == b,
            (Tensor(a), Tensor(b)) => {
                a.shares_storage(b) && a.shape() == b.shape() && a.strides() == b.strides() && a.storage_offset() == b.storage_offset()
            }
            (List(a), List(b)) => a == b,
            (Dtype(a), Dtype(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Whether this is, or holds, a shapes-only (meta) tensor.
    pub fn holds_meta(&self) -> bool {
        match self {
            Value::Tensor(t) => t.is_meta(),
            Value::List(items) => items.iter().any(Value::holds_meta),
            _ => false,
        }
    }

    /// The dtype of the first tensor it is or holds whose dtype `pred` accepts (a complex
    /// number counts as `complex64`, the dtype it promotes as).
    pub fn find_dtype(&self, pred: &dyn Fn(tensor::DType) -> bool) -> Option<tensor::DType> {
        match self {
            Value::Tensor(t) => Some(t.dtype()).filter(|&d| pred(d)),
            Value::Complex(..) => Some(DType::C64).filter(|&d| pred(d)),
            Value::List(items) => items.iter().find_map(|v| v.find_dtype(pred)),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Complex(..) => "complex",
            Value::Str(_) => "str",
            Value::Tensor(_) => "Tensor",
            Value::List(_) => "list",
            Value::Dtype(_) => "dtype",
            Value::Layout(_) => "layout",
            Value::Device(_) => "device",
            Value::MemoryFormat(_) => "memory_format",
        }
    }

    pub fn as_scalar(&self) -> Option<Scalar> {
        match *self {
            Value::Bool(b) => Some(Scalar::Bool(b)),
            Value::Int(i) => Some(Scalar::Int(i)),
            Value::Float(f) => Some(Scalar::Float(f)),
            Value::Complex(re, im) => Some(Scalar::Complex(re, im)),
            _ => None,
        }
    }

    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }

    pub fn into_tensor(self) -> Option<Tensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

impl From<Tensor> for Value {
    fn from(t: Tensor) -> Value {
        Value::Tensor(t)
    }
}

impl From<Scalar> for Value {
    fn from(s: Scalar) -> Value {
        match s {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Float(f) => Value::Float(f),
            Scalar::Complex(re, im) => Value::Complex(re, im),
        }
    }
}

impl From<Vec<Tensor>> for Value {
    fn from(ts: Vec<Tensor>) -> Value {
        Value::List(ts.into_iter().map(Value::Tensor).collect())
    }
}

impl<A: Into<Value>, B: Into<Value>> From<(A, B)> for Value {
    fn from((a, b): (A, B)) -> Value {
        Value::List(vec![a.into(), b.into()])
    }
}

impl<A: Into<Value>, B: Into<Value>, C: Into<Value>> From<(A, B, C)> for Value {
    fn from((a, b, c): (A, B, C)) -> Value {
        Value::List(vec![a.into(), b.into(), c.into()])
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
