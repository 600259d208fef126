//! Conformance against PyTorch's recorded results (`fixtures/`).

pub mod decompose;
pub mod fixture;
pub mod ops;
pub mod programs;
pub mod tolerance;
pub mod zoo;
