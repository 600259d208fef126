//! Compute primitives shared by the operator kernels: element-wise maps with broadcasting,
//! reductions along dims, and matrix products.

pub mod depthwise;
pub mod elementwise;
pub mod matmul;
pub mod reduce;
pub mod scratch;
pub mod sgemm;
pub mod vmath;

/// Element count above which a kernel splits its work across rayon's threads.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;
