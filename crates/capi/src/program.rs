//! `Pt2Program` (a loaded archive) and `Pt2Module` (its `ep.module()`, compiled once, run from
//! any number of threads).

use std::ffi::{c_char, CString};
use std::sync::Arc;

use pt2::ir::schema::{Argument, InputSpec};
use pt2::{ExportedProgram, Value};

use crate::{c_string, guard, handle, pt2, str_arg, Pt2Error, Pt2Tensor, Pt2TensorList};

/// A loaded PT2 archive: the program `torch.export.save` wrote (its `model`), with its weights.
pub struct Pt2Program {
    ep: Arc<ExportedProgram>,
}

/// What a program's user input is: most are tensors; a program may also take an int, float or
/// bool (given from C as a 0-dim tensor).
#[derive(Clone, Copy)]
enum InputKind {
    Tensor,
    Int,
    Float,
    Bool,
}

/// A program compiled for running (`ep.module()`): its inputs are checked against the
/// program's constraints first, as PyTorch's module checks them. Safe to run from many threads
/// at once.
pub struct Pt2Module {
    module: pt2::ir::module::Module<'static>,
    input_names: Vec<CString>,
    input_kinds: Vec<InputKind>,
}

fn program(ep: ExportedProgram) -> *mut Pt2Program {
    Box::into_raw(Box::new(Pt2Program { ep: Arc::new(ep) }))
}

/// Loads the archive at `path` (as `torch.export.load`), or NULL with an error.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pt2_program_load(path: *const c_char, error: *mut *mut Pt2Error) -> *mut Pt2Program {
    guard(error, || Ok(program(pt2::load(str_arg(path, "path")?)?))).unwrap_or(std::ptr::null_mut())
}

