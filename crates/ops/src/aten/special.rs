//! ATen operators: special family.

use crate::Registry;

pub fn register(_r: &Registry) {}
