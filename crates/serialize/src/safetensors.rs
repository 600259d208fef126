//! Tensors in and out of safetensors files (Hugging Face's format: a JSON header of names,
//! dtypes, shapes and offsets, then raw little-endian bytes): how inputs, outputs and weights
//! travel to and from `pt2 run`, tests and other tools.

use std::path::Path;

use ::safetensors::tensor::TensorView;
use ::safetensors::{Dtype, SafeTensors};
use tensor::{DType, Tensor};

use crate::{Error, Result};

fn to_dtype(d: Dtype, name: &str, path: &Path) -> Result<DType> {
    Ok(match d {
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::I8 => DType::I8,
        Dtype::U8 => DType::U8,
        Dtype::U16 => DType::U16,
        Dtype::U32 => DType::U32,
        Dtype::U64 => DType::U64,
        Dtype::BOOL => DType::Bool,
        Dtype::C64 => DType::C64,
        other => return Err(Error::msg(format!("{}: tensor `{name}` has dtype {other:?}, which pt2 does not support", path.display()))),
    })
}

/// The safetensors tag of a dtype; `None` for complex128, which the format has no tag for
/// (`safetensors.torch.save_file` refuses it too).
fn from_dtype(d: DType) -> Option<Dtype> {
    Some(match d {
        DType::U8 => Dtype::U8,
        DType::U16 => Dtype::U16,
        DType::U32 => Dtype::U32,
        DType::U64 => Dtype::U64,
        DType::I8 => Dtype::I8,
        DType::I16 => Dtype::I16,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::F16 => Dtype::F16,
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::Bool => Dtype::BOOL,
        DType::BF16 => Dtype::BF16,
        DType::C64 => Dtype::C64,
        DType::C128 => return None,
    })
}

/// Every tensor of a safetensors file, by name, sorted by name.
pub fn load_tensors(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    load_tensors_where(path, |_| true)
}

/// The tensors of a safetensors file whose names `keep` accepts, by name, sorted by name. The
/// file is mapped, not read, so the tensors left out cost no memory: a harness reading the
/// inputs of a file that also holds large expected outputs pays for the inputs only.
pub fn load_tensors_where(path: impl AsRef<Path>, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let fail = |e: &dyn std::fmt::Display| Error::msg(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    // SAFETY: the map is read-only and dropped before this function returns; every tensor is
    // copied out of it. A file truncated by another process meanwhile is outside what any
    // reader of a file can defend against (std::fs::read would see a torn file as well).
    let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| fail(&e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| fail(&e))?;
    let mut tensors = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| keep(name))
        .map(|(name, view)| {
            let dtype = to_dtype(view.dtype(), &name, path)?;
            let t = Tensor::from_bytes(view.data(), dtype, view.shape()).map_err(|e| Error::msg(format!("{}: tensor `{name}`: {e}", path.display())))?;
            Ok((name, t))
        })
        .collect::<Result<Vec<_>>>()?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// Writes `tensors` to a safetensors file, in the order given.
pub fn save_tensors(path: impl AsRef<Path>, tensors: &[(String, Tensor)]) -> Result<()> {
    let path = path.as_ref();
    if let Some((name, _)) = tensors.iter().find(|(_, t)| t.is_meta()) {
        return Err(Error::msg(format!("{}: `{name}` is a shapes-only (meta) tensor, with no values to write", path.display())));
    }
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, t)| t.to_bytes()).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, t), b)| {
            let dtype = from_dtype(t.dtype()).ok_or_else(|| Error::msg(format!("{}: `{name}` is {}, which safetensors files cannot hold", path.display(), t.dtype())))?;
            TensorView::new(dtype, t.shape().to_vec(), b).map(|v| (name.clone(), v)).map_err(|e| Error::msg(format!("{}: `{name}`: {e}", path.display())))
        })
        .collect::<Result<Vec<_>>>()?;
    ::safetensors::tensor::serialize_to_file(views, None, path).map_err(|e| Error::msg(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_round_trip_through_a_file_with_their_dtypes() {
        let path = std::env::temp_dir().join(format!("pt2-safetensors-{}.safetensors", std::process::id()));
        let a = Tensor::from_vec(vec![1.5f32, -2.0, 3.25], &[3]).unwrap();
        let b = Tensor::from_vec(vec![7i64, 8, 9, 10], &[2, 2]).unwrap();
        save_tensors(&path, &[("b".into(), b.clone()), ("a".into(), a.clone())]).unwrap();
        let back = load_tensors(&path).unwrap();
        assert_eq!(back.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((back[0].1.dtype(), back[0].1.to_f64_vec()), (DType::F32, a.to_f64_vec()));
        assert_eq!((back[1].1.dtype(), back[1].1.shape()), (DType::I64, &[2usize, 2][..]));
        assert_eq!(back[1].1.to_i64_vec(), vec![7, 8, 9, 10]);
        let err = load_tensors(path.with_extension("missing")).unwrap_err().to_string();
        assert!(err.contains(".missing"), "names the file: {err}");
        let _ = std::fs::remove_file(path);
    }
}
