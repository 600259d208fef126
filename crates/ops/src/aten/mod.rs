//! The ATen operators, one module per family. Each family's `register` adds its operators to
//! the registry, one `r.def(schema, tags, kernel)` line per overload; the schema strings are
//! PyTorch 2.15's, so argument names and defaults match what archives and users write.
//!
//! To add an operator: find its family, write the kernel as a `fn(&Args) -> Result<Value>`,
//! and add one `def` line with the schema `torch.ops.aten.NAME.OVERLOAD._schema` prints.

pub mod common;
pub mod complex;
pub mod composite;
pub mod creation;
pub mod index;
pub mod linalg;
pub mod nn;
pub mod pointwise;
pub mod reduce;
pub mod select_order;
pub mod shape;
pub mod special;

use crate::Registry;

pub fn register_all(r: &Registry) {
    pointwise::register(r);
    special::register(r);
    reduce::register(r);
    shape::register(r);
    index::register(r);
    creation::register(r);
    nn::register(r);
    linalg::register(r);
    complex::register(r);
    composite::register(r);
}

#[cfg(test)]
mod wide_unsigned_tests;
