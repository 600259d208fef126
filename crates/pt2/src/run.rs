//! `pt2 run`: a program on inputs from a safetensors file, outputs to another.

use std::collections::HashMap;
use std::path::Path;

use ops::Value;
use tensor::{DType, Tensor};

use crate::conformance::fixture::TensorStore;

fn safetensors_dtype(d: DType) -> safetensors::Dtype {
    use safetensors::Dtype as S;
    match d {
        DType::U8 => S::U8,
        DType::I8 => S::I8,
        DType::I16 => S::I16,
        DType::I32 => S::I32,
        DType::I64 => S::I64,
        DType::F16 => S::F16,
        DType::F32 => S::F32,
        DType::F64 => S::F64,
        DType::Bool => S::BOOL,
        DType::BF16 => S::BF16,
    }
}

/// Writes tensors to a safetensors file.
pub fn write_safetensors(tensors: &[(String, Tensor)], path: &Path) -> Result<(), String> {
    let bytes: Vec<(String, Vec<u8>, Tensor)> = tensors.iter().map(|(n, t)| (n.clone(), t.to_bytes(), t.clone())).collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(n, b, t)| {
            safetensors::tensor::TensorView::new(safetensors_dtype(t.dtype()), t.shape().to_vec(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| format!("{n}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    safetensors::tensor::serialize_to_file(views, None, path).map_err(|e| format!("{}: {e}", path.display()))
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
