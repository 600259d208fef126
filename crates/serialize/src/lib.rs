//! PyTorch's PT2 archive: the zip layout, the model JSON and the weight payloads, read
//! memory-mapped ([`archive`]) and written deterministically ([`write`]).

pub mod archive;
pub mod safetensors;
pub mod write;

pub use archive::{load, load_bytes, load_within, Archive, LoadLimits};
pub use write::{save, write_archive};

pub use ir::{Error, Result};
