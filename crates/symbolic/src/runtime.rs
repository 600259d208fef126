//! Checking concrete input sizes against what a program was exported for, before it runs:
//! static sizes, the range of each symbol, dims that share a symbol, and sizes derived from
//! other dims (`2*s77`). The first broken constraint is reported as PyTorch 2.15's module
//! reports it: `Guard failed: x.size()[0] <= 16`.

use std::collections::HashMap;

use crate::expr::Expr;
use crate::range::{Bound, ValueRange};

/// What a program requires of its inputs' sizes.
#[derive(Clone, Debug, Default)]
pub struct InputConstraints {
    /// Every input dim, `x.size()[0]`, with the size the program was exported for.
    dims: Vec<(String, Expr)>,
    ranges: HashMap<String, ValueRange>,
}

/// The first size constraint the inputs break, in PyTorch's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Guard failed: {guard} ({detail})")]
pub struct SizeViolation {
    /// The guard as PyTorch prints it (`x.size()[0] == 3`).
    pub guard: String,
    /// What came instead.
    pub detail: String,
}

impl InputConstraints {
    /// `ranges`: the program's range constraints, by symbol.
    pub fn new(ranges: HashMap<String, ValueRange>) -> InputConstraints {
        InputConstraints { dims: Vec::new(), ranges }
    }

    /// Declares that the input dim `place` must have size `size`.
    pub fn push(&mut self, place: impl Into<String>, size: Expr) {
        self.dims.push((place.into(), size));
    }

    pub fn len(&self) -> usize {
        self.dims.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dims.is_empty()
    }

    /// Checks the actual sizes, one per declared dim in order; on success returns the value
    /// each symbol takes.
    pub fn check(&self, actual: &[i64]) -> Result<HashMap<String, i64>, SizeViolation> {
        assert_eq!(actual.len(), self.dims.len(), "one actual size per declared dim");
        let dims = || self.dims.iter().zip(actual.iter().copied());
        for ((place, size), got) in dims() {
            if let Expr::Int(n) = size {
                if *n != got {
                    return Err(SizeViolation {
                        guard: format!("{place} == {n}"),
                        detail: format!("got {got}; the program was exported with this size static"),
                    });
                }
            }
        }
        // bare symbols bind first (and must agree), then every derived size is evaluated
        let mut env: HashMap<String, i64> = HashMap::new();
        let mut bound_at: HashMap<String, &str> = HashMap::new();
        for ((place, size), got) in dims() {
            let Some(sym) = size.as_symbol() else { continue };
            if let Some(range) = self.ranges.get(sym) {
                let shown = format!("[{}, {}]", range.lo, range.hi);
                // A lower bound of 2 or less is not checked, as PyTorch's `ep.module()` does not
                // check it: export's 0/1 specialization records 2 as the least size of every
                // dynamic dim, yet sizes 0 and 1 are accepted.
                if range.lo > Bound::Int(got) && range.lo > Bound::Int(2) {
                    return Err(SizeViolation { guard: format!("{place} >= {}", range.lo), detail: format!("got {got}; the dynamic range is {shown}") });
                }
                if range.hi < Bound::Int(got) {
                    return Err(SizeViolation { guard: format!("{place} <= {}", range.hi), detail: format!("got {got}; the dynamic range is {shown}") });
                }
            }
            match env.get(sym) {
                Some(&v) if v != got => {
                    return Err(SizeViolation {
                        guard: format!("{place} == {}", bound_at[sym]),
                        detail: format!("got {got} and {v}; they share one dynamic dim"),
                    });
                }
                Some(_) => {}
                None => {
                    env.insert(sym.to_string(), got);
                    bound_at.insert(sym.to_string(), place);
                }
            }
        }
        for ((place, size), got) in dims() {
            if size.as_symbol().is_some() || size.as_int().is_some() {
                continue;
            }
            let Some(want) = size.eval(&env) else { continue };
            if want != got {
                let relation = size.to_python(&|s| bound_at.get(s).map(|p| p.to_string()).unwrap_or_else(|| s.to_string()));
                return Err(SizeViolation { guard: format!("{place} == {relation}"), detail: format!("got {got}, expected {want}") });
            }
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraints() -> InputConstraints {
        let s = |n: &str| Expr::sym(n);
        let mut c = InputConstraints::new([("s77".to_string(), ValueRange::between(Some(4), Some(256)))].into());
        c.push("x.size()[0]", s("s77"));
        c.push("x.size()[1]", Expr::Int(3));
        c.push("y.size()[0]", s("s77") * 2);
        c.push("z.size()[0]", s("s77"));
        c
    }

    #[test]
    fn reports_the_first_broken_constraint_as_pytorch_words_it() {
        let c = constraints();
        assert_eq!(c.check(&[8, 3, 16, 8]).unwrap()["s77"], 8);
        assert!(c.check(&[8, 4, 16, 8]).unwrap_err().to_string().starts_with("Guard failed: x.size()[1] == 3 ("));
        assert!(c.check(&[2, 3, 4, 2]).unwrap_err().to_string().starts_with("Guard failed: x.size()[0] >= 4 ("));
        assert!(c.check(&[300, 3, 600, 300]).unwrap_err().to_string().starts_with("Guard failed: x.size()[0] <= 256 ("));
        assert!(c.check(&[8, 3, 15, 8]).unwrap_err().to_string().starts_with("Guard failed: y.size()[0] == 2 * x.size()[0] ("));
        // PyTorch 2.15: export(..., dynamic_shapes={0: Dim("b", min=2, max=63)}) records
        // VR[2, 63], and its module accepts sizes 1 and 0 but refuses 64; with min=3 it refuses 2
        for (lo, got, accepted) in [(2, 1, true), (2, 0, true), (3, 2, false), (3, 1, false)] {
            let mut c = InputConstraints::new([("s77".to_string(), ValueRange::between(Some(lo), Some(63)))].into());
            c.push("x.size()[0]", Expr::sym("s77"));
            assert_eq!(c.check(&[got]).is_ok(), accepted, "min {lo}, size {got}");
        }
        assert!(c.check(&[8, 3, 16, 9]).unwrap_err().to_string().starts_with("Guard failed: z.size()[0] == x.size()[0] ("));
    }
}
