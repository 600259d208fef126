//! Checking user inputs against what the program was exported for, before running it: the
//! number of inputs, each tensor's dtype and rank, static sizes, and the range of each
//! symbolic size (`range_constraints`), with equal symbols required to be equal.
//!
//! Sizes written as expressions of several symbols (derived dims) are checked once the
//! symbolic engine is wired in; a plain symbol (`s77`) is checked here.

use std::collections::HashMap;

use ops::Value;

use crate::program::ExportedProgram;
use crate::schema::{Argument, InputSpec, SymInt};
use crate::{dtype, Error, Result};

/// The symbol name of a size PyTorch serialized as a bare symbol: `Symbol('s77', ...)` or `s77`.
fn plain_symbol(expr: &str) -> Option<&str> {
    let e = expr.trim();
    if let Some(rest) = e.strip_prefix("Symbol('") {
        return rest.split('\'').next();
    }
    (e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && e.starts_with(|c: char| c.is_ascii_alphabetic())).then_some(e)
}

impl ExportedProgram {
    /// Refuses inputs the program was not exported for, with a message that names the input and
    /// the dimension.
    pub fn check_inputs(&self, user_inputs: &[Value]) -> Result<()> {
        let graph = self.graph();
        let names = self.input_names();
        let mut bound: HashMap<&str, (i64, String)> = HashMap::new();
        let user_specs = self.signature().input_specs.iter().filter_map(|s| match s {
            InputSpec::UserInput(u) => Some(&u.arg),
            _ => None,
        });
        let expected = self.user_input_names().len();
        if user_inputs.len() != expected {
            return Err(Error::msg(format!("the program takes {expected} inputs, got {}", user_inputs.len())));
        }
        for (i, (arg, value)) in user_specs.zip(user_inputs).enumerate() {
            let Argument::AsTensor(t) = arg else { continue };
            let Some(meta) = graph.tensor_values.get(&t.name) else { continue };
            let name = names.get(i).map(String::as_str).unwrap_or(&t.name);
            let Value::Tensor(x) = value else {
                return Err(Error::msg(format!("{name} must be a tensor, got {}", value.kind())));
            };
            let want = dtype::to_dtype(meta.dtype)?;
            if x.dtype() != want {
                return Err(Error::msg(format!("{name} must have dtype {}, got {}", want, x.dtype())));
            }
            if x.dim() != meta.sizes.len() {
                return Err(Error::msg(format!("{name} must have {} dimensions, got {} (shape {:?})", meta.sizes.len(), x.dim(), x.shape())));
            }
            for (d, (size, &actual)) in meta.sizes.iter().zip(x.shape()).enumerate() {
                let actual = actual as i64;
                match size {
                    SymInt::AsInt(n) if *n != actual => {
                        return Err(Error::msg(format!("{name}.size()[{d}] must be {n} (the program was exported with this size static), got {actual}")));
                    }
                    SymInt::AsInt(_) => {}
                    SymInt::AsExpr(e) => {
                        let Some(sym) = plain_symbol(&e.expr_str) else { continue };
                        if let Some(rc) = self.model.range_constraints.get(sym) {
                            let (lo, hi) = (rc.min_val.unwrap_or(i64::MIN), rc.max_val.unwrap_or(i64::MAX));
                            if actual < lo || actual > hi {
                                let hi_s = rc.max_val.map(|v| v.to_string()).unwrap_or_else(|| "int_oo".into());
                                return Err(Error::msg(format!(
                                    "{name}.size()[{d}] = {actual} is outside of its dynamic range [{lo}, {hi_s}]"
                                )));
                            }
                        }
                        let here = format!("{name}.size()[{d}]");
                        match bound.get(sym) {
                            Some((v, other)) if *v != actual => {
                                return Err(Error::msg(format!("{here} = {actual} must equal {other} = {v} (they share one dynamic dim)")));
                            }
                            Some(_) => {}
                            None => {
                                bound.insert(sym, (actual, here));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
