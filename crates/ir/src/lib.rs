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
pub mod verify;

pub use program::ExportedProgram;

/// An error about a program: what was expected, what came, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

impl Error {
    pub fn msg(m: impl Into<String>) -> Error {
        Error(m.into())
    }
}

impl From<tensor::Error> for Error {
    fn from(e: tensor::Error) -> Error {
        Error(e.0)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
