//! The `ExportedProgram` data model, and what runs on it.
//!
//! pt2's graph data model *is* PyTorch's PT2 schema ([`schema`], generated from PyTorch's own
//! schema definition): a graph of named nodes whose arguments name values (`as_tensor`,
//! `as_sym_int`, ...), a graph signature that says which placeholders are parameters, buffers,
//! constants or user inputs, and the module call graph with the input/output pytree specs.
//! Keeping one model means that every field PyTorch writes survives a load and a save, and
//! there is no second set of types to keep in step. [`ExportedProgram`] adds the tensors (state
//! dict and constants); [`plan`] compiles a graph for running once and runs it many times,
//! [`run`] does so for a whole program, and [`module`] is PyTorch's `ep.module()` over both.

pub mod check;
pub mod dtype;
pub mod float;
mod fold;
pub mod module;
pub mod plan;
pub mod print;
pub mod program;
pub mod pytree;
pub mod run;
pub mod schema;
pub mod shapes;
pub mod unflatten;
pub mod verify;

pub use program::ExportedProgram;

/// pt2's one error type (defined in `tensor`, shared by every library crate).
pub use tensor::{Error, Result};
