//! PyTorch's PT2 archive format.
//!
//! [`schema`] holds the JSON schema's types, generated from PyTorch's own schema definition
//! (`tools/gen_pt2_schema.py`), so that reading and writing keep every field PyTorch writes.

pub mod float;
pub mod schema;

pub use schema::SCHEMA_VERSION;
