//! The tensor layer of pt2: dtypes with PyTorch's codes, strided tensors over shared or
//! memory-mapped storage, type promotion, broadcasting, and the CPU compute primitives the
//! operator kernels are built from.

pub mod alloc;
pub mod dtype;
pub mod kernels;
pub mod meta;
pub mod pool;
pub mod promote;
pub mod shape;
pub mod storage;
pub mod strided;
mod display;
mod tensor;

pub use dtype::{Bool8, Category, Complex32, Complex64, DType, Element};
pub use half;
pub use promote::{promote_types, result_type, Operand, PromotionError, Scalar};
pub use storage::{Buffer, Storage};
pub use tensor::Tensor;

/// The one error type of pt2's library crates (`tensor`, `ops`, `ir`, `export`, ...): what was
/// expected, what came, and where. Variants keep what they know, so callers match on them
/// rather than on text; `Display` gives the message pt2 prints, in PyTorch's wording where
/// PyTorch has one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A refused argument, shape, dtype or program, said in words.
    #[error("{0}")]
    Message(String),
    /// Memory a tensor needed could not be had (or would exceed the call's budget).
    #[error("{0}")]
    Alloc(#[from] alloc::AllocError),
    /// An operator that is not registered (`aten::foo.default`).
    #[error("operator {name} is not registered{}", custom_operator_hint(name))]
    UnknownOperator { name: String },
    /// The example inputs break the dynamic-shape specification; the suggested fixes are kept.
    #[error("{0}")]
    Constraint(#[from] symbolic::ConstraintViolation),
    /// Two dtypes that PyTorch does not promote to a common one (`uint32` with `int64`).
    #[error("{0}")]
    Promotion(#[from] promote::PromotionError),
    /// A decision symbolic shapes could not make: a branch on data, a check that fails, an
    /// example outside its declared range.
    #[error("{0}")]
    Symbolic(#[from] symbolic::SymbolicError),
    /// A program input its constraints refuse (`x.size()[0]` outside its range, a wrong dtype,
    /// a missing or unknown input).
    #[error("{message}")]
    Input {
        /// The input as the program names it (`x`, `inp['x']`), where one input is at fault.
        input: Option<String>,
        message: String,
    },
    /// A node of a program failed; `source` says why.
    #[error("node `{node}`: {source}")]
    Node { node: String, source: Box<Error> },
    /// Values were needed from a shapes-only (meta) tensor, which has none.
    #[error("{what} of a shapes-only (meta) tensor: it has sizes {shape:?} and dtype {dtype:?} but no values")]
    NoValues { what: String, shape: Vec<usize>, dtype: DType },
}

impl Error {
    /// An error said in words.
    pub fn msg(m: impl Into<String>) -> Error {
        Error::Message(m.into())
    }

    /// This error as the failure of program node `node`.
    pub fn in_node(self, node: impl Into<String>) -> Error {
        Error::Node { node: node.into(), source: Box::new(self) }
    }

    /// The innermost error under any [`Error::Node`] context.
    pub fn root(&self) -> &Error {
        match self {
            Error::Node { source, .. } => source.root(),
            e => e,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to do about an unknown operator outside PyTorch's namespaces: register it.
fn custom_operator_hint(name: &str) -> &'static str {
    let builtin = ["aten", "prims", "_operator"].iter().any(|ns| name.starts_with(&format!("{ns}.")) || name.starts_with(&format!("{ns}::")));
    if builtin {
        ""
    } else {
        "; register a kernel for this custom operator with ops::Registry::register before loading"
    }
}

/// Returns early with an [`Error`] built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::Error::msg(format!($($arg)*))) };
}
