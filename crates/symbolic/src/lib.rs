//! Symbolic shape expressions (`s77`, `2*s77`, `s27 - 2`, `u0 >= 0`), with no dependency on
//! tensors.
//!
//! PT2 archives store sizes as SymPy `srepr` strings
//! (`Mul(Integer(2), Symbol('s77', positive=True, integer=True))`); [`Expr::parse_srepr`]
//! reads them, [`Expr::eval`] evaluates them for concrete symbol values, and `Display` prints
//! them as PyTorch does (`2*s77`).

mod expr;

pub use expr::{Expr, ParseError};
