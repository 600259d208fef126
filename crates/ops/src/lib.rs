//! The operator registry of pt2 and the ATen operators it holds.
//!
//! Each operator is registered once (see [`registry`]) with its PyTorch schema, its tags and its
//! CPU kernel. Kernels live in [`aten`], one module per family of operators.

pub mod args;
pub mod aten;
pub mod dtype;
pub mod meta;
pub mod names;
pub mod op_name;
pub mod random;
pub mod registry;
pub mod repr;
pub mod schema;
pub mod value;

pub use args::Args;
pub use dtype::DtypeRule;
pub use meta::{MetaCall, MetaFn, SymArg};
pub use op_name::OpName;
pub use inventory;
pub use registry::{activated, canonical_name, then_activation, ActivationKernel, Extension, Kernel, OpDef, Registry, Tag};
pub use schema::Schema;
pub use tensor::{Error, Result};
pub use value::Value;
