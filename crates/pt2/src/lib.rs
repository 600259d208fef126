//! pt2: torch.export for Rust.
//!
//! This facade re-exports the layers (`tensor`, `ops`) and holds the conformance runners that
//! check pt2 against the ground truth PyTorch recorded.

pub mod bench;
pub mod bench_programs;
pub mod conformance;
pub mod run;

pub use ops;
pub use tensor;
