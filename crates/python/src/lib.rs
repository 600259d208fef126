//! pt2 for Python: load, check, lower and run PT2 archives with numpy arrays, without torch.
//!
//! ```python
//! import numpy as np, pt2
//! ep = pt2.load("model.pt2")         # torch.export.load, without torch
//! print(ep)                           # PyTorch's print(ep) layout
//! out = ep.module()(np.ones((8, 100), np.float32))   # as ep.module()(*args) in PyTorch
//! ```
//!
//! Arrays cross as copies: numpy → pt2 on the way in, pt2 → numpy on the way out. The GIL is
//! released while a program runs, so Python threads run programs in parallel.

mod convert;

use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use pt2::{ExportedProgram, RunDecompositions};

create_exception!(pt2, Error, PyRuntimeError, "A program, archive or input that pt2 refuses; the message says what was expected, what came and where.");

fn err(e: impl std::fmt::Display) -> PyErr {
    Error::new_err(e.to_string())
}

/// A loaded program, as `torch.export.load` returns it.
#[pyclass(name = "ExportedProgram", module = "pt2", frozen)]
struct PyExportedProgram {
    ep: Arc<ExportedProgram>,
}

#[pymethods]
impl PyExportedProgram {
    /// The program as a callable, like PyTorch's `ep.module()`: takes numpy arrays (and the
    /// lists, tuples and dicts of the program's input tree) and returns numpy arrays in the
    /// program's output tree. Inputs are checked against the program's constraints first.
    fn module(&self) -> PyResult<PyModule_> {
        let input_names = self.ep.input_names();
        Ok(PyModule_ { module: self.ep.clone().into_module().map_err(err)?, input_names })
    }

    /// One line per input (`x: f32[2, s27, 32]`), the outputs and the symbolic sizes' ranges.
    fn signature(&self) -> String {
        self.ep.signature_summary()
    }

    /// The flat inputs' names, as error messages and `pt2 run` name them (`x`, `inp['x']`).
    fn input_names(&self) -> Vec<String> {
        self.ep.input_names()
    }

    /// How the program is called: the tree of its inputs `(args, kwargs)` as
    /// `torch.utils._pytree.treespec_dumps` writes it (PyTorch's `ep.call_spec.in_spec`).
    #[getter]
    fn in_spec(&self) -> Option<String> {
        self.ep.root_call_signature().map(|s| s.in_spec.clone())
    }

    /// The tree of the program's outputs, as [`in_spec`](Self::in_spec).
    #[getter]
    fn out_spec(&self) -> Option<String> {
        self.ep.root_call_signature().map(|s| s.out_spec.clone())
    }

    /// Every problem the verifier finds (operators, arguments, signature); empty when valid.
    fn verify(&self) -> Vec<String> {
        self.ep.verify(pt2::Registry::global())
    }

    /// `ep.run_decompositions()`: the program lowered to core ATen, functional.
    fn run_decompositions(&self, py: Python<'_>) -> PyResult<PyExportedProgram> {
        let ep = self.ep.clone();
        let lowered = py.detach(move || ep.run_decompositions(None)).map_err(err)?;
        Ok(PyExportedProgram { ep: Arc::new(lowered) })
    }

    /// Writes the program as a PT2 archive that `torch.export.load` reads.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        pt2::save(&self.ep, path).map_err(err)
    }

    fn __str__(&self) -> String {
        self.ep.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<pt2.ExportedProgram: {} nodes>", self.ep.graph().nodes.len())
    }
}

/// `ep.module()`: call it with the program's inputs. Safe to call from many threads at once.
#[pyclass(name = "Module", module = "pt2", frozen)]
struct PyModule_ {
    module: pt2::ir::module::Module<'static>,
    input_names: Vec<String>,
}

#[pymethods]
impl PyModule_ {
    /// Calls the program as PyTorch's module is called: positional inputs by position, keyword
    /// inputs by name.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(&self, py: Python<'py>, args: &Bound<'py, PyTuple>, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        let args = args.iter().map(|a| convert::tree_from_py(&a)).collect::<PyResult<Vec<_>>>()?;
        let kwargs = match kwargs {
            Some(d) => d.iter().map(|(k, v)| Ok((k.extract::<String>()?, convert::tree_from_py(&v)?))).collect::<PyResult<Vec<_>>>()?,
            None => Vec::new(),
        };
        let out = py.detach(|| self.module.call(args, kwargs)).map_err(err)?;
        convert::tree_to_py(py, out)
    }

    /// The flat inputs' names (`x`, `inp['x']`).
    fn input_names(&self) -> Vec<String> {
        self.input_names.clone()
    }
}

/// Loads a PT2 archive (`torch.export.save`'s file), as `torch.export.load`.
#[pyfunction]
fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyExportedProgram> {
    let ep = py.detach(move || pt2::load(path)).map_err(err)?;
    Ok(PyExportedProgram { ep: Arc::new(ep) })
}

/// Checks the archive at `path`: the program's verifier, and every entry's bytes against the
/// archive's CRC-32. Returns the problems found; empty when the archive is sound.
#[pyfunction]
fn verify(path: std::path::PathBuf) -> PyResult<Vec<String>> {
    let archive = pt2::serialize::Archive::open(&path).map_err(err)?;
    let ep = archive.load_main().map_err(err)?;
    let mut problems = ep.verify(pt2::Registry::global());
    problems.extend(archive.verify_checksums());
    Ok(problems)
}

/// `ep.run_decompositions()` on a loaded program: lowered to core ATen.
#[pyfunction]
fn decompose(py: Python<'_>, program: &PyExportedProgram) -> PyResult<PyExportedProgram> {
    program.run_decompositions(py)
}

/// Writes `program` as a PT2 archive (`torch.export.save`).
#[pyfunction]
fn save(program: &PyExportedProgram, path: std::path::PathBuf) -> PyResult<()> {
    program.save(path)
}

#[pymodule]
#[pyo3(name = "pt2")]
fn pt2_python(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add_class::<PyExportedProgram>()?;
    m.add_class::<PyModule_>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(decompose, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    Ok(())
}
