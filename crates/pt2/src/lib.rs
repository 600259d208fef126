//! pt2: torch.export for Rust.
//!
//! Load a PT2 archive that `torch.export.save` wrote, check and run it, print it, save it:
//!
//! ```no_run
//! let ep = pt2::load("model.pt2")?;
//! println!("{ep}");                          // PyTorch's print(ep) layout
//! let module = ep.module()?;                 // inputs are checked against the program first
//! let x = pt2::Tensor::full(&[8, 100], 1.0, pt2::DType::F32);
//! let outputs = module.call_flat(vec![x.into()])?;
//! pt2::save(&ep, "copy.pt2")?;               // loads in torch.export.load
//! # Ok::<(), pt2::Error>(())
//! ```

pub use ir::pytree::PyTree;
pub use ir::unflatten::{Submodule, UnflattenedModule};
pub use ir::{Error, ExportedProgram};
pub use ops::random::{manual_seed, rand, randn};
pub use ops::{Registry, Value};
pub use serialize::safetensors::{load_tensors, load_tensors_where, save_tensors};
pub use serialize::{load, load_bytes, load_within, save, LoadLimits};
pub use tensor::alloc::{AllocError, MemoryBudget};
pub use tensor::meta::on_meta_device;
pub use tensor::{DType, Tensor};

/// Writing models: the torch-like front end and `export`.
pub use ::export::{draft_export, DraftExport, DraftReport, Problem, ProblemKind};
pub use ::export::{export, functional, nn, Buffer, Constant, Dim, DimSpec, DynamicShapes, ExportOptions, Inputs, Module, Parameter, Program, SymInt, Tree, Visitor};
pub use ::export as frontend;
pub use decomp::{default_decompositions, DecompTable};

/// `ep.run_decompositions(table)`, as in PyTorch: `None` lowers to core ATen with
/// [`default_decompositions`]; an empty table only functionalizes.
pub trait RunDecompositions {
    fn run_decompositions(&self, table: Option<&DecompTable>) -> std::result::Result<ExportedProgram, ::export::Error>;
}

impl RunDecompositions for ExportedProgram {
    fn run_decompositions(&self, table: Option<&DecompTable>) -> std::result::Result<ExportedProgram, ::export::Error> {
        match table {
            Some(t) => decomp::run_decompositions(self, t),
            None => decomp::run_decompositions(self, &default_decompositions()),
        }
    }
}
pub use ir;
pub use ops;
pub use serialize;
pub use tensor;
