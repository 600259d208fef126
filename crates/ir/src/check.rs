//! Checking user inputs against what the program was exported for, before running it: the
//! number of inputs, each tensor's dtype and rank, static sizes, the range of each symbolic
//! size (`range_constraints`), and every size written as an expression of symbols (derived
//! dims such as `2*s77`), evaluated with the symbols the other inputs bind.

use std::collections::HashMap;

use ops::Value;
use symbolic::Expr;

use crate::program::ExportedProgram;
use crate::schema::{Argument, InputSpec, SymInt};
use crate::{dtype, Error, Result};

/// One symbolic dim of an input: where it is and what it must equal.
struct SymbolicDim {
    place: String,
    actual: i64,
    expr: Expr,
}

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
        let mut symbolic_dims = Vec::new();
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
            for (d, (size, &actual)) in meta.sizes.iter().zip(x.shape()).enumerate() {
                let actual = actual as i64;
                match size {
                    SymInt::AsInt(n) if *n != actual => {
                        return Err(Error::msg(format!(
                            "Guard failed: {name}.size()[{d}] == {n} (got {actual}; the program was exported with this size static)"
                        )));
                    }
                    SymInt::AsInt(_) => {}
                    SymInt::AsExpr(e) => {
                        let expr = Expr::parse_srepr(&e.expr_str).map_err(|err| Error::msg(format!("{name}.size()[{d}]: {err}")))?;
                        symbolic_dims.push(SymbolicDim { place: format!("{name}.size()[{d}]"), actual, expr });
                    }
                }
            }
        }
        // bare symbols bind first (and must agree), then every derived size is evaluated
        let mut env: HashMap<String, i64> = HashMap::new();
        let mut bound_at: HashMap<String, String> = HashMap::new();
        for dim in &symbolic_dims {
            let Some(sym) = dim.expr.as_symbol() else { continue };
            if let Some(rc) = self.model.range_constraints.get(sym) {
                let (lo, hi) = (rc.min_val.unwrap_or(i64::MIN), rc.max_val.unwrap_or(i64::MAX));
                let hi_s = rc.max_val.map(|v| v.to_string()).unwrap_or_else(|| "int_oo".into());
                if dim.actual < lo {
                    return Err(Error::msg(format!("Guard failed: {} >= {lo} (got {}; the dynamic range is [{lo}, {hi_s}])", dim.place, dim.actual)));
                }
                if dim.actual > hi {
                    return Err(Error::msg(format!("Guard failed: {} <= {hi} (got {}; the dynamic range is [{lo}, {hi_s}])", dim.place, dim.actual)));
                }
            }
            match env.get(sym) {
                Some(&v) if v != dim.actual => {
                    return Err(Error::msg(format!(
                        "Guard failed: {} == {} (got {} and {v}; they share one dynamic dim)",
                        dim.place, bound_at[sym], dim.actual
                    )));
                }
                Some(_) => {}
                None => {
                    env.insert(sym.to_string(), dim.actual);
                    bound_at.insert(sym.to_string(), dim.place.clone());
                }
            }
        }
        for dim in symbolic_dims.iter().filter(|d| d.expr.as_symbol().is_none()) {
            if let Some(v) = dim.expr.eval(&env) {
                if v != dim.actual {
                    // the relation in the user's terms: each symbol replaced by the input dim it
                    // came from
                    let mut relation = dim.expr.to_string();
                    let mut syms = Vec::new();
                    dim.expr.symbols(&mut syms);
                    for s in &syms {
                        if let Some(p) = bound_at.get(s) {
                            relation = replace_symbol(&relation, s, p);
                        }
                    }
                    return Err(Error::msg(format!(
                        "Guard failed: {relation} == {} (got {}, expected {v})",
                        dim.place, dim.actual
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Replaces whole-word occurrences of symbol `sym` in printed expression `text`.
fn replace_symbol(text: &str, sym: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(sym) {
        let before_ok = i == 0 || !rest[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let after = &rest[i + sym.len()..];
        let after_ok = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..i]);
        out.push_str(if before_ok && after_ok { with } else { sym });
        rest = after;
    }
    out.push_str(rest);
    out
}
