//! `Args`: an operator's arguments bound to its schema, with typed accessors by name.

use tensor::{DType, Scalar, Tensor};

use crate::schema::{Schema, Type};
use crate::repr::python_complex;
use crate::value::Value;
use crate::{Error, Result};

/// Arguments in schema order, defaults filled in. Accessors take the parameter's schema name
/// and report a mismatch with the operator and parameter named.
pub struct Args<'a> {
    schema: &'a Schema,
    values: Vec<Value>,
}

impl<'a> Args<'a> {
    /// Binds positional and keyword arguments to `schema`'s parameters.
    pub fn bind(schema: &'a Schema, positional: Vec<Value>, kwargs: Vec<(String, Value)>) -> Result<Args<'a>> {
        Ok(Args { schema, values: bind(schema, positional, kwargs, |v| v)? })
    }

    /// Arguments already in schema order with defaults filled in, as [`bind`] gives them.
    pub fn bound(schema: &'a Schema, values: Vec<Value>) -> Args<'a> {
        debug_assert_eq!(values.len(), schema.params.len());
        Args { schema, values }
    }


    pub fn schema(&self) -> &Schema {
        self.schema
    }

    /// The name of the first parameter holding a meta tensor (shapes only, no values).
    pub fn first_meta_tensor(&self) -> Option<&str> {
        self.schema.params.iter().zip(&self.values).find(|(_, v)| v.holds_meta()).map(|(p, _)| p.name.as_str())
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Whether the schema has a parameter `name` (rules shared by overloads with different
    /// parameters ask before reading).
    pub fn has(&self, name: &str) -> bool {
        self.schema.param_index(name).is_some()
    }

    /// The value of parameter `name`. A schema without it is an error that names the kernel's
    /// misreading (a bug in pt2, not in the caller's input), never a panic mid-run.
    pub fn get(&self, name: &str) -> Result<&Value> {
        match self.schema.param_index(name) {
            Some(i) => Ok(&self.values[i]),
            None => Err(Error::msg(format!(
                "pt2's kernel for {} reads a parameter `{name}` that its schema does not have (a bug in pt2: please report it)",
                self.schema.qualified_name()
            ))),
        }
    }

    fn mismatch(&self, name: &str, want: &str) -> Error {
        Error::msg(format!(
            "{}: argument '{name}' must be {want}, not {}",
            self.schema.qualified_name(),
            self.get(name).map_or("nothing", |v| v.kind())
        ))
    }

    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        match self.get(name)? {
            Value::Tensor(t) => Ok(t),
            _ => Err(self.mismatch(name, "Tensor")),
        }
    }

    pub fn opt_tensor(&self, name: &str) -> Result<Option<&Tensor>> {
        match self.get(name)? {
            Value::None => Ok(None),
            Value::Tensor(t) => Ok(Some(t)),
            _ => Err(self.mismatch(name, "Tensor or None")),
        }
    }

    pub fn tensor_list(&self, name: &str) -> Result<Vec<Tensor>> {
        match self.get(name)? {
            Value::List(vs) => vs
                .iter()
                .map(|v| match v {
                    Value::Tensor(t) => Ok(t.clone()),
                    _ => Err(self.mismatch(name, "a list of Tensors")),
                })
                .collect(),
            _ => Err(self.mismatch(name, "a list of Tensors")),
        }
    }

    /// A `Tensor?[]` (as `aten.index` takes).
    pub fn opt_tensor_list(&self, name: &str) -> Result<Vec<Option<Tensor>>> {
        match self.get(name)? {
            Value::List(vs) => vs
                .iter()
                .map(|v| match v {
                    Value::Tensor(t) => Ok(Some(t.clone())),
                    Value::None => Ok(None),
                    _ => Err(self.mismatch(name, "a list of optional Tensors")),
                })
                .collect(),
            _ => Err(self.mismatch(name, "a list of optional Tensors")),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64> {
        match self.get(name)? {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i64),
            _ => Err(self.mismatch(name, "int")),
        }
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name)? {
            Value::None => Ok(None),
            _ => self.int(name).map(Some),
        }
    }

    pub fn float(&self, name: &str) -> Result<f64> {
        match self.get(name)? {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Bool(b) => Ok(*b as u8 as f64),
            _ => Err(self.mismatch(name, "float")),
        }
    }

    pub fn opt_float(&self, name: &str) -> Result<Option<f64>> {
        match self.get(name)? {
            Value::None => Ok(None),
            _ => self.float(name).map(Some),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool> {
        match self.get(name)? {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            _ => Err(self.mismatch(name, "bool")),
        }
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name)? {
            Value::None => Ok(None),
            _ => self.bool(name).map(Some),
        }
    }

    /// A real number (bool, int or float). A complex number is refused by name: kernels that
    /// compute with complex Python numbers read them with [`Args::number`].
    pub fn scalar(&self, name: &str) -> Result<Scalar> {
        match self.number(name)? {
            Scalar::Complex(re, im) => Err(Error::msg(format!(
                "{}: argument '{name}' is the complex number {}, which pt2 computes with only where PyTorch's result is complex \
                 (fills, and arithmetic with a complex tensor); here it takes a real number",
                self.schema.qualified_name(),
                python_complex(re, im)
            ))),
            s => Ok(s),
        }
    }

    /// Any Python number, complex included.
    pub fn number(&self, name: &str) -> Result<Scalar> {
        self.get(name)?.as_scalar().ok_or_else(|| self.mismatch(name, "a number"))
    }

    pub fn opt_scalar(&self, name: &str) -> Result<Option<Scalar>> {
        match self.get(name)? {
            Value::None => Ok(None),
            v => v.as_scalar().map(Some).ok_or_else(|| self.mismatch(name, "a number or None")),
        }
    }

    /// An `int[]`; a single int stands for a list of the schema's fixed length (`int[2] k=3`).
    pub fn int_list(&self, name: &str) -> Result<Vec<i64>> {
        match self.get(name)? {
            Value::List(vs) => vs
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Ok(*i),
                    _ => Err(self.mismatch(name, "a list of ints")),
                })
                .collect(),
            Value::Int(i) => {
                let len = match &self.schema.params[self.schema.param_index(name).unwrap()].ty {
                    Type::List(_, Some(n)) => *n,
                    Type::Optional(inner) => match inner.as_ref() {
                        Type::List(_, Some(n)) => *n,
                        _ => 1,
                    },
                    _ => 1,
                };
                Ok(vec![*i; len])
            }
            _ => Err(self.mismatch(name, "a list of ints")),
        }
    }

    pub fn opt_int_list(&self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.get(name)? {
            Value::None => Ok(None),
            _ => self.int_list(name).map(Some),
        }
    }

    pub fn float_list(&self, name: &str) -> Result<Vec<f64>> {
        match self.get(name)? {
            Value::List(vs) => vs
                .iter()
                .map(|v| v.as_scalar().map(|s| s.to_f64()).ok_or_else(|| self.mismatch(name, "a list of floats")))
                .collect(),
            _ => Err(self.mismatch(name, "a list of floats")),
        }
    }

    pub fn opt_float_list(&self, name: &str) -> Result<Option<Vec<f64>>> {
        match self.get(name)? {
            Value::None => Ok(None),
            _ => self.float_list(name).map(Some),
        }
    }

    pub fn opt_dtype(&self, name: &str) -> Result<Option<DType>> {
        match self.get(name)? {
            Value::None => Ok(None),
            Value::Dtype(d) => Ok(Some(*d)),
            Value::Int(code) => DType::from_scalar_type_code(*code).map(Some).ok_or_else(|| self.mismatch(name, "a dtype")),
            _ => Err(self.mismatch(name, "a dtype")),
        }
    }

    pub fn str(&self, name: &str) -> Result<&str> {
        match self.get(name)? {
            Value::Str(s) => Ok(s),
            _ => Err(self.mismatch(name, "str")),
        }
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&str>> {
        match self.get(name)? {
            Value::None => Ok(None),
            _ => self.str(name).map(Some),
        }
    }
}

/// Binds positional and keyword arguments to `schema`'s parameters, in schema order, defaults
/// filled in — Python's rules, with PyTorch's messages. Generic over what stands for a value, so
/// that a compiled plan binds argument *sources* once with the same rules the interpreter binds
/// values with.
pub fn bind<T>(schema: &Schema, positional: Vec<T>, kwargs: Vec<(String, T)>, lift: impl Fn(Value) -> T) -> Result<Vec<T>> {
    let n = schema.params.len();
    if positional.len() > n {
        return Err(Error::msg(format!(
            "{}() takes at most {n} arguments ({} given)",
            schema.qualified_name(),
            positional.len()
        )));
    }
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for (i, v) in positional.into_iter().enumerate() {
        slots[i] = Some(v);
    }
    for (name, v) in kwargs {
        let i = schema.param_index(&name).ok_or_else(|| {
            Error::msg(format!("{}() got an unexpected keyword argument '{name}'", schema.qualified_name()))
        })?;
        if slots[i].is_some() {
            return Err(Error::msg(format!("{}() got multiple values for argument '{name}'", schema.qualified_name())));
        }
        slots[i] = Some(v);
    }
    let mut values = Vec::with_capacity(n);
    for (slot, p) in slots.into_iter().zip(&schema.params) {
        values.push(match slot {
            Some(v) => v,
            None => match (&p.default, &p.ty) {
                (Some(d), _) => lift(d.clone()),
                (None, Type::Optional(_)) => lift(Value::None),
                (None, _) => {
                    return Err(Error::msg(format!(
                        "{}() missing required argument '{}' ({})",
                        schema.qualified_name(),
                        p.name,
                        p.ty
                    )))
                }
            },
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel reading a parameter its schema lacks (an avg-pooling kernel asking max pooling's
    /// `dilation`) gets an error naming the operator and the parameter; the run goes on to
    /// report it instead of panicking.
    #[test]
    fn reading_a_parameter_the_schema_lacks_is_an_error() {
        let schema = Schema::parse("aten::avg_pool2d(Tensor self, int[2] kernel_size) -> Tensor").unwrap();
        let args = Args::bound(&schema, vec![Value::None, Value::List(vec![Value::Int(2), Value::Int(2)])]);
        let err = args.int_list("dilation").unwrap_err().to_string();
        assert!(err.contains("aten::avg_pool2d") && err.contains("`dilation`"), "{err}");
        assert!(args.get("kernel_size").is_ok());
    }
}
