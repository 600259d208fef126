//! `pt2 run`: a program on inputs from a safetensors file, outputs to another.

use std::collections::HashMap;
use std::path::Path;

use ops::Value;
use tensor::Tensor;

use crate::conformance::fixture::TensorStore;

/// Writes tensors to a safetensors file.
pub fn write_safetensors(tensors: &[(String, Tensor)], path: &Path) -> Result<(), String> {
    serialize::safetensors::save_tensors(path, tensors).map_err(|e| e.to_string())
}

/// Loads `file`, reads its inputs by name from `inputs`, runs it through `ep.module()` and
/// writes the flat outputs as `output_0`, `output_1`, ...
pub fn run_file(file: &Path, inputs: &Path, output: &Path) -> Result<String, String> {
    let ep = serialize::load(file).map_err(|e| e.to_string())?;
    let module = ep.module().map_err(|e| e.to_string())?;
    let store = TensorStore::load(inputs)?;
    let names = ep.input_names();
    let mut flat = Vec::new();
    for n in &names {
        let t = store.get(n).map_err(|_| {
            format!("{}: no tensor named `{n}`; the program's inputs are: {}", inputs.display(), names.join(", "))
        })?;
        flat.push(Value::Tensor(t.clone()));
    }
    let outs = module.call_flat(flat).map_err(|e| e.to_string())?;
    let mut tensors = Vec::new();
    let mut others: HashMap<String, String> = HashMap::new();
    for (i, v) in outs.into_iter().enumerate() {
        match v {
            Value::Tensor(t) => tensors.push((format!("output_{i}"), t)),
            other => {
                others.insert(format!("output_{i}"), format!("{other:?}"));
            }
        }
    }
    write_safetensors(&tensors, output)?;
    let mut summary = format!("wrote {} output tensors to {}", tensors.len(), output.display());
    for (k, v) in others {
        summary.push_str(&format!("\n{k} = {v}"));
    }
    Ok(summary)
}
