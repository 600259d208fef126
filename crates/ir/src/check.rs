//! Checking user inputs against what the program was exported for, before running it: the
//! number of inputs, each tensor's dtype and rank, static sizes, the range of each symbolic
//! size (`range_constraints`), and every size written as an expression of symbols (derived
//! dims such as `2*s77`), evaluated with the symbols the other inputs bind.

use ops::Value;
use symbolic::{Expr, InputConstraints, ValueRange};

use crate::program::ExportedProgram;
use crate::schema::{Argument, InputSpec, SymInt};
use crate::{dtype, Error, Result};

impl ExportedProgram {
    /// Refuses inputs the program was not exported for, with a message that names the input and
    /// the dimension.
    pub fn check_inputs(&self, user_inputs: &[Value]) -> Result<()> {
        let graph = self.graph();
        let names = self.input_names();
        let expected = self.user_input_names().len();
        if user_inputs.len() != expected {
            return Err(Error::msg(format!("the program takes {expected} inputs, got {}", user_inputs.len())));
        }
        let user_specs = self.signature().input_specs.iter().filter_map(|s| match s {
            InputSpec::UserInput(u) => Some(Some(&u.arg)),
            InputSpec::ConstantInput(_) => Some(None),
            _ => None,
        });
        let ranges = self
            .model
            .range_constraints
            .iter()
            .map(|(sym, rc)| (sym.clone(), ValueRange::between(rc.min_val, rc.max_val)))
            .collect();
        let mut constraints = InputConstraints::new(ranges);
        let mut actual = Vec::new();
        for (i, (arg, value)) in user_specs.zip(user_inputs).enumerate() {
            let Some(Argument::AsTensor(t)) = arg else { continue };
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
            for (d, (size, &got)) in meta.sizes.iter().zip(x.shape()).enumerate() {
                let size = match size {
                    SymInt::AsInt(n) => Expr::Int(*n),
                    SymInt::AsExpr(e) => Expr::parse_srepr(&e.expr_str).map_err(|err| Error::msg(format!("{name}.size()[{d}]: {err}")))?,
                };
                constraints.push(format!("{name}.size()[{d}]"), size);
                actual.push(got as i64);
            }
        }
        constraints.check(&actual).map_err(|v| Error::msg(v.to_string()))?;
        Ok(())
    }
}

