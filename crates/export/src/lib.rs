//! torch.export for Rust programs.
//!
//! Write a model against a torch-like API ([`Tensor`] methods with torch's names, [`functional`],
//! [`nn`] layers, [`Module`] for parameters and buffers); it runs eagerly on real data, and
//! [`export`] traces it into an [`ir::ExportedProgram`] that prints like PyTorch's, runs in
//! pt2's runtime and loads in `torch.export.load`.
//!
//! How tracing works: `export` lifts parameters and buffers to placeholders (`p_lin_weight`,
//! `b_bn_running_mean`), gives every input dim a size, a constant or a symbol per the
//! [`DynamicShapes`] spec, and runs `forward`. Each operator call runs its kernel on the example
//! data and, through the registry's meta function, computes symbolic output sizes; decisions
//! about sizes (broadcasting, slicing, `SymInt` comparisons in user code) are recorded as
//! guards and checked against the spec at the end, failing with PyTorch's constraint
//! violations and suggested fixes.
//!
//! The rule for host code, the same in strict and non-strict export: a Rust `if` on a
//! [`SymInt`] comparison is allowed and becomes a guard (the program is valid only where the
//! branch taken stays the same, and its input checks refuse the rest). Reading a traced
//! tensor's *values* into host code ([`Tensor::values`], [`SymFloat`] comparisons and
//! [`SymFloat::value`]) is a data-dependent error naming the line: a program that used them
//! would compute with the example's values for every input. Branch inside the program with
//! [`cond`], or read them on purpose with [`Tensor::specialize_values`], which keeps the
//! example's values *and* records a runtime check (`aten._assert_async.msg`) so the saved
//! program refuses other values — in pt2 and in PyTorch.

// the derive refers to `::export::...`, which inside this crate is this crate
extern crate self as export;

pub mod capture;
pub mod control_flow;
pub mod draft;
pub mod functional;
pub mod module;
pub mod nn;
pub mod retrace;
pub mod symint;
pub mod tensor;
pub mod trace;
pub mod tree;

pub use control_flow::{cond, map, scan, while_loop, Pred};
pub use capture::{export, DynamicShapes, ExportOptions, Inputs, Program};
pub use draft::{draft_export, DraftExport, DraftReport, Problem, ProblemKind};
/// `#[derive(Module)]`: `visit` from the struct's fields (see the `export-derive` crate).
pub use export_derive::{Module, PyTree};
pub use module::{load_state_dict, state_dict, Buffer, Constant, Module, Parameter, Scope, Visitor};
pub use symbolic::{Dim, DimSpec};
pub use symint::{check, check_is_size, SymBool, SymFloat, SymInt};
pub use tensor::{arange, cat, full, ones, stack, where_, zeros, Tensor};
pub use tree::{PyTree as IntoPyTree, Tree};

/// pt2's one error type (defined in `tensor`, shared by every library crate).
pub use ::tensor::{Error, Result};
