//! Writing PT2 archives as PyTorch 2.15 lays them out, so `torch.export.load` reads them:
//! every entry stored uncompressed and 64-byte aligned under `<archive>/`, weights and
//! constants as raw little-endian bytes named by a JSON config, fixed timestamps and a fixed
//! entry order so the same program always gives the same bytes.

use std::io::{Seek, Write};
use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;
use tensor::Tensor;
use zip::write::SimpleFileOptions;

use ir::schema::{self, SymInt, TensorMeta};
use ir::{Error, ExportedProgram, Result};

#[derive(Serialize)]
struct PayloadMeta<'a> {
    path_name: String,
    is_param: bool,
    use_pickle: bool,
    tensor_meta: &'a TensorMeta,
}

#[derive(Serialize)]
struct PayloadConfig<'a> {
    config: IndexMap<&'a str, PayloadMeta<'a>>,
}

/// The metadata of a tensor as it is written: contiguous, offset 0.
fn contiguous_meta(t: &Tensor, requires_grad: bool) -> TensorMeta {
    let strides = tensor::shape::contiguous_strides(t.shape());
    TensorMeta {
        dtype: ir::dtype::to_scalar_type(t.dtype()),
        sizes: t.shape().iter().map(|&s| SymInt::AsInt(s as i64)).collect(),
        requires_grad,
        device: schema::Device { type_: "cpu".into(), index: None },
        strides: strides.iter().map(|&s| SymInt::AsInt(s as i64)).collect(),
        storage_offset: SymInt::AsInt(0),
        layout: schema::Layout::STRIDED,
    }
}

fn io_err(path: &str, e: impl std::fmt::Display) -> Error {
    Error::msg(format!("{path}: {e}"))
}

struct Writer<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    prefix: String,
    dest: String,
}

impl<W: Write + Seek> Writer<W> {
    fn file(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .with_alignment(64)
            .last_modified_time(zip::DateTime::default())
            .large_file(bytes.len() as u64 >= u32::MAX as u64);
        self.zip.start_file(format!("{}/{rel}", self.prefix), options).map_err(|e| io_err(&self.dest, e))?;
        self.zip.write_all(bytes).map_err(|e| io_err(&self.dest, e))
    }

    /// Writes tensors as `dir/<stem>_<i>` and their config.
    fn payload(&mut self, dir: &str, stem: &str, config: &str, tensors: &IndexMap<String, Tensor>, is_param: impl Fn(&str) -> bool) -> Result<()> {
        let metas: Vec<TensorMeta> = tensors.iter().map(|(n, t)| contiguous_meta(t, is_param(n))).collect();
        let mut cfg = PayloadConfig { config: IndexMap::new() };
        for (i, ((name, t), meta)) in tensors.iter().zip(&metas).enumerate() {
            let path_name = format!("{stem}_{i}");
            self.file(&format!("{dir}/{path_name}"), &t.to_bytes())?;
            cfg.config.insert(name, PayloadMeta { path_name, is_param: is_param(name), use_pickle: false, tensor_meta: meta });
        }
        let json = serde_json::to_vec(&cfg).map_err(|e| io_err(&self.dest, e))?;
        self.file(&format!("{dir}/{config}"), &json)
    }
}

/// Writes `ep` as a PT2 archive to any seekable writer (`name` is the model's name, `model`
/// for `torch.export.save`).
pub fn write_archive<W: Write + Seek>(ep: &ExportedProgram, out: W, dest: &str) -> Result<W> {
    refuse_shapes_only(ep, dest)?;
    let prefix = Path::new(dest).file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "archive".into());
    let mut w = Writer { zip: zip::ZipWriter::new(out), prefix, dest: dest.to_string() };
    let params: std::collections::HashSet<&str> = ep
        .signature()
        .input_specs
        .iter()
        .filter_map(|s| match s {
            schema::InputSpec::Parameter(p) => Some(p.parameter_name.as_str()),
            _ => None,
        })
        .collect();
    w.payload("data/weights", "weight", "model_weights_config.json", &ep.state_dict, |n| params.contains(n))?;
    w.payload("data/constants", "tensor", "model_constants_config.json", &ep.constants, |_| false)?;
    let model = serde_json::to_vec(&ep.model).map_err(|e| io_err(dest, e))?;
    w.file("models/model.json", &model)?;
    // PyTorch reads this entry unconditionally; an empty one means "no example inputs"
    w.file("data/sample_inputs/model.pt", ep.example_inputs.as_deref().unwrap_or_default())?;
    w.file("archive_format", b"pt2")?;
    w.file("archive_version", b"0")?;
    w.file(".data/version", b"6")?;
    w.file("byteorder", b"little")?;
    w.zip.finish().map_err(|e| io_err(dest, e))
}

/// Saves `ep` to `path`, as `torch.export.save` does.
pub fn save(ep: &ExportedProgram, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let dest = path.display().to_string();
    refuse_shapes_only(ep, &dest)?;
    let file = std::fs::File::create(path).map_err(|e| io_err(&dest, e))?;
    write_archive(ep, std::io::BufWriter::new(file), &dest)?
        .flush()
        .map_err(|e| io_err(&dest, e))
}

/// A program exported shapes-only has no weights to write.
fn refuse_shapes_only(ep: &ExportedProgram, dest: &str) -> Result<()> {
    match ep.first_meta_state() {
        Some(name) => Err(Error::msg(format!(
            "{dest}: cannot save a program exported shapes-only: `{name}` has sizes and a dtype but no values to write"
        ))),
        None => Ok(()),
    }
}
