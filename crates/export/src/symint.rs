//! `SymInt`: a size that behaves like an integer. Outside tracing it is just its value; while
//! tracing it also carries its symbolic expression (`s77`, `2*s77`), so arithmetic on sizes
//! (`x.size(0) * 2`) stays symbolic and comparisons become guards.

use std::fmt;
use std::ops;

use symbolic::Expr;

use crate::trace::with_tracer;
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct SymInt {
    expr: Expr,
    hint: i64,
}

impl SymInt {
    pub(crate) fn symbolic(expr: Expr, hint: i64) -> SymInt {
        SymInt { expr, hint }
    }

    /// The value for the example inputs.
    pub fn hint(&self) -> i64 {
        self.hint
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the value is fixed (not a symbol of the trace).
    pub fn is_static(&self) -> bool {
        self.expr.as_int().is_some()
    }

    /// The concrete value, specializing the program to it while tracing (a guard `Eq(s, v)`).
    #[track_caller]
    pub fn guard_int(&self) -> Result<i64> {
        if let Some(v) = self.expr.as_int() {
            return Ok(v);
        }
        let at = std::panic::Location::caller();
        with_tracer(|t| match t {
            Some(t) => t.env.guard_int(&self.expr, Some(&format!("{}:{}", at.file(), at.line()))).map_err(Error::from),
            None => Ok(self.hint),
        })
    }

    /// Decides `self op other` as Rust code branching on sizes does: while tracing, the outcome
    /// for the example becomes a guard of the program.
    #[track_caller]
    fn decide(&self, cond: Expr, concrete: bool) -> Result<bool> {
        let at = std::panic::Location::caller();
        with_tracer(|t| match t {
            Some(t) => {
                let loc = format!("{}:{}", at.file(), at.line());
                match t.env.evaluate(&cond, Some(&loc)) {
                    // a draft takes the example's branch and has the program check it
                    Err(e @ symbolic::SymbolicError::DataDependent { .. }) if crate::draft::drafting() => {
                        let fact = if concrete { cond.clone() } else { Expr::not(cond.clone()) };
                        let before = t.env.runtime_asserts().len();
                        t.env.check(&fact, Some(&loc)).map_err(Error::from)?;
                        let added: Vec<Expr> = t.env.runtime_asserts()[before..].iter().map(|g| g.expr.clone()).collect();
                        for e in added {
                            t.record_assert(&e, at)?;
                        }
                        crate::draft::record(
                            crate::draft::ProblemKind::DataDependent,
                            format!("{e}\nTaken as the example takes it ({fact}), checked when the program runs."),
                            Some(loc),
                            vec![format!("branch with `cond`, or tell export what holds with `check(...)` before this line (here: `{fact}`)")],
                        );
                        Ok(concrete)
                    }
                    other => other.map_err(Error::from),
                }
            }
            None => Ok(concrete),
        })
    }

    #[track_caller]
    pub fn eq(&self, other: impl Into<SymInt>) -> Result<bool> {
        let o = other.into();
        self.decide(Expr::equals(self.expr.clone(), o.expr.clone()), self.hint == o.hint)
    }
    #[track_caller]
    pub fn ne(&self, other: impl Into<SymInt>) -> Result<bool> {
        let o = other.into();
        self.decide(Expr::not_equals(self.expr.clone(), o.expr.clone()), self.hint != o.hint)
    }
    #[track_caller]
    pub fn lt(&self, other: impl Into<SymInt>) -> Result<bool> {
        let o = other.into();
        self.decide(Expr::less(self.expr.clone(), o.expr.clone()), self.hint < o.hint)
    }
    #[track_caller]
    pub fn le(&self, other: impl Into<SymInt>) -> Result<bool> {
        let o = other.into();
        self.decide(Expr::less_eq(self.expr.clone(), o.expr.clone()), self.hint <= o.hint)
    }
    #[track_caller]
    pub fn gt(&self, other: impl Into<SymInt>) -> Result<bool> {
        let o = other.into();
        self.decide(Expr::greater(self.expr.clone(), o.expr.clone()), self.hint > o.hint)
    }
    #[track_caller]
    pub fn ge(&self, other: impl Into<SymInt>) -> Result<bool> {
        let o = other.into();
        self.decide(Expr::greater_eq(self.expr.clone(), o.expr.clone()), self.hint >= o.hint)
    }

    /// `torch.sym_min(self, other)`: kept symbolic (`Min(s0, 100)`) unless both are known.
    pub fn min(&self, other: impl Into<SymInt>) -> SymInt {
        let o = other.into();
        SymInt { expr: Expr::min_of([self.expr.clone(), o.expr.clone()]), hint: self.hint.min(o.hint) }
    }

    /// `torch.sym_max(self, other)`.
    pub fn max(&self, other: impl Into<SymInt>) -> SymInt {
        let o = other.into();
        SymInt { expr: Expr::max_of([self.expr.clone(), o.expr.clone()]), hint: self.hint.max(o.hint) }
    }

    /// Python's `//`.
    pub fn floordiv(&self, other: impl Into<SymInt>) -> SymInt {
        let o = other.into();
        SymInt { expr: Expr::floordiv(self.expr.clone(), o.expr.clone()), hint: symbolic::floor_div(self.hint, o.hint).unwrap_or(0) }
    }

    /// Python's `%` (the result takes the divisor's sign).
    pub fn modulo(&self, other: impl Into<SymInt>) -> SymInt {
        let o = other.into();
        SymInt { expr: Expr::modulo(self.expr.clone(), o.expr.clone()), hint: symbolic::python_mod(self.hint, o.hint).unwrap_or(0) }
    }
}

impl From<i64> for SymInt {
    fn from(v: i64) -> SymInt {
        SymInt { expr: Expr::Int(v), hint: v }
    }
}

impl From<&SymInt> for SymInt {
    fn from(v: &SymInt) -> SymInt {
        v.clone()
    }
}

impl fmt::Display for SymInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expr.as_int() {
            Some(v) => write!(f, "{v}"),
            None => write!(f, "{} (= {} for the example)", self.expr, self.hint),
        }
    }
}

