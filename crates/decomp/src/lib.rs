//! `run_decompositions`: lowers a program from the training IR `export` records (which keeps
//! the operators the user called, `aten.linear`, and in-place ones, `aten.relu_`) to the
//! inference IR (functional) or all the way to PyTorch's core ATen operators.
//!
//! Each decomposition is Rust code against the tensor API (`rules`), so it is traced,
//! shape-checked and recorded like user code, with symbolic sizes. The table maps operator
//! names to decompositions: [`default_decompositions`] lowers everything non-core, an empty
//! table only functionalizes, and a user's table adds or removes entries.

pub mod composites;
mod einsum;
mod rules;

use ops::names::aten;
use ops::OpName;
use indexmap::IndexMap;

pub use export::retrace::{Bound, DecompCall, DecompFn};

/// Operator name (`aten::linear.default`) → its decomposition.
#[derive(Clone, Default)]
pub struct DecompTable {
    entries: IndexMap<String, DecompFn>,
}

impl DecompTable {
    /// No decompositions: `run_decompositions` only functionalizes.
    pub fn empty() -> DecompTable {
        DecompTable::default()
    }

    /// Adds or replaces the decomposition of `op` (`aten::conv2d.default`, or `aten.conv2d`).
    pub fn insert(&mut self, op: impl AsRef<str>, f: DecompFn) -> &mut Self {
        self.entries.insert(ops::canonical_name(op.as_ref()), f);
        self
    }

    /// Keeps `op` as it is (removes its decomposition).
    pub fn remove(&mut self, op: impl AsRef<str>) -> &mut Self {
        self.entries.shift_remove(&ops::canonical_name(op.as_ref()));
        self
    }

    pub fn get(&self, op: &str) -> Option<DecompFn> {
        self.entries.get(op).copied()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// Every decomposition pt2 has: what lowers a program to core ATen.
pub fn default_decompositions() -> DecompTable {
    let mut t = DecompTable::empty();
    rules::register(&mut t);
    for (name, f) in composites::decompositions() {
        t.insert(name, f);
    }
    t
}

/// Operators that update their inputs without saying so in their schema (a training batch
/// norm's running statistics): functionalizing means decomposing them, whatever the table.
const NOT_FUNCTIONAL: &[OpName] = &[aten::batch_norm];

/// The program re-traced with `table`'s decompositions, functionalized.
pub fn run_decompositions(ep: &ir::ExportedProgram, table: &DecompTable) -> export::Result<ir::ExportedProgram> {
    let defaults = default_decompositions();
    let table = table.clone();
    let lookup = move |op: &str| table.get(op).or_else(|| if NOT_FUNCTIONAL.iter().any(|n| n.as_str() == op) { defaults.get(op) } else { None });
    let mut out = export::retrace::retrace(ep, std::rc::Rc::new(lookup), true)?;
    if !out.model.verifiers.is_empty() {
        out.model.verifiers = vec![];
    }
    Ok(out)
}
