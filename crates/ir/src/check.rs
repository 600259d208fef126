//! Checking user inputs against what the program was exported for, before running it: the
//! number of inputs, each tensor's dtype and rank, static sizes, the range of each symbolic
//! size (`range_constraints`), and every size written as an expression of symbols (derived
//! dims such as `2*s77`), evaluated with the symbols the other inputs bind. The checks are
//! compiled once per program ([`InputChecks`]); a call only compares numbers.

use ops::Value;
use symbolic::{Expr, InputConstraints, ValueRange};
use tensor::DType;

use crate::program::ExportedProgram;
use crate::schema::{Argument, InputSpec, SymInt};
use crate::{dtype, Error, Result};

/// What one user input must be.
#[derive(Debug, Clone)]
struct Expected {
    /// The name users know it by (`x`, `inp['x']`).
    name: String,
    /// `None` for non-tensor inputs, which are not checked.
    tensor: Option<(DType, usize)>,
}

/// A program's input checks, parsed once.
#[derive(Debug, Clone)]
pub struct InputChecks {
    inputs: Vec<Expected>,
    /// Every size of every tensor input, in input order, with the place it is reported as.
    constraints: InputConstraints,
}

impl InputChecks {
    pub fn compile(ep: &ExportedProgram) -> Result<InputChecks> {
        let graph = ep.graph();
        let names = ep.input_names();
        let user_specs = ep.signature().input_specs.iter().filter_map(|s| match s {
            InputSpec::UserInput(u) => Some(Some(&u.arg)),
            InputSpec::ConstantInput(_) => Some(None),
            _ => None,
        });
        let ranges = ep.model.range_constraints.iter().map(|(sym, rc)| (sym.clone(), ValueRange::between(rc.min_val, rc.max_val))).collect();
        let mut constraints = InputConstraints::new(ranges);
        let mut inputs = Vec::new();
        for (i, arg) in user_specs.enumerate() {
            let fallback = match arg {
                Some(Argument::AsTensor(t)) => t.name.as_str(),
                _ => "",
            };
            let name = names.get(i).cloned().unwrap_or_else(|| fallback.to_string());
            let meta = match arg {
                Some(Argument::AsTensor(t)) => graph.tensor_values.get(&t.name),
                _ => None,
            };
            let Some(meta) = meta else {
                inputs.push(Expected { name, tensor: None });
                continue;
            };
            for (d, size) in meta.sizes.iter().enumerate() {
                let size = match size {
                    SymInt::AsInt(n) => Expr::Int(*n),
                    SymInt::AsExpr(e) => Expr::parse_srepr(&e.expr_str).map_err(|err| Error::msg(format!("{name}.size()[{d}]: {err}")))?,
                };
                constraints.push(format!("{name}.size()[{d}]"), size);
            }
            inputs.push(Expected { name, tensor: Some((dtype::to_dtype(meta.dtype)?, meta.sizes.len())) });
        }
        Ok(InputChecks { inputs, constraints })
    }

    /// The number of user inputs the program takes.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Refuses inputs the program was not exported for, with a message that names the input and
    /// the dimension.
    pub fn check(&self, user_inputs: &[Value]) -> Result<()> {
        if user_inputs.len() != self.inputs.len() {
            return Err(Error::Input { input: None, message: format!("the program takes {} inputs, got {}", self.inputs.len(), user_inputs.len()) });
        }
        let mut actual = Vec::with_capacity(self.constraints.len());
        for (want, value) in self.inputs.iter().zip(user_inputs) {
            let Some((dtype, rank)) = want.tensor else { continue };
            let name = &want.name;
            let refuse = |message: String| Err(Error::Input { input: Some(name.clone()), message });
            let Value::Tensor(x) = value else {
                return refuse(format!("{name} must be a tensor, got {}", value.kind()));
            };
            if x.dtype() != dtype {
                return refuse(format!("{name} must have dtype {}, got {}", dtype, x.dtype()));
            }
            if x.dim() != rank {
                return refuse(format!("{name} must have {rank} dimensions, got {} (shape {:?})", x.dim(), x.shape()));
            }
            actual.extend(x.shape().iter().map(|&s| s as i64));
        }
        self.constraints.check(&actual).map_err(|v| {
            // the guard names the place: `x.size()[0] <= 64`
            let input = v.guard.split(".size()").next().filter(|_| v.guard.contains(".size()")).map(str::to_string);
            Error::Input { input, message: v.to_string() }
        })?;
        Ok(())
    }
}

impl ExportedProgram {
    /// Refuses inputs the program was not exported for, with a message that names the input and
    /// the dimension. (A [`crate::module::Module`] compiles these checks once; this compiles
    /// them for one call.)
    pub fn check_inputs(&self, user_inputs: &[Value]) -> Result<()> {
        InputChecks::compile(self)?.check(user_inputs)
    }
}