macro_rules! sym_arith {
    ($trait:ident, $method:ident, $op:tt, $checked:ident) => {
        impl<T: Into<SymInt>> ops::$trait<T> for SymInt {
            type Output = SymInt;
            fn $method(self, rhs: T) -> SymInt {
                let rhs = rhs.into();
                SymInt { expr: self.expr $op rhs.expr, hint: self.hint.$checked(rhs.hint).unwrap_or(0) }
            }
        }
        impl<T: Into<SymInt>> ops::$trait<T> for &SymInt {
            type Output = SymInt;
            fn $method(self, rhs: T) -> SymInt {
                self.clone() $op rhs
            }
        }
    };
}

sym_arith!(Add, add, +, checked_add);
sym_arith!(Sub, sub, -, checked_sub);
sym_arith!(Mul, mul, *, checked_mul);

/// A condition on sizes kept undecided (`n.sym_ge(0)`), to be asserted with [`check`].
#[derive(Clone, Debug, PartialEq)]
pub struct SymBool {
    expr: Expr,
    hint: bool,
}

impl SymBool {
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The value for the example inputs.
    pub fn hint(&self) -> bool {
        self.hint
    }
}

macro_rules! sym_cmp {
    ($($name:ident => $ctor:ident, $op:tt;)*) => {
        impl SymInt {
            $(
                /// The comparison as a [`SymBool`], without deciding it.
                pub fn $name(&self, other: impl Into<SymInt>) -> SymBool {
                    let o = other.into();
                    SymBool { expr: Expr::$ctor(self.expr.clone(), o.expr.clone()), hint: self.hint $op o.hint }
                }
            )*
        }
    };
}

