//! Symbolic shapes, with no dependency on tensors: the engine under export's soundness.
//!
//! - [`Expr`]: integer and boolean expressions over size symbols (`s77`, `2*s77`, `s27 - 2`,
//!   `u0 >= 0`), in a canonical form (`canon`), parsed from SymPy's `srepr` (how PT2 archives
//!   store them) and from PyTorch's printed form (`parse`), printed as PyTorch prints them.
//! - [`ValueRange`]: the interval an expression can take, with `int_oo` (`range`), and
//!   simplification that uses it (`simplify`).
//! - [`ShapeEnv`]: symbols for input dims and for values read from data, guards, replacements,
//!   0/1 specialization, runtime assertions (`shape_env`).
//! - [`Dim`] and [`DimSpec`]: what users declare dynamic, and PyTorch's constraint violations
//!   with suggested fixes (`dims`).
//! - [`InputConstraints`]: checking concrete input sizes against a program's symbolic sizes and
//!   ranges before running it, with PyTorch's `Guard failed: ...` messages (`runtime`).

mod canon;
mod dims;
mod expr;
mod parse;
mod range;
mod runtime;
mod shape_env;
mod simplify;

pub use dims::{ConstraintViolation, DerivedDim, Dim, DimSpec};
pub use expr::{floor_div, python_mod, CmpOp, Expr};
pub use parse::{ParseError, ParseLimits};
pub use range::{Bound, ValueRange};
pub use runtime::{InputConstraints, SizeViolation};
pub use shape_env::{Guard, ShapeEnv, SymbolInfo, SymbolicError};
