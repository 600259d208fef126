//! PyTorch's PT2 archive: reading (and, later, writing) the zip layout, the model JSON and the
//! weight payloads, memory-mapped.

pub mod archive;

pub use archive::{load, Archive};