sym_cmp! {
    sym_eq => equals, ==;
    sym_ne => not_equals, !=;
    sym_lt => less, <;
    sym_le => less_eq, <=;
    sym_gt => greater, >;
    sym_ge => greater_eq, >=;
}

/// `torch._check(cond)`: asserts a condition on sizes. Over sizes with example values it is a
/// guard; over values read from tensor data (`item_int`) it narrows what is known of them and
/// becomes a runtime assertion of the program.
#[track_caller]
pub fn check(cond: &SymBool) -> Result<()> {
    let at = std::panic::Location::caller();
    with_tracer(|t| match t {
        None if cond.hint => Ok(()),
        None => Err(Error::msg(format!("check failed: {} (at {}:{})", cond.expr, at.file(), at.line()))),
        Some(t) => {
            t.reserve_comparison_name(&cond.expr);
            let before = t.env.runtime_asserts().len();
            let loc = format!("{}:{}", at.file(), at.line());
            t.env.check(&cond.expr, Some(&loc)).map_err(Error::from)?;
            let added: Vec<Expr> = t.env.runtime_asserts()[before..].iter().map(|g| g.expr.clone()).collect();
            for e in added {
                t.record_assert(&e, at)?;
            }
            Ok(())
        }
    })
}

/// `torch._check_is_size(n)`: `n >= 0`, and `n` may be used as a size.
#[track_caller]
pub fn check_is_size(n: &SymInt) -> Result<()> {
    check(&n.sym_ge(0))
}

/// A float read from tensor data (`x.sum().item()`). While tracing, its value is not part of
/// the program: comparing it fails with a data-dependent error that names the line (express
/// the branch with `cond`), and reading it specializes the program to the example (an error
/// in strict mode).
#[derive(Clone, Debug)]
pub struct SymFloat {
    value: f64,
    traced: bool,
}

impl SymFloat {
    pub(crate) fn new(value: f64, traced: bool) -> SymFloat {
        SymFloat { value, traced }
    }

    #[track_caller]
    fn decide(&self, op: &str, other: f64, holds: bool) -> Result<bool> {
        if !self.traced {
            return Ok(holds);
        }
        let at = std::panic::Location::caller();
        let error = Error::msg(format!(
            "Could not guard on data-dependent expression zuf0 {op} {other:?} (unhinted: zuf0 {op} {other:?}).  (Size-like symbols: none)\n\n\
             Caused by: {}:{}\n\
             The value comes from tensor data, so it is not known while tracing. Branch with `cond` instead of `if`, \
             or keep the computation in tensors (`where`).",
            at.file(),
            at.line()
        ));
        if crate::draft::drafting() {
            // a float from data has no node to check: the draft keeps the example's branch
            crate::draft::record(
                crate::draft::ProblemKind::DataDependent,
                format!("{error}\nTaken as the example takes it (zuf0 {op} {other:?} is {holds}); the program does not check it."),
                Some(format!("{}:{}", at.file(), at.line())),
                vec!["branch with `cond` instead of `if`, or keep the computation in tensors (`where`)".into()],
            );
            return Ok(holds);
        }
        Err(error)
    }

    #[track_caller]
    pub fn gt(&self, other: f64) -> Result<bool> {
        self.decide(">", other, self.value > other)
    }
    #[track_caller]
    pub fn ge(&self, other: f64) -> Result<bool> {
        self.decide(">=", other, self.value >= other)
    }
    #[track_caller]
    pub fn lt(&self, other: f64) -> Result<bool> {
        self.decide("<", other, self.value < other)
    }
    #[track_caller]
    pub fn le(&self, other: f64) -> Result<bool> {
        self.decide("<=", other, self.value <= other)
    }

    /// The value. While tracing this is refused like [`crate::Tensor::values`]: read it with
    /// `Tensor::specialize_values` to keep the example's value with a runtime check.
    #[track_caller]
    pub fn value(&self) -> Result<f64> {
        if self.traced {
            crate::trace::host_read("SymFloat::value()", std::panic::Location::caller())?;
        }
        Ok(self.value)
    }
}