/// Loads an archive from `len` bytes in memory (copied: the caller may free them on return).
///
/// # Safety
/// `data` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pt2_program_load_buffer(data: *const u8, len: usize, error: *mut *mut Pt2Error) -> *mut Pt2Program {
    guard(error, || {
        if data.is_null() {
            return Err(Pt2Error::message("`data` is NULL"));
        }
        Ok(program(pt2::load_bytes(std::slice::from_raw_parts(data, len))?))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Frees a program (a module made from it keeps what it needs).
///
/// # Safety
/// `program` is NULL or a live program, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pt2_program_free(program: *mut Pt2Program) {
    if !program.is_null() {
        drop(Box::from_raw(program));
    }
}

/// The program as PyTorch's `print(ep)` shows it; the caller frees it with `pt2_string_free`.
///
/// # Safety
/// `program` is NULL or a live program.
#[no_mangle]
pub unsafe extern "C" fn pt2_program_print(program: *const Pt2Program) -> *mut c_char {
    program.as_ref().map_or(std::ptr::null_mut(), |p| c_string(p.ep.to_string()).into_raw())
}

/// How to call the program: one line per input (`x: f32[2, s27, 32]`), its outputs and its
/// symbolic sizes' ranges. The caller frees it with `pt2_string_free`.
///
/// # Safety
/// `program` is NULL or a live program.
#[no_mangle]
pub unsafe extern "C" fn pt2_program_signature(program: *const Pt2Program) -> *mut c_char {
    program.as_ref().map_or(std::ptr::null_mut(), |p| c_string(p.ep.signature_summary()).into_raw())
}

/// The program compiled for running (`ep.module()`), or NULL with an error (an operator pt2
/// does not have, a malformed program). The module keeps the program's weights alive: the
/// program may be freed first.
///
/// # Safety
/// `program` is a live program.
#[no_mangle]
pub unsafe extern "C" fn pt2_program_module(program: *const Pt2Program, error: *mut *mut Pt2Error) -> *mut Pt2Module {
    guard(error, || {
        let ep = handle(program, "program")?.ep.clone();
        let input_names = ep.input_names().into_iter().map(c_string).collect();
        let input_kinds = user_input_kinds(&ep);
        let module = ep.into_module()?;
        Ok(Box::into_raw(Box::new(Pt2Module { module, input_names, input_kinds })))
    })
    .unwrap_or(std::ptr::null_mut())
}

fn user_input_kinds(ep: &ExportedProgram) -> Vec<InputKind> {
    ep.signature()
        .input_specs
        .iter()
        .filter_map(|spec| match spec {
            InputSpec::UserInput(u) => Some(match &u.arg {
                Argument::AsInt(_) | Argument::AsSymInt(_) => InputKind::Int,
                Argument::AsFloat(_) | Argument::AsSymFloat(_) => InputKind::Float,
                Argument::AsBool(_) | Argument::AsSymBool(_) => InputKind::Bool,
                _ => InputKind::Tensor,
            }),
            _ => None,
        })
        .collect()
}

/// Frees a module.
///
/// # Safety
/// `module` is NULL or a live module, not yet freed, that no thread is running.
#[no_mangle]
pub unsafe extern "C" fn pt2_module_free(module: *mut Pt2Module) {
    if !module.is_null() {
        drop(Box::from_raw(module));
    }
}

/// The number of inputs a run takes (the program's user inputs, flattened).
///
/// # Safety
/// `module` is NULL or a live module.
#[no_mangle]
pub unsafe extern "C" fn pt2_module_input_count(module: *const Pt2Module) -> usize {
    module.as_ref().map_or(0, |m| m.input_names.len())
}

/// The name of input `index` as `pt2 run` and error messages name it (`x`, `inp['x']`,
/// `args[0]`); NULL past the end. Valid while the module lives.
///
/// # Safety
/// `module` is NULL or a live module.
#[no_mangle]
pub unsafe extern "C" fn pt2_module_input_name(module: *const Pt2Module, index: usize) -> *const c_char {
    module.as_ref().and_then(|m| m.input_names.get(index)).map_or(std::ptr::null(), |n| n.as_ptr())
}

impl Pt2Module {
    fn names(&self) -> impl Iterator<Item = &str> {
        self.input_names.iter().map(|n| n.to_str().unwrap_or_default())
    }

    /// Runs on flat inputs in the program's order; outputs named `output_0`, ...
    fn run(&self, inputs: Vec<&Pt2Tensor>) -> Result<Pt2TensorList, Pt2Error> {
        if inputs.len() != self.input_names.len() {
            let names: Vec<&str> = self.names().collect();
            return Err(Pt2Error::message(format!("{} inputs were given; the program takes {}: {}", inputs.len(), names.len(), names.join(", "))));
        }
        let values = inputs
            .into_iter()
            .zip(&self.input_kinds)
            .zip(self.names())
            .map(|((t, kind), name)| input_value(&t.tensor, *kind, name))
            .collect::<Result<Vec<_>, _>>()?;
        let outputs = self.module.call_flat(values)?;
        let mut list = Pt2TensorList::default();
        for (i, v) in outputs.into_iter().enumerate() {
            list.push(&format!("output_{i}"), output_tensor(v, i)?);
        }
        Ok(list)
    }
}

/// A program input from a tensor: the tensor itself, or the scalar a 0-dim tensor holds where
/// the program takes an int, float or bool.
fn input_value(t: &pt2::Tensor, kind: InputKind, name: &str) -> Result<Value, Pt2Error> {
    let scalar = || {
        if t.numel() == 1 {
            Ok(())
        } else {
            Err(Pt2Error::from(pt2::Error::Input {
                input: Some(name.to_string()),
                message: format!("input `{name}` is a number; give it as a tensor of one element, not of shape {:?}", t.shape()),
            }))
        }
    };
    Ok(match kind {
        InputKind::Tensor => Value::Tensor(t.clone()),
        InputKind::Int => {
            scalar()?;
            Value::Int(t.item_i64()?)
        }
        InputKind::Float => {
            scalar()?;
            Value::Float(t.item_f64()?)
        }
        InputKind::Bool => {
            scalar()?;
            Value::Bool(t.item_f64()? != 0.0)
        }
    })
}

/// A run's output as a contiguous tensor: numbers become 0-dim tensors (int64, float64, bool),
/// `None` an absent entry.
fn output_tensor(v: Value, index: usize) -> Result<Option<Pt2Tensor>, Pt2Error> {
    Ok(Some(Pt2Tensor::contiguous(match v {
        Value::Tensor(t) => t,
        Value::Int(i) => pt2::Tensor::scalar(i),
        Value::Float(f) => pt2::Tensor::scalar(f),
        Value::Bool(b) => pt2::Tensor::from_vec_as(vec![b as u8], &[], pt2::DType::Bool)?,
        Value::None => return Ok(None),
        other => return Err(Pt2Error::message(format!("output {index} is {other:?}, which C cannot be given as a tensor"))),
    })))
}

/// Runs the module on `count` inputs in the program's order (`pt2_module_input_name`). Returns
/// the outputs, named `output_0`, `output_1`, ..., or NULL with an error: an input the program's
/// constraints refuse (wrong dtype, a size outside its range) gets pt2's message naming the
/// input and the dim, as PyTorch refuses it. Inputs stay the caller's.
///
/// # Safety
/// `module` is a live module; `inputs` points to `count` live tensors.
#[no_mangle]
pub unsafe extern "C" fn pt2_module_run(
    module: *const Pt2Module,
    inputs: *const *const Pt2Tensor,
    count: usize,
    error: *mut *mut Pt2Error,
) -> *mut Pt2TensorList {
    guard(error, || {
        let module = handle(module, "module")?;
        if inputs.is_null() && count > 0 {
            return Err(Pt2Error::message("`inputs` is NULL"));
        }
        let given: &[*const Pt2Tensor] = if count == 0 { &[] } else { std::slice::from_raw_parts(inputs, count) };
        let tensors = given.iter().enumerate().map(|(i, &t)| handle(t, &format!("inputs[{i}]"))).collect::<Result<Vec<_>, _>>()?;
        Ok(Box::into_raw(Box::new(module.run(tensors)?)))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Runs the module on inputs given by name (the names `pt2_module_input_name` gives, as in a
/// safetensors file for `pt2 run`). A missing input, or a name the program does not take, is an
/// error that lists the program's inputs.
///
/// # Safety
/// `module` and `inputs` are live handles.
#[no_mangle]
pub unsafe extern "C" fn pt2_module_run_named(module: *const Pt2Module, inputs: *const Pt2TensorList, error: *mut *mut Pt2Error) -> *mut Pt2TensorList {
    guard(error, || {
        let module = handle(module, "module")?;
        let list = handle(inputs, "inputs")?;
        let takes = || module.names().collect::<Vec<_>>().join(", ");
        if let Some(unknown) = list.names().find(|n| !module.names().any(|m| m == *n)) {
            return Err(Pt2Error::from(pt2::Error::Input {
                input: Some(unknown.to_string()),
                message: format!("the program has no input named `{unknown}`; its inputs are: {}", takes()),
            }));
        }
        let tensors = module
            .names()
            .map(|name| {
                list.find(name).ok_or_else(|| {
                    Pt2Error::from(pt2::Error::Input {
                        input: Some(name.to_string()),
                        message: format!("no tensor named `{name}` was given; the program's inputs are: {}", takes()),
                    })
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::into_raw(Box::new(module.run(tensors)?)))
    })
    .unwrap_or(std::ptr::null_mut())
}
