//! The tensor layer of pt2: dtypes with PyTorch's codes, strided tensors over shared or
//! memory-mapped storage, type promotion, broadcasting, and the CPU compute primitives the
//! operator kernels are built from.

pub mod alloc;
pub mod dtype;
pub mod kernels;
pub mod meta;
pub mod promote;
pub mod shape;
pub mod storage;
pub mod strided;
mod display;
mod tensor;

pub use dtype::{Bool8, Category, DType, Element};
pub use half;
pub use promote::{promote_types, result_type, Operand, Scalar};
pub use storage::{Buffer, Storage};
pub use tensor::Tensor;

/// An error from a tensor operation, with PyTorch's wording where PyTorch has one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

impl Error {
    pub fn msg(m: impl Into<String>) -> Error {
        Error(m.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<alloc::AllocError> for Error {
    fn from(e: alloc::AllocError) -> Error {
        Error(e.to_string())
    }
}

/// Returns early with an [`Error`] built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::Error::msg(format!($($arg)*))) };
}
